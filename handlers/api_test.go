package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"familyhelp/directory"
	"familyhelp/oruk"
	"familyhelp/ratelimit"
	"familyhelp/search"
)

// openReferralDir holds the ORUK schemas and the validator's fixtures (data, not code); CI
// checks out shared/ beside the repository.
const openReferralDir = "../../shared/openreferral"

var (
	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

// oruKSchemas compiles one schema per kind of answer, with the validator's remote $refs
// replaced by the same files kept locally.
func orukSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	dir, err := filepath.Abs(openReferralDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("FAMILYHELP_REQUIRE_SERVICES") == "1" {
			t.Fatalf("ORUK schemas missing at %s: %v", dir, err)
		}
		t.Skipf("ORUK schemas not found at %s (shared/ beside the clone); skipping schema checks", dir)
	}
	schemasOnce.Do(func() {
		file := func(rel string) string { return "file://" + filepath.ToSlash(filepath.Join(dir, rel)) }
		compiled := func(name string) string { return file("oruk-3.0-profile/schema/compiled/" + name + ".json") }
		single := map[string]string{
			"api_details":         file("oruk-validator/test-spec-3.0/api_details.json"),
			"service":             compiled("service"),
			"organization":        compiled("organization"),
			"service_at_location": compiled("service_at_location"),
			"taxonomy":            file("oruk-3.0-profile/schema/taxonomy.json"),
			"taxonomy_term":       file("oruk-3.0-profile/schema/taxonomy_term.json"),
		}
		lists := map[string]string{
			"service_list":             compiled("service_list"),
			"organization_list":        compiled("organization_list"),
			"service_at_location_list": compiled("service_at_location_list"),
			"taxonomy_list":            single["taxonomy"],
			"taxonomy_term_list":       single["taxonomy_term"],
		}
		var openapi struct {
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "oruk-validator/test-spec-3.0/open_api.json"))
		if err == nil {
			err = json.Unmarshal(b, &openapi)
		}
		if err != nil {
			schemasErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		// The validator checks formats (uuid, uri, email, date-time); so do we.
		c.AssertFormat()
		schemas = map[string]*jsonschema.Schema{}
		for name, url := range lists {
			// As the validator's OpenAPI has it: the Page fields, and contents of list items.
			page := map[string]any{
				"allOf":      []any{openapi.Components.Schemas["Page"]},
				"required":   []any{"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"},
				"properties": map[string]any{"contents": map[string]any{"type": "array", "items": map[string]any{"$ref": url}}},
			}
			if err := c.AddResource("mem:///"+name+".json", page); err != nil {
				schemasErr = err
				return
			}
			single[name] = "mem:///" + name + ".json"
		}
		for name, url := range single {
			if schemas[name], err = c.Compile(url); err != nil {
				schemasErr = err
				return
			}
		}
	})
	if schemasErr != nil {
		t.Fatal(schemasErr)
	}
	return schemas
}

// checkORUK validates a JSON answer against the ORUK 3.0 schema of its kind.
func checkORUK(t *testing.T, kind string, body []byte) error {
	t.Helper()
	sch, ok := orukSchemas(t)[kind]
	if !ok {
		t.Fatalf("no schema for %q", kind)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// fetcher answers a GET of an API path (with its query) as a consumer sees it.
type fetcher func(path string) (status int, body []byte)

// orukEndpoints are the list endpoints the validator walks, with the kinds of their answers.
var orukEndpoints = []struct{ path, list, single string }{
	{"/services", "service_list", "service"},
	{"/organizations", "organization_list", "organization"},
	{"/service_at_locations", "service_at_location_list", "service_at_location"},
	{"/taxonomies", "taxonomy_list", "taxonomy"},
	{"/taxonomy_terms", "taxonomy_term_list", "taxonomy_term"},
}

// conformance checks an API as the ORUK validator does: every answer against its schema, and
// what no schema can see. It walks each list page by page until it holds total_items; each
// page must be the page asked for and bring new items; the first item, fetched by its id,
// must be that item. query, if any, is added to every list request.
func conformance(t *testing.T, fetch fetcher, query string) []error {
	t.Helper()
	var errs []error
	get := func(path, kind string) []byte {
		status, body := fetch(path)
		if status != http.StatusOK {
			errs = append(errs, fmt.Errorf("GET %s: status %d", path, status))
			return nil
		}
		if err := checkORUK(t, kind, body); err != nil {
			errs = append(errs, fmt.Errorf("GET %s is not ORUK 3.0 %s: %w", path, kind, err))
			return nil
		}
		return body
	}
	get("/", "api_details")
	for _, ep := range orukEndpoints {
		seen := map[string]bool{}
		var first string
		for p := 1; ; p++ {
			target := ep.path + "?page=" + strconv.Itoa(p)
			if query != "" {
				target += "&" + query
			}
			body := get(target, ep.list)
			if body == nil {
				break
			}
			var pg struct {
				TotalItems int  `json:"total_items"`
				PageNumber int  `json:"page_number"`
				LastPage   bool `json:"last_page"`
				Contents   []struct {
					ID string `json:"id"`
				} `json:"contents"`
			}
			if err := json.Unmarshal(body, &pg); err != nil {
				errs = append(errs, fmt.Errorf("%s page %d: %w", ep.path, p, err))
				break
			}
			if pg.PageNumber != p {
				errs = append(errs, fmt.Errorf("%s?page=%d answered page_number %d", ep.path, p, pg.PageNumber))
				break
			}
			for _, it := range pg.Contents {
				if seen[it.ID] {
					errs = append(errs, fmt.Errorf("%s: item %s on two pages", ep.path, it.ID))
				}
				seen[it.ID] = true
				if first == "" {
					first = it.ID
				}
			}
			if len(seen) >= pg.TotalItems || pg.LastPage || len(pg.Contents) == 0 || p == 100 {
				if len(seen) != pg.TotalItems {
					errs = append(errs, fmt.Errorf("%s: pages hold %d items, total_items says %d", ep.path, len(seen), pg.TotalItems))
				}
				break
			}
		}
		if first == "" {
			continue
		}
		if body := get(ep.path+"/"+first, ep.single); body != nil {
			var one struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(body, &one); err != nil || one.ID != first {
				errs = append(errs, fmt.Errorf("GET %s/%s answered id %q", ep.path, first, one.ID))
			}
		}
	}
	return errs
}

// mockAPI answers as the validator's mock server does: one fixture file per endpoint, whatever
// the page or id, taken from the first of dirs that has it.
func mockAPI(dirs ...string) fetcher {
	return func(path string) (int, []byte) {
		path, _, _ = strings.Cut(path, "?")
		var names []string
		switch parts := strings.Split(strings.Trim(path, "/"), "/"); {
		case path == "/":
			names = []string{"api_details"}
		case len(parts) == 1:
			names = []string{strings.TrimSuffix(parts[0], "s") + "_list", strings.TrimSuffix(parts[0], "ies") + "y_list"}
		default:
			kind := strings.TrimSuffix(strings.TrimSuffix(parts[0], "s"), "ie")
			if strings.HasSuffix(parts[0], "ies") {
				kind += "y"
			}
			names = []string{kind, kind + "_full"}
		}
		for _, d := range dirs {
			for _, n := range names {
				if b, err := os.ReadFile(filepath.Join(d, n+".json")); err == nil {
					return http.StatusOK, b
				}
			}
		}
		return http.StatusNotFound, nil
	}
}

func TestORUKValidatorFixtures(t *testing.T) {
	orukSchemas(t)
	mocks := filepath.Join(openReferralDir, "oruk-validator/mocks")
	def, fail := filepath.Join(mocks, "V3.0-UK-Default"), filepath.Join(mocks, "V3.0-UK-Fail")
	if errs := conformance(t, mockAPI(def), ""); len(errs) > 0 {
		t.Errorf("the Default fixtures should pass: %v", errs)
	}
	files, err := filepath.Glob(filepath.Join(fail, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Fail fixtures: %v", err)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if sameAsDefault(t, filepath.Base(f), b) {
			// The Default document unchanged: the validator fails it for reasons outside the
			// API's answers, so no check of them can.
			continue
		}
		// The Default API with only this answer broken: the check must notice.
		one := t.TempDir()
		if err := os.WriteFile(filepath.Join(one, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		errs := conformance(t, mockAPI(one, def), "")
		if len(errs) == 0 {
			t.Errorf("Fail fixture %s passes the check", filepath.Base(f))
		} else {
			t.Logf("Fail fixture %s: %v", filepath.Base(f), errs[0])
		}
		checked++
	}
	if checked < 8 {
		t.Errorf("only %d Fail fixtures differ from Default; expected the validator's set", checked)
	}
}

// sameAsDefault reports whether a Fail fixture holds the same JSON as a Default one.
func sameAsDefault(t *testing.T, name string, fail []byte) bool {
	t.Helper()
	for _, n := range []string{name, strings.Replace(name, "_full", "", 1)} {
		def, err := os.ReadFile(filepath.Join(openReferralDir, "oruk-validator/mocks/V3.0-UK-Default", n))
		if err != nil {
			continue
		}
		var x, y any
		if json.Unmarshal(def, &x) == nil && json.Unmarshal(fail, &y) == nil {
			a, _ := json.Marshal(x)
			b, _ := json.Marshal(y)
			return bytes.Equal(a, b)
		}
	}
	return false
}

type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (s *site) api(t *testing.T, target string, hdr ...string) apiAnswer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return apiAnswer{resp.StatusCode, resp.Header, buf.Bytes()}
}

// valid gets target, expects 200, validates it as kind and decodes it into v.
func (s *site) valid(t *testing.T, target, kind string, v any) apiAnswer {
	t.Helper()
	a := s.api(t, target)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", target, a.status, a.body)
	}
	if err := checkORUK(t, kind, a.body); err != nil {
		t.Fatalf("GET %s is not ORUK 3.0 %s: %v", target, kind, err)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

type servicePage struct {
	TotalItems int                   `json:"total_items"`
	TotalPages int                   `json:"total_pages"`
	Size       int                   `json:"size"`
	FirstPage  bool                  `json:"first_page"`
	LastPage   bool                  `json:"last_page"`
	Contents   []oruk.ServiceSummary `json:"contents"`
}

func TestAPIServicesValidAndPaged(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = nil // these tests read more than one consumer's burst; TestAPIRateLimited checks it
	var details map[string]string
	a := s.valid(t, "/api/", "api_details", &details)
	if details["version"] != "HSDS-UK-3.0" || !strings.HasSuffix(details["openapi_url"], "/api/openapi.json") {
		t.Errorf("api details: %v", details)
	}
	if a.header.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") ||
		a.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("headers: %v", a.header)
	}
	if a := s.api(t, "/api/openapi.json"); a.status != 200 || !bytes.Contains(a.body, []byte(`/api"`)) {
		t.Errorf("openapi: %d", a.status)
	}

	var first servicePage
	s.valid(t, "/api/services?per_page=20", "service_list", &first)
	if first.TotalItems < 100 || !first.FirstPage || first.LastPage || first.Size != 20 {
		t.Fatalf("first page: total %d first %v last %v size %d", first.TotalItems, first.FirstPage, first.LastPage, first.Size)
	}
	seen := map[string]bool{}
	for p := 1; p <= first.TotalPages; p++ {
		var pg servicePage
		s.valid(t, "/api/services?per_page=20&page="+strconv.Itoa(p), "service_list", &pg)
		for _, it := range pg.Contents {
			if seen[it.ID] {
				t.Errorf("service %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if p == first.TotalPages && !pg.LastPage {
			t.Error("last page not marked")
		}
	}
	if len(seen) != first.TotalItems {
		t.Errorf("pages hold %d services, total_items %d", len(seen), first.TotalItems)
	}
	var past servicePage
	s.valid(t, "/api/services?page=999", "service_list", &past)
	if past.Size != 0 || len(past.Contents) != 0 {
		t.Errorf("page past the end: %+v", past)
	}

	// Every service fully nested, including those with several locations.
	several := 0
	for id := range seen {
		var sv oruk.Service
		s.valid(t, "/api/services/"+id, "service", &sv)
		if len(sv.ServiceAtLocations) > 1 {
			several++
		}
		if sv.ID != id || len(sv.Attributes) == 0 || len(sv.CostOptions) != 1 {
			t.Errorf("service %s: id %s, %d attributes, %d cost options", id, sv.ID, len(sv.Attributes), len(sv.CostOptions))
		}
		for _, sc := range sv.Schedules {
			if sc.Freq != "WEEKLY" || len(sc.Byday) != 2 || sc.OpensAt == "" {
				t.Errorf("schedule %+v", sc)
			}
		}
	}
	if several == 0 {
		t.Error("no service with several locations was checked")
	}
}

func TestAPIOptionalEndpointsValid(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = nil // these tests read more than one consumer's burst; TestAPIRateLimited checks it
	var tx struct {
		Contents []oruk.Taxonomy `json:"contents"`
	}
	s.valid(t, "/api/taxonomies", "taxonomy_list", &tx)
	if len(tx.Contents) != 2 {
		t.Fatalf("taxonomies: %d", len(tx.Contents))
	}
	for _, x := range tx.Contents {
		s.valid(t, "/api/taxonomies/"+x.ID, "taxonomy", nil)
	}
	var terms struct {
		TotalItems int                 `json:"total_items"`
		Contents   []oruk.TaxonomyTerm `json:"contents"`
	}
	s.valid(t, "/api/taxonomy_terms?per_page=200", "taxonomy_term_list", &terms)
	if terms.TotalItems != len(directory.Needs)+49 {
		t.Errorf("terms: %d", terms.TotalItems)
	}
	for _, x := range terms.Contents[:12] {
		s.valid(t, "/api/taxonomy_terms/"+x.ID, "taxonomy_term", nil)
	}
	var orgs struct {
		Contents []oruk.Organization `json:"contents"`
	}
	s.valid(t, "/api/organizations", "organization_list", &orgs)
	for _, o := range orgs.Contents[:3] {
		s.valid(t, "/api/organizations/"+o.ID, "organization", nil)
	}
	var sals struct {
		Contents []oruk.ServiceAtLocation `json:"contents"`
	}
	s.valid(t, "/api/service_at_locations?postcode=WS1+1TP&proximity=5000", "service_at_location_list", &sals)
	if len(sals.Contents) == 0 {
		t.Fatal("no services at locations near WS1 1TP")
	}
	s.valid(t, "/api/service_at_locations/"+sals.Contents[0].ID, "service_at_location", nil)
}

// TestAPIConformance walks our API as the ORUK validator walks its fixtures: every page of every
// list, with and without filters, and the first item of each by id.
func TestAPIConformance(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = nil
	fetch := func(path string) (int, []byte) {
		a := s.api(t, "/api"+path)
		return a.status, a.body
	}
	for _, q := range []string{"", "per_page=7", "taxonomy_id=" + oruk.NeedsTaxonomy.ID + "&per_page=9",
		"postcode=WS1+1TP&proximity=20000&per_page=5", "search=support&minimum_age=0&per_page=3"} {
		if errs := conformance(t, fetch, q); len(errs) > 0 {
			t.Errorf("with %q: %v", q, errs)
		}
	}
}

func TestAPIErrorsAndCaching(t *testing.T) {
	s := newSite(t, false)
	for _, c := range []struct{ query, param string }{
		{"page=0", "page"}, {"per_page=201", "per_page"}, {"per_page=x", "per_page"},
		{"minimum_age=-1", "minimum_age"}, {"maximum_age=old", "maximum_age"},
		{"taxonomy_term_id=nope", "taxonomy_term_id"}, {"taxonomy_id=1", "taxonomy_id"},
		{"organization_id=x", "organization_id"}, {"modified_after=yesterday", "modified_after"},
		{"postcode=NOTAPOSTCODE", "postcode"}, {"proximity=1000", "proximity"},
		{"postcode=WS1+1TP&proximity=-5", "proximity"},
	} {
		a := s.api(t, "/api/services?"+c.query)
		var e struct{ Error, Parameter string }
		if err := json.Unmarshal(a.body, &e); err != nil || a.status != 400 || e.Parameter != c.param || e.Error == "" {
			t.Errorf("%s: %d %s", c.query, a.status, a.body)
		}
	}
	for _, path := range []string{"/api/services/" + oruk.ID("service", "no-such"), "/api/services/not-a-uuid",
		"/api/taxonomies/x", "/api/taxonomy_terms/x", "/api/organizations/x", "/api/service_at_locations/x", "/api/nothing"} {
		a := s.api(t, path)
		if a.status != 404 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || !bytes.Contains(a.body, []byte(`"error"`)) {
			t.Errorf("%s: %d %s %s", path, a.status, a.header.Get("Content-Type"), a.body)
		}
	}
	a := s.api(t, "/api/services")
	etag := a.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if b := s.api(t, "/api/services", "If-None-Match", etag); b.status != http.StatusNotModified || len(b.body) != 0 {
		t.Errorf("If-None-Match: %d", b.status)
	}
	if b := s.api(t, "/api/services?page=2", "If-None-Match", etag); b.status != 200 {
		t.Errorf("another page with the first's ETag: %d", b.status)
	}
}

// denyAll is a limiter that has run out.
type denyAll struct{}

func (denyAll) Allow(context.Context, ratelimit.Rule, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: false, RetryAfter: 3 * time.Second}, nil
}

func TestAPIRateLimited(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = denyAll{}
	a := s.api(t, "/api/services")
	if a.status != http.StatusTooManyRequests || !bytes.Contains(a.body, []byte(`"error"`)) || a.header.Get("Retry-After") == "" {
		t.Errorf("limited: %d %s %v", a.status, a.body, a.header)
	}
}

func TestAPIFilters(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = nil // these tests read more than one consumer's burst; TestAPIRateLimited checks it
	var all servicePage
	s.valid(t, "/api/services?per_page=200", "service_list", &all)

	var dv servicePage
	s.valid(t, "/api/services?per_page=200&taxonomy_term_id="+oruk.NeedTermID(directory.NeedDomesticAbuse), "service_list", &dv)
	if dv.TotalItems == 0 || dv.TotalItems >= all.TotalItems {
		t.Errorf("domestic abuse term: %d of %d", dv.TotalItems, all.TotalItems)
	}
	for _, it := range dv.Contents {
		var sv oruk.Service
		s.valid(t, "/api/services/"+it.ID, "service", &sv)
		found := false
		for _, at := range sv.Attributes {
			found = found || at.TaxonomyTermID == oruk.NeedTermID(directory.NeedDomesticAbuse)
		}
		if !found {
			t.Errorf("%s has no domestic abuse attribute", it.Name)
		}
	}
	var both servicePage
	s.valid(t, "/api/services?per_page=200&search=abuse&taxonomy_term_id="+oruk.NeedTermID(directory.NeedDomesticAbuse), "service_list", &both)
	if both.TotalItems == 0 || both.TotalItems > dv.TotalItems {
		t.Errorf("search and term: %d", both.TotalItems)
	}

	var aged servicePage
	s.valid(t, "/api/services?per_page=200&minimum_age=5&maximum_age=18", "service_list", &aged)
	for _, it := range aged.Contents {
		if it.MinimumAge < 5 || it.MaximumAge > 18 {
			t.Errorf("%s ages %d-%d", it.Name, it.MinimumAge, it.MaximumAge)
		}
	}

	var near servicePage
	s.valid(t, "/api/services?per_page=200&postcode=WS1+1TP&proximity=8000", "service_list", &near)
	if near.TotalItems == 0 || near.TotalItems >= all.TotalItems {
		t.Fatalf("near WS1 1TP: %d of %d", near.TotalItems, all.TotalItems)
	}
	last := -1.0
	for _, it := range near.Contents {
		var sv oruk.Service
		s.valid(t, "/api/services/"+it.ID, "service", &sv)
		best := 1e18
		for _, sal := range sv.ServiceAtLocations {
			best = min(best, distance(52.5846, -1.9820, sal.Location.Latitude, sal.Location.Longitude))
		}
		if best > 8500 || best < last-300 {
			t.Errorf("%s at %.0f m after %.0f m", it.Name, best, last)
		}
		last = max(last, best)
	}

	// Opening times: one weekly opening must be on the day, open from start_time and close
	// by end_time.
	var monday, evening, none servicePage
	s.valid(t, "/api/services?per_page=200&day=MO", "service_list", &monday)
	s.valid(t, "/api/services?per_page=200&day=monday&start_time=17:00", "service_list", &evening)
	s.valid(t, "/api/services?per_page=200&day=SU&start_time=23:00&end_time=23:30", "service_list", &none)
	if monday.TotalItems == 0 || monday.TotalItems >= all.TotalItems || evening.TotalItems == 0 || evening.TotalItems >= monday.TotalItems {
		t.Errorf("Monday %d, Monday from 17:00 %d, of %d", monday.TotalItems, evening.TotalItems, all.TotalItems)
	}
	if none.TotalItems != 0 {
		t.Errorf("%d services open only between 23:00 and 23:30 on Sunday", none.TotalItems)
	}
	for _, it := range evening.Contents {
		var sv oruk.Service
		s.valid(t, "/api/services/"+it.ID, "service", &sv)
		ok := false
		for _, sc := range sv.Schedules {
			ok = ok || sc.Byday == "MO" && sc.OpensAt >= "17:00"
		}
		if !ok {
			t.Errorf("%s has no Monday opening from 17:00: %+v", it.Name, sv.Schedules)
		}
	}
	for _, bad := range []string{"day=Funday", "start_time=25:00", "end_time=noon"} {
		a := s.api(t, "/api/services?"+bad)
		name, _, _ := strings.Cut(bad, "=")
		if a.status != http.StatusBadRequest || !bytes.Contains(a.body, []byte(`"parameter":"`+name+`"`)) {
			t.Errorf("%s: %d %s", bad, a.status, a.body)
		}
	}
}

// distance is the great-circle distance in metres, as the search uses.
func distance(lat1, lng1, lat2, lng2 float64) float64 {
	return search.Distance(search.Point{Lat: lat1, Lng: lng1}, search.Point{Lat: lat2, Lng: lng2})
}

func TestAPIStableIDs(t *testing.T) {
	a, b := newSite(t, false), newSite(t, false)
	first := a.api(t, "/api/services?per_page=200")
	again := a.api(t, "/api/services?per_page=200")
	restarted := b.api(t, "/api/services?per_page=200")
	ids := func(body []byte) []string {
		var p servicePage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range p.Contents {
			out = append(out, it.ID+"|"+it.OrganizationID)
		}
		return out
	}
	x, y, z := ids(first.body), ids(again.body), ids(restarted.body)
	if strings.Join(x, ",") != strings.Join(y, ",") || strings.Join(x, ",") != strings.Join(z, ",") || len(x) == 0 {
		t.Error("service ids differ between requests or sites")
	}
	svc := strings.Split(x[0], "|")[0]
	if p, q := a.api(t, "/api/services/"+svc), b.api(t, "/api/services/"+svc); !bytes.Equal(p.body, q.body) {
		t.Error("a service's nested ids differ between two sites with the same data")
	}
}
