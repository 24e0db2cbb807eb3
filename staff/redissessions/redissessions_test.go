package redissessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/internal/testsvc"
	"familyhelp/staff"
	"familyhelp/staff/redissessions"
)

// Two instances, each with its own client to one Redis, see the same sessions: a session
// started on one works on the other, and ending it on one ends it on both.
func TestSessionsSharedByInstances(t *testing.T) {
	url := testsvc.RedisURL(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	one, two := redis.NewClient(opts), redis.NewClient(opts)
	defer one.Close()
	defer two.Close()
	a, b := redissessions.New(one), redissessions.New(two)
	ctx := context.Background()
	account := testsvc.UniqueName(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	s1 := &staff.Session{IDHash: account + "-1", AccountID: account, Created: now, LastSeen: now}
	s2 := &staff.Session{IDHash: account + "-2", AccountID: account, Created: now, LastSeen: now}
	for _, s := range []*staff.Session{s1, s2} {
		if err := a.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Session(ctx, s1.IDHash)
	if err != nil || got.AccountID != account || !got.Created.Equal(now) || got.Verified {
		t.Fatalf("the other instance read %+v, %v", got, err)
	}
	got.Verified, got.LastSeen = true, now.Add(time.Minute)
	if err := b.UpdateSession(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := a.Session(ctx, s1.IDHash); !again.Verified || !again.LastSeen.Equal(now.Add(time.Minute)) {
		t.Errorf("the update on one instance is not seen on the other: %+v", again)
	}
	if err := a.DeleteSession(ctx, s1.IDHash); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Session(ctx, s1.IDHash); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("after signing out on one instance, the other still has the session: %v", err)
	}
	// An update to a session ended elsewhere does not bring it back.
	if err := b.UpdateSession(ctx, got); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("updating an ended session: %v", err)
	}
	if _, err := b.Session(ctx, s1.IDHash); !errors.Is(err, staff.ErrNotFound) {
		t.Error("an update brought an ended session back")
	}
	if err := b.DeleteAccountSessions(ctx, account); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, s2.IDHash); !errors.Is(err, staff.ErrNotFound) {
		t.Error("ending an account's sessions left one")
	}
	// Redis expires a session at its absolute limit.
	if ttl := one.TTL(ctx, redissessions.Prefix+"s:"+s2.IDHash).Val(); ttl > 0 {
		t.Errorf("a deleted session still has a ttl %v", ttl)
	}
	s3 := &staff.Session{IDHash: account + "-3", AccountID: account, Created: now, LastSeen: now}
	if err := a.CreateSession(ctx, s3); err != nil {
		t.Fatal(err)
	}
	defer a.DeleteAccountSessions(ctx, account)
	if ttl := one.TTL(ctx, redissessions.Prefix+"s:"+s3.IDHash).Val(); ttl <= 11*time.Hour || ttl > staff.AbsoluteTimeout {
		t.Errorf("session ttl %v, want about the 12-hour absolute limit", ttl)
	}
}
