package staff

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 12

// maxPasswordLength bounds the work a login can make the server do.
const maxPasswordLength = 256

// Argon2id parameters: OWASP's recommended minimum (19 MiB, two passes), so a login costs tens
// of milliseconds here and a stolen hash is slow to guess.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Problem is what is wrong with something a staff member typed, in words they can act on.
type Problem string

func (p Problem) Error() string { return string(p) }

// Password problems.
const (
	ErrPasswordShort  Problem = "Your password must be at least 12 characters"
	ErrPasswordLong   Problem = "Your password must be 256 characters or fewer"
	ErrPasswordCommon Problem = "That password is too common and easy to guess: choose another"
)

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		return ErrPasswordShort
	case len(pw) > maxPasswordLength:
		return ErrPasswordLong
	case isCommon(pw):
		return ErrPasswordCommon
	}
	return nil
}

//go:embed common-passwords.txt.gz
var commonGz []byte

// common holds the deny-list: about 43,000 common passwords of 6 or more characters, from
// zxcvbn-ts's list (MIT, see common-passwords.LICENSE.txt), lower-cased.
var common = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic(err)
	}
	set := make(map[string]struct{}, 45000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		set[sc.Text()] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		panic(err)
	}
	return set
})

// isCommon reports whether a password is on the list, as it is or with the digits and symbols
// people add to the end to pass a length rule ("password1234!").
func isCommon(pw string) bool {
	p := strings.ToLower(pw)
	set := common()
	if _, ok := set[p]; ok {
		return true
	}
	base := strings.TrimRightFunc(p, func(r rune) bool { return r < 'a' || r > 'z' })
	if _, ok := set[base]; ok && len(base) >= 6 {
		return true
	}
	// The same short word typed twice or more ("qwertyqwerty").
	for size := 1; size <= len(p)/2; size++ {
		if len(p)%size == 0 && strings.Repeat(p[:size], len(p)/size) == p {
			return true
		}
	}
	return false
}

// HashPassword hashes a password with argon2id, in the usual encoded form.
func HashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is checked against when there is no account, so a login for an unknown email
// takes as long as one for a known email.
var dummyHash = sync.OnceValue(func() string { return HashPassword("no account has this password") })

// VerifyPassword reports whether pw matches an encoded hash (from any argon2id parameters). An
// empty hash is checked against a dummy, so the time taken does not say whether it existed.
func VerifyPassword(encoded, pw string) bool {
	if len(pw) > maxPasswordLength {
		return false
	}
	if encoded == "" {
		encoded = dummyHash()
		pw += "\x00" // never matches
	}
	var version int
	var mem, t uint32
	var threads uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &threads); err != nil || mem > 1<<20 || t > 10 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
