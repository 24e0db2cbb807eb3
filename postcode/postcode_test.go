package postcode

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		// The spellings GOV.UK says to accept.
		{"wv11aa", "WV1 1AA", nil},
		{" ws3  2da ", "WS3 2DA", nil},
		{"WV1 1AA", "WV1 1AA", nil},
		{"wv1 1aa", "WV1 1AA", nil},
		{"Wv1 1aA", "WV1 1AA", nil},
		{"WV11AA", "WV1 1AA", nil},
		{"WV1    1AA", "WV1 1AA", nil},
		{"\tWV1 1AA\r\n", "WV1 1AA", nil},
		{"WV1\u00a01AA", "WV1 1AA", nil}, // non-breaking space, from copy and paste
		{"WV1\u20031AA", "WV1 1AA", nil}, // em space
		{"W V 1 1 A A", "WV1 1AA", nil},
		{"WV1 1 AA", "WV1 1AA", nil},
		// Every shape of outward code.
		{"m11ae", "M1 1AE", nil},            // A9
		{"b338th", "B33 8TH", nil},          // A99
		{"cr26xh", "CR2 6XH", nil},          // AA9
		{"dn551pt", "DN55 1PT", nil},        // AA99
		{"w1a0ax", "W1A 0AX", nil},          // A9A
		{"ec1a1bb", "EC1A 1BB", nil},        // AA9A
		{"WV100AA", "WV10 0AA", nil},        // as the data writes it
		{"gir0aa", "GIR 0AA", nil},          // Girobank, the one exception to the rules
		{"zz9 9zz", "ZZ9 9ZZ", nil},         // well formed; Locate says it does not exist
		{"sw1a 1aa", "SW1A 1AA", nil},       //
		{"  ec1a   1bb  ", "EC1A 1BB", nil}, //

		{"", "", ErrEmpty},
		{"   ", "", ErrEmpty},
		{"\t\n\u00a0", "", ErrEmpty},

		{"WV1 1A", "", ErrInvalid},
		{"12345", "", ErrInvalid},
		{"WV1 1AAA", "", ErrInvalid},
		{"hello", "", ErrInvalid},
		{"<script>", "", ErrInvalid},
		{"<script>alert(1)</script>", "", ErrInvalid},
		{"WV1 1AA'; DROP TABLE", "", ErrInvalid},
		{"WV1-1AA", "", ErrInvalid},
		{"WV1.1AA", "", ErrInvalid},
		{"WV1 1AA.", "", ErrInvalid},
		{"WV1", "", ErrInvalid},   // partial: fine for Parse, not here
		{"WV1 1", "", ErrInvalid}, // partial
		{"1AA", "", ErrInvalid},
		{"WV 1AA", "", ErrInvalid},
		{"1WV 1AA", "", ErrInvalid},
		{"WVV1 1AA", "", ErrInvalid},
		{"WV123 1AA", "", ErrInvalid},
		{"WV1 AAA", "", ErrInvalid},
		{"WV1 11A", "", ErrInvalid},
		{"QV1 1AA", "", ErrInvalid},  // Q never first
		{"VA1 1AA", "", ErrInvalid},  // V never first
		{"XM4 5HQ", "", ErrInvalid},  // X never first
		{"WI1 1AA", "", ErrInvalid},  // I never second
		{"WJ1 1AA", "", ErrInvalid},  // J never second
		{"W1I 1AA", "", ErrInvalid},  // I never third in A9A
		{"WV1C 1AA", "", ErrInvalid}, // C never fourth in AA9A
		{"WV1 1CA", "", ErrInvalid},  // C, I, K, M, O, V never in the inward code
		{"WV1 1AI", "", ErrInvalid},
		{"WV1 1KA", "", ErrInvalid},
		{"WV1 1AM", "", ErrInvalid},
		{"WV1 1OA", "", ErrInvalid},
		{"WV1 1AV", "", ErrInvalid},
		{"ＷＶ1 1AA", "", ErrInvalid},      // full-width letters
		{"WV1\u200b1AA", "", ErrInvalid}, // zero-width space is not a space
		{"WV1 1ÄA", "", ErrInvalid},
		{"WV1 1AA\x00", "", ErrInvalid},
		{"\xff\xfe", "", ErrInvalid},
		{strings.Repeat("WV1 1AA", 1000), "", ErrInvalid},
	}
	for _, tt := range tests {
		got, err := Normalise(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Normalise(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Postcode
		err  error
	}{
		{"wv11aa", Postcode{"WV1 1AA", "WV1", "WV1 1", true}, nil},
		{"EC1A 1BB", Postcode{"EC1A 1BB", "EC1A", "EC1A 1", true}, nil},
		{"GIR 0AA", Postcode{"GIR 0AA", "GIR", "GIR 0", true}, nil},

		// Families searching often type only the start of a postcode.
		{"WV1", Postcode{"WV1", "WV1", "", false}, nil},
		{"ws3", Postcode{"WS3", "WS3", "", false}, nil},
		{" ec1a ", Postcode{"EC1A", "EC1A", "", false}, nil},
		{"W1", Postcode{"W1", "W1", "", false}, nil},
		{"WV1 1", Postcode{"WV1 1", "WV1", "WV1 1", false}, nil},
		{"wv1   1 ", Postcode{"WV1 1", "WV1", "WV1 1", false}, nil},
		{"ec1a 1", Postcode{"EC1A 1", "EC1A", "EC1A 1", false}, nil},
		{"W1 1", Postcode{"W1 1", "W1", "W1 1", false}, nil},
		// Without a space, a district wins over a sector.
		{"WV11", Postcode{"WV11", "WV11", "", false}, nil},
		{"W11", Postcode{"W11", "W11", "", false}, nil},
		// Unless no district could be meant.
		{"wv111", Postcode{"WV11 1", "WV11", "WV11 1", false}, nil},
		{"ec1a1", Postcode{"EC1A 1", "EC1A", "EC1A 1", false}, nil},

		{"", Postcode{}, ErrEmpty},
		{"WV", Postcode{}, ErrInvalid},
		{"W", Postcode{}, ErrInvalid},
		{"1", Postcode{}, ErrInvalid},
		{"WV1 1A", Postcode{}, ErrInvalid},
		{"WV1 11", Postcode{}, ErrInvalid}, // a sector has one digit
		{"WV1 1AA 1", Postcode{}, ErrInvalid},
		{"WV12345", Postcode{}, ErrInvalid},
		{"QV1", Postcode{}, ErrInvalid},
		{"GIR", Postcode{}, ErrInvalid},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// A web page shows these messages as they are, so their words matter.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "Enter a postcode"},
		{"hello", "Enter a real postcode, like WV1 1AA"},
		{"ZZ9 9ZZ", "We could not find that postcode. Check it and try again"},
	}
	for _, tt := range tests {
		_, err := Lookup(tt.in)
		var perr Error
		if !errors.As(err, &perr) || err.Error() != tt.want {
			t.Errorf("Lookup(%q) error = %v; want Error %q", tt.in, err, tt.want)
		}
	}
}

// The pattern as a regular expression, to check the hand-written version
// against. It is the UK Government Data Standards one, except that Z may
// come second.
var (
	outwardRE = `(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Z][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Z][0-9][ABEHMNPRV-Y])`
	inwardRE  = `[0-9][ABD-HJLNP-UW-Z]{2}`
	fullRE    = regexp.MustCompile(`^(?:GIR 0AA|` + outwardRE + ` ` + inwardRE + `)$`)
	sectorRE  = regexp.MustCompile(`^` + outwardRE + ` [0-9]$`)
	onlyOutRE = regexp.MustCompile(`^` + outwardRE + `$`)
	onlyInRE  = regexp.MustCompile(`^` + inwardRE + `$`)
)

func TestPatternMatchesRegexp(t *testing.T) {
	if testing.Short() {
		t.Skip("tries every short string")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ09"
	var try func(prefix []byte, n int)
	try = func(s []byte, n int) {
		if len(s) == n {
			if got, want := validOutward(s), onlyOutRE.Match(s); got != want {
				t.Errorf("validOutward(%q) = %v, want %v", s, got, want)
			}
			if n == 3 {
				if got, want := validInward(s), onlyInRE.Match(s); got != want {
					t.Errorf("validInward(%q) = %v, want %v", s, got, want)
				}
			}
			return
		}
		for i := 0; i < len(alphabet); i++ {
			try(append(s, alphabet[i]), n)
		}
	}
	for n := 1; n <= 5; n++ {
		if n == 5 { // one length too long is enough to see it refused
			if validOutward([]byte("WV111")) {
				t.Error("validOutward accepts five characters")
			}
			continue
		}
		try(make([]byte, 0, n), n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"wv11aa", " ws3  2da ", "WV1", "WV1 1", "WV111", "GIR 0AA", "ZZ9 9ZZ", "EC1A 1BB", "<script>", "WV1\u00a01AA", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != (Postcode{}) {
				t.Fatalf("Parse(%q) = %#v with error %v", s, p, err)
			}
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): unexpected error %v", s, err)
			}
			return
		}
		switch {
		case p.Full:
			if !fullRE.MatchString(p.Text) {
				t.Fatalf("Parse(%q) = %q, not a full postcode", s, p.Text)
			}
		case p.Sector != "":
			if !sectorRE.MatchString(p.Text) {
				t.Fatalf("Parse(%q) = %q, not a sector", s, p.Text)
			}
		default:
			if !onlyOutRE.MatchString(p.Text) {
				t.Fatalf("Parse(%q) = %q, not an outward code", s, p.Text)
			}
		}
		if compact(s) != compact(p.Text) {
			t.Fatalf("Parse(%q) = %q: not the same characters", s, p.Text)
		}
		if again, err := Parse(p.Text); again != p || err != nil {
			t.Fatalf("Parse(%q) = %#v, %v; not stable after Parse(%q) = %#v", p.Text, again, err, s, p)
		}
		if got, err := Normalise(s); p.Full && got != p.Text || !p.Full && err == nil {
			t.Fatalf("Normalise(%q) = %q, %v; Parse gave %#v", s, got, err, p)
		}
	})
}

func compact(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

func TestParseNormalisedDoesNotAllocate(t *testing.T) {
	var p Postcode
	allocs := testing.AllocsPerRun(100, func() { p, _ = Parse("WV1 1AA") })
	if allocs != 0 || p.Text != "WV1 1AA" {
		t.Errorf("Parse of a normalised postcode: %v allocations, %q", allocs, p.Text)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range []string{"WV1 1AA", " wv1  1aa "} {
		b.Run(strings.TrimSpace(in), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
