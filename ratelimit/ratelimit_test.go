package ratelimit

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHashKey(t *testing.T) {
	secret := []byte("server secret")
	phone := "447700900123"
	h := HashKey(secret, phone)

	if h != HashKey(secret, phone) {
		t.Fatal("same secret and input gave different keys: instances would not share a limit")
	}
	if strings.Contains(h, phone) {
		t.Fatalf("key %q contains the phone number", h)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(h) {
		t.Fatalf("key %q is not 43 URL-safe characters", h)
	}
	if HashKey(secret, "447700900124") == h {
		t.Fatal("different numbers gave the same key")
	}
	if HashKey([]byte("other secret"), phone) == h {
		t.Fatal("the secret does not change the key: anyone could hash phone numbers to find it")
	}
}

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		ok   bool
	}{
		{"complete", Rule{Name: "r", Rate: 5, Period: time.Minute, Burst: 10}, true},
		{"burst defaults", Rule{Name: "r", Rate: 5, Period: time.Minute}, true},
		{"no name", Rule{Rate: 5, Period: time.Minute}, false},
		{"zero rate", Rule{Name: "r", Period: time.Minute}, false},
		{"negative rate", Rule{Name: "r", Rate: -1, Period: time.Minute}, false},
		{"zero period", Rule{Name: "r", Rate: 5}, false},
		{"negative burst", Rule{Name: "r", Rate: 5, Period: time.Minute, Burst: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rule.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRuleMaxBurst(t *testing.T) {
	if got := (Rule{Rate: 7}).MaxBurst(); got != 7 {
		t.Errorf("MaxBurst with no Burst = %d, want Rate 7", got)
	}
	if got := (Rule{Rate: 7, Burst: 2}).MaxBurst(); got != 2 {
		t.Errorf("MaxBurst = %d, want Burst 2", got)
	}
}
