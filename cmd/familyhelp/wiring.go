package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/notify"
	"familyhelp/ratelimit"
	"familyhelp/ratelimit/redisrate"
	"familyhelp/referral"
	"familyhelp/store"
)

// newLimiter is Redis (GCRA, shared by every instance) in front of the in-process limiter when
// REDIS_URL is set, and the in-process limiter alone otherwise.
func newLimiter(cfg config, log *slog.Logger) (ratelimit.Limiter, func(), error) {
	memory := ratelimit.NewMemory(ratelimit.DefaultMemoryKeys)
	if cfg.RedisURL == "" {
		return memory, func() {}, nil
	}
	client, err := redisrate.NewClient(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// go-redis prints every failed dial to stderr; the fallback already says once that Redis
	// is down, so its own lines go to the debug log.
	redis.SetLogger(redisLog{log})
	return ratelimit.NewFallback(redisrate.New(client), memory, log), func() { client.Close() }, nil
}

type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.Debug("redis: " + fmt.Sprintf(format, v...))
}

// newWorker is the outbox worker, sending by SMTP when SMTP_URL is set; without it the worker
// is disabled and notifications wait in the outbox.
func newWorker(cfg config, a *app, log *slog.Logger) (*notify.Worker, error) {
	w := &notify.Worker{Outbox: outbox{db: a.db, refs: a.refs, log: log}, Log: log}
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
			continue
		}
		out = append(out, notify.Message{ID: p.ID, To: l.To, Subject: l.Subject, Text: l.Text, Attempts: p.Attempts})
	}
	return out, nil
}

func (o outbox) MarkSent(ctx context.Context, id int64, at time.Time) error {
	return o.db.MarkSent(ctx, id, at)
}

func (o outbox) MarkFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	return o.db.MarkFailed(ctx, id, attempts, next, reason)
}

// purgeInterval is how often expired drafts and tokens are deleted: a draft is unreadable once
// expired, but should not stay on disk either.
const purgeInterval = 5 * time.Minute

func purge(ctx context.Context, a *app) (drafts, tokens int, err error) {
	if drafts, err = a.db.PurgeDrafts(ctx, time.Now()); err != nil {
		return 0, 0, err
	}
	tokens, err = a.db.KV().Purge(ctx)
	return drafts, tokens, err
}

func purgeEvery(ctx context.Context, a *app, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, _, err := purge(ctx, a); err != nil && ctx.Err() == nil {
			log.Warn("purge expired drafts", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
