package redisdrafts_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/internal/failover"
	"familyhelp/internal/testsvc"
	"familyhelp/referral"
	"familyhelp/referral/redisdrafts"
	"familyhelp/secret"
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

// The store answers as the database's does: the last save wins, a draft is gone once it
// expires at the time asked about, and deleting twice is fine. Redis itself deletes the key
// when the draft expires.
func TestDraftStore(t *testing.T) {
	rdb := client(t, testsvc.RedisURL(t))
	prefix := "familyhelp:test:" + testsvc.UniqueName(t) + ":"
	s := redisdrafts.New(rdb, prefix)
	ctx := context.Background()
	now := time.Now().UTC()

	if _, err := s.GetDraft(ctx, "d", now); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("missing draft: %v, want ErrNotFound", err)
	}
	if err := s.PutDraft(ctx, "d", []byte{1, 0, 2}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDraft(ctx, "d", []byte{3}, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetDraft(ctx, "d", now.Add(90*time.Minute)); err != nil || !bytes.Equal(got, []byte{3}) {
		t.Errorf("GetDraft = %v, %v; want the second save", got, err)
	}
	if _, err := s.GetDraft(ctx, "d", now.Add(2*time.Hour)); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("draft read at its expiry: %v, want ErrNotFound", err)
	}
	if ttl := rdb.TTL(ctx, prefix+"d").Val(); ttl <= time.Hour || ttl > 2*time.Hour+time.Second {
		t.Errorf("Redis keeps the draft for %v, want until it expires, two hours from now", ttl)
	}
	if err := s.DeleteDraft(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDraft(ctx, "d", now); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("deleted draft: %v, want ErrNotFound", err)
	}
	if err := s.DeleteDraft(ctx, "d"); err != nil {
		t.Errorf("deleting a missing draft: %v", err)
	}
	if n := rdb.Exists(ctx, prefix+"d").Val(); n != 0 {
		t.Error("the deleted draft is still in Redis")
	}

	// A draft whose time is up is gone from Redis too, not only hidden.
	if err := s.PutDraft(ctx, "brief", []byte{4}, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Exists(ctx, prefix+"brief").Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("an expired draft is still in Redis 5 s later")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noDrafts is a referral store that must not be asked for drafts.
type noDrafts struct {
	referral.Store
	t *testing.T
}

func (s noDrafts) GetDraft(context.Context, string, time.Time) ([]byte, error) {
	s.t.Error("a draft was read from the database")
	return nil, referral.ErrNotFound
}
func (s noDrafts) PutDraft(context.Context, string, []byte, time.Time) error {
	s.t.Error("a draft was written to the database")
	return nil
}
func (s noDrafts) DeleteDraft(context.Context, string) error {
	s.t.Error("a draft was deleted from the database")
	return nil
}

// Two instances, each with its own client: a family's answers saved on one are read on the
// other, sealed in Redis, and the database is not asked for them; discarding them on one
// discards them for both.
func TestDraftsSharedByInstances(t *testing.T) {
	url := testsvc.RedisURL(t)
	prefix := "familyhelp:test:" + testsvc.UniqueName(t) + ":"
	key, err := secret.Parse(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	service := func(rdb *redis.Client) *referral.Service {
		return &referral.Service{Store: noDrafts{t: t}, DraftStore: redisdrafts.New(rdb, prefix), Drafts: key.Box("draft")}
	}
	one, two := client(t, url), client(t, url)
	a, b := service(one), service(two)
	ctx := context.Background()

	d := a.NewDraft()
	d.Referral.Story = "We have had no heating since October"
	if err := a.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := b.LoadDraft(ctx, d.ID)
	if err != nil || got.Referral.Story != d.Referral.Story {
		t.Fatalf("the other instance loaded %+v, %v", got, err)
	}
	raw, err := one.Get(ctx, prefix+d.ID).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("heating")) {
		t.Error("the draft is kept in Redis in the clear")
	}
	if err := b.DiscardDraft(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LoadDraft(ctx, d.ID); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("a draft discarded on one instance loads on the other: %v", err)
	}
}

// memory is a draft store standing in for the database.
type memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memory) GetDraft(_ context.Context, id string, _ time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		return nil, referral.ErrNotFound
	}
	return v, nil
}
func (s *memory) PutDraft(_ context.Context, id string, sealed []byte, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = sealed
	return nil
}
func (s *memory) DeleteDraft(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}
func (s *memory) has(id string) bool {
	_, err := s.GetDraft(context.Background(), id, time.Time{})
	return err == nil
}

// Redis stops while families are half-way through: their pages are saved in the database
// meanwhile, with no error, and once Redis is back (empty, as after a crash) what they saved
// during the outage is still there, and new saves go to Redis again.
func TestRedisOutageKeepsDraftsInDatabase(t *testing.T) {
	srv := testsvc.StartRedis(t)
	rdb := client(t, srv.URL())
	db := &memory{m: map[string][]byte{}}
	var log bytes.Buffer
	s := redisdrafts.WithFallback(redisdrafts.New(rdb, redisdrafts.Prefix), db,
		failover.New("referral drafts", slog.New(slog.NewTextHandler(&log, nil)), 50*time.Millisecond))
	ctx := context.Background()
	now := time.Now()
	expires := now.Add(time.Hour)

	if err := s.PutDraft(ctx, "before", []byte("b"), expires); err != nil {
		t.Fatal(err)
	}
	if db.has("before") {
		t.Error("with Redis up a draft went to the database")
	}

	srv.Stop()
	// A draft only Redis had is missing while Redis is down: the family keeps the page they
	// sent and is asked the rest again. Not an error page.
	if _, err := s.GetDraft(ctx, "before", now); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("a draft only in the stopped Redis: %v, want ErrNotFound", err)
	}
	if err := s.PutDraft(ctx, "during", []byte("d"), expires); err != nil {
		t.Fatalf("saving a draft with Redis down: %v", err)
	}
	if !db.has("during") {
		t.Fatal("the draft saved during the outage is not in the database")
	}
	if got, err := s.GetDraft(ctx, "during", now); err != nil || string(got) != "d" {
		t.Errorf("draft saved during the outage = %q, %v", got, err)
	}

	srv.Start()
	if got, err := s.GetDraft(ctx, "during", now); err != nil || string(got) != "d" {
		t.Errorf("after Redis came back, the draft saved during the outage = %q, %v", got, err)
	}
	// Saving it again once the retry interval has passed puts it in Redis.
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Exists(ctx, redisdrafts.Prefix+"during").Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("drafts still go to the database 5 s after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
		if err := s.PutDraft(ctx, "during", []byte("d2"), expires); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetDraft(ctx, "during", now); err != nil || string(got) != "d2" {
		t.Errorf("the draft saved last = %q, %v; want the newest", got, err)
	}
	// Discarding it removes both copies.
	if err := s.DeleteDraft(ctx, "during"); err != nil {
		t.Fatal(err)
	}
	if db.has("during") || rdb.Exists(ctx, redisdrafts.Prefix+"during").Val() != 0 {
		t.Error("a discarded draft is still kept")
	}
	if _, err := s.GetDraft(ctx, "during", now); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("a discarded draft: %v, want ErrNotFound", err)
	}
	for _, want := range []string{"redis failing: referral drafts are kept in the database", "redis answering again"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
