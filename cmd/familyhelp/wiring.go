package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"familyhelp/csrfstore"
	"familyhelp/internal/failover"
	"familyhelp/notify"
	"familyhelp/ratelimit"
	"familyhelp/ratelimit/redisrate"
	"familyhelp/referral"
	"familyhelp/referral/redisdrafts"
	"familyhelp/staff"
	"familyhelp/staff/redissessions"
	"familyhelp/store"
)

// openRedis connects to REDIS_URL, or returns nil when it is not set. One client (a pool)
// serves the limiter, the sessions and the readiness check.
func openRedis(cfg config, log *slog.Logger) (*redis.Client, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	client, err := redisrate.NewClient(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// go-redis prints every failed dial to stderr; the fallback already says once that Redis
	// is down, so its own lines go to the debug log.
	redis.SetLogger(redisLog{log})
	return client, nil
}

// newLimiter is Redis (GCRA, shared by every instance) in front of the in-process limiter when
// there is a Redis client, and the in-process limiter alone otherwise.
func newLimiter(client *redis.Client, log *slog.Logger) ratelimit.Limiter {
	memory := ratelimit.NewMemory(ratelimit.DefaultMemoryKeys)
	if client == nil {
		return memory
	}
	return ratelimit.NewFallback(redisrate.New(client), memory, log)
}

// useRedis keeps staff sessions and referral drafts in Redis when there is a Redis client, so
// that every instance knows every session and can carry on every family's form; otherwise they
// stay in the database. Drafts go to the database while Redis cannot be reached, so a family
// can still finish (see failover). Sessions do not: staff cannot use the portal until Redis
// is back, and sign in again if it lost them.
func useRedis(client *redis.Client, a *app, log *slog.Logger) {
	if client == nil {
		return
	}
	a.portal.Sessions = redissessions.New(client)
	a.refs.DraftStore = redisdrafts.WithFallback(redisdrafts.New(client, redisdrafts.Prefix), a.db,
		failover.New("referral drafts", log, 0))
}

// csrfStorage is where the CSRF tokens of every form are kept: Redis when there is a client,
// falling back to the database while it cannot be reached; otherwise the database.
func csrfStorage(client *redis.Client, a *app, log *slog.Logger) fiber.Storage {
	if client == nil {
		return a.db.KV()
	}
	return csrfstore.WithFallback(csrfstore.New(client, csrfstore.Prefix), a.db.KV(), failover.New("CSRF tokens", log, 0))
}

type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.Debug("redis: " + fmt.Sprintf(format, v...))
}

// newWorker is the outbox worker, sending by SMTP when SMTP_URL is set; without it the worker
// is disabled and notifications wait in the outbox.
func newWorker(cfg config, a *app, log *slog.Logger, m *metrics) (*notify.Worker, error) {
	w := &notify.Worker{Outbox: outbox{db: a.db, refs: a.refs, log: log, metrics: m}, Log: log, Lease: cfg.MailLease}
	if cfg.MailRetry > 0 {
		w.Backoff = notify.ExponentialBackoff(cfg.MailRetry, time.Hour)
		w.Interval = min(cfg.MailRetry, notify.DefaultInterval)
	}
	if cfg.SMTPURL == "" {
		return w, nil
	}
	sender, err := notify.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	w.Sender = sender
	return w, nil
}

// outbox gives the notify worker the store's outbox, opening each sealed notification as it is
// claimed. It lives here because only the command wires one adapter to another.
type outbox struct {
	db   *store.DB
	refs *referral.Service
	log  *slog.Logger
	// metrics, if set, counts the outcomes recorded.
	metrics *metrics
}

func (o outbox) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]notify.Message, error) {
	pending, err := o.db.ClaimOutbox(ctx, now, lease, max)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Message, 0, len(pending))
	for _, p := range pending {
		l, err := o.refs.OpenLetter(p.Key, p.Sealed)
		if err != nil {
			// Sealed under another key: no retry can help, and staff must see it.
			o.log.Error("notification cannot be opened; giving up on it", "outbox_id", p.ID)
			if err := o.db.MarkFailed(ctx, p.ID, p.Attempts+1, time.Time{}, "cannot be opened with this key"); err != nil {
				return nil, err
			}
			o.metrics.notificationFailed(false)
			continue
		}
		out = append(out, notify.Message{ID: p.ID, To: l.To, Subject: l.Subject, Text: l.Text, Attempts: p.Attempts})
	}
	return out, nil
}

func (o outbox) MarkSent(ctx context.Context, id int64, at time.Time) error {
	if err := o.db.MarkSent(ctx, id, at); err != nil {
		return err
	}
	o.metrics.notificationSent()
	return nil
}

func (o outbox) MarkFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	if err := o.db.MarkFailed(ctx, id, attempts, next, reason); err != nil {
		return err
	}
	o.metrics.notificationFailed(!next.IsZero())
	return nil
}

// Release hands a claimed message back at shutdown: its lease ends, so another instance can
// send it at once, and its attempts, due time and last failure stay as they were.
func (o outbox) Release(ctx context.Context, m notify.Message) error {
	return o.db.ReleaseOutbox(ctx, m.ID)
}

// purgeInterval is how often expired drafts and tokens are deleted: a draft is unreadable once
// expired, but should not stay on disk either.
const purgeInterval = 5 * time.Minute

// defaultRetention is how long a closed referral's contents are kept: two years, after which
// only its reference, teams and dates remain.
const defaultRetention = 2 * 365 * 24 * time.Hour

// reportRetention is how long a dealt-with problem report is kept.
const reportRetention = 90 * 24 * time.Hour

type purged struct{ drafts, tokens, sessions, referrals int }

func purge(ctx context.Context, a *app, retention time.Duration) (purged, error) {
	var n purged
	var err error
	now := time.Now()
	if n.drafts, err = a.db.PurgeDrafts(ctx, now); err != nil {
		return n, err
	}
	if n.tokens, err = a.db.KV().Purge(ctx); err != nil {
		return n, err
	}
	if n.sessions, err = a.db.PurgeSessions(ctx, now); err != nil {
		return n, err
	}
	// A public report of a problem with a listing goes 90 days after an editor dealt with it.
	if _, err := a.db.PurgeReports(ctx, now.Add(-reportRetention)); err != nil {
		return n, err
	}
	refs, err := a.db.PurgeClosedReferrals(ctx, now.Add(-retention), now)
	if err != nil {
		return n, err
	}
	n.referrals = len(refs)
	for _, r := range refs {
		// The audit trail keeps the reference only.
		if err := a.db.Audit(ctx, staff.Entry{At: now, Action: "deleted the contents of a closed referral", Target: "referral:" + r}); err != nil {
			return n, err
		}
	}
	return n, nil
}

func purgeEvery(ctx context.Context, a *app, log *slog.Logger, every, retention time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := purge(ctx, a, retention); err != nil && ctx.Err() == nil {
			log.Warn("purge expired drafts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// indexSyncInterval is how often the search index queue is looked at without being woken: it
// bounds how late a retry after an engine failure, or a change an instance saved but did not
// apply before it stopped, reaches the index.
const indexSyncInterval = 5 * time.Second

// loops are the goroutines serve runs beside the web server: the outbox worker, the purge and
// the index sync. They run until ctx ends; wait lets each finish what it is doing, so the index
// and the database are not closed under a batch being applied or a delivery being recorded.
type loops struct {
	wg sync.WaitGroup
}

func (l *loops) Go(f func()) { l.wg.Go(f) }

// wait waits for every loop to return, or until deadline; it reports whether they all did.
func (l *loops) wait(deadline time.Time) bool {
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
