package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"familyhelp/directory"
	"familyhelp/handlers"
	"familyhelp/notify"
	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/secret"
	"familyhelp/seed"
	"familyhelp/store"
)

// site is the whole public site on a real SQLite file and an in-memory Bleve index, seeded
// with the helplines and sample services.
type site struct {
	app      *fiber.App
	log      *bytes.Buffer
	dir      *directory.Directory
	srv      *handlers.Server
	db       *store.DB
	referral *referral.Service
}

// brokenIndex is a search engine that is down.
type brokenIndex struct{ search.Index }

func (brokenIndex) Search(context.Context, search.Query) (search.Result, error) {
	return search.Result{}, search.ErrUnavailable
}

func newSite(t *testing.T, engineDown bool) *site {
	t.Helper()
	return newSiteWith(t, engineDown, true)
}

// newEmptySite is a site with nothing in its directory.
func newEmptySite(t *testing.T) *site {
	t.Helper()
	return newSiteWith(t, false, false)
}

func newSiteWith(t *testing.T, engineDown, seeded bool) *site {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := directory.New(db, ix, log)
	if seeded {
		if _, err := seed.Defaults(ctx, db, db); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dir.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if engineDown {
		dir.Index = brokenIndex{ix}
	}
	key, err := secret.Parse(strings.Repeat("cd", 32))
	if err != nil {
		t.Fatal(err)
	}
	refs := &referral.Service{Store: db, Drafts: key.Box("draft"), Sealed: key.Box("referral"), Routing: referral.SampleConfig(),
		TeamLetter: notify.TeamNotification, FamilyLetter: notify.FamilyConfirmation,
		StaffLink: func(ref string) string { return "http://localhost:8080/staff/referrals/" + ref }}
	srv := &handlers.Server{Directory: dir, Settings: db, Database: db, Log: log, SampleModeKey: seed.SampleModeKey,
		Referrals: refs, Routing: refs.Routing, Limiter: ratelimit.NewMemory(1000), LimitSecret: key.Derive("limit"),
		CSRFStorage: db.KV()}
	app, err := srv.App()
	if err != nil {
		t.Fatal(err)
	}
	return &site{app: app, log: logs, dir: dir, srv: srv, db: db, referral: refs}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (s *site) get(t *testing.T, target string) page {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	resp, err := s.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

var titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)

func (p page) title() string {
	m := titleRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

var resultRE = regexp.MustCompile(`fh-result__title"><a class="govuk-link" href="/services/([^"]+)">`)

func (p page) resultIDs() []string {
	var ids []string
	for _, m := range resultRE.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestEveryPublicPageIsSafeToUse(t *testing.T) {
	s := newSite(t, false)
	pages := []struct{ path, title string }{
		{"/", "Find help for your family – Family Help"},
		{"/search?q=domestic+abuse", "Search – Family Help"},
		{"/search?need=domestic-abuse&postcode=WV1+1AA", "Search – Family Help"},
		{"/services/national-national-domestic-abuse-helpline", "Service details – Family Help"},
		{"/refer", "Contact form – Family Help"},
		{"/cover-your-tracks", "Cover your tracks online – Family Help"},
		{"/accessibility", "Accessibility statement – Family Help"},
		{"/privacy", "Privacy notice – Family Help"},
		{"/data-sources", "Where our data comes from – Family Help"},
		{"/no-such-page", "Page not found – Family Help"},
	}
	for _, pg := range pages {
		t.Run(pg.path, func(t *testing.T) {
			p := s.get(t, pg.path)
			want := http.StatusOK
			if pg.path == "/no-such-page" {
				want = http.StatusNotFound
			}
			if p.status != want {
				t.Fatalf("status %d, want %d", p.status, want)
			}
			// Neutral titles: nothing a family searched for, or a service's name, in the tab.
			if p.title() != pg.title {
				t.Errorf("title %q, want %q", p.title(), pg.title)
			}
			if !strings.Contains(p.body, `class="govuk-exit-this-page"`) || !strings.Contains(p.body, "Exit this page") {
				t.Error("no Exit this page button")
			}
			if !strings.Contains(p.body, "Sample data") {
				t.Error("sample mode is on but the page does not say so")
			}
			csp := p.header.Get("Content-Security-Policy")
			for _, part := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
				if !strings.Contains(csp, part) {
					t.Errorf("CSP %q lacks %q", csp, part)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") {
				t.Error("page has inline script or style, which the CSP blocks")
			}
			for h, v := range map[string]string{
				"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
				"X-Content-Type-Options":    "nosniff",
				"X-Frame-Options":           "DENY",
				"Referrer-Policy":           "same-origin",
			} {
				if got := p.header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
		})
	}
}

func TestHomeOffersNeedsAndEmergencyHelp(t *testing.T) {
	p := newSite(t, false).get(t, "/")
	for _, n := range directory.Needs {
		if !strings.Contains(p.body, `href="/search?need=`+string(n.Slug)+`"`) {
			t.Errorf("no tile for %s", n.Label)
		}
	}
	for _, want := range []string{`action="/search"`, `name="q"`, `name="postcode"`, `href="tel:999"`, "press 55", `href="tel:08082000247"`, `href="tel:116123"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
}

func TestSearchFindsWhatFamiliesType(t *testing.T) {
	s := newSite(t, false)
	cases := []struct{ q, want string }{
		{"domestik abuse", "national-national-domestic-abuse-helpline"},
		{"alchohol", "national-drinkline"},
		{"my partner hits me", "national-national-domestic-abuse-helpline"},
		{"DV", "national-national-domestic-abuse-helpline"},
		{"drink", "national-drinkline"},
		{"depressed", "national-mind-infoline"},
	}
	for _, c := range cases {
		p := s.get(t, "/search?q="+url.QueryEscape(c.q))
		if !slices.Contains(p.resultIDs(), c.want) {
			t.Errorf("%q: results %v do not include %s", c.q, p.resultIDs(), c.want)
		}
	}
}

func TestSearchNearAPostcode(t *testing.T) {
	s := newSite(t, false)
	p := s.get(t, "/search?need=housing&postcode=ws32da")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if !strings.Contains(p.body, "near WS3 2DA") {
		t.Error("results do not say the normalised postcode")
	}
	miles := regexp.MustCompile(`<strong>([0-9.]+) miles? away</strong>`).FindAllStringSubmatch(p.body, -1)
	if len(miles) < 2 {
		t.Fatalf("want distances on located results, got %d", len(miles))
	}
	prev := -1.0
	for _, m := range miles {
		d, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		if d < prev {
			t.Errorf("distances not in order: %v", miles)
		}
		prev = d
	}
	if !strings.Contains(p.body, `value="ws32da"`) {
		t.Error("the postcode box does not keep what was typed")
	}
}

func TestSearchErrorsKeepTheSearch(t *testing.T) {
	s := newSite(t, false)
	cases := []struct{ query, field, message string }{
		{"q=debt&postcode=WV1+1A", "postcode", "Enter a real postcode, like WV1 1AA"},
		{"q=debt&postcode=ZZ9+9ZZ", "postcode", "We could not find that postcode"},
		{"q=debt&age=twelve", "age", "Enter an age from 0 to 25"},
		{"q=debt&age=40", "age", "Enter an age from 0 to 25"},
	}
	for _, c := range cases {
		p := s.get(t, "/search?"+c.query)
		if !strings.HasPrefix(p.title(), "Error: ") {
			t.Errorf("%s: title %q does not start with Error:", c.query, p.title())
		}
		if !strings.Contains(p.body, `govuk-error-summary`) || !strings.Contains(p.body, `href="#`+c.field+`"`) {
			t.Errorf("%s: no error summary linking to #%s", c.query, c.field)
		}
		if !strings.Contains(p.body, `id="`+c.field+`-error"`) || !strings.Contains(p.body, c.message) {
			t.Errorf("%s: no inline message %q", c.query, c.message)
		}
		if !strings.Contains(p.body, `value="debt"`) {
			t.Errorf("%s: the search words were lost", c.query)
		}
	}
}

func TestSearchPagesAndFilters(t *testing.T) {
	s := newSite(t, false)
	first := s.get(t, "/search")
	total := regexp.MustCompile(`(\d+) services`).FindStringSubmatch(first.body)
	if total == nil {
		t.Fatal("no result count")
	}
	if len(first.resultIDs()) != directory.PerPage {
		t.Fatalf("first page has %d results, want %d", len(first.resultIDs()), directory.PerPage)
	}
	if !strings.Contains(first.body, `href="/search?page=2" rel="next"`) {
		t.Error("no link to the next page")
	}
	second := s.get(t, "/search?page=2")
	for _, id := range second.resultIDs() {
		if slices.Contains(first.resultIDs(), id) {
			t.Errorf("%s is on pages 1 and 2", id)
		}
	}
	if p := s.get(t, "/search?page=999"); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "page=") {
		t.Errorf("page past the end: status %d, location %q; want a redirect to the last page", p.status, p.header.Get("Location"))
	}

	free := s.get(t, "/search?need=parenting&free=yes&delivery=online")
	if !strings.Contains(free.body, "free only (<a") || !strings.Contains(free.body, `href="/search?delivery=online&amp;need=parenting"`) {
		t.Error("active filters are not listed with links to remove them")
	}
	for _, id := range free.resultIDs() {
		svc, err := s.dir.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !svc.Free || !svc.Has(directory.Online) || !slices.Contains(svc.Needs, directory.NeedParenting) {
			t.Errorf("%s does not match the filters", id)
		}
	}
}

func TestSearchWithNoResultsHelps(t *testing.T) {
	p := newSite(t, false).get(t, "/search?q=xylophone+repairs&free=yes")
	for _, want := range []string{"No services found", "fewer or different words", "removing a filter", `href="tel:999"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("no-results page lacks %q", want)
		}
	}
}

func TestSearchStillAnswersWhenTheEngineIsDown(t *testing.T) {
	s := newSite(t, true)
	p := s.get(t, "/search?q=alcohol")
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if !slices.Contains(p.resultIDs(), "national-drinkline") {
		t.Errorf("database fallback found %v", p.resultIDs())
	}
	if strings.Contains(strings.ToLower(p.body), "error") {
		t.Error("the page alarms the family with an error")
	}
}

func TestHostileInputIsInert(t *testing.T) {
	s := newSite(t, false)
	p := s.get(t, "/search?q="+url.QueryEscape(`<script>alert(1)</script>' OR 1=1 --`)+"&postcode="+url.QueryEscape(`"><img src=x>`))
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "<img src=x>") {
		t.Error("input rendered unescaped")
	}
	p = s.get(t, "/search?q=%ff%fe%00abuse&need=%22%3E&need=domestic-abuse&age=%00")
	if p.status != http.StatusOK && p.status != http.StatusBadRequest {
		t.Errorf("invalid UTF-8 and control characters: status %d", p.status)
	}
	long := s.get(t, "/search?q="+strings.Repeat("a", 5000))
	if long.status != http.StatusOK || strings.Contains(long.body, strings.Repeat("a", 201)) {
		t.Errorf("a 5000-character search: status %d, echoed in full: %v", long.status, strings.Contains(long.body, strings.Repeat("a", 201)))
	}
	if p := s.get(t, "/services/..%2f..%2fetc%2fpasswd"); p.status != http.StatusNotFound {
		t.Errorf("odd service id: status %d", p.status)
	}
}

func TestServicePage(t *testing.T) {
	s := newSite(t, false)
	ctx := context.Background()
	sample, err := seed.Sample()
	if err != nil {
		t.Fatal(err)
	}
	var svc *directory.Service
	for _, x := range sample {
		if len(x.Locations) > 0 && len(x.Phones) > 0 {
			svc = x
			break
		}
	}
	p := s.get(t, "/services/"+svc.ID)
	if p.status != http.StatusOK {
		t.Fatalf("status %d", p.status)
	}
	digits := strings.ReplaceAll(svc.Phones[0].Number, " ", "")
	for _, want := range []string{
		`href="/refer?service=` + svc.ID + `"`, "Ask for help",
		`href="tel:` + digits + `"`, svc.Locations[0].Postcode, "Last checked:", "Sample",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("service page lacks %q", want)
		}
	}
	if strings.Contains(p.title(), svc.Name) {
		t.Error("service name in the page title")
	}
	if p := s.get(t, "/services/no-such-service"); p.status != http.StatusNotFound {
		t.Errorf("unknown service: status %d", p.status)
	}
	if p := s.get(t, "/refer?service="+svc.ID); !strings.Contains(p.body, svc.Name) {
		t.Error("Ask for help does not carry the service")
	}

	svc.Status = directory.Inactive
	if err := s.dir.Save(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if p := s.get(t, "/services/"+svc.ID); p.status != http.StatusNotFound {
		t.Errorf("retired service still shown: status %d", p.status)
	}
}

func TestLogsHoldNoSearchTerms(t *testing.T) {
	s := newSite(t, false)
	s.get(t, "/search?q=my+partner+hits+me&postcode=WV1+1AA")
	s.get(t, "/search?postcode=not-a-postcode-secret")
	s.get(t, "/WV1-1AA-my-partner-secret")
	logs := s.log.String()
	if !strings.Contains(logs, "path=/search") {
		t.Fatalf("requests not logged at all: %s", logs)
	}
	for _, secret := range []string{"partner", "WV1", "secret", "q="} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q: %s", secret, logs)
		}
	}
}

func TestStaticAssetsAreCachedAndCompressed(t *testing.T) {
	s := newSite(t, false)
	home := s.get(t, "/")
	css := regexp.MustCompile(`href="(/static/app\.[0-9a-f]+\.css)"`).FindStringSubmatch(home.body)
	js := regexp.MustCompile(`src="(/static/app\.[0-9a-f]+\.js)"`).FindStringSubmatch(home.body)
	if css == nil || js == nil {
		t.Fatal("page does not link fingerprinted CSS and JS")
	}
	for _, path := range []string{css[1], js[1]} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := s.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: status %d, encoding %q, cache %q", path, resp.StatusCode,
				resp.Header.Get("Content-Encoding"), resp.Header.Get("Cache-Control"))
		}
	}
	if p := s.get(t, "/static/app.css"); p.status != http.StatusNotFound {
		t.Errorf("unhashed asset name: status %d, want 404", p.status)
	}
}

func TestHealth(t *testing.T) {
	s := newSite(t, false)
	if p := s.get(t, "/healthz"); p.status != 200 {
		t.Errorf("/healthz %d", p.status)
	}
	if p := s.get(t, "/readyz"); p.status != 200 {
		t.Errorf("/readyz %d", p.status)
	}
}
