package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/maypok86/otter/v2"
)

// tokenRefreshGap is how long after writing a CSRF token this process leaves it alone.
const tokenRefreshGap = time.Minute

// tokenStore is CSRFStorage as the CSRF middleware sees it, with one change. The middleware
// writes the token back on every request it checks, to push its expiry on: on SQLite that is a
// database write for every page a family opens, a fifth of the server's work under load. A
// token this process wrote less than tokenRefreshGap ago is not written again, so its expiry
// trails by at most that much, far inside csrfLifetime. Reads and deletes go straight through:
// a token is only ever valid if the storage, shared by every instance, still holds it.
type tokenStore struct {
	fiber.Storage
	written *otter.Cache[string, struct{}]
}

func newTokenStore(st fiber.Storage) *tokenStore {
	return &tokenStore{Storage: st, written: otter.Must(&otter.Options[string, struct{}]{
		MaximumSize:      100_000,
		ExpiryCalculator: otter.ExpiryWriting[string, struct{}](tokenRefreshGap),
	})}
}

// Set writes a token, unless this process wrote it within tokenRefreshGap.
func (t *tokenStore) Set(key string, val []byte, exp time.Duration) error {
	if _, ok := t.written.GetIfPresent(key); ok {
		return nil
	}
	if err := t.Storage.Set(key, val, exp); err != nil {
		return err
	}
	t.written.Set(key, struct{}{})
	return nil
}

// Delete removes a token, and forgets writing it, so that writing it again is not skipped.
func (t *tokenStore) Delete(key string) error {
	t.written.Invalidate(key)
	return t.Storage.Delete(key)
}
