package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/handlers"
)

// newListingSite is the staff site with the listings pages.
func newListingSite(t *testing.T) *staffSite {
	t.Helper()
	s := newStaffSite(t)
	s.srv.Listings = &directory.Listings{Directory: s.dir, Store: s.db}
	app, err := s.srv.App()
	if err != nil {
		t.Fatal(err)
	}
	s.app = app
	return s
}

// A listing with every field filled in, as an editor types it.
func fullListing(name string) url.Values {
	return vals(
		"organisation", "Zephyr Community Trust",
		"name", name,
		"summary", "Cooking and budgeting sessions for families on a low income.",
		"description", "Weekly sessions where families cook a meal together.\r\n\r\nBring the children: there is a creche.",
		"needs", "money", "needs", "parenting",
		"categories", "Debt and welfare advice",
		"min-age", "0", "max-age", "18",
		"eligibility", "Families living in Wolverhampton",
		"area", "Wolverhampton city",
		"national", "",
		"free", "no", "cost", "£2 a session",
		"delivery", "in-person", "delivery", "phone",
		"self-referral", "yes", "how-to-refer", "Call us or just turn up.",
		"website", "https://zephyr.example.org", "email", "hello@zephyr.example.org",
		"phone-0-number", "01632 960123", "phone-0-type", "voice", "phone-0-description", "weekdays only",
		"phone-1-number", "07700 900456", "phone-1-type", "text", "phone-1-description", "Text 07700 900456 and we call back",
		"contact-0-name", "Sam Zephyr", "contact-0-title", "Family worker", "contact-0-email", "sam@zephyr.example.org", "contact-0-phone", "01632 960124",
		"location-0-name", "Zephyr Hall", "location-0-address", "1 Lichfield Street", "location-0-town", "Wolverhampton",
		"location-0-postcode", "wv1 1aa", "location-0-accessibility", "Step-free access, Accessible toilet",
		"location-0-times", "Monday 09:00-17:00\r\nWed 10:00-12:00 drop-in",
		"times", "Tuesday 09:00-13:00 phone line",
		"opening-notes", "Closed on bank holidays",
		"languages", "English, Punjabi",
		"accessibility", "Interpreters on request",
	)
}

var editLinkRE = regexp.MustCompile(`href="/staff/listings/([^/"]+)/edit"`)

// create adds a listing through the form and returns its id.
func create(t *testing.T, b *browser, form url.Values) string {
	t.Helper()
	b.get("/staff/listings/new")
	p := b.post("/staff/listings/new", form)
	m := editLinkRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("creating a listing: %d %s", p.status, errorsIn(p))
	}
	return m[1]
}

// setStatus presses one of the listing page's publishing buttons.
func setStatus(t *testing.T, b *browser, id string, to directory.Status) page {
	t.Helper()
	b.get("/staff/listings/" + id)
	p := b.post("/staff/listings/"+id+"/status", vals("status", string(to)))
	if p.status != http.StatusOK {
		t.Fatalf("status %s: %d", to, p.status)
	}
	return p
}

func (s *staffSite) found(t *testing.T, q, id string) bool {
	t.Helper()
	for _, got := range s.get(t, "/search?q="+url.QueryEscape(q)).resultIDs() {
		if got == id {
			return true
		}
	}
	return false
}

func TestEditorPublishesAListingFamiliesFind(t *testing.T) {
	s := newListingSite(t)
	b := s.signIn(t, "editor@example.org")
	if p := b.get("/staff"); !p.has(`href="/staff/listings"`) {
		t.Error("the editor's menu has no Listings")
	}
	id := create(t, b, fullListing("Zephyrine Family Kitchen"))
	p := b.last
	if !p.has("It is not published") || !p.has("Unpublished") {
		t.Errorf("a new listing is not saved unpublished: %q", p.title())
	}
	if s.found(t, "Zephyrine", id) || s.get(t, "/services/"+id).status != http.StatusNotFound {
		t.Fatal("an unpublished listing is on the public site")
	}

	p = setStatus(t, b, id, directory.Active)
	if !p.has("families can find it now") {
		t.Error("no notice after publishing")
	}
	if !s.found(t, "Zephyrine", id) {
		t.Fatal("the published listing is not found by the public search")
	}
	pub := s.get(t, "/services/"+id)
	if pub.status != http.StatusOK {
		t.Fatalf("public page: %d", pub.status)
	}
	for _, want := range []string{"Zephyr Community Trust", "Zephyrine Family Kitchen", "Cooking and budgeting sessions",
		"Weekly sessions where families cook a meal together.", "Bring the children: there is a creche.",
		`href="tel:01632960123"`, "(weekdays only)", "Text 07700 900456 and we call back", "mailto:hello@zephyr.example.org",
		`href="https://zephyr.example.org"`, "Sam Zephyr", "Family worker", `href="tel:01632960124"`, "sam@zephyr.example.org",
		"Tuesday, 9am to 1pm (phone line)", "Closed on bank holidays", "Up to 18 years old", "Families living in Wolverhampton",
		"Wolverhampton city", "£2 a session", "In person, by phone", "English, Punjabi", "Interpreters on request",
		"Zephyr Hall", "1 Lichfield Street", "WV1 1AA", "Monday, 9am to 5pm", "Wednesday, 10am to midday (drop-in)",
		"Access: Step-free access, Accessible toilet.", "Call us or just turn up.", "You can contact this service yourself.",
		"Last checked: " + time.Now().UTC().Format("2 January 2006"), "Report a problem with this page"} {
		if !pub.has(want) {
			t.Errorf("the public page lacks %q", want)
		}
	}
	// The place was located from its postcode, so a search near it finds the service.
	near := s.get(t, "/search?q=Zephyrine&postcode=WV1+1AA")
	if !near.has("Less than 0.1 miles away") {
		t.Error("the listing's place was not located from its postcode")
	}
	stored, _ := s.db.GetService(context.Background(), id)
	if len(stored.Categories) != 1 || stored.Categories[0] != "Debt and welfare advice" || stored.Locations[0].Latitude == 0 {
		t.Errorf("stored %+v", stored)
	}

	// Each way off the public site takes it out of the search and its page.
	for _, st := range []directory.Status{directory.Inactive, directory.TemporarilyClosed, directory.Defunct} {
		setStatus(t, b, id, st)
		if s.found(t, "Zephyrine", id) {
			t.Errorf("%s: still found by the search", st)
		}
		if p := s.get(t, "/services/"+id); p.status != http.StatusNotFound {
			t.Errorf("%s: the public page is %d", st, p.status)
		}
		if got, _ := s.db.GetService(context.Background(), id); got.Status != st {
			t.Errorf("stored status %q, want %q", got.Status, st)
		}
		setStatus(t, b, id, directory.Active)
		if !s.found(t, "Zephyrine", id) {
			t.Errorf("published again after %s: not found", st)
		}
	}

	// Found by name in the editors' list, whatever its status.
	setStatus(t, b, id, directory.Inactive)
	if p := b.get("/staff/listings?q=zephyrine"); !p.has("Zephyrine Family Kitchen") || !p.has("1 listing") {
		t.Errorf("search by name: %s", p.title())
	}
	if p := b.get("/staff/listings?q=zephyrine&status=active"); p.has("Zephyrine Family Kitchen") {
		t.Error("the status filter keeps an unpublished listing")
	}
	// The search's wildcards are plain characters.
	if p := b.get("/staff/listings?q=%25"); p.has("Zephyrine Family Kitchen") {
		t.Error("% matched every name")
	}
}

func TestListingFormErrorsKeepAnswers(t *testing.T) {
	s := newListingSite(t)
	b := s.signIn(t, "editor@example.org")
	evil := `<script>alert("x")</script>`
	form := fullListing(evil)
	form.Set("summary", "")
	form.Set("location-0-postcode", "ZE9 9ZZ")
	form.Set("phone-0-number", "call me")
	form.Set("description", "Nice\u202eevil")
	form.Set("location-0-times", "Someday 9-5")
	form.Set("email", "not an email")
	form.Set("min-age", "20")
	b.get("/staff/listings/new")
	p := b.post("/staff/listings/new", form)
	if p.status != http.StatusUnprocessableEntity || !strings.HasPrefix(p.title(), "Error: ") {
		t.Fatalf("invalid listing: %d %q", p.status, p.title())
	}
	got := errorsIn(p)
	for _, want := range []string{"Enter a summary", "postcode of place 1", "phone number 1 using only digits",
		"description of what the service offers must not contain special characters", "Opening times of place 1",
		"email address in the correct format", "oldest age must be the same as or more"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	if !strings.Contains(p.body, `class="govuk-error-summary"`) || !strings.Contains(p.body, `href="#summary"`) {
		t.Error("no GOV.UK error summary linking to the field")
	}
	if strings.Contains(p.body, "<script>alert") || !p.has(`value="`+evil+`"`) {
		t.Error("the hostile name is not kept, escaped")
	}
	for _, kept := range []string{"Zephyr Community Trust", "ZE9 9ZZ", "call me", "Someday 9-5", "Sam Zephyr", "Interpreters on request", "£2 a session"} {
		if !p.has(kept) {
			t.Errorf("the answer %q was not kept", kept)
		}
	}
	if n, _ := s.db.CountServices(context.Background()); n != countSeeded(t, s) {
		t.Error("an invalid listing was saved")
	}
	// "Add another" keeps what was typed and offers one more row.
	p = b.post("/staff/listings/new", vals("name", "Half done", "phone-0-number", "01632 960000", "action", "add-phone"))
	if p.status != http.StatusOK || !p.has(`name="phone-1-number"`) || !p.has("Half done") || p.has("There is a problem") {
		t.Errorf("add another phone: %d", p.status)
	}
}

func countSeeded(t *testing.T, s *staffSite) int {
	t.Helper()
	n := 0
	_ = s.db.EachService(context.Background(), func(*directory.Service) error { n++; return nil })
	return n
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenValues are the values a page's forms carry unseen, as the browser would post them.
func hiddenValues(p page) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		if m[1] != "_csrf" {
			v.Add(m[1], html.UnescapeString(m[2]))
		}
	}
	return v
}

func TestPreviewShowsUnsavedChanges(t *testing.T) {
	s := newListingSite(t)
	b := s.signIn(t, "editor@example.org")
	id := create(t, b, fullListing("Quillon Parents Club"))
	setStatus(t, b, id, directory.Active)

	edit := b.get("/staff/listings/" + id + "/edit")
	if !edit.has("Cooking and budgeting sessions") {
		t.Fatal("the form does not show the listing as it is")
	}
	form := fullListing("Quillon Parents Club")
	form.Set("summary", "A brand new summary nobody has seen.")
	form.Set("version", hiddenValues(edit).Get("version"))
	form.Set("action", "preview")
	p := b.post("/staff/listings/"+id+"/edit", form)
	if p.status != http.StatusOK || !p.has("Preview") || !p.has("Your changes are not saved yet") || !p.has("A brand new summary nobody has seen.") {
		t.Fatalf("preview: %d %q %s", p.status, p.title(), errorsIn(p))
	}
	if !p.has("Exit this page") || !p.has("Quillon Parents Club") {
		t.Error("the preview is not the public page")
	}
	if pub := s.get(t, "/services/"+id); pub.has("A brand new summary") || !pub.has("Cooking and budgeting sessions") {
		t.Error("previewing changed the public page")
	}
	if got, _ := s.db.GetService(context.Background(), id); got.Summary != "Cooking and budgeting sessions for families on a low income." {
		t.Error("previewing saved the change")
	}

	// "Go back and change": the form again, with the unsaved change.
	back := hiddenValues(p)
	back.Set("action", "edit")
	p2 := b.post("/staff/listings/"+id+"/edit", back)
	if !p2.has("A brand new summary nobody has seen.") || !p2.has(`name="version"`) {
		t.Fatal("going back from the preview lost the change")
	}
	// Preview again, then Save from the preview.
	again := formOf(p2)
	again.Set("action", "preview")
	p3 := b.post("/staff/listings/"+id+"/edit", again)
	save := hiddenValues(p3)
	save.Set("action", "save")
	p4 := b.post("/staff/listings/"+id+"/edit", save)
	if !p4.has("Your changes are saved") {
		t.Fatalf("saving from the preview: %d %s", p4.status, errorsIn(p4))
	}
	if pub := s.get(t, "/services/"+id); !pub.has("A brand new summary nobody has seen.") {
		t.Error("the saved change is not on the public page")
	}

	// A new listing can be previewed before it is ever saved, and is not saved by it.
	before := countSeeded(t, s)
	b.get("/staff/listings/new")
	newForm := fullListing("Never Saved Group")
	newForm.Set("action", "preview")
	if p := b.post("/staff/listings/new", newForm); !p.has("Never Saved Group") || !p.has("The listing is not published") {
		t.Errorf("preview of a new listing: %d", p.status)
	}
	if countSeeded(t, s) != before {
		t.Error("previewing a new listing saved it")
	}
	// The saved, unpublished listing's own preview.
	setStatus(t, b, id, directory.Inactive)
	if p := b.get("/staff/listings/" + id + "/preview"); !p.has("The listing is not published") || !p.has("A brand new summary") {
		t.Error("the preview of a saved unpublished listing")
	}

	// Someone else saves in between: the second save is refused, with the typed answers kept.
	stale := b.get("/staff/listings/" + id + "/edit")
	staleForm := fullListing("Quillon Parents Club")
	staleForm.Set("version", hiddenValues(stale).Get("version"))
	staleForm.Set("summary", "My change")
	other := s.signIn(t, "admin@example.org")
	otherForm := fullListing("Quillon Parents Club")
	otherForm.Set("summary", "Their change")
	other.get("/staff/listings/" + id + "/edit")
	other.post("/staff/listings/"+id+"/edit", otherForm)
	p = b.post("/staff/listings/"+id+"/edit", staleForm)
	if !p.has("Someone else changed this listing") || !p.has("My change") {
		t.Errorf("a save over someone else's change: %d", p.status)
	}
	if got, _ := s.db.GetService(context.Background(), id); got.Summary != "Their change" {
		t.Errorf("summary %q after the refused save", got.Summary)
	}
}

func TestReviewQueueAndHistory(t *testing.T) {
	s := newListingSite(t)
	ctx := context.Background()
	now := time.Now().UTC()
	// Two listings far more overdue than any sample one.
	for id, age := range map[string]int{"larkspur-walsall-outreach": 3, "national-drinkline": 2} {
		svc, err := s.db.GetService(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		svc.LastReviewed = now.AddDate(-age, 0, 0)
		if err := s.dir.Save(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	b := s.signIn(t, "editor@example.org")
	q := b.get("/staff/listings/review")
	ids := regexp.MustCompile(`<a class="govuk-link" href="/staff/listings/([^"#/]+)">`).FindAllStringSubmatch(q.body, -1)
	if len(ids) < 2 || ids[0][1] != "larkspur-walsall-outreach" || ids[1][1] != "national-drinkline" {
		t.Fatalf("the queue does not start with the most overdue: %v", ids[:min(len(ids), 3)])
	}
	if !q.has("Overdue") || !q.has("overdue first") {
		t.Error("overdue listings are not marked")
	}
	// A listing due in a year is not in the queue; one with a date set soon is.
	if q.has(`href="/staff/listings/national-mind-infoline"`) {
		t.Error("a listing checked this month is in the queue")
	}

	p := b.post("/staff/listings/larkspur-walsall-outreach/reviewed", vals("from", "queue"))
	if !p.has("marked as reviewed") || p.has(`href="/staff/listings/larkspur-walsall-outreach"`) {
		t.Error("the reviewed listing is still in the queue")
	}
	pub := s.get(t, "/services/larkspur-walsall-outreach")
	if !pub.has("Last checked: " + now.Format("2 January 2006")) {
		t.Error("the public page does not say it was checked today")
	}

	// An editor changes a field and sets the next review; the history says who did what.
	edit := b.get("/staff/listings/national-drinkline/edit")
	form := formOf(edit)
	form.Set("summary", "A changed summary.")
	next := now.AddDate(0, 1, 0)
	form.Set("review-due-day", next.Format("2"))
	form.Set("review-due-month", next.Format("1"))
	form.Set("review-due-year", next.Format("2006"))
	if p := b.post("/staff/listings/national-drinkline/edit", form); !p.has("Your changes are saved") {
		t.Fatalf("saving: %d %s", p.status, errorsIn(p))
	}
	setStatus(t, b, "national-drinkline", directory.TemporarilyClosed)
	h := b.get("/staff/listings/national-drinkline/history")
	for _, want := range []string{"Staff editor", "changed listing", "summary", "review due: usual → " + next.Format("2 January 2006"),
		"marked listing temporarily closed", "Published → Temporarily closed"} {
		if !h.has(want) {
			t.Errorf("history lacks %q", want)
		}
	}
	if h.has("A changed summary") {
		t.Error("the history holds the text of a change, not its name")
	}
	trail, _ := s.db.AuditTrail(ctx, "service:national-drinkline", 10)
	if len(trail) != 2 || trail[0].AccountID == "" {
		t.Errorf("audit trail %+v", trail)
	}
	// The date the editor set is the review date now.
	if l := b.get("/staff/listings/national-drinkline"); !l.has(next.Format("2 January 2006")) {
		t.Error("the listing does not show the review date set")
	}
}

// formOf is what a browser would post from the edit page as it stands: every text field,
// ticked box and chosen radio, with the hidden values.
func formOf(p page) url.Values {
	v := hiddenValues(p)
	for _, m := range regexp.MustCompile(`<input class="govuk-input[^"]*" id="[^"]+" name="([^"]+)" type="[a-z]+" value="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`<input class="govuk-(?:checkboxes|radios)__input" id="[^"]+" name="([^"]+)" type="[a-z]+" value="([^"]*)" checked`).FindAllStringSubmatch(p.body, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func TestReportAProblemReachesTheQueue(t *testing.T) {
	s := newListingSite(t)
	const id = "national-drinkline"
	public := s.browser(t)
	svc := public.get("/services/" + id)
	if !svc.has(`href="/services/`+id+`/report"`) || !svc.has("Report a problem with this page") {
		t.Fatal("no report link on the public page")
	}
	form := public.get("/services/" + id + "/report")
	if form.status != http.StatusOK || !form.has("Exit this page") || form.title() != "Report a problem with a page – Family Help" {
		t.Fatalf("report page: %d %q", form.status, form.title())
	}
	if form.has("name=\"email\"") || form.has("Your name") {
		t.Error("the report form asks for personal details")
	}
	// Without a token: refused, and nothing stored.
	if p := public.do(http.MethodPost, "/services/"+id+"/report", vals("problem", "Forged")); p.status != http.StatusForbidden || !p.has("Forged") {
		t.Errorf("a report without a token: %d", p.status)
	}
	public.get("/services/" + id + "/report")
	if p := public.post("/services/"+id+"/report", vals("problem", "  ")); p.status != http.StatusUnprocessableEntity || !strings.Contains(errorsIn(p), "Enter what is wrong") {
		t.Errorf("an empty report: %d %s", p.status, errorsIn(p))
	}
	if p := public.post("/services/"+id+"/report", vals("problem", "bad\x00byte <b>bold</b>")); !strings.Contains(errorsIn(p), "special characters") || strings.Contains(p.body, "<b>bold") {
		t.Errorf("a hostile report: %s", errorsIn(p))
	}
	if p := public.post("/services/"+id+"/report", vals("problem", strings.Repeat("x", 1001))); !strings.Contains(errorsIn(p), "1,000 characters or fewer") {
		t.Errorf("a long report: %s", errorsIn(p))
	}
	p := public.post("/services/"+id+"/report", vals("problem", "The phone number <rang> out, and they have moved."))
	if p.status != http.StatusOK || !p.has("Thank you") {
		t.Fatalf("sending a report: %d %s", p.status, errorsIn(p))
	}

	b := s.signIn(t, "editor@example.org")
	q := b.get("/staff/listings/review")
	if !q.has(`href="/staff/listings/`+id+`#problems"`) || !q.has("1 listing has problems reported") {
		t.Error("the report is not counted in the review queue")
	}
	l := b.get("/staff/listings/" + id)
	if !l.has("The phone number <rang> out, and they have moved.") || strings.Contains(l.body, "<rang>") {
		t.Fatal("the report is not shown on the listing's page, escaped")
	}
	if h := b.get("/staff/listings/" + id + "/history"); !h.has("problem reported") || !h.has("Member of the public") {
		t.Error("the report is not in the history")
	}
	rid := regexp.MustCompile(`/reports/(\d+)/done`).FindStringSubmatch(l.body)
	if rid == nil {
		t.Fatal("no way to mark the report dealt with")
	}
	p = b.post("/staff/listings/"+id+"/reports/"+rid[1]+"/done", vals())
	if !p.has("The problem is marked as dealt with") || !p.has("1 problem dealt with") || !p.has("Dealt with by Staff editor") {
		t.Errorf("after dealing with it: %d", p.status)
	}
	if q := b.get("/staff/listings/review"); q.has("1 listing has problems reported") {
		t.Error("a dealt-with report still counts")
	}
	// Another listing's page cannot deal with it.
	b.get("/staff/listings/national-mind-infoline")
	if p := b.post("/staff/listings/national-mind-infoline/reports/"+rid[1]+"/done", vals()); p.status != http.StatusNotFound {
		t.Errorf("dealing with a report through another listing: %d", p.status)
	}
	// Unpublished listings take no reports.
	setStatus(t, b, id, directory.Inactive)
	if p := public.get("/services/" + id + "/report"); p.status != http.StatusNotFound {
		t.Errorf("report page of an unpublished listing: %d", p.status)
	}

	// One connection cannot flood the queue.
	setStatus(t, b, id, directory.Active)
	flood := s.browser(t)
	flood.ip = "198.51.100.7"
	var last page
	for i := range handlers.ReportPerIP.Burst + 1 {
		flood.get("/services/" + id + "/report")
		last = flood.post("/services/"+id+"/report", vals("problem", "Spam "+string(rune('a'+i))))
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(errorsIn(last), "a lot of reports") || !last.has("Spam") {
		t.Errorf("report %d from one address: %d %s", handlers.ReportPerIP.Burst+1, last.status, errorsIn(last))
	}
}

// listingRoutes are every listings page and form, for one listing and one of its reports.
func listingRoutes(id, report string) (gets, posts []string) {
	base := "/staff/listings/" + id
	gets = []string{"/staff/listings", "/staff/listings/new", "/staff/listings/review", base, base + "/edit", base + "/preview", base + "/history"}
	posts = []string{"/staff/listings/new", base + "/edit", base + "/status", base + "/reviewed", base + "/reports/" + report + "/done"}
	return gets, posts
}

func TestOnlyEditorsReachListings(t *testing.T) {
	s := newListingSite(t)
	const id = "national-drinkline"
	ctx := context.Background()
	rid, err := s.srv.Listings.Report(ctx, id, "Wrong number")
	if err != nil {
		t.Fatal(err)
	}
	report := strconv.FormatInt(rid, 10)
	gets, posts := listingRoutes(id, report)
	before, _ := s.db.GetService(ctx, id)
	change := func() url.Values {
		return vals("status", "defunct", "name", "Hijacked", "summary", "x", "action", "save")
	}
	for _, email := range []string{"member-a@example.org", "manager-a@example.org", "da@example.org"} {
		b := s.signIn(t, email)
		if p := b.get("/staff"); p.has(`href="/staff/listings"`) {
			t.Errorf("%s is offered Listings", email)
		}
		missing := b.get("/staff/no-such-page")
		for _, path := range gets {
			p := b.get(path)
			if p.status != http.StatusNotFound || requestIDLine.ReplaceAllString(p.body, "") != requestIDLine.ReplaceAllString(missing.body, "") {
				t.Errorf("%s: GET %s = %d, want the same 404 as a missing page", email, path, p.status)
			}
		}
		for _, path := range posts {
			b.get("/staff")
			if p := b.post(path, change()); p.status != http.StatusNotFound {
				t.Errorf("%s: POST %s = %d, want 404", email, path, p.status)
			}
		}
	}
	// Signed out, every listings page is the sign-in page, as every other staff page is.
	anon := s.browser(t)
	for _, path := range gets {
		if p := anon.get(path); !p.has("Sign in") || p.has("Drinkline") || p.has("Listings") {
			t.Errorf("anonymous GET %s: %d %q", path, p.status, p.title())
		}
	}
	for _, path := range posts {
		anon.get("/staff/login")
		if p := anon.post(path, change()); p.has("Drinkline") || p.status == http.StatusOK && !p.has("Sign in") {
			t.Errorf("anonymous POST %s: %d %q", path, p.status, p.title())
		}
	}
	after, _ := s.db.GetService(ctx, id)
	if after.Name != before.Name || after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Error("someone who is not an editor changed the listing")
	}
	if reports, _ := s.db.Reports(ctx, id); len(reports) != 1 || !reports[0].Open() {
		t.Error("someone who is not an editor dealt with a report")
	}
	// Editors and admins may.
	for _, email := range []string{"editor@example.org", "admin@example.org"} {
		b := s.signIn(t, email)
		for _, path := range gets {
			if p := b.get(path); p.status != http.StatusOK {
				t.Errorf("%s: GET %s = %d", email, path, p.status)
			}
		}
	}
}

func TestListingFormsNeedCSRF(t *testing.T) {
	s := newListingSite(t)
	const id = "national-drinkline"
	ctx := context.Background()
	rid, _ := s.srv.Listings.Report(ctx, id, "Wrong number")
	_, posts := listingRoutes(id, strconv.FormatInt(rid, 10))
	before, _ := s.db.GetService(ctx, id)
	n := countSeeded(t, s)
	b := s.signIn(t, "editor@example.org")
	for _, path := range posts {
		b.get("/staff/listings")
		form := fullListing("Forged")
		form.Set("status", "defunct")
		p := b.do(http.MethodPost, path, form)
		// The listing form comes back with what was typed and nothing saved (a person who
		// left it open too long); every other post is refused.
		isForm := strings.HasSuffix(path, "/new") || strings.HasSuffix(path, "/edit")
		if isForm && (p.status != http.StatusOK || !p.has("This page timed out")) || !isForm && p.status != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d", path, p.status)
		}
	}
	after, _ := s.db.GetService(ctx, id)
	if !after.UpdatedAt.Equal(before.UpdatedAt) || countSeeded(t, s) != n {
		t.Error("a forged post changed the directory")
	}
	if reports, _ := s.db.Reports(ctx, id); len(reports) != 1 || !reports[0].Open() {
		t.Error("a forged post dealt with a report")
	}
}

// An editor who leaves the form open until its token expires gets the form back with what
// they typed, and nothing saved.
func TestListingFormTimeoutKeepsAnswers(t *testing.T) {
	s := newListingSite(t)
	b := s.signIn(t, "editor@example.org")
	edit := b.get("/staff/listings/national-drinkline/edit")
	form := formOf(edit)
	form.Set("summary", "Typed over a long lunch")
	form.Set("_csrf", "expired-token")
	p := b.post("/staff/listings/national-drinkline/edit", form)
	if p.status != http.StatusOK || !p.has("This page timed out") || !p.has("Typed over a long lunch") {
		t.Fatalf("after the token expired: %d %q", p.status, p.title())
	}
	if svc, _ := s.dir.Get(context.Background(), "national-drinkline"); svc.Summary == "Typed over a long lunch" {
		t.Error("a form with an expired token was saved")
	}
	// Saving again from that page works.
	if p := b.post("/staff/listings/national-drinkline/edit", formOf(p)); !p.has("Your changes are saved") {
		t.Errorf("saving after the timeout: %d %s", p.status, errorsIn(p))
	}
	// Someone not signed in gets nothing from a form posted with a bad token.
	anon := s.browser(t)
	if p := anon.do(http.MethodPost, "/staff/listings/national-drinkline/edit", form); p.status != http.StatusForbidden || p.has("Typed over") {
		t.Errorf("signed out, a stale form: %d", p.status)
	}
}
