package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLimiter answers with a fixed decision, or fails while down is set.
type fakeLimiter struct {
	decision Decision
	down     atomic.Bool
	calls    atomic.Int64
}

func (f *fakeLimiter) Allow(ctx context.Context, _ Rule, _ string) (Decision, error) {
	f.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	if f.down.Load() {
		return Decision{}, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	}
	return f.decision, nil
}

// logBuffer collects slog output; slog may write from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count returns how many log lines are at level ("WARN", "INFO").
func (b *logBuffer) count(level string) int {
	return strings.Count(b.String(), "level="+level+" ")
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := new(logBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

var testRule = Rule{Name: "submit-ip", Rate: 5, Period: time.Minute}

const clientIP = "203.0.113.7"

func TestFallbackUsesPrimaryWhileHealthy(t *testing.T) {
	primary := &fakeLimiter{decision: Decision{Allowed: true, Remaining: 41}}
	backup := &fakeLimiter{decision: Decision{Allowed: true, Remaining: 1}}
	log, logs := newLogger()
	f := NewFallback(primary, backup, log)

	d, err := f.Allow(context.Background(), testRule, clientIP)
	if err != nil || d != primary.decision {
		t.Fatalf("Allow = %+v, %v; want primary's %+v", d, err, primary.decision)
	}
	if backup.calls.Load() != 0 || logs.String() != "" {
		t.Fatalf("healthy primary: backup called %d times, logs %q", backup.calls.Load(), logs)
	}
}

func TestFallbackOutage(t *testing.T) {
	primary := &fakeLimiter{decision: Decision{Allowed: true, Remaining: 41}}
	// The backup denies: during an outage the limit must still hold.
	backup := &fakeLimiter{decision: Decision{Allowed: false, RetryAfter: time.Second}}
	log, logs := newLogger()
	f := &Fallback{Primary: primary, Backup: backup, Log: log, RetryInterval: 100 * time.Millisecond}
	ctx := context.Background()

	primary.down.Store(true)
	for i := range 10 {
		d, err := f.Allow(ctx, testRule, clientIP)
		if err != nil {
			t.Fatalf("request %d during outage: error %v; a family would see an error page", i+1, err)
		}
		if d != backup.decision {
			t.Fatalf("request %d during outage: %+v, want the backup's denial %+v", i+1, d, backup.decision)
		}
	}
	if n := primary.calls.Load(); n != 1 {
		t.Errorf("primary called %d times within one retry interval, want 1", n)
	}
	if n := logs.count("WARN"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), clientIP) || strings.Contains(logs.String(), testRule.Name+":") {
		t.Errorf("log names the key:\n%s", logs)
	}

	// Still down at the next retry: one more try, no second warning.
	time.Sleep(f.RetryInterval + 20*time.Millisecond)
	if _, err := f.Allow(ctx, testRule, clientIP); err != nil {
		t.Fatal(err)
	}
	if n := primary.calls.Load(); n != 2 {
		t.Errorf("primary called %d times after one retry interval, want 2", n)
	}
	if n := logs.count("WARN"); n != 1 {
		t.Errorf("%d warnings after a failed retry, want still 1", n)
	}

	// Back: the first try after the interval finds it, and it is used from then on.
	primary.down.Store(false)
	time.Sleep(f.RetryInterval + 20*time.Millisecond)
	for range 3 {
		d, err := f.Allow(ctx, testRule, clientIP)
		if err != nil || d != primary.decision {
			t.Fatalf("after recovery Allow = %+v, %v; want primary's %+v", d, err, primary.decision)
		}
	}
	if n := logs.count("INFO"); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, logs)
	}
}

func TestFallbackConcurrentOutageWarnsOnce(t *testing.T) {
	primary := &fakeLimiter{}
	primary.down.Store(true)
	backup := &fakeLimiter{decision: Decision{Allowed: true}}
	log, logs := newLogger()
	f := &Fallback{Primary: primary, Backup: backup, Log: log, RetryInterval: time.Minute}

	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 20 {
				if _, err := f.Allow(context.Background(), testRule, clientIP); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := logs.count("WARN"); n != 1 {
		t.Fatalf("%d warnings from 32 goroutines in one outage, want 1:\n%s", n, logs)
	}
	// Goroutines already past the health check when the first failure landed may try too,
	// but not every request.
	if n := primary.calls.Load(); n > 32 {
		t.Fatalf("primary called %d times for 640 requests in one outage", n)
	}
}

func TestFallbackErrors(t *testing.T) {
	tests := []struct {
		name        string
		rule        Rule
		primaryDown bool
		backupDown  bool
		wantPrimary int64
	}{
		{name: "invalid rule", rule: Rule{Name: "x"}, wantPrimary: 0},
		{name: "both down", rule: testRule, primaryDown: true, backupDown: true, wantPrimary: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, backup := &fakeLimiter{}, &fakeLimiter{}
			primary.down.Store(tt.primaryDown)
			backup.down.Store(tt.backupDown)
			log, _ := newLogger()
			f := NewFallback(primary, backup, log)
			if _, err := f.Allow(context.Background(), tt.rule, clientIP); err == nil {
				t.Fatal("no error")
			}
			if n := primary.calls.Load(); n != tt.wantPrimary {
				t.Errorf("primary called %d times, want %d", n, tt.wantPrimary)
			}
		})
	}
}

func TestFallbackCancelledRequestIsNoOutage(t *testing.T) {
	primary := &fakeLimiter{decision: Decision{Allowed: true}}
	backup := &fakeLimiter{decision: Decision{Allowed: true, Remaining: 3}}
	log, logs := newLogger()
	f := NewFallback(primary, backup, log)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Allow(ctx, testRule, clientIP); err != nil {
		t.Fatalf("cancelled request: %v", err)
	}
	if logs.count("WARN") != 0 {
		t.Fatalf("a request the caller gave up on was logged as an outage:\n%s", logs)
	}
	if d, err := f.Allow(context.Background(), testRule, clientIP); err != nil || d != primary.decision {
		t.Fatalf("next request = %+v, %v; want the primary's answer, not a retry pause", d, err)
	}
}
