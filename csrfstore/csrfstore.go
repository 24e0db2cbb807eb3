// Package csrfstore keeps the CSRF middleware's tokens in Redis (REDIS_URL), so that a form one
// instance served can be posted to any other, and in the database while Redis cannot be
// reached, so that a family's form still goes through.
package csrfstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	redisstorage "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"

	"familyhelp/internal/failover"
)

// Prefix starts every key the site's tokens are kept under, so they share a Redis with the
// sessions, drafts and rate limits.
const Prefix = "familyhelp:csrf:"

// opTimeout bounds one call: Fiber's Storage has no context to carry a request's deadline.
// The client's own short timeouts (redisrate.NewClient) usually end a call to a dead Redis
// long before this.
const opTimeout = 2 * time.Second

// Redis is a fiber.Storage in Redis under a key prefix, on a client shared with the rest of
// the site.
type Redis struct {
	s      *redisstorage.Storage
	rdb    redis.UniversalClient
	prefix string
}

var _ fiber.Storage = (*Redis)(nil)

// New returns storage on rdb that keeps its keys under prefix (Prefix, or a test's own).
// Closing it leaves rdb open: the client belongs to whoever made it.
func New(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{s: redisstorage.NewFromConnection(rdb), rdb: rdb, prefix: prefix}
}

func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// Get returns a token's value, or nil if it is missing or expired.
func (r *Redis) Get(key string) ([]byte, error) {
	ctx, cancel := opContext()
	defer cancel()
	v, err := r.s.GetWithContext(ctx, r.prefix+key)
	if err != nil {
		return nil, fmt.Errorf("csrf token: redis: %w", err)
	}
	return v, nil
}

// Set stores a token's value; exp 0 keeps it until deleted.
func (r *Redis) Set(key string, val []byte, exp time.Duration) error {
	ctx, cancel := opContext()
	defer cancel()
	if err := r.s.SetWithContext(ctx, r.prefix+key, val, exp); err != nil {
		return fmt.Errorf("csrf token: redis: %w", err)
	}
	return nil
}

// Delete removes a token.
func (r *Redis) Delete(key string) error {
	ctx, cancel := opContext()
	defer cancel()
	if err := r.s.DeleteWithContext(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("csrf token: redis: %w", err)
	}
	return nil
}

// Reset removes every token under the prefix, and nothing else. (The library's own Reset
// empties the whole Redis database, sessions and rate limits included.)
func (r *Redis) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := r.rdb.Scan(ctx, 0, r.prefix+"*", 500).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.rdb.Del(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 500 {
			if err := flush(); err != nil {
				return fmt.Errorf("csrf tokens: reset: %w", err)
			}
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("csrf tokens: reset: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("csrf tokens: reset: %w", err)
	}
	return nil
}

// Close does nothing to the shared client.
func (r *Redis) Close() error { return r.s.Close() }

// Fallback is storage that keeps tokens in a primary (Redis) while it answers and in a backup
// (the database) while it does not; see package failover for how each call chooses.
//
// A token the middleware cannot find makes the form come back with what was typed and a
// fresh token ("This page timed out"), so the worst an outage does is ask a family to press
// Continue once more; a token it cannot store would be an error page.
type Fallback struct {
	primary, backup fiber.Storage
	sw              *failover.Switch
}

var _ fiber.Storage = (*Fallback)(nil)

// WithFallback returns storage from primary to backup, switching with sw.
func WithFallback(primary, backup fiber.Storage, sw *failover.Switch) *Fallback {
	return &Fallback{primary: primary, backup: backup, sw: sw}
}

func lookup(s fiber.Storage, key string) func() ([]byte, bool, error) {
	return func() ([]byte, bool, error) {
		v, err := s.Get(key)
		return v, v != nil, err
	}
}

// Get returns a token's value from whichever store has it, or nil.
func (f *Fallback) Get(key string) ([]byte, error) {
	v, _, err := failover.Read(f.sw, lookup(f.primary, key), lookup(f.backup, key))
	return v, err
}

// Set stores a token where tokens go now.
func (f *Fallback) Set(key string, val []byte, exp time.Duration) error {
	return f.sw.Write(func() error { return f.primary.Set(key, val, exp) },
		func() error { return f.backup.Set(key, val, exp) })
}

// Delete removes a token from both stores.
func (f *Fallback) Delete(key string) error {
	return f.sw.Delete(func() error { return f.primary.Delete(key) }, func() error { return f.backup.Delete(key) })
}

// Reset removes every token from both stores.
func (f *Fallback) Reset() error {
	return f.sw.Delete(f.primary.Reset, f.backup.Reset)
}

// Close closes both stores.
func (f *Fallback) Close() error {
	return errors.Join(f.primary.Close(), f.backup.Close())
}
