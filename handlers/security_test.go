package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"familyhelp/directory"
	"familyhelp/handlers"
	"familyhelp/referral"
	"familyhelp/staff"
	"familyhelp/views"
)

// The security crawl: every route the app registers is visited. Every answer must carry the
// security headers and safe cookies, and every form must refuse a post without a good token or
// from another site, changing nothing. The route table is the list of what to visit, and
// securityRoutes says how to reach each route; a route added without an entry there fails
// the test, so nothing new escapes the crawl.

// secFixtures are real things in the seeded site that routes' parameters are filled with.
type secFixtures struct {
	service     string // a published service, whose public pages are visited and reported on
	edit        string // another published service, which editors change
	report      string // an open problem report on service
	ref         string // a referral for wv-central, read and noted on
	refStatus   string // a referral for wv-central whose status is changed
	refTransfer string // a referral for wv-central that is sent to another team
	account     string // an account the admin turns off
	link        string // a one-time link to set a password
	importFile  []byte // an Open Referral file that renames edit
	// api holds an id from each Open Referral list, by list: "services" and the others.
	api map[string]string
}

// hit is a page to visit and the status it answers with.
type hit struct {
	path   string
	status int
}

// badToken is what a form does with a post whose token fails (missing, forged, or another
// session's): refused outright, or shown again unsaved.
type badToken int

const (
	// refused: 403, nothing kept or changed.
	refused badToken = iota
	// staleForm: the page comes back saying it timed out, with what was typed and nothing
	// saved (a person who left a form open too long must not lose it).
	staleForm
	// restart: the start page of the journey again, with nothing started.
	restart
	// forget: the person's own answers are deleted anyway. "Stop and delete" and "Finish" must
	// work for a family whose page timed out; another site cannot name a draft, because the
	// draft cookie is SameSite=Lax and a post from another site is refused first.
	forget
)

// routeSpec says how to use one route.
type routeSpec struct {
	// as is who visits: "" a member of the public, "family" a person half-way through asking
	// for help (a complete draft), "signing-in" someone signed in who still owes the two-step
	// code, or a staff account's email.
	as string
	// gets are the pages a GET route is visited at, with what they answer as `as`.
	gets func(f secFixtures) []hit

	// For a form (POST, or any method but GET): the path posted to, the page whose form posts
	// there, the form a person sends (given the page they see), and what a good token would
	// change (a key of state).
	post    func(f secFixtures) string
	page    func(f secFixtures) string
	form    func(w *secWorld, last page) url.Values
	upload  bool // the form is multipart, with importFile as "file"
	onBad   badToken
	changes string
	// undo puts back what the genuine post changed, where later routes depend on it.
	undo func(w *secWorld)
}

func ok(paths ...string) func(secFixtures) []hit {
	return func(secFixtures) []hit {
		out := make([]hit, len(paths))
		for i, p := range paths {
			out[i] = hit{p, http.StatusOK}
		}
		return out
	}
}

func fixed(path string) func(secFixtures) string { return func(secFixtures) string { return path } }

func noForm(*secWorld, page) url.Values { return url.Values{} }

func formVals(kv ...string) func(*secWorld, page) url.Values {
	return func(*secWorld, page) url.Values { return vals(kv...) }
}

const (
	editorEmail  = "editor@example.org"
	adminEmail   = "admin@example.org"
	memberEmail  = "member-a@example.org"
	managerEmail = "manager-a@example.org"
	enrolEmail   = "enrol@example.org"
	codeEmail    = "code@example.org"
)

var totpSecretRE = regexp.MustCompile(`<code class="fh-secret">([A-Z2-7]+)</code>`)

// securityRoutes is every route of the site, keyed "METHOD /pattern" as Fiber registers it.
var securityRoutes = map[string]routeSpec{
	"GET /static/*": {gets: func(secFixtures) []hit {
		return []hit{{views.SiteAssets.CSS, 200}, {views.SiteAssets.JS, 200}, {"/static/no-such-file.css", 404}}
	}},
	"GET /healthz": {gets: ok("/healthz")},
	"GET /readyz":  {gets: ok("/readyz")},
	"GET /":        {gets: func(secFixtures) []hit { return []hit{{"/", 200}, {"/no-such-page", 404}} }},
	"GET /search": {gets: ok("/search", "/search?q=domestic+abuse&postcode=WV1+1AA",
		"/search?postcode=WV1+1A", "/search?q=%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E")},
	"GET /services/:id": {gets: func(f secFixtures) []hit {
		return []hit{{"/services/" + f.service, 200}, {"/services/no-such-service", 404}}
	}},
	"GET /services/:id/report": {gets: func(f secFixtures) []hit { return []hit{{"/services/" + f.service + "/report", 200}} }},
	"POST /services/:id/report": {
		post:    func(f secFixtures) string { return "/services/" + f.service + "/report" },
		page:    func(f secFixtures) string { return "/services/" + f.service + "/report" },
		form:    formVals("problem", "The phone number is wrong"),
		onBad:   staleForm,
		changes: "reports",
	},
	"GET /cover-your-tracks": {gets: ok("/cover-your-tracks")},
	"GET /accessibility":     {gets: ok("/accessibility")},
	"GET /privacy":           {gets: ok("/privacy")},
	"GET /data-sources":      {gets: ok("/data-sources")},

	// The referral journey.
	"GET /refer":        {as: "family", gets: ok("/refer")},
	"GET /refer/urgent": {as: "family", gets: ok("/refer/urgent")},
	"GET /refer/check":  {as: "family", gets: ok("/refer/check")},
	// Not sent yet: the confirmation page sends the person to the start.
	"GET /refer/done": {as: "family", gets: func(secFixtures) []hit { return []hit{{"/refer/done", http.StatusSeeOther}} }},
	"GET /refer/:step": {as: "family", gets: func(secFixtures) []hit {
		var out []hit
		for _, st := range []referral.Step{referral.StepWho, referral.StepProfessional, referral.StepDanger, referral.StepNeeds,
			referral.StepAdult, referral.StepChildren, referral.StepHome, referral.StepNetwork, referral.StepContact, referral.StepConsent} {
			want := http.StatusOK
			if st == referral.StepProfessional {
				want = http.StatusSeeOther // asked of professionals only; this is a parent
			}
			out = append(out, hit{"/refer/" + string(st), want})
		}
		return append(out, hit{"/refer/no-such-step", 404})
	}},
	"POST /refer/start": {post: fixed("/refer/start"), page: fixed("/refer"), form: noForm, onBad: restart, changes: "draft"},
	// Every question page posts through the same code; "needs" stands for them all.
	"POST /refer/:step": {as: "family", post: fixed("/refer/needs"), page: fixed("/refer/needs"),
		form: formVals("needs", "housing", "story", "Changed by this post"), onBad: staleForm, changes: "draft"},
	"POST /refer/check":   {as: "family", post: fixed("/refer/check"), page: fixed("/refer/check"), form: noForm, onBad: staleForm, changes: "outbox"},
	"POST /refer/finish":  {as: "family", post: fixed("/refer/finish"), page: fixed("/refer/check"), form: noForm, onBad: forget, changes: "draft"},
	"POST /refer/discard": {as: "family", post: fixed("/refer/discard"), page: fixed("/refer/check"), form: noForm, onBad: forget, changes: "draft"},

	// The staff portal.
	"GET /staff/login": {gets: ok("/staff/login")},
	"POST /staff/login": {post: fixed("/staff/login"), page: fixed("/staff/login"), onBad: staleForm, changes: "signed in",
		form: func(w *secWorld, _ page) url.Values {
			return vals("email", memberEmail, "password", w.s.pw[memberEmail])
		}},
	"GET /staff/set-password": {gets: func(f secFixtures) []hit { return []hit{{"/staff/set-password?token=" + f.link, 200}} }},
	"POST /staff/set-password": {post: fixed("/staff/set-password"), onBad: refused, changes: "accounts",
		page: func(f secFixtures) string { return "/staff/set-password?token=" + f.link },
		form: func(w *secWorld, _ page) url.Values {
			return vals("token", w.f.link, "password", "five merry otters", "confirm", "five merry otters")
		}},
	"POST /staff/logout": {as: memberEmail, post: fixed("/staff/logout"), page: fixed("/staff"), form: noForm, onBad: refused, changes: "signed in"},
	// Signed in and verified already: the code page sends the person home.
	"GET /staff/login/code": {as: memberEmail, gets: func(secFixtures) []hit { return []hit{{"/staff/login/code", http.StatusSeeOther}} }},
	"POST /staff/login/code": {as: "signing-in", post: fixed("/staff/login/code"), page: fixed("/staff/login/code"), onBad: refused,
		changes: "signed in", form: func(w *secWorld, _ page) url.Values {
			// A step later than the one that turned it on: each code works once.
			w.s.now = w.s.now.Add(30 * time.Second)
			code, _ := totp.GenerateCode(w.totpSecret, w.s.now)
			return vals("code", code)
		}},
	"GET /staff/account/two-step": {as: memberEmail, gets: ok("/staff/account/two-step")},
	"POST /staff/account/two-step": {as: enrolEmail, post: fixed("/staff/account/two-step"), page: fixed("/staff/account/two-step"),
		onBad: refused, changes: "accounts", form: func(w *secWorld, last page) url.Values {
			m := totpSecretRE.FindStringSubmatch(last.body)
			if m == nil {
				return vals("code", "000000")
			}
			code, _ := totp.GenerateCode(m[1], w.s.now)
			return vals("code", code)
		}},
	"GET /staff":           {as: memberEmail, gets: ok("/staff")},
	"GET /staff/referrals": {as: memberEmail, gets: ok("/staff/referrals", "/staff/referrals?status=new&need=housing")},
	"GET /staff/referrals/:ref": {as: memberEmail, gets: func(f secFixtures) []hit {
		return []hit{{"/staff/referrals/" + f.ref, 200}, {"/staff/referrals/FH-2222-2222", 404}}
	}},
	"POST /staff/referrals/:ref/notes": {as: memberEmail, onBad: refused, changes: "notes",
		post: func(f secFixtures) string { return "/staff/referrals/" + f.ref + "/notes" },
		page: func(f secFixtures) string { return "/staff/referrals/" + f.ref },
		form: formVals("note", "Rang, no answer")},
	"POST /staff/referrals/:ref/status": {as: memberEmail, onBad: refused, changes: "referrals",
		post: func(f secFixtures) string { return "/staff/referrals/" + f.refStatus + "/status" },
		page: func(f secFixtures) string { return "/staff/referrals/" + f.refStatus },
		form: formVals("status", string(referral.StatusAcknowledged))},
	"POST /staff/referrals/:ref/transfer": {as: managerEmail, onBad: refused, changes: "referrals",
		post: func(f secFixtures) string { return "/staff/referrals/" + f.refTransfer + "/transfer" },
		page: func(f secFixtures) string { return "/staff/referrals/" + f.refTransfer },
		form: formVals("team", "ws-central", "reason", "The family moved to Walsall")},
	"GET /staff/outbox":   {as: memberEmail, gets: ok("/staff/outbox")},
	"GET /staff/accounts": {as: adminEmail, gets: ok("/staff/accounts")},
	"POST /staff/accounts": {as: adminEmail, post: fixed("/staff/accounts"), page: fixed("/staff/accounts"), onBad: refused,
		changes: "accounts", form: formVals("email", "planted@example.org", "name", "Planted", "role", "admin")},
	"POST /staff/settings/two-step": {as: adminEmail, post: fixed("/staff/settings/two-step"), page: fixed("/staff/accounts"),
		onBad: refused, changes: "settings", form: formVals("require", "yes"),
		undo: func(w *secWorld) {
			if err := w.s.db.SetSetting(context.Background(), handlers.RequireTwoStepKey, "off"); err != nil {
				w.t.Fatal(err)
			}
		}},
	"POST /staff/accounts/:id/:action": {as: adminEmail, page: fixed("/staff/accounts"), form: noForm, onBad: refused, changes: "accounts",
		post: func(f secFixtures) string { return "/staff/accounts/" + f.account + "/disable" }},

	// Listings, for editors.
	"GET /staff/listings":        {as: editorEmail, gets: ok("/staff/listings", "/staff/listings?q=drink&status=active")},
	"GET /staff/listings/new":    {as: editorEmail, gets: ok("/staff/listings/new")},
	"GET /staff/listings/review": {as: editorEmail, gets: ok("/staff/listings/review")},
	"GET /staff/listings/import": {as: editorEmail, gets: ok("/staff/listings/import")},
	"GET /staff/listings/export": {as: editorEmail, gets: ok("/staff/listings/export?format=csv", "/staff/listings/export?format=oruk-json")},
	"GET /staff/listings/:id": {as: editorEmail, gets: func(f secFixtures) []hit {
		return []hit{{"/staff/listings/" + f.service, 200}, {"/staff/listings/no-such-listing", 404}}
	}},
	"GET /staff/listings/:id/edit":    {as: editorEmail, gets: func(f secFixtures) []hit { return []hit{{"/staff/listings/" + f.service + "/edit", 200}} }},
	"GET /staff/listings/:id/preview": {as: editorEmail, gets: func(f secFixtures) []hit { return []hit{{"/staff/listings/" + f.service + "/preview", 200}} }},
	"GET /staff/listings/:id/history": {as: editorEmail, gets: func(f secFixtures) []hit { return []hit{{"/staff/listings/" + f.service + "/history", 200}} }},
	"POST /staff/listings/new": {as: editorEmail, post: fixed("/staff/listings/new"), page: fixed("/staff/listings/new"),
		onBad: staleForm, changes: "services", form: func(*secWorld, page) url.Values { return fullListing("Planted listing") }},
	"POST /staff/listings/import": {as: editorEmail, post: fixed("/staff/listings/import"), page: fixed("/staff/listings/import"),
		form: noForm, upload: true, onBad: staleForm, changes: "services"},
	"POST /staff/listings/:id/edit": {as: editorEmail, onBad: staleForm, changes: "services",
		post: func(f secFixtures) string { return "/staff/listings/" + f.edit + "/edit" },
		page: func(f secFixtures) string { return "/staff/listings/" + f.edit + "/edit" },
		form: func(_ *secWorld, last page) url.Values {
			v := formOf(last)
			v.Set("summary", "Changed by this post")
			return v
		}},
	"POST /staff/listings/:id/status": {as: editorEmail, onBad: refused, changes: "services",
		post: func(f secFixtures) string { return "/staff/listings/" + f.edit + "/status" },
		page: func(f secFixtures) string { return "/staff/listings/" + f.edit },
		form: formVals("status", string(directory.Defunct))},
	"POST /staff/listings/:id/reviewed": {as: editorEmail, onBad: refused, changes: "services", form: noForm,
		post: func(f secFixtures) string { return "/staff/listings/" + f.edit + "/reviewed" },
		page: func(f secFixtures) string { return "/staff/listings/" + f.edit }},
	"POST /staff/listings/:id/reports/:report/done": {as: editorEmail, onBad: refused, changes: "reports", form: noForm,
		post: func(f secFixtures) string { return "/staff/listings/" + f.service + "/reports/" + f.report + "/done" },
		page: func(f secFixtures) string { return "/staff/listings/" + f.service }},

	// The Open Referral UK API: public data, read-only.
	"GET /api/":             {gets: ok("/api/")},
	"GET /api/openapi.json": {gets: ok("/api/openapi.json")},
	"GET /api/services":     {gets: ok("/api/services", "/api/services?per_page=5&page=2")},
	"GET /api/services/:id": {gets: func(f secFixtures) []hit {
		return []hit{{"/api/services/" + f.api["services"], 200}, {"/api/services/00000000-0000-0000-0000-000000000000", 404}}
	}},
	"GET /api/taxonomies":     {gets: ok("/api/taxonomies")},
	"GET /api/taxonomies/:id": {gets: func(f secFixtures) []hit { return []hit{{"/api/taxonomies/" + f.api["taxonomies"], 200}} }},
	"GET /api/taxonomy_terms": {gets: ok("/api/taxonomy_terms")},
	"GET /api/taxonomy_terms/:id": {gets: func(f secFixtures) []hit {
		return []hit{{"/api/taxonomy_terms/" + f.api["taxonomy_terms"], 200}}
	}},
	"GET /api/organizations": {gets: ok("/api/organizations")},
	"GET /api/organizations/:id": {gets: func(f secFixtures) []hit {
		return []hit{{"/api/organizations/" + f.api["organizations"], 200}}
	}},
	"GET /api/service_at_locations": {gets: ok("/api/service_at_locations")},
	"GET /api/service_at_locations/:id": {gets: func(f secFixtures) []hit {
		return []hit{{"/api/service_at_locations/" + f.api["service_at_locations"], 200}}
	}},
}

// routeKeys are the site's routes as Fiber registers them, "METHOD /pattern", without the
// HEAD that Fiber adds for every GET.
func routeKeys(w *secWorld) []string {
	seen := map[string]bool{}
	var keys []string
	for _, r := range w.s.app.GetRoutes(true) {
		k := r.Method + " " + r.Path
		if r.Method == http.MethodHead || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// secWorld is the whole site (every part the binary serves) with the fixtures, over HTTP or
// HTTPS.
type secWorld struct {
	t          *testing.T
	s          *staffSite
	f          secFixtures
	https      bool
	totpSecret string // codeEmail's second factor
	signedIn   map[string]*browser
}

func newSecWorld(t *testing.T, https bool) *secWorld {
	t.Helper()
	ctx := context.Background()
	s := newListingSite(t)
	// The site's address is https or not: with https every cookie is Secure. The crawl signs
	// the same people in many times; rate limits are tested elsewhere and stay out of its way.
	s.srv.SecureCookies = https
	s.srv.Limiter = nil
	app, err := s.srv.App()
	if err != nil {
		t.Fatal(err)
	}
	s.app = app
	w := &secWorld{t: t, s: s, https: https, signedIn: map[string]*browser{}}
	for _, email := range []string{enrolEmail, codeEmail, "target@example.org"} {
		a, link, err := s.portal.NewAccount(ctx, email, "Staff "+email[:strings.Index(email, "@")], staff.RoleMember, "wv-central")
		if err != nil {
			t.Fatal(err)
		}
		pw := "long enough pass " + a.ID[:6]
		if _, err := s.portal.SetPassword(ctx, link, pw); err != nil {
			t.Fatal(err)
		}
		s.pw[email] = pw
		if email == "target@example.org" {
			w.f.account = a.ID
		}
	}
	a, err := s.db.AccountByEmail(ctx, codeEmail)
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.portal.PendingTOTP(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	w.totpSecret = key.Secret()
	code, _ := totp.GenerateCode(w.totpSecret, s.now)
	if err := s.portal.EnableTOTP(ctx, a, code); err != nil {
		t.Fatal(err)
	}
	// A new account's one-time link, for the set-password form.
	if _, w.f.link, err = s.portal.NewAccount(ctx, "newcomer@example.org", "Newcomer", staff.RoleEditor, ""); err != nil {
		t.Fatal(err)
	}

	w.f.service = "national-drinkline"
	for _, sv := range s.everything(t) {
		if sv.ID != w.f.service && sv.Status == directory.Active && w.f.edit == "" {
			w.f.edit = sv.ID
		}
	}
	rid, err := s.srv.Listings.Report(ctx, w.f.service, "The number rings out")
	if err != nil {
		t.Fatal(err)
	}
	w.f.report = strconv.FormatInt(rid, 10)
	w.f.ref = s.submit(t, "WV1 1AA", referral.NeedHousing)
	w.f.refStatus = s.submit(t, "WV1 1AA", referral.NeedMoney)
	w.f.refTransfer = s.submit(t, "WV1 1AA", referral.NeedParenting)

	w.f.api = map[string]string{}
	for _, list := range []string{"services", "taxonomies", "taxonomy_terms", "organizations", "service_at_locations"} {
		p := s.get(t, "/api/"+list)
		var body struct {
			Contents []struct {
				ID string `json:"id"`
			} `json:"contents"`
		}
		if err := json.Unmarshal([]byte(p.body), &body); err != nil || len(body.Contents) == 0 {
			t.Fatalf("/api/%s lists nothing to visit: %d %v", list, p.status, err)
		}
		w.f.api[list] = body.Contents[0].ID
	}

	// An Open Referral file that renames the listing editors change, as an editor would import.
	p := w.as(editorEmail).get("/staff/listings/export?format=oruk-json")
	var export struct {
		Contents []map[string]any `json:"contents"`
	}
	if err := json.Unmarshal([]byte(p.body), &export); err != nil {
		t.Fatalf("export: %d %v", p.status, err)
	}
	for _, rec := range export.Contents {
		if ext, _ := rec["familyhelp"].(map[string]any); ext["id"] == w.f.edit {
			rec["name"] = "Renamed by an import"
			if w.f.importFile, err = json.Marshal([]any{rec}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if w.f.importFile == nil {
		t.Fatalf("the export has no record for %s", w.f.edit)
	}
	return w
}

// headers are what a browser sends with every request: over HTTPS, the proxy's word that it
// is HTTPS, and the browser's that a form was posted from this site.
func (w *secWorld) headers() map[string]string {
	h := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if w.https {
		h["X-Forwarded-Proto"] = "https"
	}
	return h
}

func (w *secWorld) browser() *browser {
	b := w.s.browser(w.t)
	b.headers = w.headers()
	return b
}

// person is a browser for who (see routeSpec.as): signed in, or with a draft. One made for
// the same person earlier is reused, unless fresh is set.
func (w *secWorld) person(who string, fresh bool) *browser {
	w.t.Helper()
	if who == "" {
		return w.browser()
	}
	if b := w.signedIn[who]; b != nil && !fresh {
		return b
	}
	b := w.browser()
	switch who {
	case "family":
		b.get("/refer")
		b.answerAll("A story for the security crawl", "07700 900999")
	case "signing-in":
		b.get("/staff/login")
		if p := b.post("/staff/login", vals("email", codeEmail, "password", w.s.pw[codeEmail])); !p.has("security code") {
			w.t.Fatalf("signing in as %s: %d %q, want the code page", codeEmail, p.status, p.title())
		}
	default:
		b.get("/staff/login")
		p := b.post("/staff/login", vals("email", who, "password", w.s.pw[who]))
		if p.status != http.StatusOK || !(p.has("Signed in as") || who == enrolEmail && p.has("Set up two-step sign-in")) {
			w.t.Fatalf("signing in as %s: %d %q", who, p.status, p.title())
		}
	}
	w.signedIn[who] = b
	return b
}

// as is person(who), reused from an earlier call.
func (w *secWorld) as(who string) *browser { return w.person(who, false) }

// once sends one request as b would, but follows no redirect and keeps no cookie: the crawl
// looks at each answer itself.
func (w *secWorld) once(b *browser, method, target string) (page, []*http.Cookie) {
	w.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("X-Forwarded-For", b.ip)
	for k, v := range b.headers {
		req.Header.Set(k, v)
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := w.s.app.Test(req, -1)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(raw)}, resp.Cookies()
}

// cspDirectives splits a Content-Security-Policy into its directives.
func cspDirectives(policy string) map[string][]string {
	out := map[string][]string{}
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

var hstsMaxAge = regexp.MustCompile(`(?i)max-age=(\d+)`)

// checkHeaders lists what is wrong with an answer's security headers.
func checkHeaders(path string, p page) []string {
	var bad []string
	h := p.header
	csp := cspDirectives(h.Get("Content-Security-Policy"))
	want := map[string]string{"default-src": "'none'", "frame-ancestors": "'none'", "object-src": "'none'", "base-uri": "'none'",
		"form-action": "'self'", "script-src": "'self'", "style-src": "'self'"}
	for _, d := range slices.Sorted(maps.Keys(want)) {
		if got, v := strings.Join(csp[d], " "), want[d]; got != v {
			bad = append(bad, fmt.Sprintf("CSP %s is %q, want %q", d, got, v))
		}
	}
	for d, sources := range csp {
		for _, src := range sources {
			switch strings.ToLower(src) {
			case "'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:":
				bad = append(bad, fmt.Sprintf("CSP %s allows %s", d, src))
			}
		}
	}
	if m := hstsMaxAge.FindStringSubmatch(h.Get("Strict-Transport-Security")); m == nil {
		bad = append(bad, "no Strict-Transport-Security")
	} else if n, _ := strconv.Atoi(m[1]); n < 31536000 {
		bad = append(bad, "Strict-Transport-Security for less than a year: "+h.Get("Strict-Transport-Security"))
	}
	for name, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		// same-origin, not no-referrer: the CSRF check over HTTPS reads the Referer.
		"Referrer-Policy": "same-origin"} {
		if got := h.Get(name); got != v {
			bad = append(bad, fmt.Sprintf("%s is %q, want %q", name, got, v))
		}
	}
	if v := h.Get("Server"); strings.ContainsAny(v, "0123456789/") {
		bad = append(bad, "Server header names a version: "+v)
	}
	if v := h.Get("X-Powered-By"); v != "" {
		bad = append(bad, "X-Powered-By: "+v)
	}
	// Only the fingerprinted assets and the public Open Referral data may be kept; every page
	// may show what a family searched for, what they typed, or a staff member's work.
	cc := h.Get("Cache-Control")
	switch {
	case strings.HasPrefix(path, "/static/") && p.status == http.StatusOK:
		if cc != "public, max-age=31536000, immutable" {
			bad = append(bad, "a static asset with Cache-Control "+cc)
		}
	case strings.HasPrefix(path, "/api/"):
		// Public data that other systems' caches may keep a minute; an error need not be kept.
		if cc != "public, max-age=60" && (p.status == http.StatusOK || !strings.Contains(cc, "no-store")) {
			bad = append(bad, fmt.Sprintf("an API answer (%d) with Cache-Control %q", p.status, cc))
		}
	default:
		if !strings.Contains(cc, "no-store") {
			bad = append(bad, fmt.Sprintf("Cache-Control is %q, want no-store", cc))
		}
	}
	return bad
}

// checkCookies lists what is wrong with the cookies an answer sets.
func (w *secWorld) checkCookies(cookies []*http.Cookie) []string {
	var bad []string
	for _, c := range cookies {
		switch {
		case !c.HttpOnly:
			bad = append(bad, c.Name+" is not HttpOnly")
		case c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode:
			bad = append(bad, fmt.Sprintf("%s has SameSite %v, want Lax or Strict", c.Name, c.SameSite))
		case c.Path == "":
			bad = append(bad, c.Name+" has no Path")
		case c.Domain != "":
			bad = append(bad, c.Name+" is sent to other hosts too: Domain="+c.Domain)
		case !c.Secure && (w.https || strings.HasPrefix(c.Name, "__Host-") || strings.HasPrefix(c.Name, "__Secure-")):
			bad = append(bad, c.Name+" is not Secure")
		case strings.HasPrefix(c.Name, "__Host-") && c.Path != "/":
			bad = append(bad, c.Name+" is __Host- but its Path is "+c.Path)
		}
	}
	return bad
}

func TestSecurityEveryRouteIsCovered(t *testing.T) {
	w := newSecWorld(t, false)
	keys := routeKeys(w)
	for _, k := range keys {
		spec, found := securityRoutes[k]
		switch {
		case !found:
			t.Errorf("route %s has no entry in securityRoutes: say how to visit it (and, for a form, what a good post changes)", k)
		case strings.HasPrefix(k, "GET ") && spec.gets == nil:
			t.Errorf("route %s has no pages to visit", k)
		case !strings.HasPrefix(k, "GET ") && (spec.post == nil || spec.page == nil || spec.form == nil || spec.changes == ""):
			t.Errorf("route %s: a form route needs post, page, form and changes", k)
		}
	}
	for k := range securityRoutes {
		if !slices.Contains(keys, k) {
			t.Errorf("securityRoutes has %s, which the site does not serve", k)
		}
	}
	if len(keys) < 60 {
		t.Errorf("only %d routes found: is every part of the site wired?", len(keys))
	}
}

// Every page of every GET route, signed out and as the person who uses it: the security
// headers on every answer (redirects and errors too) and the flags on every cookie.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[https], func(t *testing.T) {
			w := newSecWorld(t, https)
			pages := 0
			cookieNames := map[string]bool{}
			for _, k := range routeKeys(w) {
				spec := securityRoutes[k]
				if !strings.HasPrefix(k, "GET ") || spec.gets == nil {
					continue
				}
				who := w.as(spec.as)
				for _, h := range spec.gets(w.f) {
					for _, b := range []*browser{w.browser(), who} {
						p, cookies := w.once(b, http.MethodGet, h.path)
						pages++
						for _, c := range cookies {
							cookieNames[c.Name] = true
						}
						problems := append(checkHeaders(h.path, p), w.checkCookies(cookies)...)
						if b == who && p.status != h.status {
							problems = append(problems, fmt.Sprintf("status %d, want %d", p.status, h.status))
						}
						if p.status >= 500 {
							problems = append(problems, fmt.Sprintf("status %d", p.status))
						}
						if len(problems) > 0 {
							t.Errorf("%s GET %s (as %q): %s", k, h.path, map[bool]string{true: spec.as, false: "signed out"}[b == who],
								strings.Join(problems, "; "))
						}
					}
				}
			}
			// A method no route takes, and a path under each area that does not exist.
			for _, target := range []string{"/refer/nowhere/at/all", "/staff/nowhere", "/api/nowhere", "/static/nowhere"} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
					p, cookies := w.once(w.browser(), method, target)
					// Not found, or (under /staff, signed out) the sign-in page.
					missing := p.status >= 400 || p.status == http.StatusSeeOther && p.header.Get("Location") == "/staff/login"
					if problems := append(checkHeaders(target, p), w.checkCookies(cookies)...); len(problems) > 0 || !missing {
						t.Errorf("%s %s: %d %s", method, target, p.status, strings.Join(problems, "; "))
					}
				}
			}
			if pages < 120 {
				t.Errorf("only %d pages visited", pages)
			}
			for _, name := range []string{"fh_csrf", "__Host-fh_staff_csrf", "fh_report_csrf"} {
				if !cookieNames[name] {
					t.Errorf("no page set the cookie %s, so its flags went unchecked", name)
				}
			}
		})
	}
}

// state is what a post could change, as the site itself would show it, keyed by area; the
// victim browser's own draft and sign-in are part of it.
func (w *secWorld) state(b *browser) map[string]string {
	w.t.Helper()
	ctx := context.Background()
	s := w.s
	digest := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			w.t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		return hex.EncodeToString(sum[:8])
	}
	must := func(v any, err error) any {
		if err != nil {
			w.t.Fatal(err)
		}
		return v
	}
	out := map[string]string{
		"services": digest(s.everything(w.t)),
		"reports":  digest(must(s.db.Reports(ctx, w.f.service))),
		"outbox":   digest(must(s.db.Outbox(ctx, 1000))),
		"accounts": digest(must(s.db.Accounts(ctx))),
		"settings": digest(must(s.db.Setting(ctx, handlers.RequireTwoStepKey))),
	}
	var recs, notes []any
	for _, ref := range []string{w.f.ref, w.f.refStatus, w.f.refTransfer} {
		recs = append(recs, must(s.db.Referral(ctx, ref)))
		notes = append(notes, must(s.db.Notes(ctx, ref)))
	}
	out["referrals"], out["notes"] = digest(recs), digest(notes)

	out["draft"] = "none"
	if id := b.cookies["fh_draft"]; id != "" {
		d, err := s.referral.LoadDraft(ctx, id)
		switch {
		case errors.Is(err, referral.ErrNotFound):
		case err != nil:
			w.t.Fatal(err)
		default:
			out["draft"] = digest(d.Referral) + " " + d.Reference
		}
	}
	out["signed in"] = "nobody"
	if token := b.cookies["__Host-fh_staff"]; token != "" {
		if a, sess, err := s.portal.Resume(ctx, token); err == nil {
			out["signed in"] = fmt.Sprintf("%s verified=%v", a.Email, sess.Verified)
		}
	}
	return out
}

// csrfCookie is the name of the cookie holding the token of the forms under path.
func csrfCookie(path string) string {
	switch {
	case strings.HasPrefix(path, "/staff"):
		return "__Host-fh_staff_csrf"
	case strings.HasPrefix(path, "/services"):
		return "fh_report_csrf"
	}
	return "fh_csrf"
}

// attack is one way a post can come without a good token or from another site.
type attack struct {
	name string
	// crossSite: the browser says the form was on another site; it must be refused outright
	// even with the victim's real token and cookies.
	crossSite bool
	// prepare returns the token to post, given the victim's own, the attacker's and the name
	// of the token's cookie, and changes the victim's cookies and headers as the attack would.
	prepare func(token, attackerToken, cookieName string, cookies, headers map[string]string) string
}

var attacks = []attack{
	{name: "no token", prepare: func(_, _, _ string, _, _ map[string]string) string { return "" }},
	{name: "a forged token", prepare: func(_, _, _ string, _, _ map[string]string) string {
		return "8c1e7a4e-0000-4000-8000-000000000000"
	}},
	{name: "a forged token in both cookie and form", prepare: func(_, _, cookie string, c, _ map[string]string) string {
		c[cookie] = "0f0f0f0f-1111-4222-8333-444444444444"
		return c[cookie]
	}},
	{name: "another session's token", prepare: func(_, other, _ string, _, _ map[string]string) string { return other }},
	{name: "another site's form, with the victim's own token", crossSite: true,
		prepare: func(token, _, _ string, _, h map[string]string) string {
			h["Sec-Fetch-Site"], h["Origin"], h["Referer"] = "cross-site", "https://evil.example", "https://evil.example/form"
			return token
		}},
	{name: "another site's form in a browser without Sec-Fetch-Site", crossSite: true,
		prepare: func(token, _, _ string, _, h map[string]string) string {
			delete(h, "Sec-Fetch-Site")
			h["Origin"] = "https://evil.example"
			return token
		}},
	{name: "a sibling subdomain's form", crossSite: true,
		prepare: func(token, _, _ string, _, h map[string]string) string {
			h["Sec-Fetch-Site"], h["Origin"] = "same-site", "https://evil.example.com"
			return token
		}},
}

// send sends spec's form as b with the given token ("" for none).
func (w *secWorld) send(b *browser, method string, spec routeSpec, token string) page {
	w.t.Helper()
	form := spec.form(w, b.last)
	target := spec.post(w.f)
	if !spec.upload {
		form.Del("_csrf")
		if token != "" {
			form.Set("_csrf", token)
		}
		return b.do(method, target, form)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if token != "" {
		_ = mw.WriteField("_csrf", token)
	}
	fw, err := mw.CreateFormFile("file", "listings.json")
	if err != nil {
		w.t.Fatal(err)
	}
	_, _ = fw.Write(w.f.importFile)
	_ = mw.Close()
	return b.send(method, target, body.Bytes(), mw.FormDataContentType())
}

func tokenOf(p page) string {
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

func changed(before, after map[string]string, except string) []string {
	var out []string
	for k, v := range before {
		if k != except && after[k] != v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Every form route, posted without a token, with a forged one, with another session's, and
// from another site: refused or shown again unsaved, and nothing changes. Then the same form
// with the page's own token does change what it should, so the refusals are not a form that
// never works.
func TestSecurityFormsRefuseForgedPosts(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[https], func(t *testing.T) {
			w := newSecWorld(t, https)
			for _, k := range routeKeys(w) {
				spec := securityRoutes[k]
				if strings.HasPrefix(k, "GET ") || spec.post == nil {
					continue
				}
				w.crawlForm(t, k, spec)
			}
		})
	}
}

func (w *secWorld) crawlForm(t *testing.T, key string, spec routeSpec) {
	t.Helper()
	method, _, _ := strings.Cut(key, " ")
	target := spec.post(w.f)
	cookieName := csrfCookie(target)
	// The attacker's own token: real, in storage, from the same forms, but another session's.
	attacker := w.browser()
	attacker.get(map[string]string{"__Host-fh_staff_csrf": "/staff/login", "fh_report_csrf": spec.page(w.f), "fh_csrf": "/refer"}[cookieName])
	other := tokenOf(attacker.last)
	if other == "" {
		t.Fatalf("%s: the attacker got no token", key)
	}

	var victim *browser
	for _, a := range attacks {
		if victim == nil || spec.onBad == forget {
			victim = w.person(spec.as, true)
		}
		victim.get(spec.page(w.f))
		token := tokenOf(victim.last)
		if token == "" {
			t.Fatalf("%s: the page %s has no form token", key, spec.page(w.f))
		}
		savedHeaders := victim.headers
		victim.headers = maps.Clone(savedHeaders)
		sent := a.prepare(token, other, cookieName, victim.cookies, victim.headers)
		before := w.state(victim)
		victim.setCookies = nil
		p := w.send(victim, method, spec, sent)
		victim.headers = savedHeaders
		after := w.state(victim)

		label := fmt.Sprintf("%s with %s", key, a.name)
		if bad := w.checkCookies(victim.setCookies); len(bad) > 0 {
			t.Errorf("%s: cookies: %s", label, strings.Join(bad, "; "))
		}
		if bad := checkHeaders(target, p); len(bad) > 0 {
			t.Errorf("%s: headers: %s", label, strings.Join(bad, "; "))
		}
		expect := spec.onBad
		if a.crossSite {
			expect = refused
		}
		switch expect {
		case refused:
			if p.status != http.StatusForbidden {
				t.Errorf("%s: %d %q, want 403", label, p.status, p.title())
			}
		case staleForm:
			if p.status >= 300 && p.status != http.StatusForbidden || !p.has("timed out") || p.has("Signed in as Staff member-a") && key == "POST /staff/login" {
				t.Errorf("%s: %d %q, want the form again saying it timed out", label, p.status, p.title())
			}
		case restart:
			if p.status != http.StatusOK || !strings.Contains(p.body, `action="/refer/start"`) {
				t.Errorf("%s: %d %q, want the start page", label, p.status, p.title())
			}
		case forget:
			if p.status != http.StatusOK || after["draft"] != "none" {
				t.Errorf("%s: %d %q, draft %s; want the answers deleted and the home page", label, p.status, p.title(), after["draft"])
			}
		}
		except := ""
		if expect == forget {
			except = "draft"
		}
		if diff := changed(before, after, except); len(diff) > 0 {
			t.Errorf("%s changed %s", label, strings.Join(diff, ", "))
		}
	}

	// The same form as the person sends it, from this site with the page's token, works.
	victim = w.person(spec.as, true)
	victim.get(spec.page(w.f))
	before := w.state(victim)
	p := w.send(victim, method, spec, tokenOf(victim.last))
	after := w.state(victim)
	if after[spec.changes] == before[spec.changes] || p.status >= 400 {
		t.Errorf("%s with the page's own token: %d %q, and %s did not change: the form does not work, so its refusals prove nothing",
			key, p.status, p.title(), spec.changes)
	}
	if spec.undo != nil {
		spec.undo(w)
	}
}

// Some requests are refused before any route or middleware runs: fasthttp itself turns away a
// body or headers too large and a request it cannot read, and the body limit runs first of
// the middleware. Their error pages still carry every security header. They are sent over a
// real connection, since app.Test cannot send them.
func TestSecurityHeadersOnRequestsRefusedEarly(t *testing.T) {
	s := newSite(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.app.Listener(ln) }()
	t.Cleanup(func() { _ = s.app.Shutdown() })
	form := "asker=someone&relationship=" + strings.Repeat("x", 300*1024)
	for _, c := range []struct {
		name, request string
		status        int
	}{
		{"a form over the body limit", "POST /refer/who HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: " + strconv.Itoa(len(form)) + "\r\n\r\n" + form, http.StatusRequestEntityTooLarge},
		{"a body over the server's limit", "POST /refer/who HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			"Content-Length: 50000000\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"headers too large", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Padding: " + strings.Repeat("x", 20*1024) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge},
		{"a request that cannot be read", "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: many\r\n\r\n", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, c.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			if bad := checkHeaders("/", page{resp.StatusCode, resp.Header, string(body)}); len(bad) > 0 {
				t.Errorf("the %d page: %s", resp.StatusCode, strings.Join(bad, "; "))
			}
		})
	}
}
