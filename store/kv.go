package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KV is a key-value store with expiry in the database, with the methods of Fiber's Storage
// interface, so that middleware state (CSRF tokens) is shared by every instance rather than
// kept in one process's memory. Fiber's Storage has no context: each call gets kvTimeout.
type KV struct {
	db  *DB
	now func() time.Time
}

const kvTimeout = 5 * time.Second

// KV returns the database's key-value store.
func (s *DB) KV() *KV { return &KV{db: s, now: time.Now} }

func (k *KV) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), kvTimeout)
}

// Get returns the value for key, or nil if it is missing or expired.
func (k *KV) Get(key string) ([]byte, error) {
	ctx, cancel := k.ctx()
	defer cancel()
	var v []byte
	err := k.db.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = $1 AND (expires_at = '' OR expires_at > $2)`,
		key, k.now().UTC().Format(stampFormat)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv get: %w", err)
	}
	return v, nil
}

// Set stores a value; exp 0 keeps it until deleted.
func (k *KV) Set(key string, val []byte, exp time.Duration) error {
	ctx, cancel := k.ctx()
	defer cancel()
	expires := ""
	if exp > 0 {
		expires = k.now().Add(exp).UTC().Format(stampFormat)
	}
	_, err := k.db.db.ExecContext(ctx, `INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`, key, val, expires)
	if err != nil {
		return fmt.Errorf("kv set: %w", err)
	}
	return nil
}

// Delete removes a key.
func (k *KV) Delete(key string) error {
	ctx, cancel := k.ctx()
	defer cancel()
	if _, err := k.db.db.ExecContext(ctx, `DELETE FROM kv WHERE key = $1`, key); err != nil {
		return fmt.Errorf("kv delete: %w", err)
	}
	return nil
}

// Reset removes every key.
func (k *KV) Reset() error {
	ctx, cancel := k.ctx()
	defer cancel()
	if _, err := k.db.db.ExecContext(ctx, `DELETE FROM kv`); err != nil {
		return fmt.Errorf("kv reset: %w", err)
	}
	return nil
}

// Close does nothing: the database is closed by its owner.
func (k *KV) Close() error { return nil }

// Purge deletes expired keys and says how many went.
func (k *KV) Purge(ctx context.Context) (int, error) {
	res, err := k.db.db.ExecContext(ctx, `DELETE FROM kv WHERE expires_at != '' AND expires_at <= $1`, k.now().UTC().Format(stampFormat))
	if err != nil {
		return 0, fmt.Errorf("kv purge: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
