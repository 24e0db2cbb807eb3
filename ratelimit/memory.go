package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// DefaultMemoryKeys bounds the in-process limiter when NewMemory is given no size. A bucket
// with an IP address key measured about 260 bytes, so this is about 26 MB when full.
const DefaultMemoryKeys = 100_000

// memoryKey includes the whole rule, not just its name, so a rule whose numbers change
// between deploys starts new buckets instead of applying new numbers to old state.
type memoryKey struct {
	rule Rule
	key  string
}

type bucket struct {
	lim *rate.Limiter
	// ttl is how long an idle bucket takes to refill, plus a margin: after that a new full
	// bucket is the same as the old one, so expiring it loses nothing.
	ttl time.Duration
}

// Memory is an in-process Limiter with the same token-bucket semantics as the Redis GCRA. It
// counts only this process's events, so with several instances each one holds its own budget:
// right for a single instance, and for riding out a Redis outage.
//
// Buckets live in a bounded cache. When it is full the least useful buckets are dropped, and a
// dropped key starts again with a full burst: the bound trades exactness under a flood of
// distinct keys for memory that cannot grow without limit.
type Memory struct {
	buckets *otter.Cache[memoryKey, *bucket]
}

// NewMemory returns an in-process limiter holding at most maxKeys buckets (DefaultMemoryKeys
// when maxKeys <= 0). It is safe for concurrent use.
func NewMemory(maxKeys int) *Memory {
	if maxKeys <= 0 {
		maxKeys = DefaultMemoryKeys
	}
	return &Memory{buckets: otter.Must(&otter.Options[memoryKey, *bucket]{
		MaximumSize: maxKeys,
		ExpiryCalculator: otter.ExpiryAccessingFunc(func(e otter.Entry[memoryKey, *bucket]) time.Duration {
			return e.Value.ttl
		}),
	})}
}

// Allow implements Limiter. It returns an error only for an invalid rule.
func (m *Memory) Allow(_ context.Context, rule Rule, key string) (Decision, error) {
	if err := rule.Validate(); err != nil {
		return Decision{}, fmt.Errorf("rate limit: %w", err)
	}
	k := memoryKey{rule: rule, key: key}
	b, ok := m.buckets.GetIfPresent(k)
	if !ok {
		b, _ = m.buckets.SetIfAbsent(k, newBucket(rule))
	}

	now := time.Now()
	// AllowN takes the token atomically; reading the level afterwards is only for the numbers
	// we report, which may be a little stale under concurrency without letting anyone extra in.
	allowed := b.lim.AllowN(now, 1)
	tokens := b.lim.TokensAt(now)
	if allowed {
		return Decision{Allowed: true, Remaining: max(0, int(math.Floor(tokens)))}, nil
	}
	wait := time.Duration(math.Ceil((1 - tokens) / float64(b.lim.Limit()) * float64(time.Second)))
	return Decision{RetryAfter: max(wait, time.Nanosecond)}, nil
}

func newBucket(rule Rule) *bucket {
	perSecond := float64(rule.Rate) / rule.Period.Seconds()
	burst := rule.MaxBurst()
	return &bucket{
		lim: rate.NewLimiter(rate.Limit(perSecond), burst),
		ttl: time.Duration(float64(burst)/perSecond*float64(time.Second)) + time.Minute,
	}
}
