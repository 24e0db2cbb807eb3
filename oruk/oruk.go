// Package oruk maps the directory to Open Referral UK 3.0 (HSDS 3.0 with the UK profile): the
// objects other systems read through /api, their stable ids, and the two taxonomies services
// are classified by (our needs and the DfE family hubs service categories).
//
// It is domain-side: no HTTP and no driver. The handlers page and serve what it builds.
package oruk

import (
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
)

// Version is what GET /api/ reports; the ORUK validator picks its tests from it.
const Version = "HSDS-UK-3.0"

// Profile is the UK profile's home page.
const Profile = "https://openreferraluk.org/"

// OpenAPI is the ORUK 3.0 OpenAPI document (OpenReferralUK/uk-profile, CC BY-SA 4.0), served
// as it is so consumers can read the contract from the API itself.
//
//go:embed openapi.json
var OpenAPI []byte

// namespace makes our ids ours: the same string id under another namespace gives another
// UUID, so two directories built from similar data never collide.
var namespace = [16]byte{0x60, 0x4b, 0x4b, 0x75, 0xf1, 0x0e, 0x41, 0x0d, 0x80, 0x68, 0xb3, 0x02, 0x53, 0x01, 0x3b, 0x4f}

// ID derives a name-based (version 5) UUID from a kind and our own ids, so an object gets the
// same id on every request, instance and restart without storing one: consumers keep ids.
func ID(kind string, parts ...string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(kind))
	for _, p := range parts {
		// A separator that cannot appear in our ids, so ("a:b","c") and ("a","b:c") differ.
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
