package postcode

import (
	"bytes"
	"encoding/csv"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Coordinates below are copied from rows of the CSV files in data/.
func TestLookup(t *testing.T) {
	tests := []struct {
		in   string
		want Place
	}{
		// A unit postcode in WV or WS: its own point.
		{"wv11aa", Place{"WV1 1AA", 52.58848, -2.11494, PrecisionPostcode}},
		{" ws3  2da ", Place{"WS3 2DA", 52.61153, -1.99905, PrecisionPostcode}},
		{"WS1 1AA", Place{"WS1 1AA", 52.58601, -1.98128, PrecisionPostcode}},
		{"WV10 0AA", Place{"WV10 0AA", 52.59324, -2.12247, PrecisionPostcode}},
		{"WS10 1AB", Place{"WS10 1AB", 52.56037, -2.02716, PrecisionPostcode}},

		// Elsewhere in the UK: the centre of its sector.
		{"B1 1AA", Place{"B1 1AA", 52.47607, -1.90357, PrecisionSector}},
		{"EC1A 1BB", Place{"EC1A 1BB", 51.52432, -0.11168, PrecisionSector}},
		{"sw1a 1aa", Place{"SW1A 1AA", 51.50260, -0.13906, PrecisionSector}},
		// In WV but not a postcode the data knows: its sector still is.
		{"WV1 2ZZ", Place{"WV1 2ZZ", 52.58412, -2.09894, PrecisionSector}},
		// In the data, but never given a location.
		{"WV5 5AA", Place{"WV5 5AA", 52.52780, -2.21250, PrecisionSector}},
		{"WS10 1WZ", Place{"WS10 1WZ", 52.56018, -2.02728, PrecisionSector}},
		// A sector typed as such.
		{"WV1 1", Place{"WV1 1", 52.58843, -2.12539, PrecisionSector}},
		{"w1a 0", Place{"W1A 0", 51.51903, -0.12854, PrecisionSector}},
		{"wv111", Place{"WV11 1", 52.60603, -2.08744, PrecisionSector}},

		// An outward code: the centre of the district.
		{"WV1", Place{"WV1", 52.58679, -2.11824, PrecisionDistrict}},
		{"ws3", Place{"WS3", 52.61699, -1.99124, PrecisionDistrict}},
		{"WV11", Place{"WV11", 52.60987, -2.07155, PrecisionDistrict}},
		{"B33", Place{"B33", 52.48088, -1.78797, PrecisionDistrict}},
		{"SW1A", Place{"SW1A", 51.50197, -0.13386, PrecisionDistrict}},
		// A sector the data does not have: the district.
		{"WV1 8", Place{"WV1 8", 52.58679, -2.11824, PrecisionDistrict}},
		{"WV1 8AA", Place{"WV1 8AA", 52.58679, -2.11824, PrecisionDistrict}},
		// No location, and no sector to fall back on.
		{"WS13 2AA", Place{"WS13 2AA", 52.69251, -1.81678, PrecisionDistrict}},
		{"WV98 2AA", Place{"WV98 2AA", 52.40625, -2.21960, PrecisionDistrict}},
	}
	for _, tt := range tests {
		got, err := Lookup(tt.in)
		if got != tt.want || err != nil {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestLookupFails(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{"ZZ9 9ZZ", ErrUnknown},
		{"ZZ9", ErrUnknown},
		{"AA1 1AA", ErrUnknown},
		{"YY1 1", ErrUnknown},
		{"WV50", ErrUnknown}, // WV has no district 50
		{"WV50 1AA", ErrUnknown},
		{"GIR 0AA", ErrUnknown}, // not in the NSPL
		{"hello", ErrInvalid},
		{"WV1 1A", ErrInvalid},
		{" ", ErrEmpty},
	}
	for _, tt := range tests {
		got, err := Lookup(tt.in)
		if got != (Place{}) || !errors.Is(err, tt.err) {
			t.Errorf("Lookup(%q) = %+v, %v; want %v", tt.in, got, err, tt.err)
		}
	}
	if _, err := Locate(Postcode{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Locate(Postcode{}) = %v, want ErrInvalid", err)
	}
}

// Every row of the data, read here with encoding/csv and strconv rather than
// the package's own reader, must come back from Lookup as written; except
// the London districts W1M, W1N, W1R, W1V, W1X and W1Y, retired when W1 was
// recoded and now outside the postcode pattern, which are refused as
// ErrInvalid.
func TestLookupEveryRow(t *testing.T) {
	tests := []struct {
		file      string
		precision string
		rows      int
	}{
		{"data/postcodes_WV_WS.csv.gz", PrecisionPostcode, 29647},
		{"data/postcode_sectors.csv.gz", PrecisionSector, 12259}, // the README says 12,258
		{"data/postcode_districts.csv.gz", PrecisionDistrict, 3076},
	}
	for _, tt := range tests {
		b, err := gunzip(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		rows = rows[1:]
		if len(rows) != tt.rows {
			t.Errorf("%s: %d rows, want %d", tt.file, len(rows), tt.rows)
		}
		noLocation := 0
		for _, row := range rows {
			code := row[0]
			if tt.precision == PrecisionPostcode && !strings.Contains(code, " ") {
				code = code[:4] + " " + code[4:] // the data pads "WV1 1AA" and not "WV100AA"
			}
			got, err := Lookup(code)
			if len(code) >= 3 && code[:2] == "W1" && strings.IndexByte("MNRVXY", code[2]) >= 0 {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: Lookup(%q) = %+v, %v; want ErrInvalid", tt.file, code, got, err)
				}
				continue
			}
			if err != nil || got.Postcode != code {
				t.Errorf("%s: Lookup(%q) = %+v, %v", tt.file, code, got, err)
				continue
			}
			if row[1] == "" {
				noLocation++
				if got.Precision == PrecisionPostcode {
					t.Errorf("%s: Lookup(%q) = %+v; the data has no location for it", tt.file, code, got)
				}
				continue
			}
			lat, _ := strconv.ParseFloat(row[1], 64)
			lng, _ := strconv.ParseFloat(row[2], 64)
			if want := (Place{code, lat, lng, tt.precision}); got != want {
				t.Errorf("%s: Lookup(%q) = %+v, want %+v", tt.file, code, got, want)
			}
		}
		if tt.precision == PrecisionPostcode && noLocation != 170 {
			t.Errorf("%s: %d postcodes without a location, want 170", tt.file, noLocation)
		}
	}
}

func TestAttribution(t *testing.T) {
	want := []string{
		"Contains OS data © Crown copyright and database right 2025.",
		"Contains Royal Mail data © Royal Mail copyright and database right 2025.",
		"Source: Office for National Statistics licensed under the Open Government Licence v.3.0.",
	}
	if got := strings.Split(Attribution, "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Attribution = %q", got)
	}
}

func TestLocateDoesNotAllocate(t *testing.T) {
	if err := Load(); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"WV1 1AA", "B1 1AA", "WV1", "ZZ9 9ZZ"} {
		p, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = Locate(p) }); n != 0 {
			t.Errorf("Locate(%q): %v allocations", in, n)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = Lookup(in) }); n != 0 {
			t.Errorf("Lookup(%q): %v allocations", in, n)
		}
	}
}

// BenchmarkLoad reads all three files from scratch each time, as Load does
// once. retained-B is the heap the loaded tables keep for the life of the
// process.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readTables(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t, err := readTables()
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(t)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc), "retained-B")
}

func BenchmarkLookup(b *testing.B) {
	if err := Load(); err != nil {
		b.Fatal(err)
	}
	for _, in := range []string{"WV1 1AA", "wv11aa", "B1 1AA", "WV1"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Lookup(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLocate(b *testing.B) {
	if err := Load(); err != nil {
		b.Fatal(err)
	}
	p, err := Parse("WV1 1AA")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Locate(p); err != nil {
			b.Fatal(err)
		}
	}
}
