package failover_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"familyhelp/internal/failover"
)

// kv is a store that can be made to fail, and counts the calls that reach it.
type kv struct {
	mu    sync.Mutex
	m     map[string]string
	down  error
	calls int
}

func newKV() *kv { return &kv{m: map[string]string{}} }

func (s *kv) setDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
}

func (s *kv) called() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *kv) get(key string) func() (string, bool, error) {
	return func() (string, bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.down != nil {
			return "", false, s.down
		}
		v, ok := s.m[key]
		return v, ok, nil
	}
}

func (s *kv) set(key, val string) func() error {
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.down != nil {
			return s.down
		}
		s.m[key] = val
		return nil
	}
}

func (s *kv) del(key string) func() error {
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.down != nil {
			return s.down
		}
		delete(s.m, key)
		return nil
	}
}

func (s *kv) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	return ok
}

type pair struct {
	sw              *failover.Switch
	primary, backup *kv
	log             *bytes.Buffer
}

func newPair(retry time.Duration) *pair {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	return &pair{sw: failover.New("test values", log, retry), primary: newKV(), backup: newKV(), log: &buf}
}

func (p *pair) write(key, val string) error {
	return p.sw.Write(p.primary.set(key, val), p.backup.set(key, val))
}

func (p *pair) read(key string) (string, bool, error) {
	return failover.Read(p.sw, p.primary.get(key), p.backup.get(key))
}

func (p *pair) delete(key string) error {
	return p.sw.Delete(p.primary.del(key), p.backup.del(key))
}

func (p *pair) mustRead(t *testing.T, key, want string) {
	t.Helper()
	got, found, err := p.read(key)
	if err != nil || !found || got != want {
		t.Fatalf("read %s = %q, %v, %v; want %q", key, got, found, err, want)
	}
}

// waitPrimaryTried writes until a write reaches the primary again: the retry interval has
// passed.
func (p *pair) waitPrimaryTried(t *testing.T, key, val string) {
	t.Helper()
	before := p.primary.called()
	deadline := time.Now().Add(5 * time.Second)
	for p.primary.called() == before {
		if time.Now().After(deadline) {
			t.Fatal("the primary was not tried again within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
		if err := p.write(key, val); err != nil {
			t.Fatal(err)
		}
	}
}

var errDown = errors.New("connection refused")

func TestHealthyPrimaryTakesEverything(t *testing.T) {
	p := newPair(time.Hour)
	if err := p.write("a", "1"); err != nil {
		t.Fatal(err)
	}
	p.mustRead(t, "a", "1")
	if p.backup.called() != 0 || !p.primary.has("a") {
		t.Errorf("with the primary answering, the backup was used %d times", p.backup.called())
	}
	// A miss in the primary looks in the backup, where an outage may have put it.
	if _, found, err := p.read("nothing"); found || err != nil {
		t.Errorf("a missing value was found: %v, %v", found, err)
	}
	if p.backup.called() != 1 {
		t.Errorf("a miss asked the backup %d times, want once", p.backup.called())
	}
}

func TestOutageWritesToBackupAndReadsBoth(t *testing.T) {
	p := newPair(time.Hour)
	if err := p.write("before", "old"); err != nil {
		t.Fatal(err)
	}

	p.primary.setDown(errDown)
	// The write that finds the primary down still succeeds, in the backup.
	if err := p.write("during", "new"); err != nil {
		t.Fatalf("write during the outage: %v", err)
	}
	if !p.backup.has("during") {
		t.Fatal("a write during the outage is not in the backup")
	}
	// From now on the primary is left alone: writes go straight to the backup.
	tried := p.primary.called()
	for i := range 5 {
		if err := p.write(fmt.Sprint("k", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	p.mustRead(t, "during", "new")
	if got := p.primary.called(); got != tried {
		t.Errorf("the failing primary was tried %d more times, want none", got-tried)
	}
	// A value the backup lacks is looked for in the primary once more (it may be back), and
	// a primary that still fails is a miss, not an error.
	if v, found, err := p.read("before"); found || err != nil {
		t.Errorf("read of a value only in the failing primary = %q, %v, %v; want a miss", v, found, err)
	}
	if p.primary.called() != tried+1 {
		t.Errorf("the primary was asked %d times for a value the backup lacks, want once", p.primary.called()-tried)
	}

	// Outage over (as far as these values are concerned): what was written before it is
	// found even before the retry interval ends, and what was written during it is still
	// found afterwards.
	p.primary.setDown(nil)
	p.mustRead(t, "before", "old")
	p.mustRead(t, "during", "new")

	if n := strings.Count(p.log.String(), "redis failing: test values are kept in the database"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, p.log)
	}
}

func TestPrimaryRetriedAfterInterval(t *testing.T) {
	p := newPair(20 * time.Millisecond)
	p.primary.setDown(errDown)
	if err := p.write("a", "1"); err != nil {
		t.Fatal(err)
	}
	p.primary.setDown(nil)
	p.waitPrimaryTried(t, "b", "2")
	if !p.primary.has("b") {
		t.Error("the write that tried the primary again did not go there")
	}
	// Writes go to the primary again; values from the outage are still read from the backup.
	if err := p.write("c", "3"); err != nil || !p.primary.has("c") || p.backup.has("c") {
		t.Errorf("after the outage a write went to the backup: %v", err)
	}
	p.mustRead(t, "a", "1")
	if !strings.Contains(p.log.String(), "redis answering again: test values are kept in it again") {
		t.Errorf("the end of the outage was not logged:\n%s", p.log)
	}
}

func TestCancelledCallerDoesNotOpenTheBreaker(t *testing.T) {
	p := newPair(time.Hour)
	p.primary.setDown(context.Canceled)
	_ = p.write("a", "1")
	p.primary.setDown(nil)
	if err := p.write("b", "2"); err != nil || !p.primary.has("b") {
		t.Errorf("after a cancelled call the next write did not go to the primary: %v", err)
	}
	if strings.Contains(p.log.String(), "redis failing") {
		t.Error("a cancelled call was logged as an outage")
	}
}

func TestDeleteReachesBoth(t *testing.T) {
	p := newPair(time.Hour)
	_ = p.write("a", "1")
	p.primary.setDown(errDown)
	_ = p.write("a", "2") // now in both
	p.primary.setDown(nil)
	if err := p.delete("a"); err != nil {
		t.Fatal(err)
	}
	if p.primary.has("a") || p.backup.has("a") {
		t.Error("a deleted value is still kept")
	}
	if _, found, _ := p.read("a"); found {
		t.Error("a deleted value is still found")
	}

	// With the primary down the backup's copy goes and the call succeeds; the primary's copy
	// is left to expire, and that is logged without the key.
	_ = p.write("secret-key", "3")
	p.primary.setDown(errDown)
	if err := p.delete("secret-key"); err != nil {
		t.Errorf("delete with the primary down: %v", err)
	}
	if !strings.Contains(p.log.String(), "could not delete one of the test values") || strings.Contains(p.log.String(), "secret-key") {
		t.Errorf("log after a failed delete:\n%s", p.log)
	}
	// The backup's error is the caller's.
	p.backup.setDown(errDown)
	if err := p.delete("x"); !errors.Is(err, errDown) {
		t.Errorf("delete with the backup down = %v, want its error", err)
	}
}
