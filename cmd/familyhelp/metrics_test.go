package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/notify"
	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/search"
	"familyhelp/secret"
	"familyhelp/store"
)

// value reads one series from the registry; labels are name, value pairs.
func value(t *testing.T, m *metrics, name string, labels ...string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestMetricsCountRequestsByRouteAndClass(t *testing.T) {
	m := newMetrics()
	m.ObserveRequest("/services/:id", "GET", 200, 3*time.Millisecond)
	m.ObserveRequest("/services/:id", "GET", 404, time.Millisecond)
	m.ObserveRequest("/services/:id", "GET", 204, time.Millisecond)
	if got := value(t, m, "familyhelp_http_requests_total", "route", "/services/:id", "status", "2xx"); got != 2 {
		t.Errorf("2xx requests = %v, want 2", got)
	}
	if got := value(t, m, "familyhelp_http_requests_total", "route", "/services/:id", "status", "4xx"); got != 1 {
		t.Errorf("4xx requests = %v, want 1", got)
	}
	if got := value(t, m, "familyhelp_http_request_duration_seconds", "route", "/services/:id", "method", "GET"); got != 3 {
		t.Errorf("durations observed = %v, want 3", got)
	}
}

type downIndex struct{ search.Index }

func (downIndex) Search(context.Context, search.Query) (search.Result, error) {
	return search.Result{}, search.ErrUnavailable
}

func TestMetricsCountSearchFallbacksAndRefusals(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := newMetrics()

	dir := countedDirectory{Directory: directory.New(db, downIndex{}, slog.New(slog.DiscardHandler)), m: m}
	for range 2 {
		if p, err := dir.Search(ctx, directory.Query{Text: "parenting"}); err != nil || !p.FromDatabase {
			t.Fatalf("search with the engine down: %v, %v", p, err)
		}
	}
	if got := value(t, m, "familyhelp_search_fallbacks_total"); got != 2 {
		t.Errorf("fallbacks = %v, want 2", got)
	}

	lim := countedLimiter{Limiter: ratelimit.NewMemory(100), m: m}
	rule := ratelimit.Rule{Name: "search-ip", Rate: 1, Period: time.Hour, Burst: 1}
	for range 3 {
		if _, err := lim.Allow(ctx, rule, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
	}
	if got := value(t, m, "familyhelp_rate_limited_total", "rule", "search-ip"); got != 2 {
		t.Errorf("refusals = %v, want 2 (one allowed, two refused)", got)
	}
	families, _ := m.reg.Gather()
	for _, f := range families {
		if strings.Contains(f.String(), "203.0.113.9") {
			t.Errorf("metric %s holds the key", f.GetName())
		}
	}
}

type senderFunc func(context.Context, notify.Message) error

func (f senderFunc) Send(ctx context.Context, m notify.Message) error { return f(ctx, m) }

// The outcomes counted are the ones recorded in the outbox.
func TestMetricsCountNotifications(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	refs := testReferrals(db)
	m := newMetrics()
	refs.Submitted = m.referralSubmitted
	d := refs.NewDraft()
	d.Referral = housingReferral()
	if d, err = refs.Submit(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err = refs.Submit(ctx, d); err != nil { // sent twice, stored once
		t.Fatal(err)
	}
	if got := value(t, m, "familyhelp_referrals_submitted_total"); got != 1 {
		t.Errorf("referrals = %v, want 1", got)
	}

	down := true
	clock := time.Now()
	w := &notify.Worker{Outbox: outbox{db: db, refs: refs, log: slog.New(slog.DiscardHandler), metrics: m},
		Sender: senderFunc(func(context.Context, notify.Message) error {
			if down {
				return errors.New("connection refused")
			}
			return nil
		}),
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock },
		Backoff: func(int) time.Duration { return time.Minute }}
	if _, _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	down, clock = false, clock.Add(2*time.Minute)
	if _, _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := value(t, m, "familyhelp_notifications_failed_total", "outcome", "retry"); got != 1 {
		t.Errorf("failed (retry) = %v, want 1", got)
	}
	if got := value(t, m, "familyhelp_notifications_sent_total"); got != 1 {
		t.Errorf("sent = %v, want 1", got)
	}
}

// scrape reads /metrics as Prometheus would and returns the value of the series named (with no
// labels), and whether it was there.
func scrape(t *testing.T, addr, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d, %v", resp.StatusCode, err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f, true
		}
	}
	return 0, false
}

// The outbox backlog on /metrics goes up when a family asks for help and down as the
// notifications go, and a database that does not answer leaves it out without failing the
// scrape.
func TestMetricsOutboxBacklog(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	m := newMetrics()
	m.watchOutbox(db, log)
	addr := freeAddr(t)
	stop, err := startMetrics(addr, m, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(ctx)

	if n, ok := scrape(t, addr, "familyhelp_outbox_pending"); !ok || n != 0 {
		t.Fatalf("before any referral: pending %v (present %v), want 0", n, ok)
	}
	refs := testReferrals(db)
	d := refs.NewDraft()
	d.Referral = housingReferral()
	if _, err := refs.Submit(ctx, d); err != nil {
		t.Fatal(err)
	}
	queued, err := db.Outbox(ctx, 10)
	if err != nil || len(queued) == 0 {
		t.Fatalf("queued %v, %v: want the referral's notifications", queued, err)
	}
	if n, _ := scrape(t, addr, "familyhelp_outbox_pending"); n != float64(len(queued)) {
		t.Errorf("after a referral: pending %v, want %d", n, len(queued))
	}
	if age, ok := scrape(t, addr, "familyhelp_outbox_oldest_pending_age_seconds"); !ok || age < 0 || age > 60 {
		t.Errorf("oldest pending age %v (present %v), want the few moments since the referral", age, ok)
	}

	w := &notify.Worker{Outbox: outbox{db: db, refs: refs, log: log, metrics: m}, Log: log,
		Sender: senderFunc(func(context.Context, notify.Message) error { return nil })}
	if sent, _, err := w.RunOnce(ctx); err != nil || sent != len(queued) {
		t.Fatalf("sent %d, %v", sent, err)
	}
	if n, _ := scrape(t, addr, "familyhelp_outbox_pending"); n != 0 {
		t.Errorf("after sending: pending %v, want 0", n)
	}
	if age, _ := scrape(t, addr, "familyhelp_outbox_oldest_pending_age_seconds"); age != 0 {
		t.Errorf("after sending: oldest pending age %v, want 0", age)
	}

	db.Close()
	if n, ok := scrape(t, addr, "familyhelp_outbox_pending"); ok {
		t.Errorf("with the database closed: pending %v, want the series left out", n)
	}
	if _, ok := scrape(t, addr, "familyhelp_notifications_sent_total"); !ok {
		t.Error("with the database closed the other series went too")
	}
}

// testReferrals is the referral service as serve wires it, on db.
func testReferrals(db *store.DB) *referral.Service {
	key, _ := secret.Parse(strings.Repeat("ef", 32))
	return &referral.Service{Store: db, Drafts: key.Box("draft"), Sealed: key.Box("referral"), Routing: referral.SampleConfig(),
		TeamLetter: notify.TeamNotification, FamilyLetter: notify.FamilyConfirmation,
		StaffLink: func(ref string) string { return "https://familyhelp.example.org/staff/referrals/" + ref }}
}

// housingReferral is a complete request for help that names one team.
func housingReferral() referral.Referral {
	age := 4
	return referral.Referral{Asker: referral.AskerSelf, Danger: "no", Needs: []referral.Need{referral.NeedHousing},
		Story: "Our flat is damp", Adult: referral.Adult{Name: "Sam"}, Children: []referral.Child{{Name: "Jo", Age: &age}},
		Postcode: "WS1 1AA", NoNetwork: true, Contact: referral.Contact{TheyWillContact: true}, Consent: true}
}

func TestLogFormat(t *testing.T) {
	for _, tc := range []struct {
		format   string
		terminal bool
		want     string
	}{
		{"json", true, `"msg":"hello"`},
		{"JSON", false, `"msg":"hello"`},
		{"text", false, `msg=hello`},
		{"", false, `"msg":"hello"`},
		{"", true, `msg=hello`},
	} {
		var out safeBuffer
		log, err := newLogger(tc.format, &out, tc.terminal)
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		log.Info("hello", "took", 1500*time.Millisecond)
		if !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "1.5s") {
			t.Errorf("format %q, terminal %v: %q, want %s", tc.format, tc.terminal, out.String(), tc.want)
		}
	}
	if _, err := newLogger("yaml", &safeBuffer{}, false); err == nil || !strings.Contains(err.Error(), "FAMILYHELP_LOG_FORMAT") {
		t.Errorf("an unknown format: %v, want an error naming FAMILYHELP_LOG_FORMAT", err)
	}
}
