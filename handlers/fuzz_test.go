package handlers

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"familyhelp/directory"
	"familyhelp/referral"
)

// The fuzz targets here post any body to the referral journey's question pages and to the
// listing editor, through the decoding, checks and templates the routes use, and read each page
// that comes back the way a browser does: the answers in it, submitted again unchanged, must
// come back unchanged; every problem must link to a field on the page; what was typed is given
// back, escaped; and answers that pass their checks are saved, shown and saved again as they
// were.

// fuzzApp gives the fuzz targets Fiber contexts configured as the site's are (Immutable: the
// posted values outlive the request).
var fuzzApp = fiber.New(fiber.Config{Immutable: true})

// onPost runs fn on a request whose body is the posted form body, and returns the page fn
// wrote.
func onPost(t testing.TB, body string, fn func(c *fiber.Ctx) error) string {
	t.Helper()
	var fctx fasthttp.RequestCtx
	fctx.Request.Header.SetMethod(fiber.MethodPost)
	fctx.Request.Header.SetContentType(fiber.MIMEApplicationForm)
	fctx.Request.SetRequestURI("/fuzz")
	fctx.Request.SetBodyString(body)
	c := fuzzApp.AcquireCtx(&fctx)
	defer fuzzApp.ReleaseCtx(c)
	if err := fn(c); err != nil {
		t.Fatalf("post %q: %v", body, err)
	}
	return string(c.Response().Body())
}

// fields returns a body's fields as the site reads them, in order.
func fields(body string) [][2]string {
	var a fasthttp.Args
	a.Parse(body)
	var out [][2]string
	for k, v := range a.All() {
		out = append(out, [2]string{string(k), string(v)})
	}
	return out
}

// encode writes fields as a form body.
func encode(fs [][2]string) string {
	var a fasthttp.Args
	for _, f := range fs {
		a.Add(f[0], f[1])
	}
	return a.String()
}

var (
	attrRE     = regexp.MustCompile(`([a-zA-Z][-a-zA-Z0-9]*)(?:="([^"]*)")?`)
	summaryRE  = regexp.MustCompile(`<a href="#([^"]*)">`)
	newlinesRE = strings.NewReplacer("\r\n", "\n", "\r", "\n")
)

// control is a form control of a page, as a browser sees it.
type control struct {
	kind    string // "text" (any one-line input), "hidden", "checkbox", "radio", "textarea", "email", "url"
	name    string
	value   string
	checked bool
}

// controls reads a page's form controls as a browser parses the markup: line breaks become
// "\n", then character references are decoded.
func controls(page string) []control {
	var out []control
	for {
		i, tag := strings.Index(page, "<input"), "<input"
		if j := strings.Index(page, "<textarea"); j >= 0 && (i < 0 || j < i) {
			i, tag = j, "<textarea"
		}
		if i < 0 {
			return out
		}
		page = page[i+len(tag):]
		end := strings.IndexByte(page, '>')
		if end < 0 {
			return out
		}
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(page[:end], -1) {
			attrs[a[1]] = html.UnescapeString(newlinesRE.Replace(a[2]))
		}
		page = page[end+1:]
		_, checked := attrs["checked"]
		c := control{kind: attrs["type"], name: attrs["name"], value: attrs["value"], checked: checked}
		switch {
		case tag == "<textarea":
			c.kind = "textarea"
			close := strings.Index(page, "</textarea>")
			if close < 0 {
				return out
			}
			c.value = html.UnescapeString(newlinesRE.Replace(page[:close]))
			page = page[close:]
		case c.kind == "" || c.kind == "tel":
			c.kind = "text"
		}
		out = append(out, c)
	}
}

// ids are the ids of a page's elements, in order.
func ids(page string) []string {
	var out []string
	for {
		i := strings.Index(page, ` id="`)
		if i < 0 {
			return out
		}
		page = page[i+len(` id="`):]
		end := strings.IndexByte(page, '"')
		if end < 0 {
			return out
		}
		out = append(out, html.UnescapeString(page[:end]))
		page = page[end:]
	}
}

// submit is what a browser sends when the page's form is submitted unchanged: text as shown
// (one-line inputs drop line breaks; email and url inputs also drop surrounding spaces),
// textareas with "\r\n" line breaks, and ticked boxes only.
func submit(cs []control) string {
	var out [][2]string
	for _, c := range cs {
		if c.name == "" || c.name == "_csrf" {
			continue
		}
		v := c.value
		switch c.kind {
		case "checkbox", "radio":
			if !c.checked {
				continue
			}
		case "textarea":
			// A browser leaves out one line break at the start of a textarea, so each time
			// the page is shown again one more goes. They are not answers (every answer is
			// trimmed), so all go here, and one round shows where the page settles.
			v = strings.ReplaceAll(strings.TrimLeft(v, "\n"), "\n", "\r\n")
		case "hidden":
		case "email", "url":
			v = strings.Trim(strings.NewReplacer("\r", "", "\n", "").Replace(v), " \t\n\f\r")
		default:
			v = strings.NewReplacer("\r", "", "\n", "").Replace(v)
		}
		out = append(out, [2]string{c.name, v})
	}
	return encode(out)
}

// checkPage checks what every page with a form must do: ids are unique, every problem is in
// the error summary with a link to a field that is on the page, and nothing typed added a
// script.
func checkPage(t *testing.T, body, page string, links []string, messages []string, scripts int) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range ids(page) {
		if seen[id] {
			t.Fatalf("post %q: the page has id %q twice", body, id)
		}
		seen[id] = true
	}
	var summary []string
	for _, m := range summaryRE.FindAllStringSubmatch(page, -1) {
		summary = append(summary, html.UnescapeString(m[1]))
	}
	if !slices.Equal(summary, links) {
		t.Fatalf("post %q: the error summary links to %q, want %q", body, summary, links)
	}
	for _, l := range links {
		if !seen[l] {
			t.Fatalf("post %q: the problem with %q links to a field that is not on the page", body, l)
		}
	}
	for _, m := range messages {
		if !strings.Contains(page, html.EscapeString(m)) {
			t.Fatalf("post %q: the message %q is not on the page", body, m)
		}
	}
	if n := countScripts(page); n != scripts {
		t.Fatalf("post %q: the page has %d scripts, the empty page %d", body, n, scripts)
	}
}

// fuzzSteps are the journey's question pages in the fuzzer's numbering.
var fuzzSteps = []referral.Step{referral.StepWho, referral.StepProfessional, referral.StepDanger, referral.StepNeeds,
	referral.StepAdult, referral.StepChildren, referral.StepHome, referral.StepNetwork, referral.StepContact, referral.StepConsent}

// stepDraft is a draft that has reached step, asked for by each kind of asker.
func stepDraft(step referral.Step, asker uint8) *referral.Draft {
	askers := []referral.Asker{referral.AskerSelf, referral.AskerSomeone, referral.AskerProfessional, referral.AskerProfessional}
	r := referral.Referral{Asker: askers[int(asker)%len(askers)]}
	if step == referral.StepProfessional {
		r.Asker = referral.AskerProfessional
	}
	if r.Asker == referral.AskerProfessional {
		r.Professional = &referral.Professional{FamilyAgreed: []string{"yes", "no"}[int(asker)/len(askers)%2]}
	}
	return &referral.Draft{ID: "fuzz", Referral: r}
}

func cloneReferral(t *testing.T, r referral.Referral) referral.Referral {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out referral.Referral
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// FuzzReferralAnswers posts any body to any question page of the journey.
func FuzzReferralAnswers(f *testing.F) {
	seeds := map[referral.Step][]string{
		referral.StepWho:          {"asker=self", "asker=someone&relationship=Grandmother", "asker=someone&relationship=", "asker=boss"},
		referral.StepProfessional: {"name=Sam+Lee&organisation=St+Mary%27s+School&role=Safeguarding+lead&email=Sam.Lee%40example.org&phone=01902+000000&family-agreed=no&no-consent-reason=They+could+not+be+reached&child-protection=yes"},
		referral.StepDanger:       {"danger=yes", "danger=no", "danger=maybe"},
		referral.StepNeeds:        {"needs=money&needs=housing&story=We+are+behind+on+rent.%0D%0AThe+landlord+calls+every+day.", "needs=money&needs=money&story=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "story=+++"},
		referral.StepAdult:        {"adult-name=Jo+Bloggs&call-me=Jo", "adult-name=%22%3E%3Cscript%3E"},
		referral.StepChildren: {"child-0-name=Amy&child-0-age=4&child-1-name=Ben&child-1-born-day=27&child-1-born-month=3&child-1-born-year=2019&child-2-expected=yes",
			"child-0-name=&child-0-age=&child-3-name=Zed&child-3-age=30", "child-10-name=Eleven&child-10-age=5", "action=add&child-0-name=A"},
		referral.StepHome:    {"postcode=wv11aa&address=1+High+Street%0D%0AWolverhampton&interpreter=yes&languages=Punjabi", "postcode=WV1+1", "postcode=%C2%A0WS3%C2%A02DA"},
		referral.StepNetwork: {"person-0-name=Nan&person-0-relationship=Grandmother&person-0-may-contact=yes", "nobody=yes", "nobody=yes&person-1-name=X"},
		referral.StepContact: {"safe=call&safe=text&phone=07700+900123&say-who-we-are=no&safe-times=After+3pm",
			"safe=email&email=Jo%40Example.org&say-who-we-are=yes&confirmation=yes", "safe=they", "safe=letter&contact-address=1+High+St&say-who-we-are=yes", "safe=call&safe=call&safe=call&safe=call&safe=call&safe=call"},
		referral.StepConsent: {"consent=yes", "consent=no"},
	}
	for i, step := range fuzzSteps {
		for j, body := range seeds[step] {
			f.Add(uint8(i), uint8(j), body)
		}
	}
	s := &Server{}
	now := time.Now()
	scripts := map[referral.Step]int{}
	for _, step := range fuzzSteps {
		d := stepDraft(step, 0)
		scripts[step] = countScripts(onPost(f, "", func(c *fiber.Ctx) error {
			return s.renderStep(c, step, d, parseStep(c, step, &d.Referral), nil, "")
		}))
	}
	f.Fuzz(func(t *testing.T, stepNo, asker uint8, body string) {
		step := fuzzSteps[int(stepNo)%len(fuzzSteps)]
		d := stepDraft(step, asker)
		if len(fields(body)) > maxFields {
			return // refused before it is read
		}
		// answer reads a body as the page's route does, and shows it again with its problems.
		answer := func(body string) (referral.Form, referral.Errors, string) {
			var form referral.Form
			var errs referral.Errors
			page := onPost(t, body, func(c *fiber.Ctx) error {
				form = parseStep(c, step, &d.Referral)
				errs = form.Check(now)
				return s.renderStep(c, step, d, form, errs, "")
			})
			var links, messages []string
			for _, e := range errs {
				links = append(links, errorTarget(step, e.Field))
				messages = append(messages, e.Message)
			}
			checkPage(t, body, page, links, messages, scripts[step])
			return form, errs, page
		}
		read := func(body string) referral.Form {
			var form referral.Form
			onPost(t, body, func(c *fiber.Ctx) error { form = parseStep(c, step, &d.Referral); return nil })
			return form
		}

		form, errs, page := answer(body)
		cs := controls(page)

		// What was typed is given back: each text box holds exactly what was posted for it.
		posted := fields(body)
		base := read(encode(posted))
		value := func(name string) string {
			for _, p := range posted {
				if p[0] == name {
					return p[1]
				}
			}
			return ""
		}
		for _, c := range cs {
			if c.kind == "text" || c.kind == "textarea" || c.kind == "email" {
				if v := newlinesRE.Replace(value(c.name)); c.value != v {
					t.Fatalf("post %q to %s: %s shows %q, not what was typed", body, step, c.name, c.value)
				}
			}
		}
		// Nothing the page reads is dropped: every answer that changes what is read is on the
		// page again, unless it chose an option the page does not offer.
		for i, p := range posted {
			if strings.TrimSpace(p[1]) == "" {
				continue
			}
			without := slices.Delete(slices.Clone(posted), i, i+1)
			if reflect.DeepEqual(read(encode(without)), base) {
				continue // not read: a field the page does not have, or a second value
			}
			onPage, offered := false, false
			for _, c := range cs {
				if c.name == p[0] {
					onPage = true
					offered = offered || c.kind == "text" || c.kind == "textarea" || c.kind == "email" || c.value == p[1] && c.checked
				}
			}
			if onPage && !offered && !slices.ContainsFunc(cs, func(c control) bool { return c.name == p[0] && c.value == p[1] }) {
				continue // not one of the options: not an answer
			}
			if !offered {
				t.Fatalf("post %q to %s: the answer %s=%q is read but not shown again", body, step, p[0], p[1])
			}
		}

		// The page submitted again as it is shows the same page again.
		again := submit(cs)
		_, errs2, page2 := answer(again)
		_, errs3, page3 := answer(submit(controls(page2)))
		if !slices.Equal(errs2, errs3) || page2 != page3 {
			t.Fatalf("post %q to %s: submitting the page again changes it\n%q\n%q\n%s", body, step, errs2, errs3, difference(page2, page3))
		}

		if len(errs) > 0 {
			return
		}
		// Answers that pass are saved; the saved answers pass their own checks; the page
		// showing them, submitted unchanged, saves the same answers again.
		saved := cloneReferral(t, d.Referral)
		form.Apply(&saved)
		shown := referral.FormFor(&saved, step)
		if errs := shown.Check(now); len(errs) > 0 {
			t.Fatalf("post %q to %s: the saved answers fail their own checks: %q", body, step, errs)
		}
		d.Referral = saved
		page4 := onPost(t, "", func(c *fiber.Ctx) error { return s.renderStep(c, step, d, shown, nil, "") })
		resaid := read(submit(controls(page4)))
		if errs := resaid.Check(now); len(errs) > 0 {
			t.Fatalf("post %q to %s: the page of saved answers, sent unchanged, fails: %q", body, step, errs)
		}
		resaved := cloneReferral(t, saved)
		resaid.Apply(&resaved)
		if !sameJSON(saved, resaved) {
			a, _ := json.Marshal(saved)
			b, _ := json.Marshal(resaved)
			t.Fatalf("post %q to %s: the saved answers change when their page is sent unchanged:\n%s\n%s", body, step, a, b)
		}
	})
}

// FuzzListingForm posts any body to the listing editor.
func FuzzListingForm(f *testing.F) {
	full := url.Values{
		"organisation": {"Walsall Family Support"}, "name": {"Parenting drop-in"}, "summary": {"A weekly drop-in for parents."},
		"description": {"Come along.\r\n\r\nNo need to book."}, "needs": {"parenting", "money"}, "delivery": {"in-person", "phone"},
		"min-age": {"0"}, "max-age": {"18"}, "free": {"yes"}, "self-referral": {"yes"}, "website": {"https://example.org/drop-in"},
		"email": {"hello@example.org"}, "phone-0-number": {"01922 000000"}, "phone-0-type": {"voice"},
		"contact-0-name": {"Pat"}, "contact-0-email": {"pat@example.org"},
		"location-0-name": {"Stafford Court"}, "location-0-address": {"1 Stafford Street"}, "location-0-town": {"Walsall"},
		"location-0-postcode": {"ws1 1aa"}, "location-0-times": {"Monday 09:00-12:00 drop-in\r\nwed 13.30 to 15:00"},
		"times": {"Tuesday 09:00-17:00"}, "languages": {"English, Punjabi, English"}, "review-due-day": {"1"},
		"review-due-month": {"1"}, "review-due-year": {"2027"},
	}
	f.Add(full.Encode())
	f.Add("")
	f.Add("name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&website=javascript%3Aalert(1)&needs=evil&categories=Made+up")
	f.Add("phone-3-number=0800+111&phone-1-description=Evenings&location-4-town=Walsall&min-age=18&max-age=5")
	f.Add("location-0-id=old&location-1-id=old&location-0-postcode=ZZ9+9ZZ&location-0-times=Funday+09:00-10:00")
	s := &Server{}
	now := time.Now()
	scripts := countScripts(onPost(f, "", func(c *fiber.Ctx) error {
		return s.renderListingForm(c, nil, parseListingForm(c), "", nil, "")
	}))
	f.Fuzz(func(t *testing.T, body string) {
		if len(fields(body)) > maxListingFields {
			return
		}
		answer := func(body string, l *directory.Listing) (*directory.ListingForm, []directory.FormError, string) {
			var form *directory.ListingForm
			var errs []directory.FormError
			page := onPost(t, body, func(c *fiber.Ctx) error {
				form = parseListingForm(c)
				var old *directory.Service
				if l != nil {
					old = l.Service
				}
				errs = form.Check(old, now)
				return s.renderListingForm(c, l, form, "", errs, "")
			})
			var links, messages []string
			for _, e := range errs {
				links = append(links, e.Field)
				messages = append(messages, e.Message)
			}
			checkPage(t, body, page, links, messages, scripts)
			return form, errs, page
		}
		form, errs, page := answer(body, nil)
		_, errs2, page2 := answer(submit(controls(page)), nil)
		_, errs3, page3 := answer(submit(controls(page2)), nil)
		if !slices.Equal(errs2, errs3) || page2 != page3 {
			t.Fatalf("post %q: submitting the page again changes it\n%q\n%q\n%s", body, errs2, errs3, difference(page2, page3))
		}
		if len(errs) > 0 {
			return
		}

		// The preview shows the listing as families will see it: nothing typed is a script.
		preview := onPost(t, body, func(c *fiber.Ctx) error { return s.renderUnsavedPreview(c, nil, form) })
		if countScripts(preview) != scripts || strings.Contains(strings.ToLower(preview), "javascript:") {
			t.Fatalf("post %q: the preview holds a script", body)
		}

		// Saved, opened again and saved unchanged, the listing stays as it was.
		svc := &directory.Service{ID: "fuzz", Status: directory.Inactive, LastReviewed: now.UTC()}
		form.Apply(svc)
		l := &directory.Listing{Service: svc, Row: directory.ListingRow{DueSet: form.Due()}}
		shown := directory.FormFor(svc)
		shown.SetReviewDue(form.Due())
		if errs := shown.Check(svc, now); len(errs) > 0 {
			t.Fatalf("post %q: the saved listing fails its own checks: %q", body, errs)
		}
		edit := onPost(t, "", func(c *fiber.Ctx) error { return s.renderListingForm(c, l, shown, "", nil, "") })
		again, errs, _ := answer(submit(controls(edit)), l)
		if len(errs) > 0 {
			t.Fatalf("post %q: the saved listing's page, sent unchanged, fails: %q", body, errs)
		}
		var resaved directory.Service
		b, _ := json.Marshal(svc)
		if err := json.Unmarshal(b, &resaved); err != nil {
			t.Fatal(err)
		}
		again.Apply(&resaved)
		if ch := directory.Changes(svc, &resaved); len(ch) > 0 || !again.Due().Equal(form.Due()) {
			t.Fatalf("post %q: saving the listing's page unchanged changes %q (review due %v → %v)", body, ch, form.Due(), again.Due())
		}
	})
}

// difference shows where two pages part.
func difference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n…%s\n…%s", i, a[from:min(len(a), i+200)], b[from:min(len(b), i+200)])
}

func countScripts(page string) int { return strings.Count(strings.ToLower(page), "<script") }
