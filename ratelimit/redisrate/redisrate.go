// Package redisrate is the Redis adapter for ratelimit.Limiter: a GCRA in one Lua script
// (github.com/go-redis/redis_rate), so every instance sharing one Redis holds one exact limit.
//
// It returns Redis's errors as they come; staying up through an outage is the job of
// ratelimit.Fallback, which wraps this limiter.
package redisrate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"familyhelp/ratelimit"
)

// KeyPrefix starts every key this package writes (after redis_rate's own "rate:"), so the
// limits can share a Redis with sessions and anything else.
const KeyPrefix = "familyhelp:rl:"

// Timeouts NewClient applies when the URL does not set its own. A rate-limit check sits in
// front of a family's search or referral, and Fallback answers from memory when Redis fails,
// so a short wait followed by the fallback beats the go-redis defaults of seconds.
const (
	DialTimeout  = 300 * time.Millisecond
	ReadTimeout  = 300 * time.Millisecond
	WriteTimeout = 300 * time.Millisecond
	PoolTimeout  = 500 * time.Millisecond
)

// Limiter is a ratelimit.Limiter backed by Redis.
type Limiter struct {
	rl *redis_rate.Limiter
}

// New returns a limiter on rdb. Build rdb with short timeouts (NewClient does): every
// timeout is time a family waits before the fallback answers.
func New(rdb redis.UniversalClient) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(rdb)}
}

// Allow implements ratelimit.Limiter.
func (l *Limiter) Allow(ctx context.Context, rule ratelimit.Rule, key string) (ratelimit.Decision, error) {
	if err := rule.Validate(); err != nil {
		return ratelimit.Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	limit := redis_rate.Limit{Rate: rule.Rate, Period: rule.Period, Burst: rule.MaxBurst()}
	res, err := l.rl.Allow(ctx, KeyPrefix+rule.Name+":"+key, limit)
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("rate limit: redis: %w", err)
	}
	d := ratelimit.Decision{Allowed: res.Allowed > 0, Remaining: res.Remaining}
	if !d.Allowed {
		// redis_rate says -1 for "no wait"; a denied event always has a wait, however short.
		d.RetryAfter = max(res.RetryAfter, time.Nanosecond)
	}
	return d, nil
}

// NewClient returns a client for a redis:// or rediss:// URL (REDIS_URL) with the short
// timeouts above, one dial attempt and no command retries: a retry is another wait for the
// family, and a retried script may count an event twice. Non-zero timeouts and max_retries
// given as URL query parameters (dial_timeout=1s, …) win over these.
func NewClient(rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included; keep it out of logs.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("redis client: parse REDIS_URL: %w", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = DialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = ReadTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = WriteTimeout
	}
	if opt.PoolTimeout == 0 {
		opt.PoolTimeout = PoolTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = -1
	}
	// go-redis dials up to 5 times, 100 ms apart, before a command fails: two seconds against
	// a Redis that is not there. One attempt is enough when the fallback is a moment away.
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	return redis.NewClient(opt), nil
}
