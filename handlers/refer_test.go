package handlers_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"familyhelp/handlers"
	"familyhelp/internal/testsvc"
	"familyhelp/ratelimit"
	"familyhelp/ratelimit/redisrate"
	"familyhelp/referral"
	"familyhelp/seed"
)

// browser is a person's browser on the site: it keeps cookies, follows redirects and posts the
// CSRF token of the last page it saw, as a real form would.
type browser struct {
	t       *testing.T
	s       *site
	cookies map[string]string
	last    page
	ip      string
	headers map[string]string
	// setCookies are the Set-Cookie headers of the last response, to check their attributes.
	setCookies []*http.Cookie
}

func (s *site) browser(t *testing.T) *browser {
	return &browser{t: t, s: s, cookies: map[string]string{}, ip: "192.0.2.10"}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

func (b *browser) do(method, target string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		return b.send(method, target, nil, "")
	}
	return b.send(method, target, []byte(form.Encode()), "application/x-www-form-urlencoded")
}

// send sends a body of any type, and follows redirects as a browser does.
func (b *browser) send(method, target string, data []byte, contentType string) page {
	b.t.Helper()
	for range 10 {
		var body io.Reader
		if data != nil {
			body = bytes.NewReader(data)
		}
		req := httptest.NewRequest(method, target, body)
		if data != nil {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("X-Forwarded-For", b.ip)
		for k, v := range b.headers {
			req.Header.Set(k, v)
		}
		for k, v := range b.cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		resp, err := b.s.app.Test(req, -1)
		if err != nil && strings.Contains(err.Error(), "body size exceeds") {
			// fasthttp refuses the body before any handler runs; over the network the person
			// gets a 413 page (see the e2e tests). app.Test reports it as an error instead.
			return page{status: http.StatusRequestEntityTooLarge}
		}
		if err != nil {
			b.t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.setCookies = append(b.setCookies, resp.Cookies()...)
		for _, c := range resp.Cookies() {
			if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
				delete(b.cookies, c.Name)
			} else {
				b.cookies[c.Name] = c.Value
			}
		}
		p := page{resp.StatusCode, resp.Header, string(raw)}
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound {
			target, method, data = resp.Header.Get("Location"), http.MethodGet, nil
			continue
		}
		b.last = p
		return p
	}
	b.t.Fatalf("too many redirects at %s", target)
	return page{}
}

func (b *browser) get(target string) page { b.t.Helper(); return b.do(http.MethodGet, target, nil) }

// post sends a form with the token of the page last seen.
func (b *browser) post(target string, form url.Values) page {
	b.t.Helper()
	if m := csrfRE.FindStringSubmatch(b.last.body); m != nil && form.Get("_csrf") == "" {
		form.Set("_csrf", m[1])
	}
	return b.do(http.MethodPost, target, form)
}

func (p page) has(s string) bool { return strings.Contains(html.UnescapeString(p.body), s) }

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

var referenceRE = regexp.MustCompile(`FH-[2-9A-Z]{4}-[2-9A-Z]{4}`)

// answerAll goes from the start page to "Check your answers" as a parent asking for herself.
func (b *browser) answerAll(story, phone string) {
	b.t.Helper()
	steps := []struct {
		path string
		form url.Values
		next string // a words the next page shows
	}{
		{"/refer/start", vals(), "Who is asking for help?"},
		{"/refer/who", vals("asker", "self"), "immediate danger"},
		{"/refer/danger", vals("danger", "no"), "What do you need help with?"},
		{"/refer/needs", vals("needs", "domestic-abuse", "needs", "money", "story", story), "Your full name"},
		{"/refer/adult", vals("adult-name", "Alex Example"), "The children"},
		{"/refer/children", vals("child-0-name", "Mo", "child-0-age", "7", "child-1-name", "Baby", "child-1-expected", "yes"), "Postcode"},
		{"/refer/home", vals("postcode", "wv1 1aa", "languages", "English"), "Family and friends"},
		{"/refer/network", vals("nobody", "yes"), "How to contact you safely"},
		{"/refer/contact", vals("safe", "text", "phone", phone, "say-who-we-are", "no", "safe-times", "Mornings"), "Sharing what you have told us"},
		{"/refer/consent", vals("consent", "yes"), "Check your answers"},
	}
	for _, st := range steps {
		p := b.post(st.path, st.form)
		if p.status != http.StatusOK || !p.has(st.next) {
			b.t.Fatalf("after %s: status %d, want a page with %q; got:\n%s", st.path, p.status, st.next, errorsIn(p))
		}
	}
}

var errorLinkRE = regexp.MustCompile(`<li><a href="#[^"]*">([^<]*)</a></li>`)

func errorsIn(p page) string {
	var out []string
	for _, m := range errorLinkRE.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		return "(no error summary) " + p.title()
	}
	return strings.Join(out, "; ")
}

func TestReferralJourneyOverHTTP(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	start := b.get("/refer")
	if start.status != http.StatusOK || start.title() != "Contact form – Family Help" || !start.has("Start now") || !start.has("999") {
		t.Fatalf("start page: %d %q", start.status, start.title())
	}
	b.answerAll("We are behind on rent and my partner shouts at the children", "07700 900123")
	check := b.last
	for _, want := range []string{"Domestic abuse", "Money and debt", "Mo: age 7", "Baby: a baby on the way", "WV1 1AA",
		"07700900123", "There is nobody we could ask", "Text message", "behind on rent"} {
		if !check.has(want) {
			t.Errorf("check page lacks %q", want)
		}
	}
	if check.title() != "Contact form: check your answers – Family Help" {
		t.Errorf("check page title %q: not neutral", check.title())
	}

	done := b.post("/refer/check", vals())
	ref := referenceRE.FindString(done.body)
	if done.status != http.StatusOK || ref == "" || !done.has("Wolverhampton Central Family Help team") {
		t.Fatalf("confirmation: status %d, reference %q\n%s", done.status, ref, errorsIn(done))
	}
	if done.title() != "Contact form: sent – Family Help" {
		t.Errorf("confirmation title %q", done.title())
	}
	// Pressing Send again (back button, double click) shows the same reference.
	again := b.post("/refer/check", vals())
	if got := referenceRE.FindString(again.body); got != ref {
		t.Errorf("second send gave reference %q, want %q", got, ref)
	}
	rec, err := s.db.Referral(context.Background(), ref)
	if err != nil || rec.TeamID != "wv-central" || len(rec.AlsoTeams) != 1 || rec.AlsoTeams[0] != "domestic-abuse" {
		t.Errorf("stored %+v, %v", rec, err)
	}
	entries, _ := s.db.Outbox(context.Background(), 10)
	if len(entries) != 2 {
		t.Errorf("%d notifications queued, want one for each of the two teams", len(entries))
	}
	// Finishing clears the draft: the confirmation cannot be seen again on this device.
	b.post("/refer/finish", vals())
	if p := b.get("/refer/done"); p.has(ref) {
		t.Error("the confirmation is still shown after Finish")
	}
	// Nothing personal in the logs.
	for _, secretWord := range []string{"behind on rent", "07700", "Alex Example", "WV1"} {
		if strings.Contains(s.log.String(), secretWord) {
			t.Errorf("log holds %q", secretWord)
		}
	}
}

func TestReferralErrorsKeepAnswers(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	b.post("/refer/who", vals("asker", "professional"))
	p := b.post("/refer/professional", vals("name", "Sam <b>Jones</b>", "organisation", "Park School", "email", "not-an-email",
		"phone", "12345", "family-agreed", "no"))
	if p.status != http.StatusUnprocessableEntity || !strings.HasPrefix(p.title(), "Error: ") {
		t.Fatalf("invalid page: status %d title %q", p.status, p.title())
	}
	for _, want := range []string{"Enter your role", "correct format", "UK phone number", "Tell us why the family has not agreed"} {
		if !strings.Contains(errorsIn(p), want) {
			t.Errorf("errors %q lack %q", errorsIn(p), want)
		}
	}
	// What was typed comes back, escaped.
	if !strings.Contains(p.body, `value="Sam &lt;b&gt;Jones&lt;/b&gt;"`) || !strings.Contains(p.body, `value="Park School"`) {
		t.Error("typed answers are not shown again (escaped)")
	}
	if strings.Contains(p.body, "<b>Jones</b>") {
		t.Error("typed markup reached the page unescaped")
	}
}

func TestImmediateDangerShows999AndGoesOn(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	b.post("/refer/who", vals("asker", "self"))
	p := b.post("/refer/danger", vals("danger", "yes"))
	if !p.has("Call 999 now") || !p.has("press 55") || !p.has(`href="/refer/needs"`) {
		t.Fatalf("danger = yes did not show 999 advice with a way on:\n%s", p.title())
	}
}

func TestExpiredDraftKeepsThisPage(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	b.post("/refer/who", vals("asker", "self"))
	// The draft expires on the server (an hour without a change).
	if err := s.referral.DiscardDraft(context.Background(), b.cookies["fh_draft"]); err != nil {
		t.Fatal(err)
	}
	p := b.post("/refer/danger", vals("danger", "no"))
	if !p.has("Your earlier answers are no longer here") || !p.has("Who is asking for help?") {
		t.Fatalf("after expiry: %q, want the notice and the first unanswered page", p.title())
	}
	// What was typed on the page sent after expiry was kept.
	d, err := s.referral.LoadDraft(context.Background(), b.cookies["fh_draft"])
	if err != nil || d.Referral.Danger != "no" {
		t.Errorf("draft after expiry = %+v, %v; want the danger answer kept", d, err)
	}
}

func TestStaleCSRFTokenKeepsAnswers(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	b.post("/refer/who", vals("asker", "self"))
	b.post("/refer/danger", vals("danger", "no"))
	p := b.post("/refer/needs", vals("_csrf", "stale-token", "needs", "housing", "story", "Our landlord wants us out"))
	if !p.has("This page timed out") || !p.has("Our landlord wants us out") || !strings.Contains(p.body, `value="housing" checked`) {
		t.Fatalf("stale token: status %d %q; want the page again with the answers and a notice", p.status, p.title())
	}
	// With the fresh token the same answers go through.
	p = b.post("/refer/needs", vals("needs", "housing", "story", "Our landlord wants us out"))
	if !p.has("Your full name") {
		t.Errorf("after a fresh token: %q (%s)", p.title(), errorsIn(p))
	}
	// A post without any token is refused too.
	c := s.browser(t)
	c.cookies = b.cookies
	if p := c.do(http.MethodPost, "/refer/adult", vals("adult-name", "Mallory")); !p.has("This page timed out") {
		t.Errorf("post without a token: %d %q", p.status, p.title())
	}
}

func TestBotsAndFloodsAreTurnedAwayGently(t *testing.T) {
	s := newSite(t, false)
	t.Run("honeypot", func(t *testing.T) {
		b := s.browser(t)
		b.get("/refer")
		b.answerAll("Help with money", "07700 900001")
		p := b.post("/refer/check", vals("website", "http://spam.example"))
		if referenceRE.MatchString(p.body) || !p.has("Send request again") || !p.has("Help with money") {
			t.Errorf("honeypot filled: %d %q", p.status, p.title())
		}
	})
	t.Run("too fast", func(t *testing.T) {
		s.srv.MinFillTime = time.Hour
		defer func() { s.srv.MinFillTime = 0 }()
		b := s.browser(t)
		b.get("/refer")
		b.answerAll("Help with money", "07700 900002")
		if p := b.post("/refer/check", vals()); referenceRE.MatchString(p.body) || !p.has("Send request again") {
			t.Errorf("sent in under a second: %d %q", p.status, p.title())
		}
	})
	t.Run("one contact, many requests", func(t *testing.T) {
		var refs []string
		for i := range handlers.SubmitPerContact.Burst + 1 {
			b := s.browser(t)
			b.ip = "198.51.100." + string(rune('1'+i)) // other connections, same phone number
			b.get("/refer")
			b.answerAll("Help with money", "07700 900003")
			p := b.post("/refer/check", vals())
			if ref := referenceRE.FindString(p.body); ref != "" {
				refs = append(refs, ref)
				continue
			}
			if p.status != http.StatusTooManyRequests || !p.has("999") || !p.has("0808 2000 247") || p.header.Get("Retry-After") == "" {
				t.Fatalf("limited request: status %d, want 429 with 999, helplines and Retry-After", p.status)
			}
			// The answers are still there.
			if back := b.get("/refer/check"); !back.has("Help with money") {
				t.Error("answers lost after the limit")
			}
		}
		if len(refs) != handlers.SubmitPerContact.Burst {
			t.Errorf("%d sent for one phone number, want %d", len(refs), handlers.SubmitPerContact.Burst)
		}
	})
}

func TestSearchRateLimit(t *testing.T) {
	s := newSite(t, false)
	s.srv.Limiter = ratelimit.NewMemory(100)
	limited := 0
	for range handlers.SearchPerIP.Burst + 5 {
		if p := s.get(t, "/search?q=debt"); p.status == http.StatusTooManyRequests {
			limited++
			if !p.has("999") || !p.has("116 123") {
				t.Fatal("the limited search page does not show 999 and the helplines")
			}
		}
	}
	if limited != 5 {
		t.Errorf("%d searches limited, want the 5 past the burst", limited)
	}
}

func TestStartedFromAServicePage(t *testing.T) {
	s := newSite(t, false)
	sample, _ := seed.Sample()
	svc := sample[0]
	b := s.browser(t)
	p := b.get("/refer?service=" + svc.ID)
	if !p.has(svc.Name) {
		t.Fatalf("start page does not name the service it came from")
	}
	b.post("/refer/start", vals("service", svc.ID))
	d, err := s.referral.LoadDraft(context.Background(), b.cookies["fh_draft"])
	if err != nil || d.Referral.ServiceID != svc.ID {
		t.Errorf("draft service %q, %v; want %s", d.Referral.ServiceID, err, svc.ID)
	}
}

func TestHostileForms(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	many := vals()
	for i := range 500 {
		many.Add("f"+string(rune('a'+i%26))+strings.Repeat("x", i%7), "1")
	}
	many.Set("asker", "self")
	if p := b.post("/refer/who", many); p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("500 fields: status %d, want 413", p.status)
	}
	huge := vals("asker", "someone", "relationship", strings.Repeat("x", 300*1024))
	if p := b.post("/refer/who", huge); p.status != http.StatusRequestEntityTooLarge {
		t.Errorf("300 KB body: status %d, want 413", p.status)
	}
	b.get("/refer/who")
	if p := b.post("/refer/who", vals("asker", "someone", "relationship", "aunt\x00\x07")); !strings.Contains(errorsIn(p), "letters, numbers and punctuation") {
		t.Errorf("control characters: %s", errorsIn(p))
	}
	if p := b.post("/refer/who", vals("asker", "someone", "relationship", "aunt\xff\xfe")); !strings.Contains(errorsIn(p), "letters, numbers and punctuation") {
		t.Errorf("invalid UTF-8: %s", errorsIn(p))
	}
	if p := b.get("/refer/not-a-step"); p.status != http.StatusNotFound {
		t.Errorf("made-up step: %d", p.status)
	}
	_ = referral.StepWho
}

// Redis stopping while families use the site must not show anyone an error page: the
// in-process limiter takes over, still limiting.
func TestRedisStopsMidway(t *testing.T) {
	rs := testsvc.StartRedis(t)
	client, err := redisrate.NewClient(rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := newSite(t, false)
	s.srv.Limiter = ratelimit.NewFallback(redisrate.New(client), ratelimit.NewMemory(1000), s.srv.Log)

	b := s.browser(t)
	if p := b.get("/search?q=debt"); p.status != http.StatusOK {
		t.Fatalf("search with Redis up: %d", p.status)
	}
	b.get("/refer")
	b.answerAll("Bills we cannot pay", "07700 900777")
	rs.Stop()
	if p := b.get("/search?q=debt"); p.status != http.StatusOK {
		t.Errorf("search with Redis stopped: status %d", p.status)
	}
	b.get("/refer/check")
	p := b.post("/refer/check", vals())
	if p.status != http.StatusOK || !referenceRE.MatchString(p.body) {
		t.Errorf("sending with Redis stopped: status %d, no reference (%s)", p.status, errorsIn(p))
	}
	if n := strings.Count(s.log.String(), "level=WARN"); n < 1 {
		t.Errorf("the outage was not logged")
	}
}

// Behind our load balancer the limit counts the client, not the balancer, and a client cannot
// dodge it by writing its own X-Forwarded-For.
func TestClientIPBehindProxy(t *testing.T) {
	s := newSite(t, false)
	proxies, err := handlers.ParseProxies("0.0.0.0, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	s.srv.TrustedProxies = proxies
	search := func(xff string) int {
		req := httptest.NewRequest(http.MethodGet, "/search?q=debt", nil)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := s.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Many families behind one balancer: none limits another.
	for i := range handlers.SearchPerIP.Burst + 10 {
		if code := search("203.0.113." + strconv.Itoa(i%250) + ", 10.1.2.3"); code != http.StatusOK && i < 250 {
			t.Fatalf("family %d limited (%d) by the others' searches", i, code)
		}
	}
	// One client making up the left of the header is still one client.
	limited := false
	for i := range handlers.SearchPerIP.Burst + 5 {
		if search("198.51.100."+strconv.Itoa(i)+", 192.0.2.77, 10.1.2.3") == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Error("a client rotating its own X-Forwarded-For entries was never limited")
	}
	if _, err := handlers.ParseProxies("10.0.0.0/8, not-an-address"); err == nil {
		t.Error("a bad proxy address was accepted")
	}
}

func TestCookiesLeaveNoTrace(t *testing.T) {
	s := newSite(t, false)
	for _, https := range []bool{false, true} {
		b := s.browser(t)
		if https {
			b.headers = map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://example.com"}
		}
		b.get("/refer")
		b.post("/refer/start", vals())
		seen := map[string]bool{}
		for _, c := range b.setCookies {
			if c.Value == "" {
				continue
			}
			seen[c.Name] = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/refer" {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q; want HttpOnly, Lax, /refer", c.Name, c.HttpOnly, c.SameSite, c.Path)
			}
			// Session cookies only: nothing stays on the phone after the browser closes.
			if !c.Expires.IsZero() || c.MaxAge != 0 {
				t.Errorf("cookie %s outlives the browser (expires %v, max-age %d)", c.Name, c.Expires, c.MaxAge)
			}
			if c.Secure != https {
				t.Errorf("cookie %s: Secure %v over https=%v", c.Name, c.Secure, https)
			}
		}
		if !seen["fh_draft"] || !seen["fh_csrf"] {
			t.Errorf("cookies set: %v; want fh_draft and fh_csrf", seen)
		}
	}
}

// Over HTTPS the CSRF check wants the form to come from this site. A browser that sends no
// Referer (privacy tools strip it) still says so in Origin or Sec-Fetch-Site; a form from
// another site is refused.
func TestHTTPSFormsWithoutReferer(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.headers = map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://example.com"}
	b.get("/refer")
	if p := b.post("/refer/start", vals()); !p.has("Who is asking for help?") {
		t.Fatalf("same-origin post without Referer: %d %q", p.status, p.title())
	}
	b.headers = map[string]string{"X-Forwarded-Proto": "https", "Sec-Fetch-Site": "same-origin"}
	if p := b.post("/refer/who", vals("asker", "self")); !p.has("immediate danger") {
		t.Fatalf("Sec-Fetch-Site same-origin: %d %q", p.status, p.title())
	}
	b.headers = map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://evil.example"}
	if p := b.post("/refer/danger", vals("danger", "no")); p.status != http.StatusForbidden {
		t.Errorf("post from another site: %d, want 403", p.status)
	}
}

func TestDiscardWorksEvenWhenTheTokenFails(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.post("/refer/start", vals())
	b.post("/refer/who", vals("asker", "self"))
	id := b.cookies["fh_draft"]
	b.post("/refer/discard", vals("_csrf", "stale"))
	if _, err := s.referral.LoadDraft(context.Background(), id); err == nil {
		t.Error("the answers are still stored after Stop and delete")
	}
	if p := b.get("/refer"); p.has("Continue where you left off") {
		t.Error("the start page still offers to continue")
	}
}

// Changing an answer from "Check your answers" can make new pages apply; each is asked, and
// each goes back to the check page.
func TestChangeThatAddsPages(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.answerAll("Help with money", "07700 900888")
	b.get("/refer/who?change=1")
	p := b.post("/refer/who?change=1", vals("asker", "professional"))
	if !p.has("Work email address") {
		t.Fatalf("after changing to a professional: %q, want their details page", p.title())
	}
	p = b.post(actionOf(p), vals("name", "Sam Jones", "organisation", "Park School", "role", "Teacher",
		"email", "sam@park.example.org", "phone", "01902 000000", "family-agreed", "yes"))
	if !p.has("Sharing what you have told us") || !p.has("I confirm the family agreed") {
		t.Fatalf("after the professional's details: %q, want consent asked again in their words", p.title())
	}
	p = b.post(actionOf(p), vals("consent", "yes"))
	if !p.has("Check your answers") || !p.has("Park School") {
		t.Fatalf("after consent: %q, want the check page", p.title())
	}
	// Danger changed to yes: 999 first, then back to the check page.
	b.get("/refer/danger?change=1")
	p = b.post("/refer/danger?change=1", vals("danger", "yes"))
	if !p.has("Call 999 now") || !p.has(`href="/refer/check"`) {
		t.Errorf("danger changed to yes: %q, want 999 advice leading back to the check page", p.title())
	}
}

var actionRE = regexp.MustCompile(`<form action="(/refer/[^"]*)" method="post" novalidate>`)

func actionOf(p page) string {
	m := actionRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAfterSendingBackButtonGoesToConfirmation(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.answerAll("Help with money", "07700 900999")
	ref := referenceRE.FindString(b.post("/refer/check", vals()).body)
	b.get("/refer/consent")
	if p := b.post("/refer/consent", vals("consent", "yes")); referenceRE.FindString(p.body) != ref {
		t.Errorf("posting a question page after sending: %q, want the confirmation of %s", p.title(), ref)
	}
}

// A draft lost after sending (kept in Redis, and Redis restarted before the confirmation page)
// still shows the family their reference, and sending again makes no second referral; an hour
// later, as with the draft itself, the confirmation is gone.
func TestSentReferralOutlivesItsLostDraft(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t)
	b.get("/refer")
	b.answerAll("We need help with the rent", "07700 900123")
	ref := referenceRE.FindString(b.post("/refer/check", vals()).body)
	if ref == "" {
		t.Fatal("no reference after sending")
	}
	if err := s.referral.DiscardDraft(context.Background(), b.cookies["fh_draft"]); err != nil {
		t.Fatal(err)
	}
	done := b.get("/refer/done")
	if got := referenceRE.FindString(done.body); got != ref || !done.has("Wolverhampton Central Family Help team") {
		t.Fatalf("confirmation after the draft was lost: reference %q, want %q\n%s", got, ref, errorsIn(done))
	}
	if done.has("We need help with the rent") {
		t.Error("the confirmation shows the family's answers")
	}
	again := b.post("/refer/check", vals())
	if got := referenceRE.FindString(again.body); got != ref {
		t.Errorf("sending again after the draft was lost gave %q, want %q", got, ref)
	}
	s.referral.Now = func() time.Time { return time.Now().Add(referral.DraftLifetime + time.Minute) }
	if later := b.get("/refer/done"); referenceRE.MatchString(later.body) {
		t.Errorf("the confirmation is still shown after %s", referral.DraftLifetime)
	}
}
