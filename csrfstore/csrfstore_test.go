package csrfstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/csrfstore"
	"familyhelp/internal/failover"
	"familyhelp/internal/testsvc"
)

// client is a Redis client with the site's short timeouts and no retries (see
// redisrate.NewClient).
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	opts.PoolTimeout, opts.MaxRetries, opts.DialerRetries = 500*time.Millisecond, -1, 1
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// A token stored by one instance is found by another with its own client, under the prefix,
// and expires; deleting it on one removes it for both.
func TestTokensSharedByInstances(t *testing.T) {
	url := testsvc.RedisURL(t)
	prefix := "familyhelp:test:" + testsvc.UniqueName(t) + ":"
	one, two := client(t, url), client(t, url)
	a, b := csrfstore.New(one, prefix), csrfstore.New(two, prefix)

	if err := a.Set("tok", []byte{'+'}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get("tok"); err != nil || !bytes.Equal(v, []byte{'+'}) {
		t.Fatalf("the other instance read %q, %v", v, err)
	}
	ctx := context.Background()
	if ttl := one.TTL(ctx, prefix+"tok").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("token kept under %q with TTL %v, want under an hour", prefix+"tok", ttl)
	}
	if v, err := b.Get("missing"); v != nil || err != nil {
		t.Errorf("missing token = %q, %v; want nil, nil", v, err)
	}
	if err := b.Delete("tok"); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Get("tok"); v != nil {
		t.Error("a token deleted on one instance is still found on the other")
	}

	if err := a.Set("short", []byte{'+'}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := b.Get("short")
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token is still found 5 s after it expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Reset deletes the tokens and nothing else in the Redis: sessions and rate limits share it.
func TestResetKeepsOtherKeys(t *testing.T) {
	url := testsvc.RedisURL(t)
	name := testsvc.UniqueName(t)
	prefix := "familyhelp:test:" + name + ":csrf:"
	rdb := client(t, url)
	s := csrfstore.New(rdb, prefix)
	ctx := context.Background()
	other := "familyhelp:test:" + name + ":session"
	if err := rdb.Set(ctx, other, "keep", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), other) })
	for i := range 1200 { // more than one batch
		if err := s.Set(fmt.Sprint("token-", i), []byte{'+'}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if n := len(rdb.Keys(ctx, prefix+"*").Val()); n != 0 {
		t.Errorf("%d tokens left after Reset", n)
	}
	if v := rdb.Get(ctx, other).Val(); v != "keep" {
		t.Errorf("Reset deleted a key outside its prefix (now %q)", v)
	}
	// Closing the storage leaves the shared client working.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("closing the storage closed the shared client: %v", err)
	}
}

// memory is a plain fiber.Storage standing in for the database's key-value table.
type memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemory() *memory { return &memory{m: map[string][]byte{}} }

func (s *memory) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}
func (s *memory) Set(key string, val []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = val
	return nil
}
func (s *memory) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}
func (s *memory) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
	return nil
}
func (s *memory) Close() error { return nil }

// Redis stops under a running site: tokens are kept in the database meanwhile, with no error
// to the middleware, and when Redis is back the tokens issued meanwhile are still found and
// new ones go to Redis again.
func TestRedisOutageFallsBackToDatabase(t *testing.T) {
	srv := testsvc.StartRedis(t)
	rdb := client(t, srv.URL())
	db := newMemory()
	var log bytes.Buffer
	s := csrfstore.WithFallback(csrfstore.New(rdb, csrfstore.Prefix), db,
		failover.New("CSRF tokens", slog.New(slog.NewTextHandler(&log, nil)), 50*time.Millisecond))

	if err := s.Set("before", []byte{'+'}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Get("before"); v != nil {
		t.Error("with Redis up a token went to the database")
	}

	srv.Stop()
	if err := s.Set("during", []byte{'+'}, time.Hour); err != nil {
		t.Fatalf("storing a token with Redis down: %v", err)
	}
	if v, err := s.Get("during"); err != nil || v == nil {
		t.Fatalf("a token stored during the outage = %q, %v", v, err)
	}
	if v, _ := db.Get("during"); v == nil {
		t.Error("the token stored during the outage is not in the database")
	}
	// A token only Redis had cannot be found while it is down: a miss (the form comes back
	// with a fresh token), not an error page.
	if v, err := s.Get("before"); v != nil || err != nil {
		t.Errorf("a token only in the stopped Redis = %q, %v; want a miss", v, err)
	}

	// Restarted empty, as after a crash: the token issued meanwhile is still found.
	srv.Start()
	if v, err := s.Get("during"); err != nil || v == nil {
		t.Errorf("after Redis came back, the token from the outage = %q, %v", v, err)
	}
	// Once the retry interval has passed, new tokens go to Redis again.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		key := fmt.Sprint("after-", i)
		if err := s.Set(key, []byte{'+'}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if rdb.Exists(context.Background(), csrfstore.Prefix+key).Val() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tokens still go to the database 5 s after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"redis failing: CSRF tokens are kept in the database", "redis answering again"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
