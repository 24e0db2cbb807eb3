package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"familyhelp/csrfstore"
	"familyhelp/internal/testsvc"
	"familyhelp/notify"
	"familyhelp/referral"
	"familyhelp/referral/redisdrafts"
	"familyhelp/secret"
	"familyhelp/staff"
	"familyhelp/store"
)

// mailServer is a real SMTP server (go-smtp) on loopback that keeps what it accepts.
type mailServer struct {
	addr string
	srv  *smtp.Server
	mu   sync.Mutex
	got  []string // recipient + "\n" + message
}

func startMail(t *testing.T, addr string) *mailServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	m := &mailServer{addr: ln.Addr().String()}
	m.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }))
	m.srv.Domain = "localhost"
	go func() { _ = m.srv.Serve(ln) }()
	t.Cleanup(func() { m.srv.Close() })
	return m
}

func (m *mailServer) received() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

type mailSession struct {
	m  *mailServer
	to []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	for _, to := range s.to {
		s.m.got = append(s.m.got, to+"\n"+string(b))
	}
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

// With the mail server down a referral's notifications wait in the database; when it is back
// each is delivered once. This is the outbox the command wires: the SQLite store, sealed
// letters opened as they are claimed, and the notify worker.
func TestOutboxSurvivesMailServerOutage(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := secret.Parse(strings.Repeat("ef", 32))
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	refs := &referral.Service{Store: db, Drafts: key.Box("draft"), Sealed: key.Box("referral"), Routing: referral.SampleConfig(),
		TeamLetter: notify.TeamNotification, FamilyLetter: notify.FamilyConfirmation,
		StaffLink: func(ref string) string { return "https://familyhelp.example.org/staff/referrals/" + ref },
		Now:       func() time.Time { return now }}
	age := 4
	d := refs.NewDraft()
	d.Referral = referral.Referral{Asker: referral.AskerSelf, Danger: "no", Needs: []referral.Need{referral.NeedHousing},
		Story: "Our flat is damp", Adult: referral.Adult{Name: "Sam"}, Children: []referral.Child{{Name: "Jo", Age: &age}},
		Postcode: "WS1 1AA", NoNetwork: true, Contact: referral.Contact{TheyWillContact: true}, Consent: true}
	if d, err = refs.Submit(ctx, d); err != nil {
		t.Fatal(err)
	}

	// Reserve an address, then close it: nothing listens there yet.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	sender, err := notify.NewSMTP("smtp://"+addr, "Family Help <familyhelp@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	w := &notify.Worker{Outbox: outbox{db: db, refs: refs, log: slog.New(slog.DiscardHandler)}, Sender: sender,
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock },
		Backoff: func(int) time.Duration { return time.Minute }}
	if sent, failed, _ := w.RunOnce(ctx); sent != 0 || failed != 1 {
		t.Fatalf("with the mail server down: sent %d, failed %d; want the one notification failed", sent, failed)
	}
	entries, _ := db.Outbox(ctx, 10)
	if len(entries) != 1 || entries[0].Sent || entries[0].Attempts != 1 || entries[0].LastError == "" {
		t.Fatalf("outbox after the failure: %+v", entries)
	}

	mail := startMail(t, addr)
	clock = clock.Add(2 * time.Minute)
	for range 3 { // the worker runs again and again; the message goes once
		if _, _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := mail.received()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ws-central.familyhelp@example.org\n") || !strings.Contains(got[0], d.Reference) {
		t.Fatalf("delivered %d messages: %q; want one to the Walsall Central team with %s", len(got), got, d.Reference)
	}
	if strings.Contains(got[0], "damp") || strings.Contains(got[0], "Sam") {
		t.Error("the team's email carries what the family told us")
	}
	if entries, _ := db.Outbox(ctx, 10); !entries[0].Sent {
		t.Errorf("outbox after delivery: %+v", entries)
	}
}

// Without REDIS_URL nothing uses Redis: tokens, drafts and sessions stay in the database.
func TestNoRedisKeepsStateInDatabase(t *testing.T) {
	cfg := configFromEnv()
	cfg.DataDir, cfg.DatabaseURL, cfg.RedisURL, cfg.SecretKey = t.TempDir(), "", "", strings.Repeat("ab", 32)
	log := slog.New(slog.DiscardHandler)
	a, err := open(context.Background(), cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	rdb, err := openRedis(cfg, log)
	if err != nil || rdb != nil {
		t.Fatalf("openRedis without REDIS_URL = %v, %v; want no client", rdb, err)
	}
	useRedis(rdb, a, log)
	if _, ok := csrfStorage(rdb, a, log).(*store.KV); !ok {
		t.Error("CSRF tokens are not kept in the database")
	}
	if a.refs.DraftStore != nil || a.portal.Sessions != staff.SessionStore(a.db) {
		t.Error("drafts or sessions are not kept in the database")
	}
}

// With REDIS_URL, the wired site keeps a family's draft and the forms' tokens in Redis and not
// in the database; when Redis stops, new ones go to the database and nothing fails.
func TestRedisKeepsFormsAndFallsBack(t *testing.T) {
	srv := testsvc.StartRedis(t)
	cfg := configFromEnv()
	cfg.DataDir, cfg.DatabaseURL, cfg.RedisURL, cfg.SecretKey = t.TempDir(), "", srv.URL(), strings.Repeat("ab", 32)
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	a, err := open(ctx, cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	rdb, err := openRedis(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	useRedis(rdb, a, log)
	tokens := csrfStorage(rdb, a, log)

	d := a.refs.NewDraft()
	d.Referral.Story = "We need help with the rent"
	if err := a.refs.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Set("token-1", []byte{'+'}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if rdb.Exists(ctx, redisdrafts.Prefix+d.ID, csrfstore.Prefix+"token-1").Val() != 2 {
		t.Error("the draft and the token are not in Redis under the site's prefixes")
	}
	if _, err := a.db.GetDraft(ctx, d.ID, time.Now()); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("the draft is in the database too: %v", err)
	}
	if v, _ := a.db.KV().Get("token-1"); v != nil {
		t.Error("the token is in the database too")
	}

	srv.Stop()
	d2 := a.refs.NewDraft()
	d2.Referral.Story = "Started while Redis was down"
	if err := a.refs.SaveDraft(ctx, d2); err != nil {
		t.Fatalf("saving a draft with Redis down: %v", err)
	}
	if got, err := a.refs.LoadDraft(ctx, d2.ID); err != nil || got.Referral.Story != d2.Referral.Story {
		t.Errorf("loading the draft saved with Redis down: %+v, %v", got, err)
	}
	if err := tokens.Set("token-2", []byte{'+'}, time.Hour); err != nil {
		t.Fatalf("storing a token with Redis down: %v", err)
	}
	if v, _ := a.db.KV().Get("token-2"); v == nil {
		t.Error("the token stored with Redis down is not in the database")
	}
	if d2, err := a.refs.Submit(ctx, completeDraft(a.refs)); err != nil || d2.Reference == "" {
		t.Errorf("submitting a referral with Redis down: %+v, %v", d2, err)
	}
}

func completeDraft(refs *referral.Service) *referral.Draft {
	age := 4
	d := refs.NewDraft()
	d.Referral = referral.Referral{Asker: referral.AskerSelf, Danger: "no", Needs: []referral.Need{referral.NeedHousing},
		Story: "Our flat is damp", Adult: referral.Adult{Name: "Sam"}, Children: []referral.Child{{Name: "Jo", Age: &age}},
		Postcode: "WS1 1AA", NoNetwork: true, Contact: referral.Contact{TheyWillContact: true}, Consent: true}
	return d
}
