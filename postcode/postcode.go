// Package postcode reads UK postcodes the way families type them and finds
// where they are, from Office for National Statistics data embedded in the
// binary: every unit postcode in the WV (Wolverhampton) and WS (Walsall) areas,
// and the centre of every postcode sector and district in the UK.
//
// It knows nothing of HTTP: its errors carry messages written to be shown to
// the person who typed the postcode.
package postcode

import (
	"unicode"
	"unicode/utf8"
)

// Error is a problem with what someone typed. Its text is plain English, safe
// and meant to be shown next to the postcode field.
type Error string

func (e Error) Error() string { return string(e) }

// Constants rather than variables, so no other package can reassign them and
// break errors.Is everywhere.
const (
	ErrEmpty   Error = "Enter a postcode"
	ErrInvalid Error = "Enter a real postcode, like WV1 1AA"
	ErrUnknown Error = "We could not find that postcode. Check it and try again"
)

// Postcode is a full unit postcode or, because families searching near them
// often type only part of one, an outward code ("WV1") or a sector ("WV1 1").
// Outward and Sector are slices of Text.
type Postcode struct {
	Text    string // display form: "WV1 1AA", "WV1 1" or "WV1"
	Outward string // "WV1"
	Sector  string // "WV1 1"; empty when only the outward code was given
	Full    bool   // a whole unit postcode, not part of one
}

func (p Postcode) String() string { return p.Text }

// maxCompact is the longest postcode without its space ("AA9A9AA"). Longer
// input is rejected as soon as it is seen, so a pasted paragraph costs nothing.
const maxCompact = 7

// Normalise returns a full unit postcode in its standard form ("WV1 1AA").
// It takes what GOV.UK tells services to accept: any case, with or without
// the space, with extra spaces, tabs or non-breaking spaces anywhere. Partial
// postcodes are ErrInvalid here: use it where an address needs a whole
// postcode, and Parse where a search location will do.
func Normalise(s string) (string, error) {
	p, err := Parse(s)
	if err != nil {
		return "", err
	}
	if !p.Full {
		return "", ErrInvalid
	}
	return p.Text, nil
}

// Parse reads a full postcode, a sector or an outward code, as a search box
// receives them. Without a space, "WV11" is read as the district WV11, not
// the sector WV1 1: a space is what tells them apart, and districts are what
// people type.
func Parse(s string) (Postcode, error) {
	var (
		c         [maxCompact]byte // s upper-cased, without whitespace
		n         int
		lastStart = -1 // where in c the last whitespace-separated token starts
		inSpace   = true
	)
	for i := 0; i < len(s); {
		b := s[i]
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) { // copy-paste brings U+00A0 and friends
				return Postcode{}, ErrInvalid
			}
			inSpace = true
			i += size
			continue
		}
		i++
		switch {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f':
			inSpace = true
			continue
		case 'a' <= b && b <= 'z':
			b -= 'a' - 'A'
		case 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		default:
			return Postcode{}, ErrInvalid
		}
		if n == maxCompact {
			return Postcode{}, ErrInvalid
		}
		if inSpace {
			lastStart, inSpace = n, false
		}
		c[n] = b
		n++
	}
	if n == 0 {
		return Postcode{}, ErrEmpty
	}
	u := c[:n]

	switch {
	case string(u) == "GIR0AA" || n >= 5 && validOutward(u[:n-3]) && validInward(u[n-3:]):
		return build(s, u, n-3, true), nil
	case lastStart == n-1 && lastStart > 0 && isDigit(u[n-1]) && validOutward(u[:n-1]):
		return build(s, u, n-1, false), nil // "WV1 1": the space says sector
	case validOutward(u):
		return build(s, u, n, false), nil
	case lastStart == 0 && n >= 3 && isDigit(u[n-1]) && validOutward(u[:n-1]):
		// "WV111": only a sector fits. "WV1 11" does not get here: its
		// space puts the digits in the wrong place for a sector.
		return build(s, u, n-1, false), nil
	}
	return Postcode{}, ErrInvalid
}

// build lays out the display form with one space after the outward code of
// length out. When s is already in that form it is reused, so parsing a
// postcode that came from a link or a database does not allocate.
func build(s string, u []byte, out int, full bool) Postcode {
	var buf [maxCompact + 1]byte
	n := copy(buf[:], u[:out])
	if out < len(u) {
		buf[n] = ' '
		n++
		n += copy(buf[n:], u[out:])
	}
	text := s
	if string(buf[:n]) != s {
		text = string(buf[:n])
	}
	p := Postcode{Text: text, Outward: text[:out], Full: full}
	if out < len(u) {
		p.Sector = text[:out+2]
	}
	return p
}

// The letter rules of BS 7666, as published in the UK Government Data
// Standards Catalogue, with one exception: Z is allowed second, so that
// placeholders such as ZZ9 9ZZ are reported as not found rather than as
// mistyped. London districts retired when W1 was recoded (W1M, W1N, W1R, W1V,
// W1X, W1Y) break these rules and are refused, though the data still has them.
var (
	firstLetter   = letters("ABCDEFGHIJKLMNOPRSTUWYZ")  // not Q, V, X
	secondLetter  = letters("ABCDEFGHKLMNOPQRSTUVWXYZ") // not I, J
	thirdLetterA9 = letters("ABCDEFGHJKPSTUW")          // A9A
	fourthLetter  = letters("ABEHMNPRVWXY")             // AA9A
	inwardLetter  = letters("ABDEFGHJLNPQRSTUWXYZ")     // not C, I, K, M, O, V
)

// letterSet is a bit set over A-Z, so a check is one mask, not a search.
type letterSet uint32

func letters(s string) letterSet {
	var set letterSet
	for i := 0; i < len(s); i++ {
		set |= 1 << (s[i] - 'A')
	}
	return set
}

func (set letterSet) has(b byte) bool {
	return 'A' <= b && b <= 'Z' && set&(1<<(b-'A')) != 0
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// validOutward accepts A9, A99, AA9, AA99, A9A and AA9A.
func validOutward(u []byte) bool {
	if len(u) < 2 || len(u) > 4 || !firstLetter.has(u[0]) {
		return false
	}
	if isDigit(u[1]) { // A9, A99, A9A
		switch len(u) {
		case 2:
			return true
		case 3:
			return isDigit(u[2]) || thirdLetterA9.has(u[2])
		}
		return false
	}
	if len(u) < 3 || !secondLetter.has(u[1]) || !isDigit(u[2]) { // AA9…
		return false
	}
	return len(u) == 3 || isDigit(u[3]) || fourthLetter.has(u[3])
}

// validInward accepts 9AA.
func validInward(u []byte) bool {
	return len(u) == 3 && isDigit(u[0]) && inwardLetter.has(u[1]) && inwardLetter.has(u[2])
}
