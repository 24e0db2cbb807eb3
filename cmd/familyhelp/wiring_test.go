package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"familyhelp/notify"
	"familyhelp/referral"
	"familyhelp/secret"
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
