package postcode

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLookup checks what a search box does with anything typed into it: Lookup agrees with
// Parse, does not care how the postcode was spelt, falls back from unit to sector to district
// and nowhere else, and only ever answers with a point in the United Kingdom. FuzzParse (in
// postcode_test.go) checks the reading of the text itself.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{
		"WV1 1AA", "wv11aa", "ws3 2da", "WV1 1", "WV1", "WS", "ZZ9 9ZZ", "B70 7AA", "M1 1AE",
		"WV98 1AA", "WV1 9ZZ", "JE2 3AB", "ZE1 0AA", "BT1 1AA", "W1A 0AX", "GIR 0AA", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, perr := Parse(s)
		pl, err := Lookup(s)
		switch {
		case perr != nil:
			if err != perr {
				t.Fatalf("Lookup(%q) error %v, but Parse said %v", s, err, perr)
			}
			return
		case errors.Is(err, ErrUnknown):
			// Nothing at all is known of it: not even its district has a centre.
			if _, derr := Locate(district(p)); !errors.Is(derr, ErrUnknown) {
				t.Fatalf("Lookup(%q) is unknown, but its district %q is: %v", s, p.Outward, derr)
			}
			return
		case err != nil:
			t.Fatalf("Lookup(%q): %v", s, err)
		}

		if pl.Postcode != p.Text {
			t.Fatalf("Lookup(%q) answers for %q, Parse reads %q", s, pl.Postcode, p.Text)
		}
		if pl.Lat < 49 || pl.Lat > 61 || pl.Lng < -9 || pl.Lng > 2.5 {
			t.Fatalf("Lookup(%q) = %v, %v: not in the United Kingdom", s, pl.Lat, pl.Lng)
		}
		if again, err := Lookup(p.Text); again != pl || err != nil {
			t.Fatalf("Lookup(%q) = %+v, %v; Lookup(%q) = %+v: the spelling changed the answer", p.Text, again, err, s, pl)
		}
		if p.Full {
			if again, err := Lookup(compact(s)); again != pl || err != nil {
				t.Fatalf("Lookup(%q) = %+v, %v; Lookup(%q) = %+v: the spaces changed the answer", compact(s), again, err, s, pl)
			}
		}

		// Each fallback lands on exactly the point the coarser code has on its own.
		switch pl.Precision {
		case PrecisionPostcode:
			if !p.Full {
				t.Fatalf("Lookup(%q) has the precision of a unit postcode, but %q is not one", s, p.Text)
			}
			if a := p.Outward[:2]; a != "WV" && a != "WS" {
				t.Fatalf("Lookup(%q) found a unit postcode outside the WV and WS data", s)
			}
		case PrecisionSector:
			if p.Sector == "" {
				t.Fatalf("Lookup(%q) has the precision of a sector, but %q has none", s, p.Text)
			}
			sec, err := Locate(sector(p))
			if err != nil || sec.Precision != PrecisionSector || sec.Lat != pl.Lat || sec.Lng != pl.Lng {
				t.Fatalf("Lookup(%q) = %+v, but its sector gives %+v, %v", s, pl, sec, err)
			}
		case PrecisionDistrict:
			dis, err := Locate(district(p))
			if err != nil || dis.Precision != PrecisionDistrict || dis.Lat != pl.Lat || dis.Lng != pl.Lng {
				t.Fatalf("Lookup(%q) = %+v, but its district gives %+v, %v", s, pl, dis, err)
			}
			if p.Sector != "" {
				// Had the sector a centre of its own, that would have been the answer.
				if sec, err := Locate(sector(p)); err != nil || sec.Precision != PrecisionDistrict {
					t.Fatalf("Lookup(%q) fell back to the district, but its sector gives %+v, %v", s, sec, err)
				}
			}
		default:
			t.Fatalf("Lookup(%q): precision %q", s, pl.Precision)
		}
	})
}

// sector and district are the coarser codes of a postcode, built directly: "GIR 0AA" has a
// district, GIR, that Parse does not read on its own.
func sector(p Postcode) Postcode {
	return Postcode{Text: p.Sector, Outward: p.Outward, Sector: p.Sector}
}

func district(p Postcode) Postcode { return Postcode{Text: p.Outward, Outward: p.Outward} }

// FuzzNormalise checks the form an address's postcode is stored in: Normalise takes exactly
// the full postcodes Parse reads, gives each in its one standard spelling, upper case with
// one space before the three-character inward code, and that spelling is a fixed point.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"wv11aa", " ws3  2da ", "WV1\u00a01AA", "W V 1 1 A A", "ec1a1bb", "WV1", "WV1 1", "gir0aa", "WV1 1AA\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalise(s)
		p, perr := Parse(s)
		if err != nil {
			if n != "" {
				t.Fatalf("Normalise(%q) = %q with error %v", s, n, err)
			}
			if perr == nil && p.Full {
				t.Fatalf("Normalise(%q) refused a full postcode Parse reads as %q: %v", s, p.Text, err)
			}
			if perr != nil && err != perr {
				t.Fatalf("Normalise(%q) error %v, Parse error %v", s, err, perr)
			}
			return
		}
		if perr != nil || !p.Full || p.Text != n {
			t.Fatalf("Normalise(%q) = %q, but Parse gives %#v, %v", s, n, p, perr)
		}
		out, in, ok := strings.Cut(n, " ")
		if !ok || len(in) != 3 || out != p.Outward || strings.Contains(in, " ") || n != strings.ToUpper(n) {
			t.Fatalf("Normalise(%q) = %q: not an outward code, one space and an inward code in capitals", s, n)
		}
		if len(n) > maxCompact+1 {
			t.Fatalf("Normalise(%q) = %q: longer than any postcode", s, n)
		}
		if again, err := Normalise(n); again != n || err != nil {
			t.Fatalf("Normalise(%q) = %q, %v; not a fixed point", n, again, err)
		}
		if again, err := Normalise(strings.ToLower(compact(n))); again != n || err != nil {
			t.Fatalf("Normalise(%q) = %q, %v; want %q", strings.ToLower(compact(n)), again, err, n)
		}
	})
}
