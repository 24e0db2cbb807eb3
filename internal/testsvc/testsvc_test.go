package testsvc

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// recorder stands in for a *testing.T to see whether a helper skips or fails. Like the real
// thing, Skipf and Fatalf end the goroutine.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func record(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestRedisURLMissingSkipsOrFails(t *testing.T) {
	closed, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		require     string
		wantSkipped bool
		wantFailed  bool
	}{
		{require: "", wantSkipped: true},
		{require: "0", wantSkipped: true},
		{require: "1", wantFailed: true},
	}
	for _, tt := range tests {
		t.Run("require="+tt.require, func(t *testing.T) {
			t.Setenv("REDIS_URL", fmt.Sprintf("redis://127.0.0.1:%d/0", closed))
			t.Setenv(RequireEnv, tt.require)
			r := record(t, func(tb testing.TB) { RedisURL(tb) })
			if r.skipped != tt.wantSkipped || r.failed != tt.wantFailed {
				t.Fatalf("skipped=%v failed=%v (%q), want skipped=%v failed=%v",
					r.skipped, r.failed, r.msg, tt.wantSkipped, tt.wantFailed)
			}
		})
	}
}

func TestRedisURLPrefersEnv(t *testing.T) {
	srv := StartRedis(t)
	t.Setenv("REDIS_URL", srv.URL())
	if got := RedisURL(t); got != srv.URL() {
		t.Fatalf("RedisURL = %q, want REDIS_URL %q", got, srv.URL())
	}
}

func TestRedisServerStopStart(t *testing.T) {
	srv := StartRedis(t)
	ctx := context.Background()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set on fresh server: %v", err)
	}

	srv.Stop()
	if err := rawPing(srv.Addr()); err == nil {
		t.Fatal("server still answers PING after Stop")
	}
	srv.Stop() // a second Stop must not block or panic

	srv.Start()
	if err := rawPing(srv.Addr()); err != nil {
		t.Fatalf("no PING after Start on the same port: %v", err)
	}
	// Nothing is saved, so a restart is a Redis that lost its data, as after a real crash.
	if n, err := rdb.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("after restart Exists(k) = %d, %v; want 0, nil", n, err)
	}
}

func TestUniqueName(t *testing.T) {
	a, b := UniqueName(t), UniqueName(t)
	if a == b {
		t.Fatalf("two calls gave the same name %q", a)
	}
	if !strings.HasPrefix(a, "TestUniqueName-") {
		t.Errorf("name %q does not start with the test name", a)
	}
	t.Run("sub test/with spaces", func(t *testing.T) {
		if n := UniqueName(t); !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(n) {
			t.Errorf("name %q has characters unsafe in a key", n)
		}
	})
}
