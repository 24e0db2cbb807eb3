package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryBurstThenDeny(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		want int // events allowed at once
	}{
		{"burst above rate", Rule{Name: "a", Rate: 2, Period: 200 * time.Millisecond, Burst: 3}, 3},
		{"burst defaults to rate", Rule{Name: "b", Rate: 2, Period: 200 * time.Millisecond}, 2},
		{"burst of one", Rule{Name: "c", Rate: 10, Period: time.Minute, Burst: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(0)
			ctx := context.Background()
			for i := range tt.want {
				d, err := m.Allow(ctx, tt.rule, "203.0.113.7")
				if err != nil {
					t.Fatal(err)
				}
				if !d.Allowed || d.Remaining != tt.want-i-1 || d.RetryAfter != 0 {
					t.Fatalf("event %d: %+v, want allowed with %d remaining", i+1, d, tt.want-i-1)
				}
			}
			d, err := m.Allow(ctx, tt.rule, "203.0.113.7")
			if err != nil {
				t.Fatal(err)
			}
			interval := tt.rule.Period / time.Duration(tt.rule.Rate)
			if d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > interval {
				t.Fatalf("event over the burst: %+v, want denied with 0 < RetryAfter <= %s", d, interval)
			}
		})
	}
}

func TestMemoryRefills(t *testing.T) {
	m := NewMemory(0)
	ctx := context.Background()
	rule := Rule{Name: "refill", Rate: 2, Period: 200 * time.Millisecond}
	var d Decision
	for range 3 {
		d, _ = m.Allow(ctx, rule, "k")
	}
	if d.Allowed {
		t.Fatal("third event within the burst of 2 was allowed")
	}

	time.Sleep(d.RetryAfter + 20*time.Millisecond)
	if d, _ = m.Allow(ctx, rule, "k"); !d.Allowed {
		t.Fatalf("after waiting RetryAfter the event was denied: %+v", d)
	}
	// One interval refills one token, not the whole burst.
	if d, _ = m.Allow(ctx, rule, "k"); d.Allowed {
		t.Fatal("a second event was allowed after one refill interval")
	}

	time.Sleep(rule.Period + 20*time.Millisecond)
	for i := range 2 {
		if d, _ = m.Allow(ctx, rule, "k"); !d.Allowed {
			t.Fatalf("after a full period event %d of the burst was denied", i+1)
		}
	}
}

func TestMemoryKeysAndRulesAreIndependent(t *testing.T) {
	m := NewMemory(0)
	ctx := context.Background()
	search := Rule{Name: "search-ip", Rate: 1, Period: time.Hour}
	submit := Rule{Name: "submit-ip", Rate: 1, Period: time.Hour}

	if d, _ := m.Allow(ctx, search, "a"); !d.Allowed {
		t.Fatal("first event denied")
	}
	if d, _ := m.Allow(ctx, search, "a"); d.Allowed {
		t.Fatal("second event for key a allowed over a burst of 1")
	}
	tests := []struct {
		name string
		rule Rule
		key  string
	}{
		{"same rule, other key", search, "b"},
		{"other rule, same key", submit, "a"},
		// Same name with other numbers: a changed rule starts afresh rather than mixing.
		{"changed rule, same key", Rule{Name: "search-ip", Rate: 2, Period: time.Hour}, "a"},
	}
	for _, tt := range tests {
		if d, _ := m.Allow(ctx, tt.rule, tt.key); !d.Allowed {
			t.Errorf("%s: denied, but key a under %q is exhausted, not this one", tt.name, search.Name)
		}
	}
}

func TestMemoryConcurrentAllowsExactlyBurst(t *testing.T) {
	m := NewMemory(0)
	rule := Rule{Name: "concurrent", Rate: 1, Period: time.Hour, Burst: 50}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				d, err := m.Allow(context.Background(), rule, "k")
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 50 {
		t.Fatalf("800 concurrent events: %d allowed, want exactly the burst of 50", got)
	}
}

func TestMemoryRejectsInvalidRule(t *testing.T) {
	_, err := NewMemory(0).Allow(context.Background(), Rule{Name: "bad", Period: time.Minute}, "k")
	if err == nil {
		t.Fatal("a rule with rate 0 was accepted")
	}
}
