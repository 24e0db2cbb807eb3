//go:build unix

package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"familyhelp/referral"
)

// The helpers here run the real binary as a family, a mail server and an operator would meet
// it, for the fault and privacy tests: the process (started, killed, started again on the same
// data), a browser that walks the referral journey over HTTP, and a mail server that records
// every message and can be taken down.

// appProcess is the familyhelp binary serving on one address. The log (stdout and stderr) of
// every run is kept across restarts.
type appProcess struct {
	t    *testing.T
	bin  string
	addr string
	env  []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
	runs   []*appRun
}

// appRun is one run of the process, and what it wrote.
type appRun struct {
	log    safeBuffer
	killed bool
}

// log is what every run wrote, one run after another. A line that SIGKILL cut short is ended
// there, so that it does not run into the next run's first line.
func (a *appProcess) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, r := range a.runs {
		s := r.log.String()
		b.WriteString(s)
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// cutLines are the last lines of killed runs that SIGKILL cut short: a process killed while
// writing a line cannot finish it.
func (a *appProcess) cutLines() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	cut := map[string]bool{}
	for _, r := range a.runs {
		s := r.log.String()
		if r.killed && s != "" && !strings.HasSuffix(s, "\n") {
			cut[s[strings.LastIndexByte(s, '\n')+1:]+"\n"] = true
		}
	}
	return cut
}

// startApp runs `familyhelp serve` with env (on top of cleanEnv) and waits until it answers.
func startApp(t *testing.T, bin string, env ...string) *appProcess {
	t.Helper()
	a := &appProcess{t: t, bin: bin, addr: freeAddr(t), env: env}
	a.start()
	t.Cleanup(func() {
		a.kill()
		if t.Failed() {
			t.Logf("server log (last 8 KB):\n%s", tail(a.log(), 8<<10))
		}
	})
	return a
}

// start starts the binary again on the same address and data, and waits until it is ready.
func (a *appProcess) start() {
	a.t.Helper()
	cmd := exec.Command(a.bin, "serve")
	cmd.Env = append(cleanEnv(), a.env...)
	cmd.Env = append(cmd.Env, "FAMILYHELP_ADDR="+a.addr)
	run := &appRun{}
	cmd.Stdout, cmd.Stderr = &run.log, &run.log
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	a.mu.Lock()
	a.cmd, a.exited = cmd, exited
	a.runs = append(a.runs, run)
	a.mu.Unlock()
	a.waitServing(exited)
}

// waitServing polls /readyz until the server says it can serve. Only the database is
// required there, so a mail server or search engine that is down does not hold it up.
func (a *appProcess) waitServing(exited <-chan error) {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			a.t.Fatalf("server exited before it was ready: %v\n%s", err, tail(a.log(), 4<<10))
		default:
		}
		resp, err := http.Get(a.url("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("server not ready after a minute: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL, as a crash or an out-of-memory kill would: nothing runs
// after it, no deferred close, no handing back of leased work.
func (a *appProcess) kill() { a.signal(syscall.SIGKILL) }

// stop ends the process with SIGTERM and waits for its graceful shutdown.
func (a *appProcess) stop() { a.signal(syscall.SIGTERM) }

func (a *appProcess) signal(sig syscall.Signal) {
	a.mu.Lock()
	cmd, exited := a.cmd, a.exited
	a.cmd = nil
	if cmd != nil {
		a.runs[len(a.runs)-1].killed = sig == syscall.SIGKILL
	}
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		a.t.Errorf("server still running 20 s after %v", sig)
	}
}

func (a *appProcess) url(path string) string { return "http://" + a.addr + path }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// browser is one person's browser: its own cookies, its own address (the server trusts
// X-Forwarded-For from loopback, so each person is counted apart by the rate limits), and the
// CSRF token of the last page it saw, which it posts back as a real form would.
type browser struct {
	app    *appProcess
	ip     string
	client *http.Client
	last   string // body of the last page
}

// noKeepAlive makes every request a fresh connection, so a request to a server that was
// killed fails as that request, not as a stale pooled connection's.
var noKeepAlive = &http.Transport{DisableKeepAlives: true}

func newBrowser(app *appProcess, ip string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{app: app, ip: ip, client: &http.Client{Jar: jar, Transport: noKeepAlive, Timeout: 30 * time.Second}}
}

// page is a response after redirects: where the browser ended up and what it shows.
type page struct {
	status int
	path   string // path and query of the final URL
	body   string
}

var csrfFieldRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// referenceRE matches a referral reference (referral.NewReference).
var referenceRE = regexp.MustCompile(`FH-[2-9A-Z]{4}-[2-9A-Z]{4}`)

func (b *browser) get(path string) (page, error) { return b.do(http.MethodGet, path, nil) }

// post sends a form with the token of the page last seen.
func (b *browser) post(path string, form url.Values) (page, error) {
	v := url.Values{}
	for k, vs := range form {
		v[k] = vs
	}
	if m := csrfFieldRE.FindStringSubmatch(b.last); m != nil {
		v.Set("_csrf", m[1])
	}
	return b.do(http.MethodPost, path, v)
}

func (b *browser) do(method, path string, form url.Values) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.app.url(path), body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", b.ip) // kept on redirects: same host
	resp, err := b.client.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return page{}, err
	}
	p := page{status: resp.StatusCode, path: resp.Request.URL.RequestURI(), body: string(raw)}
	b.last = p.body
	return p, nil
}

// formStep is one page of the journey: what is posted, and where the browser should land.
type formStep struct {
	path string
	form url.Values
	next string
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// fill goes from the start page to "Check your answers". Any page that does not lead where
// it should is an error, with the page it led to.
func (b *browser) fill(steps []formStep) error {
	p, err := b.get("/refer")
	if err != nil {
		return fmt.Errorf("start page: %w", err)
	}
	if p.status != http.StatusOK {
		return fmt.Errorf("start page: status %d", p.status)
	}
	for _, st := range steps {
		p, err := b.post(st.path, st.form)
		if err != nil {
			return fmt.Errorf("post %s: %w", st.path, err)
		}
		if p.status != http.StatusOK || p.path != st.next {
			return fmt.Errorf("post %s: status %d at %s, want %s", st.path, p.status, p.path, st.next)
		}
	}
	return nil
}

// send presses "Send request" on the check page and returns the reference the confirmation
// page shows.
func (b *browser) send() (string, error) {
	p, err := b.post("/refer/check", vals())
	if err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	return confirmation(p)
}

func confirmation(p page) (string, error) {
	ref := referenceRE.FindString(p.body)
	switch {
	case p.status == http.StatusOK && startPage(p.path):
		return "", errDraftGone
	case p.status != http.StatusOK || p.path != "/refer/done" || ref == "":
		return "", fmt.Errorf("send: status %d at %s, no confirmation", p.status, p.path)
	}
	return ref, nil
}

// errDraftGone is a journey whose answers the server no longer has: it sent the person back to
// the start, and they would begin again, as a new referral.
var errDraftGone = errors.New("the draft has gone: sent back to the start page")

func startPage(path string) bool { return path == "/refer" || strings.HasPrefix(path, "/refer?") }

// sendAgain is what a person does when "Send request" failed: go back to the check page and
// press it again (or, if the site already shows the confirmation, read it).
func (b *browser) sendAgain() (string, error) {
	p, err := b.get("/refer/check")
	if err != nil {
		return "", err
	}
	switch {
	case p.status == http.StatusOK && p.path == "/refer/done":
		return confirmation(p)
	case p.status == http.StatusOK && startPage(p.path):
		return "", errDraftGone
	case p.status != http.StatusOK || p.path != "/refer/check":
		return "", fmt.Errorf("check page: status %d at %s", p.status, p.path)
	}
	return b.send()
}

// journey is the pages of a complete referral by a parent for herself, with marker in what
// she writes, so that the referral can be recognised once opened.
func journey(marker string, n int) []formStep {
	postcode := []string{"WV1 1AA", "WS1 1AA", "WV10 0AA", "WS3 1AA"}[n%4]
	return []formStep{
		{"/refer/start", vals(), "/refer/who"},
		{"/refer/who", vals("asker", "self"), "/refer/danger"},
		{"/refer/danger", vals("danger", "no"), "/refer/needs"},
		{"/refer/needs", vals("needs", "housing", "needs", "money", "story", "Our flat is damp. "+marker), "/refer/adult"},
		{"/refer/adult", vals("adult-name", "Sam Example"), "/refer/children"},
		{"/refer/children", vals("child-0-name", "Jo", "child-0-age", "6"), "/refer/home"},
		{"/refer/home", vals("postcode", postcode), "/refer/network"},
		{"/refer/network", vals("nobody", "yes"), "/refer/contact"},
		{"/refer/contact", vals("safe", "they"), "/refer/consent"},
		{"/refer/consent", vals("consent", "yes"), "/refer/check"},
	}
}

// waitUntil polls cond until it holds or the deadline passes, which fails the test.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailbox is an SMTP server on loopback that records every message it accepts, with its
// envelope. It can be taken down (every MAIL FROM answered 451, as a server that is
// overloaded or being restarted does) and can hold one message after its data has arrived
// and before its answer, as a server does while it commits the message.
type mailbox struct {
	addr string

	mu       sync.Mutex
	down     bool
	refusals int
	hold     *heldMail
	copies   []mailCopy
}

// mailCopy is one message as the server accepted it.
type mailCopy struct {
	to  []string // the envelope's recipients
	raw []byte
	at  time.Time // when its data had arrived
}

type heldMail struct {
	arrived chan struct{} // closed when the held message's data has arrived
	release chan struct{} // closed to accept it
	once    sync.Once
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailboxSession{m: m}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		m.mu.Lock()
		if h := m.hold; h != nil {
			h.once.Do(func() { close(h.release) })
		}
		m.mu.Unlock()
		srv.Close()
	})
	return m
}

// setDown takes the server down (true) or brings it back.
func (m *mailbox) setDown(down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = down
}

func (m *mailbox) refused() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refusals
}

// holdNext makes the server hold the next message it receives: its data has arrived, the
// sender waits for the answer. release accepts it.
func (m *mailbox) holdNext() (arrived <-chan struct{}, release func()) {
	h := &heldMail{arrived: make(chan struct{}), release: make(chan struct{})}
	m.mu.Lock()
	m.hold = h
	m.mu.Unlock()
	return h.arrived, func() { h.once.Do(func() { close(h.release) }) }
}

func (m *mailbox) received() []mailCopy {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailCopy(nil), m.copies...)
}

type mailboxSession struct {
	m  *mailbox
	to []string
}

func (s *mailboxSession) Mail(string, *smtp.MailOptions) error {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.m.down {
		s.m.refusals++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	return nil
}

func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c := mailCopy{to: s.to, raw: raw, at: time.Now()}
	s.m.mu.Lock()
	h := s.m.hold
	s.m.hold = nil
	s.m.mu.Unlock()
	if h != nil {
		close(h.arrived)
		<-h.release
	}
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.copies = append(s.m.copies, c)
	return nil
}

func (s *mailboxSession) Reset()        { s.to = nil }
func (s *mailboxSession) Logout() error { return nil }

// storedReferrals opens the database the server used, as an operator would after the run,
// and returns every stored referral opened with the key, by reference, and every
// notification in the outbox.
func storedReferrals(t *testing.T, cfg config) (map[string]*referral.Referral, []referral.OutboxEntry) {
	t.Helper()
	ctx := context.Background()
	a, err := open(ctx, cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	refs := map[string]*referral.Referral{}
	for _, ref := range column(t, cfg, "SELECT reference FROM referrals") {
		if _, dup := refs[ref]; dup {
			t.Errorf("reference %s stored twice", ref)
		}
		rec, err := a.db.Referral(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		r, err := a.refs.OpenReferral(rec)
		if err != nil {
			t.Fatalf("open referral %s: %v", ref, err)
		}
		refs[ref] = r
	}
	entries, err := a.db.Outbox(ctx, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return refs, entries
}

// column reads one text column of a query, straight from the database the server used.
func column(t *testing.T, cfg config, query string) []string {
	t.Helper()
	db := rawDB(t, cfg)
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rawDB opens the server's database with database/sql alone (the store package registers the
// drivers), for reading what is really in it.
func rawDB(t *testing.T, cfg config) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", cfg.DatabaseURL
	if dsn == "" {
		driver, dsn = "sqlite", "file:"+cfg.DataDir+"/familyhelp.db?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// containsFold reports whether b holds s in any mix of upper and lower case.
func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(s)))
}
