// Package secret holds the site's secret key and what is derived from it: sealing (AES-256-GCM)
// for referrals, drafts and notifications at rest, and keys for signing and hashing. One key,
// FAMILYHELP_SECRET_KEY or a file generated into the data directory, gives each purpose its
// own subkey, so that no two uses ever share key material.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of the secret key in bytes.
const KeySize = 32

// Key is the site's secret key.
type Key struct{ master []byte }

// ErrBadKey explains what a secret key must look like.
var ErrBadKey = errors.New("FAMILYHELP_SECRET_KEY must be 32 random bytes written in base64 or hex " +
	"(for example the output of 'openssl rand -base64 32')")

// Parse reads a key written in base64 (standard or URL alphabet, padded or not) or hex.
func Parse(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == KeySize {
			return &Key{master: b}, nil
		}
	}
	return nil, ErrBadKey
}

// LoadOrCreate returns the key in env if it is set, and otherwise the one in the file at path,
// creating that file (mode 0600) with a new random key the first time. Several instances must
// share one key: set FAMILYHELP_SECRET_KEY for them rather than letting each make its own.
func LoadOrCreate(env, path string) (*Key, error) {
	if strings.TrimSpace(env) != "" {
		return Parse(env)
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := Parse(string(data))
		if err != nil {
			return nil, fmt.Errorf("secret key file %s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	// O_EXCL: if another process made the file first, use theirs rather than overwrite it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreate("", path)
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(b) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	return &Key{master: b}, nil
}

// Derive returns the subkey for one purpose, such as "referral" or "session".
func (k *Key) Derive(purpose string) []byte {
	sub, err := hkdf.Key(sha256.New, k.master, nil, "familyhelp/"+purpose, KeySize)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give; KeySize is not one
	}
	return sub
}

// Box seals and opens data with AES-256-GCM under one purpose's subkey.
type Box struct{ aead cipher.AEAD }

// Box returns the sealing box for a purpose.
func (k *Key) Box(purpose string) *Box {
	block, err := aes.NewCipher(k.Derive("box/" + purpose))
	if err != nil {
		panic(err) // a 32-byte key is always accepted
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Box{aead: aead}
}

// version starts every sealed value, so that a new scheme can be told from this one.
const version byte = 1

// ErrOpen is returned for sealed data that is damaged, was sealed under another key or
// purpose, or belongs to another record (its associated data differs).
var ErrOpen = errors.New("sealed data cannot be opened")

// Seal encrypts plaintext. The associated data (a record's id, say) is not stored but must be
// given again to open it, so a sealed value copied onto another record cannot be opened there.
func (b *Box) Seal(plaintext, associated []byte) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	_, _ = rand.Read(out[1:]) // random 96-bit nonces: safe far beyond this site's volume
	return b.aead.Seal(out, out[1:], plaintext, associated)
}

// Open decrypts what Seal made with the same associated data.
func (b *Box) Open(sealed, associated []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], associated)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
