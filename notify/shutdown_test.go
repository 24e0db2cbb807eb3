package notify

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// claimable lists the ids another worker could claim right now.
func claimable(t *testing.T, ob Outbox, now time.Time) []int64 {
	t.Helper()
	msgs, err := ob.Claim(context.Background(), now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

// At shutdown the send under way finishes and is recorded, and the rest of the batch is
// handed back: another instance can claim it at once instead of after the lease.
func TestWorkerHandsBackWhatItHoldsAtShutdown(t *testing.T) {
	clk := newClock()
	ob := &memOutbox{}
	first := ob.add("team@council.example", "Subject", "body", clk.Now())
	second := ob.add("team@council.example", "Subject", "body", clk.Now())
	third := ob.add("other@council.example", "Subject", "body", clk.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Shutdown begins while the first message is with the server.
	s := &fakeSender{fn: func(context.Context, Message) error { cancel(); return nil }}
	w := newWorker(ob, s, clk, nil)

	sent, failed, err := w.RunOnce(ctx)
	if !errors.Is(err, context.Canceled) || sent != 1 || failed != 0 {
		t.Fatalf("RunOnce = %d sent, %d failed, err %v; want the first sent and the run cut short", sent, failed, err)
	}
	if s.Calls() != 1 {
		t.Errorf("%d sends started after shutdown began, want none", s.Calls()-1)
	}
	if ob.row(first).sentAt.IsZero() {
		t.Error("the message the server accepted is not marked sent")
	}
	if got := claimable(t, ob, clk.Now()); !slices.Equal(got, []int64{second, third}) {
		t.Errorf("claimable at once after shutdown: %v, want %v", got, []int64{second, third})
	}
	for _, id := range []int64{second, third} {
		if r := ob.row(id); r.msg.Attempts != 0 || r.reason != "" {
			t.Errorf("message %d handed back with attempts %d, reason %q; want no attempt recorded", id, r.msg.Attempts, r.reason)
		}
	}
}

// A send cut short by shutdown is handed back only if it cannot have reached the server;
// one that failed mid-session keeps its lease, in case the server took it after all.
func TestWorkerHandsBackASendCutShortOnlyIfNothingWent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		handsBack bool
	}{
		{"cancelled while connecting", &SendError{Stage: "connect", Cause: "cancelled"}, true},
		{"connection lost during DATA", &SendError{Stage: "data", Cause: "connection closed"}, false},
		{"an error that says nothing", errors.New("something broke"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			ob := &memOutbox{}
			id := ob.add("team@council.example", "Subject", "body", clk.Now())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := newWorker(ob, &fakeSender{fn: func(context.Context, Message) error { cancel(); return tc.err }}, clk, nil)
			if _, _, err := w.RunOnce(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("RunOnce err = %v, want the shutdown", err)
			}
			got := claimable(t, ob, clk.Now())
			if handedBack := slices.Contains(got, id); handedBack != tc.handsBack {
				t.Errorf("claimable at once: %v, want %v", handedBack, tc.handsBack)
			}
			if r := ob.row(id); r.msg.Attempts != 0 || r.gaveUp {
				t.Errorf("an attempt was counted against the message: attempts %d, gave up %v", r.msg.Attempts, r.gaveUp)
			}
		})
	}
}

// An outbox that cannot release keeps today's behaviour: the lease runs out.
func TestWorkerWithoutReleaserLeavesTheLease(t *testing.T) {
	clk := newClock()
	ob := &memOutbox{}
	ob.add("team@council.example", "Subject", "body", clk.Now())
	ob.add("team@council.example", "Subject", "body", clk.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newWorker(struct{ Outbox }{ob}, &fakeSender{fn: func(context.Context, Message) error { cancel(); return nil }}, clk, nil)
	if _, _, err := w.RunOnce(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunOnce err = %v, want the shutdown", err)
	}
	if got := claimable(t, ob, clk.Now()); len(got) != 0 {
		t.Errorf("claimable before the lease ends: %v", got)
	}
	if got := claimable(t, ob, clk.Now().Add(DefaultLease)); len(got) != 1 {
		t.Errorf("claimable after the lease: %v, want the one not sent", got)
	}
}

// Ping tells readiness checks whether the last attempt reached the mail server.
func TestWorkerPingFollowsTheMailServer(t *testing.T) {
	srv := startServer(t, serverOptions{reject: func(to string) error {
		if to == "gone@council.example" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "unknown"}
		}
		return nil
	}})
	down := startServer(t, serverOptions{})
	down.Close()
	clk := newClock()
	ob := &memOutbox{}
	w := newWorker(ob, newTestSMTP(t, "smtp://"+down.Addr, nil), clk, nil)
	if err := w.Ping(context.Background()); err != nil {
		t.Errorf("Ping before any attempt: %v, want nil", err)
	}

	ob.add("team@council.example", "Subject", "body", clk.Now())
	runOnce(t, w, 0, 1)
	if err := w.Ping(context.Background()); err == nil {
		t.Error("Ping after the server refused the connection: nil, want an error")
	}

	w.Sender = newTestSMTP(t, "smtp://"+srv.Addr, nil)
	ob.add("gone@council.example", "Subject", "body", clk.Now())
	runOnce(t, w, 0, 1) // the retry of the first is not due yet; the second is refused
	if err := w.Ping(context.Background()); err != nil {
		t.Errorf("Ping after the server answered (refusing one recipient): %v, want nil", err)
	}
}
