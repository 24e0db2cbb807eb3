//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"familyhelp/csrfstore"
	"familyhelp/handlers"
	"familyhelp/internal/testsvc"
	"familyhelp/referral/redisdrafts"
)

// TestTwoInstances runs two servers from the real binary, as a load balancer would have them:
// one PostgreSQL database, one Redis, each its own address and data folder. A family, an
// editor and the rate limits see one site whichever instance answers.
func TestTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := testsvc.PostgresDB(t)
	rs := testsvc.StartRedis(t)
	bin := buildBinary(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{
		"DATABASE_URL=" + dbURL,
		"REDIS_URL=" + rs.URL(),
		"FAMILYHELP_SECRET_KEY=" + hex.EncodeToString(key),
		"FAMILYHELP_MIN_FILL_SECONDS=0",
		"FAMILYHELP_TRUSTED_PROXIES=127.0.0.1", // each test client has its own address
	}
	// A first: it seeds the empty database and makes the demo staff accounts.
	a := startInstance(t, bin, "A", env)
	b := startInstance(t, bin, "B", env)
	site := &twoSites{t: t, a: a, b: b, db: connectDB(t, dbURL), rdb: redisClient(t, rs.URL())}

	t.Run("rate limit holds across both", site.rateLimit)
	t.Run("referral started on one is sent from the other", site.referralAcross)
	t.Run("listing edited on one is found on the other", site.listingAcross)
	// Last: it stops Redis.
	t.Run("referral finished while Redis is down", func(t *testing.T) { site.redisDown(t, rs) })
}

type twoSites struct {
	t    *testing.T
	a, b *instance
	db   *pgx.Conn
	rdb  *redis.Client
}

// rateLimit: the per-contact limit on sending referrals counts the sends on both instances as
// one. Each instance alone would allow the limit, so alternating between them would get
// twice as many through if each kept its own count.
func (s *twoSites) rateLimit(t *testing.T) {
	rule := handlers.SubmitPerContact
	if refill := rule.Period / time.Duration(rule.Rate); refill < 10*time.Minute {
		t.Fatalf("%s lets one more through every %v: too soon for this test to count exactly", rule.Name, refill)
	}
	n := rule.MaxBurst()
	before := s.countReferrals(t)
	phone := "07700 900111"
	for i := range n + 1 {
		// Each family on one instance, so the limit is all that could differ: the first
		// sends on A, the second on B, and so on.
		br := newPerson(t, fmt.Sprintf("10.20.0.%d", i+1))
		sendOn := s.a
		if i%2 == 1 {
			sendOn = s.b
		}
		p := br.referral(func(int) *instance { return sendOn }, sendOn, phone, false)
		switch {
		case i < n && (p.status != http.StatusOK || sentRefRE.FindString(p.body) == ""):
			t.Fatalf("send %d of %d (on %s): status %d, no reference:\n%s", i+1, n, sendOn.name, p.status, p.text())
		case i == n && p.status != http.StatusTooManyRequests:
			t.Fatalf("send %d, over the limit of %d (on %s): status %d, want 429:\n%s", i+1, n, sendOn.name, p.status, p.text())
		case i == n && p.header.Get("Retry-After") == "":
			t.Error("the refusal does not say when to try again")
		}
	}
	if got := s.countReferrals(t) - before; got != n {
		t.Errorf("%d referrals stored, want exactly the limit, %d", got, n)
	}
}

// referralAcross: a family starts on A, carries on and sends on B; the token A put in the
// form is accepted by B, the answers are in Redis (not the database), and sending again from
// A gives the same referral, stored once.
func (s *twoSites) referralAcross(t *testing.T) {
	before := s.countReferrals(t)
	br := newPerson(t, "10.30.0.1")
	// The start page, the first page and "Who is asking" on A; the rest, and the send, on B.
	done := br.referral(func(step int) *instance {
		if step < 3 {
			return s.a
		}
		return s.b
	}, s.b, "07700 900456", false)
	ref := sentRefRE.FindString(done.body)
	if done.status != http.StatusOK || ref == "" || done.from != s.b {
		t.Fatalf("sending on B: status %d from %s, reference %q:\n%s", done.status, done.from.name, ref, done.text())
	}
	if !br.sawStep(s.a, "danger") || !br.sawStep(s.b, "needs") {
		t.Fatalf("the journey did not go from A to B as planned: %v", br.visits)
	}

	token, draft := br.cookie("/refer", "fh_csrf"), br.cookie("/refer", "fh_draft")
	ctx := context.Background()
	if s.rdb.Exists(ctx, csrfstore.Prefix+token).Val() != 1 || s.rdb.Exists(ctx, redisdrafts.Prefix+draft).Val() != 1 {
		t.Error("the form's token or the family's draft is not in Redis")
	}
	var inDB int
	if err := s.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM kv WHERE key = $1) + (SELECT count(*) FROM drafts WHERE id = $2)`,
		token, draft).Scan(&inDB); err != nil {
		t.Fatal(err)
	}
	if inDB != 0 {
		t.Error("the form's token or the family's draft is in the database")
	}

	// Send again from A (the back button, a second click): the same referral, not another.
	again := br.post(s.a, "/refer/check", url.Values{})
	if got := sentRefRE.FindString(again.body); got != ref {
		t.Errorf("sending again on A shows %q, want %q", got, ref)
	}
	if got := s.countReferrals(t) - before; got != 1 {
		t.Errorf("%d referrals stored, want 1", got)
	}
}

// listingAcross: an editor signs in on A and is signed in on B too; a change saved on A is
// what a search on B finds.
func (s *twoSites) listingAcross(t *testing.T) {
	email, password := s.a.demoAccount(t, "editor@example.org")
	br := newPerson(t, "10.40.0.1")
	br.get(s.a, "/staff/login")
	if p := br.post(s.a, "/staff/login", url.Values{"email": {email}, "password": {password}}); !p.has("Signed in as") {
		t.Fatalf("signing in on A: status %d:\n%s", p.status, p.text())
	}
	if p := br.get(s.b, "/staff"); !p.has("Signed in as") {
		t.Fatalf("the session from A does not work on B: status %d:\n%s", p.status, p.text())
	}

	const id = "national-drinkline"
	word := "quokkaline" + strings.ToLower(hex.EncodeToString([]byte(time.Now().Format("0405"))))
	if p := s.search(t, s.b, word, 0); strings.Contains(p.body, `href="/services/`+id+`"`) {
		t.Fatalf("B finds %q before the change", word)
	}
	edit := br.get(s.a, "/staff/listings/"+id+"/edit")
	form := staffFormOf(edit.body)
	if form.Get("summary") == "" {
		t.Fatalf("the edit page on A has no summary field:\n%s", edit.text())
	}
	form.Set("summary", "Free, confidential advice about drinking: the "+word+" service.")
	if p := br.post(s.a, "/staff/listings/"+id+"/edit", form); !p.has("Your changes are saved") {
		t.Fatalf("saving on A: status %d:\n%s", p.status, p.text())
	}

	// Another instance's index follows the database within its sync interval.
	deadline := time.Now().Add(30 * time.Second)
	for i := 1; ; i++ {
		p := s.search(t, s.b, word, i)
		if strings.Contains(p.body, `href="/services/`+id+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a search on B for the new wording still does not find the listing 30 s after it was saved on A (status %d):\n%s",
				p.status, p.text())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// search asks one instance, each time from another address so the search limit is not what
// the test measures.
func (s *twoSites) search(t *testing.T, on *instance, q string, n int) sitePage {
	br := newPerson(t, fmt.Sprintf("10.41.%d.%d", n/250, n%250+1))
	return br.get(on, "/search?q="+url.QueryEscape(q))
}

// redisDown: Redis stops while a family is half-way through. The page they send comes back
// with what they typed, they are asked again what Redis held, and they can send; both
// instances stay ready.
func (s *twoSites) redisDown(t *testing.T, rs *testsvc.RedisServer) {
	before := s.countReferrals(t)
	br := newPerson(t, "10.50.0.1")
	// On A with Redis up, to "What do you need help with?".
	for _, step := range []struct{ path, want string }{{"/refer", ""}, {"/refer/start", "who"}, {"/refer/who", "danger"}, {"/refer/danger", "needs"}} {
		var p sitePage
		if step.path == "/refer" {
			p = br.get(s.a, step.path)
		} else {
			p = br.post(s.a, step.path, journeyAnswers(step.path, "07700 900789"))
		}
		if p.status != http.StatusOK || (step.want != "" && p.path != "/refer/"+step.want) {
			t.Fatalf("%s on A: status %d at %s", step.path, p.status, p.path)
		}
	}

	rs.Stop()
	// The needs page, sent to B: its token and the draft were in Redis, so the page comes
	// back with what was typed on it, saying so.
	story := journeyAnswers("/refer/needs", "").Get("story")
	p := br.post(s.b, "/refer/needs", journeyAnswers("/refer/needs", ""))
	if p.status != http.StatusOK || p.path != "/refer/needs" || !p.has("We have kept what you typed") || !p.has(story) {
		t.Fatalf("the first page sent with Redis down: status %d:\n%s", p.status, p.text())
	}
	// Then on A and B by turns; whatever page comes back is answered, as a person would,
	// until the referral is sent.
	done := br.referralFrom(func(step int) *instance {
		if step%2 == 0 {
			return s.a
		}
		return s.b
	}, s.b, "07700 900789", true)
	if ref := sentRefRE.FindString(done.body); done.status != http.StatusOK || ref == "" {
		t.Fatalf("sending with Redis down: status %d:\n%s", done.status, done.text())
	}
	if got := s.countReferrals(t) - before; got != 1 {
		t.Errorf("%d referrals stored with Redis down, want 1", got)
	}
	for _, in := range []*instance{s.a, s.b} {
		resp, err := http.Get(in.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s is not ready with Redis down: %d", in.name, resp.StatusCode)
		}
	}
}

func (s *twoSites) countReferrals(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM referrals`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// instance is one running `familyhelp serve`, with a name for messages.
type instance struct {
	name string
	url  string
	app  *appProcess
}

// startInstance runs `familyhelp serve` with a data dir of its own and checks that it is ready
// with Redis, which every test here shares between the instances.
func startInstance(t *testing.T, bin, name string, env []string) *instance {
	t.Helper()
	app := startApp(t, bin, append(env, "FAMILYHELP_DATA_DIR="+t.TempDir(), "FAMILYHELP_LOG_FORMAT=json")...)
	in := &instance{name: name, url: app.url(""), app: app}
	resp, err := http.Get(in.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"redis":{"status":"ok"}`) {
		t.Fatalf("instance %s is ready without Redis: %s", name, body)
	}
	return in
}

var demoLineRE = regexp.MustCompile(`demo account: (\S+) password: (\S+)`)

// demoAccount is the password the instance printed for a demo account when it made them.
func (in *instance) demoAccount(t *testing.T, email string) (string, string) {
	t.Helper()
	for _, m := range demoLineRE.FindAllStringSubmatch(in.app.log(), -1) {
		if m[1] == email {
			return m[1], m[2]
		}
	}
	t.Fatalf("instance %s printed no demo account %s:\n%s", in.name, email, in.app.log())
	return "", ""
}

func connectDB(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func redisClient(t *testing.T, u string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// sitePage is one answer, after redirects.
type sitePage struct {
	status int
	header http.Header
	body   string
	path   string    // where the redirects ended
	from   *instance // which instance answered
}

func (p sitePage) has(s string) bool { return strings.Contains(html.UnescapeString(p.body), s) }

var markupRE = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)

// text is the page's words, for a failure message.
func (p sitePage) text() string {
	t := strings.Join(strings.Fields(html.UnescapeString(markupRE.ReplaceAllString(p.body, " "))), " ")
	if len(t) > 1500 {
		t = t[:1500] + "…"
	}
	return p.path + ": " + t
}

// person is one browser: cookies shared by both instances (cookies ignore the port) and an
// address of their own, sent as X-Forwarded-For.
type person struct {
	t      *testing.T
	jar    *cookiejar.Jar
	ip     string
	last   sitePage
	visits []string // instance and path of every page shown
	client *http.Client
}

func newPerson(t *testing.T, ip string) *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: t, jar: jar, ip: ip, client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// jarURL is where the jar files a request's cookies: https, so the portal's Secure cookies are
// kept and sent as a browser on the real site would, and no port, as browsers do.
func jarURL(path string) *url.URL { return &url.URL{Scheme: "https", Host: "127.0.0.1", Path: path} }

func (b *person) cookie(path, name string) string {
	for _, c := range b.jar.Cookies(jarURL(path)) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *person) get(in *instance, target string) sitePage {
	return b.do(in, http.MethodGet, target, nil)
}

// post sends a form with the token of the page last shown, wherever that came from.
func (b *person) post(in *instance, target string, form url.Values) sitePage {
	if m := formTokenRE.FindStringSubmatch(b.last.body); m != nil && form.Get("_csrf") == "" {
		form.Set("_csrf", html.UnescapeString(m[1]))
	}
	return b.do(in, http.MethodPost, target, form)
}

var formTokenRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

func (b *person) do(in *instance, method, target string, form url.Values) sitePage {
	b.t.Helper()
	for range 10 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, in.url+target, body)
		if err != nil {
			b.t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Forwarded-For", b.ip)
		for _, c := range b.jar.Cookies(jarURL(req.URL.Path)) {
			req.AddCookie(c)
		}
		resp, err := b.client.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s on %s: %v", method, req.URL.Path, in.name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.jar.SetCookies(jarURL(req.URL.Path), resp.Cookies())
		if resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound {
			target, method, form = resp.Header.Get("Location"), http.MethodGet, nil
			continue
		}
		p := sitePage{status: resp.StatusCode, header: resp.Header, body: string(raw), path: req.URL.Path, from: in}
		b.last = p
		b.visits = append(b.visits, in.name+" "+p.path)
		return p
	}
	b.t.Fatalf("too many redirects at %s", target)
	return sitePage{}
}

func (b *person) sawStep(in *instance, step string) bool {
	for _, v := range b.visits {
		if v == in.name+" /refer/"+step {
			return true
		}
	}
	return false
}

var sentRefRE = regexp.MustCompile(`FH-[2-9A-Z]{4}-[2-9A-Z]{4}`)

// journeyAnswers are what a parent asking for help for herself gives on each page of the journey.
func journeyAnswers(path, phone string) url.Values {
	v := url.Values{}
	switch strings.TrimPrefix(path, "/refer/") {
	case "who":
		v.Set("asker", "self")
	case "danger":
		v.Set("danger", "no")
	case "needs":
		v["needs"] = []string{"money"}
		v.Set("story", "We are behind on the rent")
	case "adult":
		v.Set("adult-name", "Alex Example")
	case "children":
		v.Set("child-0-name", "Mo")
		v.Set("child-0-age", "7")
	case "home":
		v.Set("postcode", "wv1 1aa")
		v.Set("languages", "English")
	case "network":
		v.Set("nobody", "yes")
	case "contact":
		v["safe"] = []string{"text"}
		v.Set("phone", phone)
		v.Set("say-who-we-are", "no")
		v.Set("safe-times", "Mornings")
	case "consent":
		v.Set("consent", "yes")
	}
	return v
}

// referral goes through the whole journey from the start page: request number i goes to
// on(i), and the send to sendOn. It returns the page the send ends on.
func (b *person) referral(on func(i int) *instance, sendOn *instance, phone string, mayTimeOut bool) sitePage {
	b.t.Helper()
	if p := b.get(on(0), "/refer"); p.status != http.StatusOK {
		b.t.Fatalf("start page on %s: %d", p.from.name, p.status)
	}
	b.post(on(1), "/refer/start", url.Values{})
	return b.referralFrom(func(i int) *instance { return on(i + 2) }, sendOn, phone, mayTimeOut)
}

// referralFrom answers whatever page of the journey was shown last, as a person would, until
// the referral is sent. Unless mayTimeOut, a page that says it timed out (its token was not
// accepted) fails the test.
func (b *person) referralFrom(on func(i int) *instance, sendOn *instance, phone string, mayTimeOut bool) sitePage {
	b.t.Helper()
	for i := range 30 {
		p := b.last
		if p.status >= 500 {
			b.t.Fatalf("error page at %s on %s: %d\n%s", p.path, p.from.name, p.status, p.text())
		}
		if !mayTimeOut && p.has("This page timed out") {
			b.t.Fatalf("the token from the page was refused at %s on %s:\n%s", p.path, p.from.name, p.text())
		}
		switch p.path {
		case "/refer/check":
			return b.post(sendOn, "/refer/check", url.Values{})
		case "/refer/done":
			return p
		case "/refer":
			b.post(on(i), "/refer/start", url.Values{})
		default:
			if !strings.HasPrefix(p.path, "/refer/") {
				b.t.Fatalf("the journey left for %s:\n%s", p.path, p.text())
			}
			b.post(on(i), p.path, journeyAnswers(p.path, phone))
		}
	}
	b.t.Fatalf("no referral sent after 30 pages; last %s:\n%s", b.last.path, b.last.text())
	return sitePage{}
}

var (
	hiddenFieldRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	textFieldRE   = regexp.MustCompile(`<input class="govuk-input[^"]*" id="[^"]+" name="([^"]+)" type="[a-z]+" value="([^"]*)"`)
	textAreaRE    = regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
	checkedBoxRE  = regexp.MustCompile(`<input class="govuk-(?:checkboxes|radios)__input" id="[^"]+" name="([^"]+)" type="[a-z]+" value="([^"]*)" checked`)
)

// staffFormOf is what a browser would post from a staff form as it stands: hidden values, text
// fields, text areas, ticked boxes and chosen radios (the token is added by post).
func staffFormOf(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenFieldRE.FindAllStringSubmatch(body, -1) {
		if m[1] != "_csrf" {
			v.Add(m[1], html.UnescapeString(m[2]))
		}
	}
	for _, re := range []*regexp.Regexp{textFieldRE, textAreaRE} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			v.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	for _, m := range checkedBoxRE.FindAllStringSubmatch(body, -1) {
		v.Add(m[1], html.UnescapeString(m[2]))
	}
	return v
}
