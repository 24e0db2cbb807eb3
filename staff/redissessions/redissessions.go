// Package redissessions keeps staff sessions in Redis (REDIS_URL), so that every instance
// behind a load balancer knows every session and signing out on one ends it on all. Each
// session is a hash that Redis expires at the session's absolute limit; an account's sessions
// are listed in a set, so an admin can end them all at once.
package redissessions

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/staff"
)

// Prefix starts every key this package writes.
const Prefix = "familyhelp:session:"

// Store is a staff.SessionStore in Redis.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

var _ staff.SessionStore = (*Store)(nil)

// New returns a session store on a Redis client.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb, now: time.Now} }

func sessionKey(idHash string) string    { return Prefix + "s:" + idHash }
func accountKey(accountID string) string { return Prefix + "a:" + accountID }

// ttl is how long Redis keeps a session: until its absolute limit (idle limits are checked
// by the portal, which also ends expired sessions).
func (st *Store) ttl(s *staff.Session) time.Duration {
	return max(time.Until(s.Created.Add(staff.AbsoluteTimeout)), time.Second)
}

// CreateSession stores a session and lists it under its account.
func (st *Store) CreateSession(ctx context.Context, s *staff.Session) error {
	ttl := st.ttl(s)
	_, err := st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, sessionKey(s.IDHash), fields(s))
		p.Expire(ctx, sessionKey(s.IDHash), ttl)
		p.SAdd(ctx, accountKey(s.AccountID), s.IDHash)
		p.Expire(ctx, accountKey(s.AccountID), staff.AbsoluteTimeout)
		return nil
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

func fields(s *staff.Session) map[string]any {
	verified := "0"
	if s.Verified {
		verified = "1"
	}
	return map[string]any{
		"account":   s.AccountID,
		"created":   strconv.FormatInt(s.Created.UnixMicro(), 10),
		"last_seen": strconv.FormatInt(s.LastSeen.UnixMicro(), 10),
		"verified":  verified,
	}
}

// Session reads a session, or staff.ErrNotFound.
func (st *Store) Session(ctx context.Context, idHash string) (*staff.Session, error) {
	m, err := st.rdb.HGetAll(ctx, sessionKey(idHash)).Result()
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if len(m) == 0 || m["account"] == "" {
		return nil, staff.ErrNotFound
	}
	created, err1 := strconv.ParseInt(m["created"], 10, 64)
	seen, err2 := strconv.ParseInt(m["last_seen"], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return &staff.Session{IDHash: idHash, AccountID: m["account"], Created: time.UnixMicro(created).UTC(),
		LastSeen: time.UnixMicro(seen).UTC(), Verified: m["verified"] == "1"}, nil
}

// UpdateSession saves when a session was last used and whether it is verified; a session
// that has gone meanwhile (signed out on another instance) is not brought back.
func (st *Store) UpdateSession(ctx context.Context, s *staff.Session) error {
	f := fields(s)
	n, err := updateIfExists.Run(ctx, st.rdb, []string{sessionKey(s.IDHash)}, f["last_seen"], f["verified"]).Int()
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if n == 0 {
		return staff.ErrNotFound
	}
	return nil
}

var updateIfExists = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], "last_seen", ARGV[1], "verified", ARGV[2])
return 1`)

// DeleteSession ends a session.
func (st *Store) DeleteSession(ctx context.Context, idHash string) error {
	account, err := st.rdb.HGet(ctx, sessionKey(idHash), "account").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("end session: %w", err)
	}
	_, err = st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, sessionKey(idHash))
		if account != "" {
			p.SRem(ctx, accountKey(account), idHash)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteAccountSessions ends every session of an account.
func (st *Store) DeleteAccountSessions(ctx context.Context, accountID string) error {
	ids, err := st.rdb.SMembers(ctx, accountKey(accountID)).Result()
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	_, err = st.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, sessionKey(id))
		}
		p.Del(ctx, accountKey(accountID))
		return nil
	})
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
