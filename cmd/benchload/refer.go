package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The referral scenario: virtual people asking for help, each walking the whole journey as a
// browser without JavaScript does it, from the start page to the confirmation. Every POST is
// answered with a redirect, and the browser then GETs the next page, which is what a family's
// phone does; the CSRF token is read from each page, the cookies are kept, and every journey
// starts with an empty cookie jar, as a new visitor would.
//
// The figures are completed referrals per second (journeys that reached the confirmation
// page with a reference) and the latency of the final "Send request" (the POST that stores
// the referral and its notifications, up to its redirect).

// journeyResult holds the figures for one referral run.
type journeyResult struct {
	Name        string        `json:"name"`
	Concurrency int           `json:"concurrency"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	// Referrals completed in the measured window, and per second.
	Referrals int     `json:"referrals"`
	PerSecond float64 `json:"referrals_per_second"`
	// Requests are every request of the journeys in the window, and their rate.
	Requests   int     `json:"requests"`
	RequestsPS float64 `json:"requests_per_second"`
	// Submit* are the final POST /refer/check: the referral and its notifications stored.
	SubmitP50 time.Duration `json:"submit_p50_ns"`
	SubmitP90 time.Duration `json:"submit_p90_ns"`
	SubmitP99 time.Duration `json:"submit_p99_ns"`
	// PageP50 and PageP99 are every other request of the journey.
	PageP50 time.Duration `json:"page_p50_ns"`
	PageP99 time.Duration `json:"page_p99_ns"`
	// Failed counts journeys that went wrong, in the warm-up too.
	Failed       int    `json:"failed"`
	FirstFailure string `json:"first_failure,omitempty"`
}

// page is one step of the journey: the form posted, and the page it must lead to.
type page struct {
	path string
	form url.Values
	next string
}

// journeyPages are the answers of a parent asking for help for her own family, as the handler
// tests give them; phone is filled per journey, because three referrals a day from one
// contact is the per-contact limit.
func journeyPages(n uint64, phone string) []page {
	return []page{
		{"/refer/start", url.Values{}, "/refer/who"},
		{"/refer/who", url.Values{"asker": {"self"}}, "/refer/danger"},
		{"/refer/danger", url.Values{"danger": {"no"}}, "/refer/needs"},
		{"/refer/needs", url.Values{"needs": {"domestic-abuse", "money"},
			"story": {fmt.Sprintf("Benchmark family %d: we are behind on rent and my partner shouts at the children.", n)}}, "/refer/adult"},
		{"/refer/adult", url.Values{"adult-name": {"Alex Example"}}, "/refer/children"},
		{"/refer/children", url.Values{"child-0-name": {"Mo"}, "child-0-age": {"7"}}, "/refer/home"},
		{"/refer/home", url.Values{"postcode": {"WV1 1AA"}, "languages": {"English"}}, "/refer/network"},
		{"/refer/network", url.Values{"nobody": {"yes"}}, "/refer/contact"},
		{"/refer/contact", url.Values{"safe": {"text"}, "phone": {phone}, "say-who-we-are": {"no"}, "safe-times": {"Mornings"}}, "/refer/consent"},
		{"/refer/consent", url.Values{"consent": {"yes"}}, "/refer/check"},
	}
}

var referenceRE = regexp.MustCompile(`FH-[2-9A-Z]{4}-[2-9A-Z]{4}`)

// people hands out what makes each journey a different person to the rate limits: a client
// address (sent as X-Forwarded-For, which the app trusts from loopback in this benchmark) and
// a mobile number. The per-address limit allows ten referrals at once and the per-contact
// limit three a day, so without this the run would measure the "please wait" page.
//
// Addresses come from 2001:2::/48, the IPv6 block set aside for benchmarking (RFC 5180), at a
// random offset, so a second run against the same Redis within the hour starts on fresh
// buckets rather than on what the first left.
type people struct {
	next atomic.Uint64
	base uint64
}

func newPeople() *people {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &people{base: binary.BigEndian.Uint64(b[:])}
}

func (p *people) take() (n uint64, ip, phone string) {
	n = p.next.Add(1)
	v := p.base + n
	var a [16]byte
	copy(a[:], []byte{0x20, 0x01, 0x00, 0x02})
	binary.BigEndian.PutUint64(a[8:], v)
	ip = netip.AddrFrom16(a).String()
	// 07 and nine digits: a UK mobile number, which a text message needs.
	phone = fmt.Sprintf("07%09d", v%1_000_000_000)
	return n, ip, phone
}

// visitor is one browser: a cookie jar and the last CSRF token seen, on one keep-alive client.
type visitor struct {
	hc      *fasthttp.HostClient
	base    string
	ip      string
	cookies map[string]string
	token   string
	req     *fasthttp.Request
	resp    *fasthttp.Response
}

// do sends one request and returns its status, its redirect target (path only) and how long it
// took. A form is posted with the current CSRF token.
func (v *visitor) do(method, path string, form url.Values) (status int, location string, took time.Duration, err error) {
	req, resp := v.req, v.resp
	req.Reset()
	resp.Reset()
	req.SetRequestURI(v.base + path)
	req.Header.SetMethod(method)
	req.Header.Set(fasthttp.HeaderXForwardedFor, v.ip)
	for k, c := range v.cookies {
		req.Header.SetCookie(k, c)
	}
	if form != nil {
		if v.token != "" {
			form.Set("_csrf", v.token)
		}
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form.Encode())
	}
	t0 := time.Now()
	err = v.hc.Do(req, resp)
	took = time.Since(t0)
	if err != nil {
		return 0, "", took, err
	}
	// Each value is a whole Set-Cookie header. A cookie that has expired is the server
	// deleting it.
	for key, value := range resp.Header.Cookies() {
		var c fasthttp.Cookie
		if c.ParseBytes(value) != nil {
			continue
		}
		if exp := c.Expire(); (exp != fasthttp.CookieExpireUnlimited && exp.Before(time.Now())) || c.MaxAge() < 0 {
			delete(v.cookies, string(key))
			continue
		}
		v.cookies[string(key)] = string(c.Value())
	}
	if t := csrfIn(resp.Body()); t != "" {
		v.token = t
	}
	if loc := resp.Header.Peek(fasthttp.HeaderLocation); len(loc) > 0 {
		if u, perr := url.Parse(string(loc)); perr == nil {
			location = u.Path
		}
	}
	return resp.StatusCode(), location, took, nil
}

var csrfField = []byte(`name="_csrf" value="`)

// csrfIn finds the token of the page's first form.
func csrfIn(body []byte) string {
	i := bytes.Index(body, csrfField)
	if i < 0 {
		return ""
	}
	rest := body[i+len(csrfField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// timing is one request's latency, stamped with when it ended so the window can be cut.
type timing struct {
	end  time.Time
	took time.Duration
}

// tally is one virtual person's record: no lock needed while running.
type tally struct {
	submits, pages []timing
	done           []time.Time
	failures       int
	first          string
}

// journey walks the form once and reports whether it reached the confirmation page.
func (v *visitor) journey(n uint64, phone string, t *tally) error {
	get := func(path string) error {
		status, _, took, err := v.do(fasthttp.MethodGet, path, nil)
		t.pages = append(t.pages, timing{time.Now(), took})
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if status != fasthttp.StatusOK {
			return fmt.Errorf("GET %s: status %d", path, status)
		}
		return nil
	}
	post := func(path string, form url.Values, next string, into *[]timing) error {
		status, loc, took, err := v.do(fasthttp.MethodPost, path, form)
		*into = append(*into, timing{time.Now(), took})
		if err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
		if status != fasthttp.StatusSeeOther || loc != next {
			return fmt.Errorf("POST %s: status %d to %q, want 303 to %s%s", path, status, loc, next, problems(v.resp.Body()))
		}
		return nil
	}

	if err := get("/refer"); err != nil {
		return err
	}
	for _, p := range journeyPages(n, phone) {
		if err := post(p.path, p.form, p.next, &t.pages); err != nil {
			return err
		}
		if err := get(p.next); err != nil {
			return err
		}
	}
	if err := post("/refer/check", url.Values{"website": {""}}, "/refer/done", &t.submits); err != nil {
		return err
	}
	if err := get("/refer/done"); err != nil {
		return err
	}
	if !referenceRE.Match(v.resp.Body()) {
		return errors.New("GET /refer/done: no reference on the confirmation page")
	}
	t.done = append(t.done, time.Now())
	// "Finish": the person leaves, and the confirmation goes from the device.
	return post("/refer/finish", url.Values{}, "/", &t.pages)
}

var summaryItem = regexp.MustCompile(`<li><a href="#[^"]*">([^<]*)</a></li>`)

// problems quotes a page's error summary, so a failing run says which answer was refused.
func problems(body []byte) string {
	var out []string
	for _, m := range summaryItem.FindAllSubmatch(body, 3) {
		out = append(out, string(m[1]))
	}
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%q)", out)
}

// measureReferrals runs conc virtual people through the journey for warmup+d, each starting
// a new journey as soon as the last one ends, and keeps the figures of the last d.
func measureReferrals(ctx context.Context, name, addr string, who *people, conc int, warmup, d time.Duration) journeyResult {
	hc := newClient(addr, conc)
	began := time.Now()
	from, until := began.Add(warmup), began.Add(warmup+d)
	tallies := make([]tally, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			t := &tallies[w]
			v := &visitor{hc: hc, base: "http://" + addr, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
			defer fasthttp.ReleaseRequest(v.req)
			defer fasthttp.ReleaseResponse(v.resp)
			for ctx.Err() == nil && time.Now().Before(until) {
				n, ip, phone := who.take()
				v.ip, v.cookies, v.token = ip, map[string]string{}, ""
				if err := v.journey(n, phone, t); err != nil {
					t.failures++
					if t.first == "" {
						t.first = err.Error()
					}
				}
			}
		})
	}
	wg.Wait()

	r := journeyResult{Name: name, Concurrency: conc, Elapsed: d}
	in := func(at time.Time) bool { return !at.Before(from) && !at.After(until) }
	var submits, pages []time.Duration
	for _, t := range tallies {
		for _, at := range t.done {
			if in(at) {
				r.Referrals++
			}
		}
		for _, s := range t.submits {
			if in(s.end) {
				submits = append(submits, s.took)
			}
		}
		for _, p := range t.pages {
			if in(p.end) {
				pages = append(pages, p.took)
			}
		}
		r.Failed += t.failures
		if r.FirstFailure == "" {
			r.FirstFailure = t.first
		}
	}
	r.Requests = len(submits) + len(pages)
	r.PerSecond = float64(r.Referrals) / d.Seconds()
	r.RequestsPS = float64(r.Requests) / d.Seconds()
	slices.Sort(submits)
	slices.Sort(pages)
	if len(submits) > 0 {
		r.SubmitP50, r.SubmitP90, r.SubmitP99 = percentile(submits, 0.50), percentile(submits, 0.90), percentile(submits, 0.99)
	}
	if len(pages) > 0 {
		r.PageP50, r.PageP99 = percentile(pages, 0.50), percentile(pages, 0.99)
	}
	return r
}
