package redisrate

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/internal/testsvc"
	"familyhelp/ratelimit"
)

func newLimiter(t *testing.T, url string) (*Limiter, *redis.Client) {
	t.Helper()
	rdb, err := NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return New(rdb), rdb
}

func TestTwoInstancesHoldOneLimit(t *testing.T) {
	url := testsvc.RedisURL(t)
	// Two clients, so two connection pools: as two app instances behind a load balancer.
	instances := []*Limiter{}
	for range 2 {
		l, _ := newLimiter(t, url)
		instances = append(instances, l)
	}
	rule := ratelimit.Rule{Name: testsvc.UniqueName(t), Rate: 50, Period: time.Minute, Burst: 50}

	var allowed, errs atomic.Int64
	var wg sync.WaitGroup
	for _, l := range instances {
		for range 4 {
			wg.Go(func() {
				for range 25 {
					d, err := l.Allow(context.Background(), rule, "203.0.113.7")
					if err != nil {
						errs.Add(1)
						t.Error(err)
						return
					}
					if d.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 || errs.Load() != 0 {
		t.Fatalf("200 requests across 2 instances: %d allowed (%d errors), want exactly 50", got, errs.Load())
	}
}

func TestDecisions(t *testing.T) {
	l, rdb := newLimiter(t, testsvc.RedisURL(t))
	ctx := context.Background()
	rule := ratelimit.Rule{Name: testsvc.UniqueName(t), Rate: 3, Period: time.Minute}

	for i := range 3 {
		d, err := l.Allow(ctx, rule, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 2-i || d.RetryAfter != 0 {
			t.Fatalf("event %d: %+v, want allowed with %d remaining and no RetryAfter", i+1, d, 2-i)
		}
	}
	d, err := l.Allow(ctx, rule, "k")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > 20*time.Second {
		t.Fatalf("event over the burst: %+v, want denied with 0 < RetryAfter <= 20s", d)
	}

	other := rule
	other.Name += "-other"
	for _, c := range []struct {
		rule ratelimit.Rule
		key  string
	}{{rule, "other-key"}, {other, "k"}} {
		if d, err := l.Allow(ctx, c.rule, c.key); err != nil || !d.Allowed {
			t.Errorf("rule %q key %q: %+v, %v; want allowed, its budget is untouched", c.rule.Name, c.key, d, err)
		}
	}

	// Keys are namespaced so that the limits can share a Redis; this also finds the test's keys.
	keys, err := rdb.Keys(ctx, "*"+KeyPrefix+rule.Name+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("keys for rule %q: %v, want 2 (k and other-key) under %q", rule.Name, keys, KeyPrefix)
	}
	rdb.Del(ctx, keys...)
}

func TestInvalidRuleNeverReachesRedis(t *testing.T) {
	// No Redis behind this client: an invalid rule must be reported before any network call.
	l := New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}))
	_, err := l.Allow(context.Background(), ratelimit.Rule{Name: "bad"}, "k")
	if err == nil || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("Allow with rate 0 = %v, want a rule error", err)
	}
}

// A Redis that accepts connections and never answers is the slow outage: the family's request
// must get an error back within the short timeouts, not after the go-redis defaults.
func TestUnresponsiveRedisFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})

	l, _ := newLimiter(t, "redis://"+ln.Addr().String()+"/0")
	rule := ratelimit.Rule{Name: "slow", Rate: 1, Period: time.Minute}
	start := time.Now()
	_, err = l.Allow(context.Background(), rule, "k")
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("no error from a Redis that never answers")
	}
	if elapsed > 1500*time.Millisecond {
		t.Fatalf("Allow took %s against a silent Redis; the family waits that long", elapsed)
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		wantDial    time.Duration
		wantRead    time.Duration
		wantRetries int
	}{
		{"short defaults", "redis://127.0.0.1:6379/0", DialTimeout, ReadTimeout, 0},
		{"URL wins", "redis://127.0.0.1:6379/0?dial_timeout=2s&read_timeout=1s&max_retries=2", 2 * time.Second, time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, err := NewClient(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			o := rdb.Options()
			if o.DialTimeout != tt.wantDial || o.ReadTimeout != tt.wantRead || o.MaxRetries != tt.wantRetries {
				t.Fatalf("dial %s read %s retries %d, want %s %s %d",
					o.DialTimeout, o.ReadTimeout, o.MaxRetries, tt.wantDial, tt.wantRead, tt.wantRetries)
			}
		})
	}

	t.Run("bad URL keeps the password out of the error", func(t *testing.T) {
		_, err := NewClient("redis://user:s3cret@127.0.0.1:notaport/0")
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error shows the password: %v", err)
		}
	})
}
