package postcode

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"sync"
)

// Attribution must be shown wherever this data, or anything derived from
// it such as a distance, is shipped or displayed: the Open Government
// Licence requires it.
const Attribution = "Contains OS data © Crown copyright and database right 2025.\n" +
	"Contains Royal Mail data © Royal Mail copyright and database right 2025.\n" +
	"Source: Office for National Statistics licensed under the Open Government Licence v.3.0."

// How close a Place is to the postcode asked for.
const (
	PrecisionPostcode = "postcode" // the unit postcode's own point
	PrecisionSector   = "sector"   // centre of the sector: a few hundred metres in towns
	PrecisionDistrict = "district" // centre of the district: kilometres in the country
)

// Place is where a postcode is, as closely as the data allows.
type Place struct {
	Postcode  string // the postcode looked up, in display form
	Lat, Lng  float64
	Precision string // PrecisionPostcode, PrecisionSector or PrecisionDistrict
}

// Load reads the embedded data if that has not happened yet. Call it at
// start-up so the first family to search does not wait for it, and so a
// broken build fails before it serves anyone.
func Load() error {
	_, err := loaded()
	return err
}

// Lookup parses s, as Parse does, and locates it.
func Lookup(s string) (Place, error) {
	p, err := Parse(s)
	if err != nil {
		return Place{}, err
	}
	return Locate(p)
}

// Locate finds a postcode's own point where the data has one (WV and WS),
// and otherwise falls back to the centre of its sector, then of its district.
// A postcode the data has no trace of is ErrUnknown: it may be well formed
// and still not exist.
func Locate(p Postcode) (Place, error) {
	t, err := loaded()
	if err != nil {
		return Place{}, err
	}
	if p.Outward == "" {
		return Place{}, ErrInvalid
	}
	place := Place{Postcode: p.Text}
	var (
		pt point
		ok bool
	)
	if p.Full {
		pt, ok = t.units[key(p.Text)]
		place.Precision = PrecisionPostcode
	}
	if !ok && p.Sector != "" {
		pt, ok = t.sectors[key(p.Sector)]
		place.Precision = PrecisionSector
	}
	if !ok {
		pt, ok = t.districts[key(p.Outward)]
		place.Precision = PrecisionDistrict
	}
	if !ok {
		return Place{}, ErrUnknown
	}
	place.Lat, place.Lng = pt.latLng()
	return place, nil
}

// point is a location in units of 1e-5 degree, the source's precision: half
// the size of two float64s, and converts back to exactly the value in the CSV.
type point struct{ lat, lng int32 }

func (pt point) latLng() (lat, lng float64) {
	return float64(pt.lat) / 1e5, float64(pt.lng) / 1e5
}

// tables maps a packed postcode (see key) to its point. Integer keys keep
// the maps small and make a lookup a hash of one word, with nothing to
// allocate.
type tables struct {
	units, sectors, districts map[uint64]point
}

// key packs a postcode, sector or outward code, spaces dropped, into one
// word. Seven characters at most fit with room to spare; within one table
// no two codes share a key, because each table holds one kind of code.
func key[S ~string | ~[]byte](s S) uint64 {
	var k uint64
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			k = k<<8 | uint64(s[i])
		}
	}
	return k
}

//go:embed data/*.csv.gz
var data embed.FS

var loaded = sync.OnceValues(readTables)

func readTables() (*tables, error) {
	var t tables
	var err error
	if t.units, err = readFile("data/postcodes_WV_WS.csv.gz"); err != nil {
		return nil, err
	}
	if t.sectors, err = readFile("data/postcode_sectors.csv.gz"); err != nil {
		return nil, err
	}
	if t.districts, err = readFile("data/postcode_districts.csv.gz"); err != nil {
		return nil, err
	}
	return &t, nil
}

// readFile reads a CSV whose first three columns are code, latitude and
// longitude, after a header row. Rows without a location are left out so
// that Locate falls back to the sector or district; the NSPL has such rows
// for postcodes that were never given one (PO boxes, large users).
func readFile(name string) (map[uint64]point, error) {
	b, err := gunzip(name)
	if err != nil {
		return nil, fmt.Errorf("load postcode data %s: %w", name, err)
	}
	_, b, _ = bytes.Cut(b, []byte{'\n'}) // header
	m := make(map[uint64]point, bytes.Count(b, []byte{'\n'})+1)
	for line := 2; len(b) > 0; line++ {
		var row []byte
		row, b, _ = bytes.Cut(b, []byte{'\n'})
		code, rest, _ := bytes.Cut(row, []byte{','})
		lat, rest, _ := bytes.Cut(rest, []byte{','})
		lng, _, _ := bytes.Cut(rest, []byte{','})
		if len(code) == 0 || len(code) > maxCompact+1 {
			return nil, fmt.Errorf("load postcode data %s line %d: bad code %q", name, line, code)
		}
		if len(lat) == 0 || len(lng) == 0 {
			continue
		}
		var pt point
		var ok1, ok2 bool
		pt.lat, ok1 = fixed5(lat)
		pt.lng, ok2 = fixed5(lng)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("load postcode data %s line %d: bad location %q,%q", name, line, lat, lng)
		}
		m[key(code)] = pt
	}
	return m, nil
}

func gunzip(name string) ([]byte, error) {
	f, err := data.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(gunzippedSize(f) + bytes.MinRead)
	if _, err := buf.ReadFrom(z); err != nil {
		return nil, err
	}
	return buf.Bytes(), z.Close()
}

// gunzippedSize reads the size gzip records in its last four bytes, so the
// data is read into one buffer of the right size instead of a series of
// ever larger ones. If it cannot, reading still works, only with more
// garbage.
func gunzippedSize(f fs.File) int {
	r, ok := f.(io.ReaderAt)
	st, err := f.Stat()
	if !ok || err != nil || st.Size() < 4 {
		return 0
	}
	var b [4]byte
	if _, err := r.ReadAt(b[:], st.Size()-4); err != nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(b[:]))
}

// fixed5 parses a decimal such as "-2.11494" into 1e-5 units. The data
// always has five places; fewer are padded, more are an error rather than
// silently rounded.
func fixed5(b []byte) (int32, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var v int64
	places, digits, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c == '.' && !dot:
			dot = true
		case isDigit(c):
			if dot {
				places++
			}
			digits++
			v = v*10 + int64(c-'0')
			if digits > 8 { // more than 180.00000 can hold; stop before overflow
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if digits == 0 || places > 5 {
		return 0, false
	}
	for ; places < 5; places++ {
		v *= 10
	}
	if v > 180e5 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return int32(v), true
}
