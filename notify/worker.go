package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults for the Worker's zero fields.
const (
	DefaultInterval    = 30 * time.Second
	DefaultLease       = 5 * time.Minute
	DefaultBatch       = 20
	DefaultMaxAttempts = 10
)

// markSentTimeout bounds recording a delivery, which runs even after shutdown has begun.
const markSentTimeout = 10 * time.Second

// releaseTimeout bounds handing messages back at shutdown; past it they wait for their lease to
// end instead, which loses nothing but time.
const releaseTimeout = 2 * time.Second

// Releaser is an Outbox that can hand a claimed message back. Release ends the lease on a
// message this worker claimed but did not try, recording no attempt, so that any worker can
// claim it again at once; m is the message as Claim returned it. Without it, messages held at
// shutdown wait for their lease to end.
type Releaser interface {
	Release(ctx context.Context, m Message) error
}

// Worker delivers what the outbox holds.
//
// Exactly once, as near as SMTP allows: a message is claimed with a lease, so no other
// worker or instance takes it meanwhile; it is marked sent as soon as the server accepts
// it, and that mark is written even if shutdown has begun. The one window for a duplicate
// is a crash (or a database that refuses the mark) after the server accepted the message and
// before MarkSent is stored: when the lease ends the message is claimed and sent again.
// SMTP gives no way to close that window; the stable Message-ID that SMTP sets lets
// de-duplicating mail systems drop the second copy. A message whose lease might lapse
// before it is sent is not started: the rest of the batch waits for the lease to end.
//
// At shutdown (ctx ending) a send under way is left to finish and be recorded, and, if the
// Outbox is a Releaser, the messages of the batch not yet tried are released, so another
// instance can send them at once rather than after the lease.
//
// With a nil Sender (no SMTP_URL) the worker is disabled: Run returns at once and RunOnce
// claims nothing, so notifications stay in the outbox, unleased and visible to staff.
//
// Set the fields before Run and do not copy a Worker once used.
type Worker struct {
	Outbox Outbox
	Sender Sender
	// Log gets one line per attempt with the outbox id, attempt and outcome, never the
	// recipient, subject or body. Nil uses slog.Default().
	Log *slog.Logger
	// Interval is how often Run polls for due messages; Wake skips the wait.
	Interval time.Duration
	// Lease is how long a claimed message is reserved for this worker. It must be longer
	// than sending a batch can take; the worker stops starting new sends after half of it.
	Lease time.Duration
	// Batch is the most messages claimed at once.
	Batch int
	// MaxAttempts is how many attempts are made before giving up on a message.
	MaxAttempts int
	// Backoff is the wait after the given failed attempt (1 for the first); nil uses
	// ExponentialBackoff(30*time.Second, time.Hour).
	Backoff func(attempt int) time.Duration
	// Now is the clock for due times, leases and marks; nil uses time.Now.
	Now func() time.Time

	wakeOnce sync.Once
	wake     chan struct{}

	// mu guards serverDown: the mail server's state as the last attempt found it.
	mu         sync.Mutex
	serverDown string
}

// Enabled reports whether the worker will send anything: there is an outbox and a sender.
func (w *Worker) Enabled() bool { return w.Outbox != nil && w.Sender != nil }

// Wake makes a running Run look at the outbox now, so a fresh referral's notification goes
// at once rather than at the next poll. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wakeChan() <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

func (w *Worker) wakeChan() chan struct{} {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Run delivers due messages until ctx is done: every Interval, on Wake, and straight
// away again while batches come back full. Errors are logged, not returned, because an
// outbox or mail server that is down now may be back at the next poll. With no Sender it
// returns at once.
func (w *Worker) Run(ctx context.Context) {
	if !w.Enabled() {
		w.log().Info("email is not configured: notifications wait in the outbox")
		return
	}
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			sent, failed, err := w.RunOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.log().Error("deliver notifications", "err", err)
				}
				break
			}
			if sent+failed < w.batch() {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wakeChan():
		}
	}
}

// RunOnce claims one batch of due messages and tries each once. failed counts attempts
// that did not deliver, whether retried later or given up. err is an outbox failure, or
// ctx ending. When ctx ends, the messages not yet tried are released (see Worker); after an
// outbox failure they stay leased and are claimed again when the lease ends. With no Sender
// it does nothing.
func (w *Worker) RunOnce(ctx context.Context) (sent, failed int, err error) {
	if !w.Enabled() {
		return 0, 0, nil
	}
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	// The lease is measured on the wall clock here even if Now is injected: it is real
	// time that another instance's claim would race against.
	started := time.Now()
	msgs, err := w.Outbox.Claim(ctx, w.now(), lease, w.batch())
	if err != nil {
		return 0, 0, fmt.Errorf("claim notifications: %w", err)
	}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			w.release(ctx, msgs[i:])
			return sent, failed, fmt.Errorf("deliver notifications: %w", err)
		}
		if time.Since(started) > lease/2 {
			w.log().Warn("notification lease running out, leaving the rest for later", "left", len(msgs)-i)
			return sent, failed, nil
		}
		ok, err := w.deliver(ctx, m)
		if ok {
			sent++
		} else {
			failed++
		}
		if err != nil {
			return sent, failed, err
		}
	}
	return sent, failed, nil
}

// deliver tries m once and records the outcome. ok is whether the server accepted it; err
// is a failure to record the outcome, or ctx ending.
func (w *Worker) deliver(ctx context.Context, m Message) (ok bool, err error) {
	attempt := m.Attempts + 1
	sendErr := w.Sender.Send(ctx, m)
	if ctx.Err() == nil || sendErr == nil {
		w.noteServer(sendErr)
	}
	if sendErr == nil {
		if err := w.markSent(ctx, m.ID); err != nil {
			// The message went but will look unsent when the lease ends: the one window
			// for a duplicate (see Worker).
			w.log().Error("notification sent but not recorded; it may be sent again", "id", m.ID, "attempt", attempt, "err", err)
			return true, err
		}
		w.log().Info("notification sent", "id", m.ID, "attempt", attempt, "outcome", "sent")
		return true, nil
	}
	if ctx.Err() != nil {
		// Shutting down mid-send is not the message's fault, so no attempt is counted. A
		// message that never left is handed back; one that failed later in the session is
		// left to its lease, in case the server took it after all.
		if !transmitted(sendErr) {
			w.release(ctx, []Message{m})
		}
		return false, fmt.Errorf("send notification %d: %w", m.ID, ctx.Err())
	}
	why := reason(sendErr)
	var next time.Time // zero: give up
	outcome := "gave_up"
	if !errors.Is(sendErr, ErrPermanent) && attempt < w.maxAttempts() {
		next = w.now().Add(w.backoff(attempt))
		outcome = "retry"
	}
	if err := w.Outbox.MarkFailed(ctx, m.ID, attempt, next, why); err != nil {
		return false, fmt.Errorf("send notification %d: %w", m.ID, err)
	}
	if outcome == "retry" {
		w.log().Warn("notification not sent", "id", m.ID, "attempt", attempt, "outcome", outcome, "reason", why, "next", next)
	} else {
		w.log().Error("notification not sent, giving up", "id", m.ID, "attempt", attempt, "outcome", outcome, "reason", why)
	}
	return false, nil
}

// markSent records a delivery even if ctx has just been cancelled: a shutdown between the
// server's acceptance and this write would otherwise send the message again.
func (w *Worker) markSent(ctx context.Context, id int64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markSentTimeout)
	defer cancel()
	var err error
	for try := range 3 {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("mark notification %d sent: %w", id, errors.Join(err, ctx.Err()))
			case <-time.After(time.Duration(try) * 200 * time.Millisecond):
			}
		}
		if err = w.Outbox.MarkSent(ctx, id, w.now()); err == nil {
			return nil
		}
	}
	return fmt.Errorf("mark notification %d sent: %w", id, err)
}

// release hands back messages claimed but not sent, so that they can be claimed again at
// once. It runs as ctx ends, so it has its own short deadline; a message it cannot release
// waits for its lease to end.
func (w *Worker) release(ctx context.Context, msgs []Message) {
	r, ok := w.Outbox.(Releaser)
	if !ok || len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	released := 0
	for _, m := range msgs {
		if err := r.Release(ctx, m); err != nil {
			w.log().Warn("notification not handed back; it waits for its lease to end", "id", m.ID, "err", err)
			continue
		}
		released++
	}
	w.log().Info("notifications handed back at shutdown", "released", released, "kept", len(msgs)-released)
}

// transmitted says whether a failed send may have got as far as giving the server the
// message: failures while connecting or authenticating, or before the message was built,
// sent nothing.
func transmitted(err error) bool {
	var se *SendError
	if !errors.As(err, &se) {
		return true
	}
	switch se.Stage {
	case "connect", "auth", "message":
		return false
	}
	return true
}

// noteServer records whether the mail server was reachable on this attempt. A refusal of
// one message (a reply code from MAIL, RCPT or DATA) says the server is up.
func (w *Worker) noteServer(sendErr error) {
	var se *SendError
	isSendErr := errors.As(sendErr, &se)
	if isSendErr && se.Stage == "message" {
		return // our own message could not be built; nothing was asked of the server
	}
	down := ""
	switch {
	case sendErr == nil:
	case !isSendErr:
		down = reason(sendErr)
	case se.Stage == "connect" || se.Stage == "auth" || se.Code == 0:
		down = se.Error()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.serverDown = down
}

// Ping reports the mail server as the last delivery attempt found it, for readiness checks:
// an error if that attempt could not reach it or was refused at sign-in, nil otherwise or
// before any attempt. It makes no connection, so checks can be frequent; the error text is
// safe to log (stage and codes only).
func (w *Worker) Ping(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.serverDown != "" {
		return fmt.Errorf("mail server at the last attempt: %s", w.serverDown)
	}
	return nil
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return DefaultBatch
}

func (w *Worker) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return DefaultMaxAttempts
}

var defaultBackoff = ExponentialBackoff(30*time.Second, time.Hour)

func (w *Worker) backoff(attempt int) time.Duration {
	if w.Backoff != nil {
		return w.Backoff(attempt)
	}
	return defaultBackoff(attempt)
}

// ExponentialBackoff waits base after the first failed attempt, doubling each time up to
// limit, less up to a quarter at random: the jitter spreads out messages that failed
// together (a mail server outage) so they do not all return at the same moment.
func ExponentialBackoff(base, limit time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		if q := int64(d / 4); q > 0 {
			d -= time.Duration(rand.Int64N(q + 1))
		}
		return d
	}
}
