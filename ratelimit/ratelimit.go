// Package ratelimit holds the rate limits that protect the public forms and search: the
// Limiter interface the handlers depend on, an in-process limiter (the default, and the
// stand-in while Redis is away), and Fallback, which puts the two together so that a Redis
// outage never opens the gates and never shows a family an error page. The Redis adapter
// lives in the sub-package redisrate.
//
// Wiring: without REDIS_URL, use NewMemory(0) alone. With it,
//
//	rdb, err := redisrate.NewClient(os.Getenv("REDIS_URL"))
//	lim := ratelimit.NewFallback(redisrate.New(rdb), ratelimit.NewMemory(0), logger)
//
// Handlers check each submission against a per-IP rule and, with HashKey, a per-contact rule.
package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Rule is one limit: Rate events per Period, with up to Burst at once. Name keeps the keys of
// different limits apart (for example "submit-ip", "submit-contact", "search-ip"), so the same
// IP address has an independent budget under each rule.
//
// The limit is a GCRA (a token bucket): a key starts with Burst tokens and gains one every
// Period/Rate. Burst 0 means Burst = Rate, so a forgotten Burst does not deny everything.
type Rule struct {
	Name   string
	Rate   int
	Period time.Duration
	Burst  int
}

// MaxBurst is the burst that both limiters apply, with the zero value defaulted to Rate.
func (r Rule) MaxBurst() int {
	if r.Burst == 0 {
		return r.Rate
	}
	return r.Burst
}

// Validate reports a rule that no limiter can apply. Such a rule is a programming error, so it
// is reported rather than guessed at.
func (r Rule) Validate() error {
	switch {
	case r.Name == "":
		return errors.New("rule has no name")
	case r.Rate <= 0:
		return fmt.Errorf("rule %q: rate %d is not positive", r.Name, r.Rate)
	case r.Period <= 0:
		return fmt.Errorf("rule %q: period %s is not positive", r.Name, r.Period)
	case r.Burst < 0:
		return fmt.Errorf("rule %q: burst %d is negative", r.Name, r.Burst)
	}
	return nil
}

// Decision is the answer for one event.
type Decision struct {
	Allowed bool
	// Remaining is how many more events the key may have right now.
	Remaining int
	// RetryAfter is how long until the next event would be allowed; zero when Allowed. Handlers
	// can turn it into a Retry-After header and a "try again in a minute" message.
	RetryAfter time.Duration
}

// Limiter decides whether one more event for key is allowed under rule, and counts it if so.
// Keys are IP addresses or HashKey results, never plain contact details.
type Limiter interface {
	Allow(ctx context.Context, rule Rule, key string) (Decision, error)
}

// HashKey turns a personal detail (a phone number, an email address) into a rate-limit key, so
// the detail never reaches Redis or the in-process cache in plain form. It is keyed with a
// server secret: a bare SHA-256 of a phone number is reversed by trying every number.
//
// Every instance must use the same secret, or the instances count the same person separately.
// The caller normalises s first (trim spaces, lower-case an email, reduce a phone number to
// its digits in one national or international form), because "A@x.org " and "a@x.org" are one
// family, and the hash sees only bytes.
func HashKey(secret []byte, s string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
