package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultRetryInterval is how long Fallback leaves a failing primary alone before trying it
// again.
const DefaultRetryInterval = 5 * time.Second

// Fallback asks Primary (Redis) and, when Primary fails, answers from Backup (in-process)
// instead: the limit still holds, per instance, and the caller never sees Primary's error. A
// rate limiter that failed open would let a flood of submissions through exactly when the
// system is already in trouble; one that returned the error would show a family an error page
// for somebody else's outage. Backup only counts while it answers, so when an outage begins a
// key may get up to one more burst from each instance: looser, never open.
//
// While Primary is failing, only one request every RetryInterval tries it, so an outage with
// slow timeouts costs one slow request per interval rather than one per request.
//
// An outage is logged once when it starts (Warn) and once when it ends (Info), without keys or
// anything else about the requests. Set the fields before first use and do not copy a Fallback
// after that.
type Fallback struct {
	Primary Limiter
	Backup  Limiter
	// Log receives the outage lines; nil means slog.Default().
	Log *slog.Logger
	// RetryInterval is the pause between tries of a failing Primary; zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration

	mu      sync.Mutex
	failing bool
	retryAt time.Time
	// epoch changes on every switch between healthy and failing. A call remembers the epoch it
	// started in, so a slow answer from before a switch cannot switch the state back.
	epoch uint64
}

// NewFallback returns a Fallback from primary to backup that logs to log.
func NewFallback(primary, backup Limiter, log *slog.Logger) *Fallback {
	return &Fallback{Primary: primary, Backup: backup, Log: log}
}

// Allow implements Limiter. It returns an error only for an invalid rule, or if Backup fails
// too.
func (f *Fallback) Allow(ctx context.Context, rule Rule, key string) (Decision, error) {
	if err := rule.Validate(); err != nil {
		return Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	if epoch, ok := f.tryPrimary(time.Now()); ok {
		d, err := f.Primary.Allow(ctx, rule, key)
		if err == nil {
			f.primaryAnswered(epoch)
			return d, nil
		}
		// A request the caller gave up on says nothing about Primary; one whose deadline
		// passed while Primary thought does.
		if !errors.Is(ctx.Err(), context.Canceled) {
			f.primaryFailed(epoch, err)
		}
	}
	// Backup is in-process and quick; it answers even for a caller whose deadline Primary used
	// up, because a decision is always better for the family than an error page.
	d, err := f.Backup.Allow(context.WithoutCancel(ctx), rule, key)
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit: backup: %w", err)
	}
	return d, nil
}

// tryPrimary says whether this call should ask Primary. During an outage the first caller
// after retryAt wins the probe and pushes retryAt on, so concurrent callers keep to Backup.
func (f *Fallback) tryPrimary(now time.Time) (epoch uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failing {
		return f.epoch, true
	}
	if now.Before(f.retryAt) {
		return f.epoch, false
	}
	f.retryAt = now.Add(f.retryInterval())
	return f.epoch, true
}

func (f *Fallback) primaryFailed(epoch uint64, err error) {
	f.mu.Lock()
	started := epoch == f.epoch && !f.failing
	if epoch == f.epoch {
		f.retryAt = time.Now().Add(f.retryInterval())
	}
	if started {
		f.failing = true
		f.epoch++
	}
	f.mu.Unlock()
	if started {
		f.logger().Warn("rate limit: primary limiter failing, limiting in process until it answers",
			"error", err.Error(), "retry_interval", f.retryInterval().String())
	}
}

func (f *Fallback) primaryAnswered(epoch uint64) {
	f.mu.Lock()
	ended := epoch == f.epoch && f.failing
	if ended {
		f.failing = false
		f.epoch++
	}
	f.mu.Unlock()
	if ended {
		f.logger().Info("rate limit: primary limiter answering again")
	}
}

func (f *Fallback) retryInterval() time.Duration {
	if f.RetryInterval > 0 {
		return f.RetryInterval
	}
	return DefaultRetryInterval
}

func (f *Fallback) logger() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}
