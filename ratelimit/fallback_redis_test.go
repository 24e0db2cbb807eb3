package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"familyhelp/internal/testsvc"
	"familyhelp/ratelimit"
	"familyhelp/ratelimit/redisrate"
)

// spy counts what reaches the limiter it wraps, to tell which limiter answered.
type spy struct {
	ratelimit.Limiter
	ok, failed atomic.Int64
}

func (s *spy) Allow(ctx context.Context, rule ratelimit.Rule, key string) (ratelimit.Decision, error) {
	d, err := s.Limiter.Allow(ctx, rule, key)
	if err != nil {
		s.failed.Add(1)
	} else {
		s.ok.Add(1)
	}
	return d, err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) lines(level string) int {
	return strings.Count(b.String(), "level="+level+" ")
}

// TestFallbackRedisStoppedMidTest kills the Redis under a running Fallback and brings it
// back: every request still gets a decision, the limit still holds, and the outage is logged
// once at each end.
func TestFallbackRedisStoppedMidTest(t *testing.T) {
	srv := testsvc.StartRedis(t)
	rdb, err := redisrate.NewClient(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })

	primary := &spy{Limiter: redisrate.New(rdb)}
	backup := &spy{Limiter: ratelimit.NewMemory(0)}
	logs := new(syncBuffer)
	f := &ratelimit.Fallback{
		Primary:       primary,
		Backup:        backup,
		Log:           slog.New(slog.NewTextHandler(logs, nil)),
		RetryInterval: 300 * time.Millisecond,
	}
	ctx := context.Background()
	rule := ratelimit.Rule{Name: "submit-ip", Rate: 3, Period: time.Minute}
	const ip = "203.0.113.7"

	allow := func(step string) ratelimit.Decision {
		t.Helper()
		d, err := f.Allow(ctx, rule, ip)
		if err != nil {
			t.Fatalf("%s: error %v; a family would see an error page", step, err)
		}
		return d
	}

	for i := range 2 {
		if d := allow("before outage"); !d.Allowed {
			t.Fatalf("request %d before the outage denied: %+v", i+1, d)
		}
	}
	if primary.ok.Load() != 2 || backup.ok.Load() != 0 {
		t.Fatalf("before the outage Redis answered %d and memory %d, want 2 and 0", primary.ok.Load(), backup.ok.Load())
	}

	srv.Stop()
	// The backup starts counting afresh, so the IP gets the burst of 3 again, and no more.
	var got []bool
	for range 5 {
		got = append(got, allow("during outage").Allowed)
	}
	want := []bool{true, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allowed during outage = %v, want %v: the limit must still hold", got, want)
		}
	}
	if primary.failed.Load() != 1 {
		t.Errorf("Redis was tried %d times within the retry interval, want 1", primary.failed.Load())
	}
	if n := logs.lines("WARN"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), ip) {
		t.Errorf("log contains the client IP:\n%s", logs)
	}

	srv.Start()
	time.Sleep(f.RetryInterval + 50*time.Millisecond)
	before := primary.ok.Load()
	for range 2 {
		if d := allow("after restart"); !d.Allowed {
			// The restarted Redis kept nothing, so the IP has its full burst there.
			t.Fatalf("after restart denied: %+v", d)
		}
	}
	if n := primary.ok.Load() - before; n != 2 {
		t.Errorf("Redis answered %d of 2 requests after coming back, want 2", n)
	}
	if n := logs.lines("INFO"); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, logs)
	}
	if n := logs.lines("WARN"); n != 1 {
		t.Errorf("%d warnings in total, want 1:\n%s", n, logs)
	}
}
