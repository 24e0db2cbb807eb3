package handlers

import (
	"testing"
	"time"
)

// countingStorage is an in-memory fiber.Storage that counts the writes reaching it.
type countingStorage struct {
	m      map[string][]byte
	writes int
}

func (c *countingStorage) Get(key string) ([]byte, error) { return c.m[key], nil }
func (c *countingStorage) Set(key string, val []byte, _ time.Duration) error {
	c.writes++
	c.m[key] = val
	return nil
}
func (c *countingStorage) Delete(key string) error { delete(c.m, key); return nil }
func (c *countingStorage) Reset() error            { c.m = map[string][]byte{}; return nil }
func (c *countingStorage) Close() error            { return nil }

func TestTokenStoreWritesEachTokenOncePerGap(t *testing.T) {
	under := &countingStorage{m: map[string][]byte{}}
	st := newTokenStore(under)
	for range 10 { // ten pages opened with one token
		if err := st.Set("t1", []byte("+"), csrfLifetime); err != nil {
			t.Fatal(err)
		}
	}
	if under.writes != 1 {
		t.Errorf("ten refreshes of one token wrote %d times, want 1", under.writes)
	}
	if v, _ := st.Get("t1"); string(v) != "+" {
		t.Errorf("token read back as %q", v)
	}
	if err := st.Set("t2", []byte("+"), csrfLifetime); err != nil || under.writes != 2 {
		t.Errorf("a second token: writes %d, err %v; want it written", under.writes, err)
	}
	// A deleted token written again must reach the storage, or it would stay deleted.
	if err := st.Delete("t1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Set("t1", []byte("+"), csrfLifetime); err != nil || under.writes != 3 {
		t.Errorf("after a delete: writes %d, err %v; want the token written again", under.writes, err)
	}
	if v, _ := st.Get("t1"); string(v) != "+" {
		t.Error("the token written again after a delete is not in the storage")
	}
}
