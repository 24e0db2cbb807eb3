package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// syncBuffer is a log sink two workers can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// minutes is a backoff the tests can predict: attempt n waits n minutes.
func minutes(attempt int) time.Duration { return time.Duration(attempt) * time.Minute }

func newWorker(ob Outbox, s Sender, clk *clock, logs *syncBuffer) *Worker {
	if logs == nil {
		logs = &syncBuffer{}
	}
	return &Worker{
		Outbox:  ob,
		Sender:  s,
		Log:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff: minutes,
		Now:     clk.Now,
	}
}

func runOnce(t *testing.T, w *Worker, wantSent, wantFailed int) {
	t.Helper()
	sent, failed, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if sent != wantSent || failed != wantFailed {
		t.Fatalf("RunOnce sent %d failed %d, want %d and %d", sent, failed, wantSent, wantFailed)
	}
}

func TestWorkerDeliversOnce(t *testing.T) {
	srv := startServer(t, serverOptions{})
	clk := newClock()
	ob := &memOutbox{}
	id := ob.add("team@council.example", "New Family Help referral FH-7K3M-Q9P2", "body", clk.Now())
	later := ob.add("later@council.example", "Later", "body", clk.Now().Add(time.Hour))
	w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, nil)

	runOnce(t, w, 1, 0)
	got := srv.Received()
	if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != "team@council.example" {
		t.Fatalf("server received %+v, want one message to team@council.example", got)
	}
	if s := got[0].header(t, "Subject"); s != "New Family Help referral FH-7K3M-Q9P2" {
		t.Errorf("Subject = %q", s)
	}
	if r := ob.row(id); !r.sentAt.Equal(clk.Now()) || r.marksSent != 1 {
		t.Errorf("row sent at %v, marked %d times", r.sentAt, r.marksSent)
	}
	if r := ob.row(later); !r.sentAt.IsZero() {
		t.Error("a message not yet due was sent")
	}

	runOnce(t, w, 0, 0)
	if n := len(srv.Received()); n != 1 {
		t.Fatalf("server received %d messages after a second run, want 1", n)
	}
}

func TestWorkerKeepsMessagesWhileServerIsDown(t *testing.T) {
	down := startServer(t, serverOptions{})
	addr := down.Addr
	down.Close()

	clk := newClock()
	ob := &memOutbox{}
	id := ob.add("team@council.example", "Subject", "body", clk.Now())
	w := newWorker(ob, newTestSMTP(t, "smtp://"+addr, nil), clk, nil)

	runOnce(t, w, 0, 1)
	r := ob.row(id)
	if r.msg.Attempts != 1 || r.gaveUp || !r.sentAt.IsZero() {
		t.Fatalf("after a refused connection: attempts %d, gave up %v, sent %v", r.msg.Attempts, r.gaveUp, r.sentAt)
	}
	if want := clk.Now().Add(minutes(1)); !r.next.Equal(want) {
		t.Errorf("next attempt %v, want %v", r.next, want)
	}
	if !strings.Contains(r.reason, "connection refused") || strings.Contains(r.reason, "team@") {
		t.Errorf("reason %q", r.reason)
	}

	// The server comes back on the same address.
	up := startServer(t, serverOptions{addr: addr})
	runOnce(t, w, 0, 0) // not due yet
	if n := len(up.Received()); n != 0 {
		t.Fatalf("sent %d messages before the retry was due", n)
	}

	clk.Add(minutes(1))
	runOnce(t, w, 1, 0)
	clk.Add(time.Hour)
	runOnce(t, w, 0, 0)
	got := up.Received()
	if len(got) != 1 || got[0].To[0] != "team@council.example" {
		t.Fatalf("server received %+v, want the message once", got)
	}
	if r := ob.row(id); r.sentAt.IsZero() || r.marksSent != 1 {
		t.Errorf("row sent at %v, marked %d times", r.sentAt, r.marksSent)
	}
}

func TestWorkerRejections(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		enhanced   smtp.EnhancedCode
		wantGaveUp bool
	}{
		{"5xx is permanent", 550, smtp.EnhancedCode{5, 1, 1}, true},
		{"4xx is retried", 451, smtp.EnhancedCode{4, 3, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			rcpts := 0
			srv := startServer(t, serverOptions{reject: func(to string) error {
				mu.Lock()
				defer mu.Unlock()
				rcpts++
				return &smtp.SMTPError{Code: tt.code, EnhancedCode: tt.enhanced, Message: "<" + to + "> not here"}
			}})
			clk := newClock()
			ob := &memOutbox{}
			id := ob.add("gone@council.example", "Subject", "body", clk.Now())
			w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, nil)

			runOnce(t, w, 0, 1)
			r := ob.row(id)
			if r.gaveUp != tt.wantGaveUp || r.msg.Attempts != 1 {
				t.Fatalf("gave up %v after %d attempts, want %v after 1", r.gaveUp, r.msg.Attempts, tt.wantGaveUp)
			}
			if !strings.Contains(r.reason, fmt.Sprint(tt.code)) || strings.Contains(r.reason, "gone@") {
				t.Errorf("reason %q", r.reason)
			}
			clk.Add(24 * time.Hour)
			mu.Lock()
			before := rcpts
			mu.Unlock()
			if tt.wantGaveUp {
				runOnce(t, w, 0, 0)
			} else {
				runOnce(t, w, 0, 1)
			}
			mu.Lock()
			defer mu.Unlock()
			if retried := rcpts > before; retried == tt.wantGaveUp {
				t.Errorf("retried = %v, want %v", retried, !tt.wantGaveUp)
			}
		})
	}
}

// fakeSender lets a test decide each send's outcome without a server.
type fakeSender struct {
	mu    sync.Mutex
	calls int
	fn    func(ctx context.Context, m Message) error
}

func (f *fakeSender) Send(ctx context.Context, m Message) error {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	return f.fn(ctx, m)
}

func (f *fakeSender) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestWorkerGivesUpAfterMaxAttempts(t *testing.T) {
	clk := newClock()
	ob := &memOutbox{}
	id := ob.add("team@council.example", "Subject", "body", clk.Now())
	// An error that quotes the address, as some libraries' errors do: it must not be stored.
	s := &fakeSender{fn: func(_ context.Context, m Message) error { return fmt.Errorf("rejected %s", m.To) }}
	w := newWorker(ob, s, clk, nil)
	w.MaxAttempts = 3

	for attempt := 1; attempt <= 3; attempt++ {
		runOnce(t, w, 0, 1)
		r := ob.row(id)
		if r.msg.Attempts != attempt || r.gaveUp != (attempt == 3) {
			t.Fatalf("after attempt %d: attempts %d, gave up %v", attempt, r.msg.Attempts, r.gaveUp)
		}
		if strings.Contains(r.reason, "team@") {
			t.Fatalf("reason %q holds the address", r.reason)
		}
		clk.Add(time.Hour)
	}
	runOnce(t, w, 0, 0)
	if n := s.Calls(); n != 3 {
		t.Errorf("sent %d times, want 3", n)
	}
}

func TestWorkersRacingDeliverEachMessageOnce(t *testing.T) {
	srv := startServer(t, serverOptions{})
	clk := newClock()
	ob := &memOutbox{}
	const n = 30
	for i := range n {
		ob.add(fmt.Sprintf("team%02d@council.example", i), "Subject", "body", clk.Now())
	}
	var wg sync.WaitGroup
	var errs [2]error
	for i := range 2 {
		w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, nil)
		w.Batch = 4
		wg.Go(func() {
			for {
				sent, failed, err := w.RunOnce(context.Background())
				if err != nil || sent+failed == 0 {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range srv.Received() {
		count[m.To[0]]++
	}
	for i := range n {
		to := fmt.Sprintf("team%02d@council.example", i)
		if count[to] != 1 {
			t.Errorf("%s received %d copies, want 1", to, count[to])
		}
		if r := ob.row(int64(i + 1)); r.marksSent != 1 {
			t.Errorf("row %d marked sent %d times", i+1, r.marksSent)
		}
	}
}

func TestWorkerRecoversMessagesOfACrashedWorker(t *testing.T) {
	srv := startServer(t, serverOptions{})
	clk := newClock()
	ob := &memOutbox{}
	id := ob.add("team@council.example", "Subject", "body", clk.Now())
	// Another instance claimed it and died before sending.
	if got, _ := ob.Claim(context.Background(), clk.Now(), DefaultLease, 10); len(got) != 1 {
		t.Fatalf("claimed %d", len(got))
	}
	w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, nil)
	runOnce(t, w, 0, 0) // still leased to the dead worker
	clk.Add(DefaultLease)
	runOnce(t, w, 1, 0)
	if got := srv.Received(); len(got) != 1 || ob.row(id).sentAt.IsZero() {
		t.Fatalf("server received %d messages, sent at %v", len(got), ob.row(id).sentAt)
	}
}

func TestWorkerStopsStartingSendsAsTheLeaseRunsOut(t *testing.T) {
	clk := newClock()
	ob := &memOutbox{}
	for range 3 {
		ob.add("team@council.example", "Subject", "body", clk.Now())
	}
	s := &fakeSender{fn: func(context.Context, Message) error {
		time.Sleep(150 * time.Millisecond)
		return nil
	}}
	w := newWorker(ob, s, clk, nil)
	w.Lease = 200 * time.Millisecond
	runOnce(t, w, 1, 0)
	if s.Calls() != 1 {
		t.Errorf("started %d sends past half the lease, want 1", s.Calls())
	}
	// The rest stay leased (not lost, not taken by anyone else) until the lease ends.
	if got, _ := ob.Claim(context.Background(), clk.Now(), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %d messages still under lease", len(got))
	}
	clk.Add(w.Lease)
	runOnce(t, w, 1, 0)
}

func TestWorkerRecordsDeliveryDuringShutdown(t *testing.T) {
	clk := newClock()
	ob := &memOutbox{}
	id := ob.add("team@council.example", "Subject", "body", clk.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Shutdown begins just as the server accepts the message.
	s := &fakeSender{fn: func(context.Context, Message) error { cancel(); return nil }}
	w := newWorker(ob, s, clk, nil)
	sent, _, err := w.RunOnce(ctx)
	if err != nil || sent != 1 {
		t.Fatalf("RunOnce sent %d, err %v", sent, err)
	}
	if ob.row(id).sentAt.IsZero() {
		t.Fatal("accepted message not marked sent: it would be sent again")
	}
}

func TestWorkerLogsNoPersonalData(t *testing.T) {
	srv := startServer(t, serverOptions{reject: func(to string) error {
		switch {
		case strings.HasPrefix(to, "busy"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "<" + to + "> try later"}
		case strings.HasPrefix(to, "gone"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + "> unknown"}
		}
		return nil
	}})
	down := startServer(t, serverOptions{})
	down.Close()

	clk := newClock()
	ob := &memOutbox{}
	private := []string{"jo.bloggs@family.example", "busy.parent@family.example", "gone.away@family.example"}
	subjects := []string{"URGENT: New Family Help referral FH-7K3M-Q9P2", "Your message has been received", "Private subject FH-AAAA-BBBB"}
	for i, to := range private {
		ob.add(to, subjects[i], "Dear Jo, body text", clk.Now())
	}
	logs := &syncBuffer{}
	w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, logs)
	runOnce(t, w, 1, 2)

	// And a refused connection.
	ob.add("refused@family.example", "Another private subject", "Dear Jo", clk.Now())
	w.Sender = newTestSMTP(t, "smtp://"+down.Addr, nil)
	runOnce(t, w, 0, 1)

	out := logs.String()
	for _, want := range []string{`"id":1`, `"outcome":"sent"`, `"outcome":"retry"`, `"outcome":"gave_up"`, `"attempt":1`, "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	secrets := append(append([]string{"refused@", "family.example", "FH-7K3M-Q9P2", "FH-AAAA-BBBB", "Dear Jo", "Another private subject"}, private...), subjects...)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log contains %q:\n%s", s, out)
		}
	}
}

func TestWorkerRunAndWake(t *testing.T) {
	srv := startServer(t, serverOptions{})
	clk := newClock()
	ob := &memOutbox{}
	w := newWorker(ob, newTestSMTP(t, "smtp://"+srv.Addr, nil), clk, nil)
	w.Interval = time.Hour // only Wake can make it look again in time

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	waitFor(t, "the first poll", func() bool { ob.mu.Lock(); defer ob.mu.Unlock(); return ob.claims > 0 })
	ob.add("team@council.example", "Subject", "body", clk.Now())
	w.Wake()
	waitFor(t, "the message after Wake", func() bool { return len(srv.Received()) == 1 })

	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestWorkerWithoutSenderDoesNothing(t *testing.T) {
	ob := &memOutbox{}
	ob.add("team@council.example", "Subject", "body", time.Now())
	w := &Worker{Outbox: ob, Log: slog.New(slog.DiscardHandler)}
	if w.Enabled() {
		t.Error("Enabled with no sender")
	}
	done := make(chan struct{})
	go func() { w.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run kept running with no sender")
	}
	if sent, failed, err := w.RunOnce(context.Background()); sent != 0 || failed != 0 || err != nil {
		t.Errorf("RunOnce = %d, %d, %v", sent, failed, err)
	}
	w.Wake() // must not block or panic
	if ob.claims != 0 {
		t.Errorf("claimed %d times with no sender: messages would be leased for nothing", ob.claims)
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := ExponentialBackoff(30*time.Second, time.Hour)
	for attempt := 1; attempt <= 20; attempt++ {
		want := min(30*time.Second<<(min(attempt, 10)-1), time.Hour)
		got := b(attempt)
		if got > want || got < want*3/4 {
			t.Errorf("attempt %d: %v, want between %v and %v", attempt, got, want*3/4, want)
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b(3)] = true
	}
	if len(seen) < 2 {
		t.Error("no jitter: every wait was the same")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
