// Package testsvc finds and starts the real backing services (Redis, PostgreSQL) that tests
// run against. It is imported only by tests.
//
// A test that needs a service it cannot find is skipped, so `go test ./...` passes on a bare
// machine; with FAMILYHELP_REQUIRE_SERVICES=1 (set in CI and by scripts/ensure-services users)
// it fails instead, so a missing service cannot silently turn the Redis or PostgreSQL tests
// into skips.
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the variable that turns a missing service from a skip into a failure.
const RequireEnv = "FAMILYHELP_REQUIRE_SERVICES"

// DefaultRedisURL is the Redis that scripts/ensure-services starts.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Unavailable skips t because a service is missing, or fails it when services are required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1, so this fails instead of skipping; run scripts/ensure-services)", msg, RequireEnv)
	}
	t.Skipf("%s (set %s=1 to fail instead)", msg, RequireEnv)
}

// RedisURL returns the URL of a running Redis shared by the tests: REDIS_URL when set,
// otherwise DefaultRedisURL if it answers. Tests must keep to keys of their own (see
// UniqueName) and never FLUSHDB or FLUSHALL: the Redis may be somebody's.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		u = DefaultRedisURL
	}
	if err := PingRedis(u); err != nil {
		Unavailable(t, "no Redis: %v", err)
	}
	return u
}

// PingRedis reports whether the Redis at url answers PING within a second.
func PingRedis(url string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	opt.DialTimeout = time.Second
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis at %s: %w", opt.Addr, err)
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueName returns a name for keys, rules or databases that no other test and no earlier
// run uses: the test's name and a random suffix. Shared services then need no clean-up
// between runs.
func UniqueName(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "-" + hex.EncodeToString(b)
}
