package referral

import (
	"crypto/rand"
	"strings"
)

// referenceAlphabet has no 0, 1, I, L, O or U: nothing a person could misread, mishear over
// the phone, or read as a word.
const referenceAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewReference makes a reference like FH-7K3M-Q9P2: 30⁸ (about 650 billion) of them, so the
// store's unique constraint rarely has to ask for another.
func NewReference() string {
	b := make([]byte, 0, 12)
	b = append(b, "FH-"...)
	for i := range 8 {
		if i == 4 {
			b = append(b, '-')
		}
		b = append(b, referenceAlphabet[randIndex(len(referenceAlphabet))])
	}
	return string(b)
}

// randIndex is uniform in [0, n): bytes that would bias the result are drawn again.
func randIndex(n int) int {
	limit := 256 - 256%n
	var one [1]byte
	for {
		_, _ = rand.Read(one[:]) // crypto/rand.Read never fails
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

// NormaliseReference reads a reference as a person might type it ("fh 7k3m q9p2") and returns
// it in its standard form; ok is false for anything that cannot be one.
func NormaliseReference(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
		case r < 128 && (strings.ContainsRune(referenceAlphabet, r) || r == 'F' || r == 'H'):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	c := strings.TrimPrefix(b.String(), "FH")
	if len(c) != 8 || strings.IndexFunc(c, func(r rune) bool { return !strings.ContainsRune(referenceAlphabet, r) }) >= 0 {
		return "", false
	}
	return "FH-" + c[:4] + "-" + c[4:], true
}
