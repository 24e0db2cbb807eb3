package oruk_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/oruk"
	"familyhelp/store"
)

// FuzzReadFile reads any bytes as an uploaded import file (ORUK JSON, or a zipped HSDS data
// package): it is refused with a reason, or read into records that each say where they came
// from and hold JSON for the importer to check.
func FuzzReadFile(f *testing.F) {
	for _, seed := range fileSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := oruk.ReadFile(data)
		if err != nil {
			if recs != nil {
				t.Fatalf("records returned with the error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			return
		}
		checkRecords(t, recs)
		if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			// Not a zip: read as JSON, alike.
			again, _, err := oruk.ReadJSON(data)
			if err != nil || !sameRecords(recs, again) {
				t.Fatalf("ReadFile and ReadJSON read the same bytes differently: %v", err)
			}
		}
	})
}

// FuzzImport imports any file into an empty directory: every record is created or skipped,
// once each, with reasons for what was skipped; importing the same file again changes
// nothing; and our own export of what was imported reads back as unchanged.
func FuzzImport(f *testing.F) {
	for _, seed := range fileSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := oruk.ReadFile(data)
		if err != nil || len(recs) == 0 {
			return
		}
		ctx := context.Background()
		db := emptyStore(t)
		clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
		im := &oruk.Importer{Target: target{db}, Now: func() time.Time { return clock }}

		rep, err := im.Import(ctx, recs)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		checkReport(t, recs, rep)
		created := map[string]bool{}
		for _, rr := range rep.Records {
			switch rr.Outcome {
			case oruk.Created:
				if created[rr.ServiceID] {
					t.Fatalf("%s created service %s, which an earlier record of the same file created", rr.Where, rr.ServiceID)
				}
				created[rr.ServiceID] = true
			case oruk.Skipped:
			default:
				t.Fatalf("%s was %s in an empty directory", rr.Where, rr.Outcome)
			}
		}
		stored := everything(t, db)
		if len(stored) != len(created) {
			t.Fatalf("%d services created, %d stored", len(created), len(stored))
		}
		for id := range stored {
			if !created[id] {
				t.Fatalf("service %s is stored but no record created it", id)
			}
		}

		// The same file again, an hour later: nothing changes.
		clock = clock.Add(time.Hour)
		rep2, err := im.Import(ctx, recs)
		if err != nil {
			t.Fatalf("import again: %v", err)
		}
		checkReport(t, recs, rep2)
		for i, rr := range rep2.Records {
			first := rep.Records[i]
			want := oruk.Unchanged
			if first.Outcome == oruk.Skipped {
				want = oruk.Skipped
			}
			if rr.Outcome != want || rr.Outcome == oruk.Unchanged && rr.ServiceID != first.ServiceID {
				t.Fatalf("imported again, %s was %s (%s, %q); the first time %s (%s)", rr.Where, rr.Outcome, rr.ServiceID, rr.Problems, first.Outcome, first.ServiceID)
			}
		}
		if again := everything(t, db); !sameServices(stored, again) {
			t.Fatalf("importing the same file again changed the directory")
		}

		// Our export of what was imported is the same services.
		if len(stored) == 0 {
			return
		}
		var all []*directory.Service
		for _, s := range stored {
			all = append(all, s)
		}
		slices.SortFunc(all, func(a, b *directory.Service) int { return strings.Compare(a.ID, b.ID) })
		export, err := json.Marshal(oruk.ExportJSON(all))
		if err != nil {
			t.Fatal(err)
		}
		back, err := oruk.ReadFile(export)
		if err != nil {
			t.Fatalf("our export does not read back: %v", err)
		}
		rep3, err := im.Import(ctx, back)
		if err != nil {
			t.Fatalf("import the export: %v", err)
		}
		for _, rr := range rep3.Records {
			if rr.Outcome != oruk.Unchanged {
				// What the export reads back as, on its own, against what was stored.
				db2 := emptyStore(t)
				_, _ = (&oruk.Importer{Target: target{db2}, Now: im.Now}).Import(ctx, back)
				a, _ := json.MarshalIndent(stored[rr.ServiceID], "", " ")
				b, _ := json.MarshalIndent(everything(t, db2)[rr.ServiceID], "", " ")
				t.Fatalf("the export of an imported service, imported again, was %s: %q\n%s", rr.Outcome, rr.Problems, difference(string(a), string(b)))
			}
		}
		if again := everything(t, db); !sameServices(stored, again) {
			t.Fatalf("importing our own export changed the directory")
		}
	})
}

// target is the store as the importer's target: the directory without its search index.
type target struct{ *store.DB }

func (t target) Save(ctx context.Context, services ...*directory.Service) error {
	return t.SaveServices(ctx, services...)
}

// emptyStore is a new, empty SQLite store. Its folder is not t.TempDir(): a fuzz input's
// test name holds "#", which the SQLite driver reads as the end of the file's name (see the
// store's DSN), so every input would share one file.
func emptyStore(t *testing.T) *store.DB {
	t.Helper()
	dir, err := os.MkdirTemp("", "oruk-fuzz-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func everything(t *testing.T, db *store.DB) map[string]*directory.Service {
	t.Helper()
	out := map[string]*directory.Service{}
	if err := db.EachService(context.Background(), func(s *directory.Service) error {
		out[s.ID] = s
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameServices(a, b map[string]*directory.Service) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// checkRecords checks what every reader promises: each record says where it was, no two in
// the same place, and holds JSON.
func checkRecords(t *testing.T, recs []oruk.Record) {
	t.Helper()
	where := map[string]bool{}
	for _, r := range recs {
		if r.Where == "" || where[r.Where] {
			t.Fatalf("record at %q: no place, or a place given twice", r.Where)
		}
		where[r.Where] = true
		if !json.Valid(r.Raw) {
			t.Fatalf("%s is not JSON: %q", r.Where, r.Raw)
		}
	}
}

// checkReport checks a report against the records imported: one line each, in order, each
// with exactly one outcome, reasons for every record skipped and none for the others, and
// totals that add up.
func checkReport(t *testing.T, recs []oruk.Record, rep *oruk.Report) {
	t.Helper()
	if len(rep.Records) != len(recs) {
		t.Fatalf("%d records, %d reported", len(recs), len(rep.Records))
	}
	counts := map[oruk.Outcome]int{}
	for i, rr := range rep.Records {
		if rr.Where != recs[i].Where {
			t.Fatalf("report line %d is for %q, the record was at %q", i, rr.Where, recs[i].Where)
		}
		counts[rr.Outcome]++
		switch rr.Outcome {
		case oruk.Skipped:
			if len(rr.Problems) == 0 || slices.Contains(rr.Problems, "") {
				t.Fatalf("%s was skipped without a reason", rr.Where)
			}
		case oruk.Created, oruk.Updated, oruk.Unchanged:
			if len(rr.Problems) > 0 || rr.ServiceID == "" {
				t.Fatalf("%s was %s with problems %q, service %q", rr.Where, rr.Outcome, rr.Problems, rr.ServiceID)
			}
		default:
			t.Fatalf("%s: outcome %q", rr.Where, rr.Outcome)
		}
	}
	if rep.Created != counts[oruk.Created] || rep.Updated != counts[oruk.Updated] ||
		rep.Unchanged != counts[oruk.Unchanged] || rep.Skipped != counts[oruk.Skipped] ||
		rep.Created+rep.Updated+rep.Unchanged+rep.Skipped != len(recs) {
		t.Fatalf("totals %s do not add up to the %d records", rep.Summary(), len(recs))
	}
}

// difference shows where two texts part.
func difference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-300)
	return "stored:\n…" + a[from:min(len(a), i+300)] + "\nread back:\n…" + b[from:min(len(b), i+300)]
}

func sameRecords(a, b []oruk.Record) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// fileSeeds are the shapes an import file comes in; the committed corpus adds the Open
// Referral UK examples.
func fileSeeds(tb testing.TB) [][]byte {
	const org = `"organization":{"id":"2f0bd3a3-9e51-4d3a-8e4e-1c3e0f8b1a11","name":"Walsall Family Support"}`
	svc := func(id, extra string) string {
		return `{"id":"` + id + `","name":"Parenting drop-in","status":"active","url":"https://example.org",` + org + extra + `}`
	}
	one := svc("9d3f6f2e-5a4b-4c1d-9e8f-0a1b2c3d4e5f", `,"service_at_locations":[{"location":{"id":"5b8c6a1e-2d3f-4a5b-8c9d-0e1f2a3b4c5d","name":"Stafford Court","addresses":[{"address_1":"1 Stafford Street","city":"Walsall","postal_code":"ws1 1aa","country":"GB"}]}}],"schedules":[{"freq":"WEEKLY","byday":"MO,TU","opens_at":"09:00","closes_at":"17:00"}],"phones":[{"number":"01922 000000"}],"attributes":[{"taxonomy_term":{"name":"Parenting"}}]`)
	seeds := [][]byte{
		[]byte(one),
		[]byte(`[` + one + `,` + svc("9D3F6F2E-5A4B-4C1D-9E8F-0A1B2C3D4E5F", "") + `,{"id":"x"},7]`),
		[]byte(`{"total_items":2,"total_pages":1,"page_number":1,"contents":[` + svc("11111111-2222-4333-8444-555555555555", `,"minimum_age":5,"maximum_age":4`) + `,` + svc("11111111-2222-4333-8444-666666666666", `,"last_modified":"2025-03-31T09:30:00Z","assured_date":"2025-03-31"`) + `]}`),
		[]byte(`{"id":"2f0bd3a3-9e51-4d3a-8e4e-1c3e0f8b1a11","name":"Org","services":[{"id":"11111111-2222-4333-8444-777777777777","name":"S","status":"inactive","email":"a@example.org"}]}`),
		[]byte(`{"version":"HSDS-UK-3.0"}`),
		[]byte("\xef\xbb\xbf  [] "),
		[]byte("id,name\n1,x\n"),
	}
	// A zipped data package, as our own export writes it.
	var zipped bytes.Buffer
	s := directory.Service{ID: "parenting-drop-in-abc234", Name: "Parenting drop-in", Summary: "Weekly.", Description: "Weekly.",
		Status: directory.Active, Organisation: directory.Organisation{ID: "org-walsall", Name: "Walsall Family Support"},
		Needs: []directory.Need{"parenting"}, Delivery: []directory.Delivery{directory.Phone}, MaxAge: directory.MaxAgeLimit,
		Phones: []directory.PhoneNumber{{Number: "01922 000000", Type: "voice"}}, UpdatedAt: time.Date(2025, 3, 31, 9, 30, 0, 0, time.UTC)}
	if err := oruk.WriteCSV(&zipped, []*directory.Service{&s}); err != nil {
		tb.Fatal(err)
	}
	seeds = append(seeds, zipped.Bytes())
	// One JSON file, zipped.
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	w, _ := zw.Create("feed/services.json")
	_, _ = w.Write([]byte(one))
	_ = zw.Close()
	seeds = append(seeds, z.Bytes())
	// A data package in a folder, its tables named by a datapackage.json.
	var p bytes.Buffer
	zw = zip.NewWriter(&p)
	files := map[string]string{
		"pkg/datapackage.json":  `{"resources":[{"name":"service","path":"svc.csv"},{"name":"organization","path":"../orgs.csv"}]}`,
		"pkg/svc.csv":           "\ufeffid,organization_id,name,status,url,minimum_age\n11111111-2222-4333-8444-888888888888,2f0bd3a3-9e51-4d3a-8e4e-1c3e0f8b1a11,\"Drop, in\",active,https://example.org,x\n",
		"pkg/services.csv":      "id\n",
		"pkg/organizations.csv": "id,name\n2f0bd3a3-9e51-4d3a-8e4e-1c3e0f8b1a11,Org\n",
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, _ := zw.Create(n)
		_, _ = w.Write([]byte(files[n]))
	}
	_ = zw.Close()
	return append(seeds, p.Bytes())
}
