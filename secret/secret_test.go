package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := Parse(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	box := k.Box("referral")
	plain := []byte("Alex, 07700 900000, my partner hits me")
	sealed := box.Seal(plain, []byte("FH-AAAA-BBBB"))
	if bytes.Contains(sealed, []byte("partner")) || bytes.Contains(sealed, []byte("07700")) {
		t.Fatal("sealed data contains the plain text")
	}
	if again := box.Seal(plain, []byte("FH-AAAA-BBBB")); bytes.Equal(again, sealed) {
		t.Error("sealing twice gave the same bytes: the nonce is not random")
	}
	got, err := box.Open(sealed, []byte("FH-AAAA-BBBB"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := Parse(strings.Repeat("ab", 32))
	damaged := bytes.Clone(sealed)
	damaged[len(damaged)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other record":  func() ([]byte, error) { return box.Open(sealed, []byte("FH-CCCC-DDDD")) },
		"other purpose": func() ([]byte, error) { return k.Box("draft").Open(sealed, []byte("FH-AAAA-BBBB")) },
		"other key":     func() ([]byte, error) { return other.Box("referral").Open(sealed, []byte("FH-AAAA-BBBB")) },
		"damaged":       func() ([]byte, error) { return box.Open(damaged, []byte("FH-AAAA-BBBB")) },
		"truncated":     func() ([]byte, error) { return box.Open(sealed[:10], []byte("FH-AAAA-BBBB")) },
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open = %v, want ErrOpen", name, err)
		}
	}
}

func TestParse(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32)
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		strings.Repeat("fb", 32), " " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		if k, err := Parse(s); err != nil || !bytes.Equal(k.master, raw) {
			t.Errorf("Parse(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "password", strings.Repeat("fb", 31), base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := Parse(s); !errors.Is(err, ErrBadKey) {
			t.Errorf("Parse(%q) = %v, want ErrBadKey", s, err)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k1, err := LoadOrCreate("", path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", info, err)
	}
	k2, err := LoadOrCreate("", path)
	if err != nil || !bytes.Equal(k1.master, k2.master) {
		t.Fatalf("second start made a different key (%v): everything sealed before would be lost", err)
	}
	env := strings.Repeat("01", 32)
	k3, err := LoadOrCreate(env, path)
	if err != nil || bytes.Equal(k3.master, k1.master) {
		t.Errorf("FAMILYHELP_SECRET_KEY did not take precedence over the file (%v)", err)
	}
	if _, err := LoadOrCreate("too short", path); !errors.Is(err, ErrBadKey) {
		t.Errorf("bad key in the environment: %v, want ErrBadKey", err)
	}
	if !bytes.Equal(k1.Derive("a"), k2.Derive("a")) || bytes.Equal(k1.Derive("a"), k1.Derive("b")) {
		t.Error("Derive must be stable for a purpose and differ between purposes")
	}
}
