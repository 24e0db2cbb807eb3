package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"familyhelp/directory"
	"familyhelp/oruk"
)

// everything reads every service of a site, of any status.
func (s *site) everything(t *testing.T) []*directory.Service {
	t.Helper()
	var all []*directory.Service
	if err := s.dir.EachService(context.Background(), func(sv *directory.Service) error {
		all = append(all, sv)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

// apiDump is every answer of a site's API a consumer can read: each list page by page, and
// each item by id, every one checked against its ORUK 3.0 schema.
func (s *site) apiDump(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, ep := range orukEndpoints {
		for p := 1; ; p++ {
			target := "/api" + ep.path + "?per_page=40&page=" + strconv.Itoa(p)
			a := s.api(t, target)
			if a.status != http.StatusOK {
				t.Fatalf("GET %s: %d", target, a.status)
			}
			out[target] = a.body
			var pg struct {
				LastPage bool `json:"last_page"`
				Contents []struct {
					ID string `json:"id"`
				} `json:"contents"`
			}
			if err := json.Unmarshal(a.body, &pg); err != nil {
				t.Fatal(err)
			}
			if err := checkORUK(t, ep.list, a.body); err != nil {
				t.Errorf("GET %s is not ORUK 3.0 %s: %v", target, ep.list, err)
			}
			for _, it := range pg.Contents {
				one := "/api" + ep.path + "/" + it.ID
				out[one] = s.api(t, one).body
				if err := checkORUK(t, ep.single, out[one]); err != nil {
					t.Errorf("GET %s is not ORUK 3.0 %s: %v", one, ep.single, err)
				}
			}
			if pg.LastPage || len(pg.Contents) == 0 {
				break
			}
		}
	}
	return out
}

func sameAPI(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	if len(want) < 100 {
		t.Fatalf("only %d answers compared", len(want))
	}
	differ := 0
	for target, body := range want {
		if !bytes.Equal(body, got[target]) {
			if differ++; differ <= 3 {
				at := 0
				for at < len(body) && at < len(got[target]) && body[at] == got[target][at] {
					at++
				}
				from := max(0, at-150)
				t.Errorf("GET %s differs after the round trip, at byte %d:\nbefore …%.400s\nafter  …%.400s", target, at,
					body[from:], got[target][min(from, len(got[target])):])
			}
		}
	}
	for target := range got {
		if _, ok := want[target]; !ok {
			t.Errorf("GET %s is new after the round trip", target)
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d answers differ", differ, len(want))
	}
}

func importInto(t *testing.T, s *site, recs []oruk.Record) *oruk.Report {
	t.Helper()
	im := &oruk.Importer{Target: s.dir}
	rep, err := im.Import(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestORUKRoundTrip exports a directory, imports it into an empty one, and reads the API of
// both: every answer is the same, in both formats. Importing it again changes nothing.
func TestORUKRoundTrip(t *testing.T) {
	from := newSite(t, false)
	from.srv.Limiter = nil
	all := from.everything(t)
	want := from.apiDump(t)

	jsonDoc, err := json.Marshal(oruk.ExportJSON(all))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkORUK(t, "service_list", jsonDoc); err != nil {
		t.Fatalf("the JSON export is not an ORUK 3.0 services page: %v", err)
	}
	var zipped bytes.Buffer
	if err := oruk.WriteCSV(&zipped, all); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"oruk-json", "csv"} {
		t.Run(format, func(t *testing.T) {
			read := func() []oruk.Record {
				if format == "csv" {
					recs, err := oruk.ReadZip(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
					if err != nil {
						t.Fatal(err)
					}
					return recs
				}
				recs, page, err := oruk.ReadJSON(jsonDoc)
				if err != nil || page == nil {
					t.Fatalf("read the export: %v (page %v)", err, page)
				}
				return recs
			}
			to := newEmptySite(t)
			to.srv.Limiter = nil
			rep := importInto(t, to, read())
			if rep.Created != len(all) || rep.Skipped != 0 || rep.Updated != 0 {
				t.Fatalf("import into an empty directory: %s", rep.Summary())
			}
			for _, r := range rep.Records {
				if len(r.Warnings) > 0 {
					t.Errorf("%s (%s): warnings %v", r.Where, r.Name, r.Warnings)
				}
			}
			sameAPI(t, want, to.apiDump(t))

			// Every listing comes back whole, with its own id and so its web address.
			before := map[string]*directory.Service{}
			for _, s := range all {
				before[s.ID] = s
			}
			for _, s := range to.everything(t) {
				b, ok := before[s.ID]
				if !ok {
					t.Errorf("service %s has a new id after the round trip", s.ID)
					continue
				}
				if s.Summary != b.Summary || s.Sample != b.Sample || len(s.Delivery) != len(b.Delivery) ||
					s.Status != b.Status || s.Organisation.ID != b.Organisation.ID {
					t.Errorf("%s changed: summary %q→%q, sample %v→%v, delivery %v→%v", s.ID, b.Summary, s.Summary,
						b.Sample, s.Sample, b.Delivery, s.Delivery)
				}
			}

			stored := func() string {
				b, _ := json.Marshal(to.everything(t))
				return string(b)
			}
			first := stored()
			again := importInto(t, to, read())
			if again.Unchanged != len(all) || again.Created+again.Updated+again.Skipped != 0 {
				t.Errorf("importing the same feed again: %s", again.Summary())
			}
			if stored() != first {
				t.Error("importing the same feed again changed the directory")
			}
		})
	}
}

// TestImportORUKExamples imports every service example of the ORUK and HSDS repositories, in
// JSON and CSV: each service is created once, what cannot be used is reported, and the files
// that hold no services say so.
func TestImportORUKExamples(t *testing.T) {
	orukSchemas(t) // fails or skips as the schema tests do when shared/ is missing
	const counselling = "ac148810-d857-441c-9679-408f346de14b"
	for _, dir := range []string{"oruk-3.0-profile/examples", "hsds-3.0/examples"} {
		files, err := filepath.Glob(filepath.Join(openReferralDir, dir, "*.json"))
		if err != nil || len(files) < 8 {
			t.Fatalf("examples in %s: %v", dir, err)
		}
		sources := map[string]func() ([]oruk.Record, error){
			"csv": func() ([]oruk.Record, error) {
				return oruk.ReadCSV(os.DirFS(filepath.Join(openReferralDir, dir, "csv")))
			},
		}
		for _, f := range files {
			sources[filepath.Base(f)] = func() ([]oruk.Record, error) {
				b, err := os.ReadFile(f)
				if err != nil {
					return nil, err
				}
				recs, _, err := oruk.ReadJSON(b)
				return recs, err
			}
		}
		for name, read := range sources {
			t.Run(dir+"/"+name, func(t *testing.T) {
				recs, err := read()
				holdsServices := strings.HasPrefix(name, "service") || strings.HasPrefix(name, "organization_full") || name == "csv"
				if !holdsServices {
					if !errors.Is(err, oruk.ErrNotServices) && name != "tabular.json" {
						t.Errorf("%s holds no services, but reading it gave %v", name, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				s := newEmptySite(t)
				s.srv.Limiter = nil
				rep := importInto(t, s, recs)
				if rep.Created != 1 || rep.Skipped != 0 || rep.Records[0].ID != counselling {
					t.Fatalf("import: %s %+v", rep.Summary(), rep.Records)
				}
				if !slices.ContainsFunc(rep.Records[0].Warnings, func(w string) bool { return strings.Contains(w, "which need") }) {
					t.Errorf("no warning that the example's terms map to no need: %v", rep.Records[0].Warnings)
				}
				var sv oruk.Service
				s.valid(t, "/api/services/"+counselling, "service", &sv)
				if sv.Name != "Community Counselling" || sv.Organization == nil || sv.Organization.ID != "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610" ||
					sv.MinimumAge != 12 || len(sv.ServiceAtLocations) != 0 {
					t.Errorf("imported: %+v", sv.ServiceSummary)
				}
				if again := importInto(t, s, recs); again.Unchanged != 1 {
					t.Errorf("again: %s", again.Summary())
				}
			})
		}
	}
}

// TestImportReportsBrokenRecords: each broken record is skipped with what is wrong with it,
// the good ones around it are imported, and nothing of a broken one is stored.
func TestImportReportsBrokenRecords(t *testing.T) {
	good := func(id, name string) map[string]any {
		return map[string]any{"id": id, "name": name, "description": "Support for women and children. We listen.",
			"status": "active", "url": "https://refuge.example.org", "minimum_age": 0,
			"organization": map[string]any{"id": "6f1c1a2e-3b7d-4c55-9a0e-0d8e2c1f4b11", "name": "Black Country Refuge"},
			"service_at_locations": []any{map[string]any{"id": "1b7c2d11-0f0a-4a3e-8c1c-5e2b3f4a5b60",
				"location": map[string]any{"id": "2c8d3e22-1a1b-4b4f-9d2d-6f3c4a5b6c71", "name": "Hub",
					"addresses": []any{map[string]any{"address_1": "1 Lichfield Street", "city": "Wolverhampton", "postal_code": "wv1 1tp", "country": "GB"}}},
				"schedules": []any{map[string]any{"freq": "WEEKLY", "byday": "MO,WE", "opens_at": "09:00:00", "closes_at": "17:00:00"}}}},
			"attributes": []any{map[string]any{"taxonomy_term": map[string]any{"id": "0e3c5a1b-6d7e-4f80-9a1b-2c3d4e5f6a7b", "name": "Domestic abuse"}}},
			"phones":     []any{map[string]any{"number": "01632 960000"}, map[string]any{"number": "0121 496 0000", "type": "fax"}}}
	}
	noName := good("5a0b9c6d-7e8f-4a1b-8c2d-3e4f5a6b7c8d", "")
	noName["email"] = "not an email"
	badAge := good("6b1c0d7e-8f9a-4b2c-9d3e-4f5a6b7c8d9e", "Play sessions")
	badAge["minimum_age"] = "twelve"
	badStatus := good("7c2d1e8f-9a0b-4c3d-8e4f-5a6b7c8d9e0f", "Closed service")
	badStatus["status"] = "open"
	noOrg := good("8d3e2f9a-0b1c-4d4e-9f5a-6b7c8d9e0f1a", "Orphan")
	delete(noOrg, "organization")
	noOrg["organization_id"] = "9e4f3a0b-1c2d-4e5f-8a6b-7c8d9e0f1a2b"
	doc, _ := json.Marshal([]any{
		good("4f9a8b5c-6d7e-4f0a-9b1c-2d3e4f5a6b7c", "Refuge outreach"),
		noName, badAge, badStatus, noOrg,
		good("4f9a8b5c-6d7e-4f0a-9b1c-2d3e4f5a6b7c", "Refuge outreach again"),
		"just text",
		good("not-a-uuid", "Odd id"),
	})
	recs, _, err := oruk.ReadJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := newEmptySite(t)
	rep := importInto(t, s, recs)
	if rep.Created != 1 || rep.Skipped != 7 {
		t.Fatalf("%s: %+v", rep.Summary(), rep.Records)
	}
	want := []struct {
		outcome  oruk.Outcome
		problems []string
	}{
		{oruk.Created, nil},
		{oruk.Skipped, []string{"name is missing", `email "not an email" is not an email address`}},
		{oruk.Skipped, []string{"minimum_age should be a number, not string"}},
		{oruk.Skipped, []string{`status "open" is not one of active`}},
		{oruk.Skipped, []string{"organization_id 9e4f3a0b-1c2d-4e5f-8a6b-7c8d9e0f1a2b is neither in the file nor in the directory"}},
		{oruk.Skipped, []string{"the same id as record 1"}},
		{oruk.Skipped, []string{"it is not an object"}},
		{oruk.Skipped, []string{`id "not-a-uuid" is not a UUID`}},
	}
	for i, w := range want {
		r := rep.Records[i]
		if r.Where != "record "+strconv.Itoa(i+1) || r.Outcome != w.outcome {
			t.Errorf("record %d: %s %s", i+1, r.Where, r.Outcome)
		}
		for _, p := range w.problems {
			if !slices.ContainsFunc(r.Problems, func(got string) bool { return strings.Contains(got, p) }) {
				t.Errorf("record %d: no problem %q in %q", i+1, p, r.Problems)
			}
		}
	}
	created := rep.Records[0]
	if !slices.ContainsFunc(created.Warnings, func(w string) bool { return strings.Contains(w, "fax number 0121 496 0000 was left out") }) {
		t.Errorf("warnings: %q", created.Warnings)
	}
	stored := s.everything(t)
	if len(stored) != 1 {
		t.Fatalf("%d services stored", len(stored))
	}
	sv := stored[0]
	if sv.Name != "Refuge outreach" || len(sv.Locations) != 1 || sv.Locations[0].Postcode != "WV1 1TP" ||
		len(sv.Locations[0].Schedules) != 2 || sv.Locations[0].Latitude == 0 ||
		!slices.Contains(sv.Needs, directory.NeedDomesticAbuse) || len(sv.Phones) != 1 {
		t.Errorf("stored: %+v", sv)
	}
	// The family-facing page of an imported service works, found by its need near its place.
	if p := s.get(t, "/search?need=domestic-abuse&postcode=WV1+1TP"); !strings.Contains(p.body, "Refuge outreach") {
		t.Errorf("the imported service is not found by its need")
	}
}

// TestImportFromURL reads a whole API by its address, page by page and each service in full,
// as another council's system would be read: an empty directory then serves the same API.
func TestImportFromURL(t *testing.T) {
	from := newSite(t, false)
	from.srv.Limiter = nil
	var pages, singles int
	fetch := func(_ context.Context, address string) ([]byte, error) {
		u, err := url.Parse(address)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		if strings.HasSuffix(u.Path, "/services") {
			pages++
			q.Set("per_page", "25") // small pages, so the import follows several
		} else if strings.Contains(u.Path, "/services/") {
			singles++
		}
		a := from.api(t, u.Path+"?"+q.Encode())
		if a.status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d", address, a.status)
		}
		return a.body, nil
	}
	recs, err := oruk.ReadURL(context.Background(), "https://directory.example.org/api/", fetch)
	if err != nil {
		t.Fatal(err)
	}
	if pages < 3 || singles != len(recs) {
		t.Errorf("%d pages and %d services fetched for %d records", pages, singles, len(recs))
	}
	to := newEmptySite(t)
	to.srv.Limiter = nil
	if rep := importInto(t, to, recs); rep.Skipped != 0 || rep.Created != len(recs) {
		t.Fatalf("%s", rep.Summary())
	}
	sameAPI(t, from.apiDump(t), to.apiDump(t))

	if _, err := oruk.ReadURL(context.Background(), "file:///etc/passwd", fetch); err == nil {
		t.Error("a file address was read")
	}
}
