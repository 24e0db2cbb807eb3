// Package redisdrafts keeps referral drafts in Redis (REDIS_URL), so that any instance can
// carry on a family's form and the database is written once per referral rather than once per
// page. A draft is kept exactly as the referral service sealed it, and Redis deletes it when
// it expires. WithFallback keeps drafts in the database while Redis cannot be reached.
package redisdrafts

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/internal/failover"
	"familyhelp/referral"
)

// Prefix starts every key the site's drafts are kept under.
const Prefix = "familyhelp:draft:"

// Store is a referral.DraftStore in Redis.
//
// Each value is the draft's expiry (Unix microseconds, 8 bytes, big-endian) and then the sealed
// draft. Redis deletes the key at that time; GetDraft checks it as well, so that it answers
// for the time it is asked about, exactly as the database does.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ referral.DraftStore = (*Store)(nil)

// New returns a draft store on rdb that keeps its keys under prefix (Prefix, or a test's own).
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) key(id string) string { return s.prefix + id }

// GetDraft returns a draft's sealed answers, or referral.ErrNotFound if it is missing or has
// expired at now.
func (s *Store) GetDraft(ctx context.Context, id string, now time.Time) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, referral.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get draft: redis: %w", err)
	}
	if len(b) < 8 {
		return nil, errors.New("get draft: redis: value too short to be a draft")
	}
	if expires := time.UnixMicro(int64(binary.BigEndian.Uint64(b))); !expires.After(now) {
		return nil, referral.ErrNotFound
	}
	return b[8:], nil
}

// PutDraft stores a draft's sealed answers until expires.
func (s *Store) PutDraft(ctx context.Context, id string, sealed []byte, expires time.Time) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(sealed)), uint64(expires.UnixMicro()))
	v = append(v, sealed...)
	// EXAT counts whole seconds: rounding up keeps the key at least as long as the draft.
	err := s.rdb.SetArgs(ctx, s.key(id), v, redis.SetArgs{ExpireAt: expires.Truncate(time.Second).Add(time.Second)}).Err()
	if err != nil {
		return fmt.Errorf("save draft: redis: %w", err)
	}
	return nil
}

// DeleteDraft removes a draft; a missing one is not an error.
func (s *Store) DeleteDraft(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.key(id)).Err(); err != nil {
		return fmt.Errorf("delete draft: redis: %w", err)
	}
	return nil
}

// Fallback keeps drafts in a primary (Redis) while it answers and in a backup (the database)
// while it does not; see package failover for how each call chooses.
//
// A draft that was only in Redis when Redis went away cannot be read until it returns: the
// family is told their earlier answers have gone and keeps what they typed on the page they
// sent, and from then on their answers are kept in the database.
type Fallback struct {
	primary, backup referral.DraftStore
	sw              *failover.Switch
}

var _ referral.DraftStore = (*Fallback)(nil)

// WithFallback returns a draft store from primary to backup, switching with sw.
func WithFallback(primary, backup referral.DraftStore, sw *failover.Switch) *Fallback {
	return &Fallback{primary: primary, backup: backup, sw: sw}
}

func lookup(ctx context.Context, s referral.DraftStore, id string, now time.Time) func() ([]byte, bool, error) {
	return func() ([]byte, bool, error) {
		v, err := s.GetDraft(ctx, id, now)
		if errors.Is(err, referral.ErrNotFound) {
			return nil, false, nil
		}
		return v, err == nil, err
	}
}

// GetDraft returns a draft from whichever store has it, or referral.ErrNotFound.
func (f *Fallback) GetDraft(ctx context.Context, id string, now time.Time) ([]byte, error) {
	v, found, err := failover.Read(f.sw, lookup(ctx, f.primary, id, now), lookup(ctx, f.backup, id, now))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, referral.ErrNotFound
	}
	return v, nil
}

// PutDraft stores a draft where drafts go now.
func (f *Fallback) PutDraft(ctx context.Context, id string, sealed []byte, expires time.Time) error {
	return f.sw.Write(func() error { return f.primary.PutDraft(ctx, id, sealed, expires) },
		func() error { return f.backup.PutDraft(ctx, id, sealed, expires) })
}

// DeleteDraft removes a draft from both stores.
func (f *Fallback) DeleteDraft(ctx context.Context, id string) error {
	return f.sw.Delete(func() error { return f.primary.DeleteDraft(ctx, id) },
		func() error { return f.backup.DeleteDraft(ctx, id) })
}
