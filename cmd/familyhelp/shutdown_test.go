//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"familyhelp/referral"
	"familyhelp/store"
)

// secretWord is typed into searches; it must reach neither the log nor the metrics.
const secretWord = "zebracrossingsecret"

// TestShutdownUnderLoad runs the real binary, loads it with searches and referral pages, and
// sends SIGTERM while requests are in flight and the outbox worker holds a batch of
// notifications, one of them half-way through SMTP.
func TestShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	key := strings.Repeat("5a", 32)

	// Three notifications wait in the outbox before the server starts.
	cfg := configFromEnv()
	cfg.DataDir, cfg.SecretKey, cfg.DatabaseURL, cfg.MeiliURL, cfg.RoutingFile = dataDir, key, "", "", ""
	waiting := submitReferrals(t, cfg, 3)

	mail := startHoldingMail(t)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(cleanEnv(),
		"FAMILYHELP_ADDR="+addr,
		"FAMILYHELP_METRICS_ADDR="+metricsAddr,
		"FAMILYHELP_LOG_FORMAT=json",
		"FAMILYHELP_DATA_DIR="+dataDir,
		"FAMILYHELP_SECRET_KEY="+key,
		"FAMILYHELP_BASE_URL=https://familyhelp.example.org", // no demo accounts
		"FAMILYHELP_TRUSTED_PROXIES=127.0.0.1",               // each load request is its own client
		"SMTP_URL=smtp://"+mail.addr,
	)
	var stderr safeBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	})

	waitReady(t, addr, exited)
	// The worker claimed the batch at start and is now in the middle of sending the first.
	select {
	case <-mail.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the outbox worker sent nothing")
	}

	load := startLoad(addr, 24)
	load.waitFor(t, 200)
	checkMetrics(t, addr, metricsAddr)

	// Requests the server has begun to read, finished only once shutdown is under way.
	var slow []*slowRequest
	for i := range 6 {
		target := "/search?q=family+support+" + secretWord
		if i%2 == 1 {
			target = "/refer"
		}
		slow = append(slow, startSlowRequest(t, addr, target, fmt.Sprintf("10.99.0.%d", i+1)))
	}
	time.Sleep(300 * time.Millisecond) // for the server to take the connections and read what came

	signalled := time.Now()
	load.signalled.Store(signalled.UnixNano())
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, addr)
	// The mail server accepts the message the worker was sending; nothing else holds the
	// server up now but the slow clients, which take another second to send the rest.
	close(mail.proceed)
	time.Sleep(time.Second)
	for _, r := range slow {
		status, err := r.finish()
		if err != nil || status != http.StatusOK {
			t.Errorf("request in flight at SIGTERM (%s): status %d, err %v; want a complete 200", r.target, status, err)
		}
	}
	load.stop()

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("server exited with %v, want 0", err)
		}
	case <-time.After(time.Until(signalled.Add(10 * time.Second))):
		t.Fatal("server still running 10 s after SIGTERM")
	}

	load.check(t)
	checkLog(t, stderr.String())
	checkOutboxAfterShutdown(t, dataDir, waiting, mail)
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "familyhelp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the test's environment without any familyhelp setting or backing service, so
// the server sees only what the test gives it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FAMILYHELP_") || k == "DATABASE_URL" || k == "REDIS_URL" || k == "SMTP_URL" ||
			strings.HasPrefix(k, "MEILI_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// submitReferrals stores n referrals, each with one team notification, and returns how many
// notifications wait.
func submitReferrals(t *testing.T, cfg config, n int) int {
	t.Helper()
	ctx := context.Background()
	a, err := open(ctx, cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	age := 6
	for range n {
		d := a.refs.NewDraft()
		d.Referral = referral.Referral{Asker: referral.AskerSelf, Danger: "no", Needs: []referral.Need{referral.NeedHousing},
			Story: "Our flat is damp", Adult: referral.Adult{Name: "Sam"}, Children: []referral.Child{{Name: "Jo", Age: &age}},
			Postcode: "WS1 1AA", NoNetwork: true, Contact: referral.Contact{TheyWillContact: true}, Consent: true}
		if _, err := a.refs.Submit(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := a.db.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d notifications wait, want %d", len(entries), n)
	}
	return len(entries)
}

func waitReady(t *testing.T, addr string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				want := `{"checks":{"database":{"status":"ok"},"search":{"status":"ok"},"smtp":{"status":"ok"}},"status":"ok"}`
				if got := compactJSON(t, body); got != want {
					t.Errorf("/readyz = %s, want %s", got, want)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// compactJSON re-encodes a JSON object with its keys sorted, for comparing.
func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// waitRefused dials until the server refuses: shutdown has closed the listener. A dial that
// still connects is closed at once, so it holds nothing up.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return
		case errors.Is(err, syscall.ECONNRESET):
			// A connection caught in the backlog as the listener closed: not served either,
			// and the next dial finds the port closed.
		case err != nil:
			t.Fatalf("dial after SIGTERM: %v, want connection refused", err)
		default:
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted 5 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowRequest is a request whose head is sent in two parts: the server is reading it when
// shutdown begins.
type slowRequest struct {
	target string
	conn   net.Conn
}

func startSlowRequest(t *testing.T, addr, target, client string) *slowRequest {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Forwarded-For: %s\r\n", target, addr, client); err != nil {
		t.Fatal(err)
	}
	return &slowRequest{target: target, conn: c}
}

func (r *slowRequest) finish() (int, error) {
	if err := r.conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return 0, err
	}
	if _, err := io.WriteString(r.conn, "Connection: close\r\n\r\n"); err != nil {
		return 0, fmt.Errorf("finish sending: %w", err)
	}
	status, _, err := readResponse(r.conn)
	return status, err
}

// readResponse reads one whole response. got says whether any of it arrived: a connection
// dropped before the first byte was never answered, one dropped after it was cut short.
func readResponse(c net.Conn) (status int, got bool, err error) {
	br := bufio.NewReader(c)
	if _, err := br.Peek(1); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, true, fmt.Errorf("read response head: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, true, fmt.Errorf("read response body: %w", err)
	}
	return resp.StatusCode, true, nil
}

// load is many clients, each sending one request after another on fresh connections until
// the server refuses them.
type load struct {
	addr      string
	signalled atomic.Int64 // UnixNano of SIGTERM, 0 before
	done      chan struct{}
	wg        sync.WaitGroup
	completed atomic.Int64

	mu         sync.Mutex
	failures   []string
	unanswered int // connections reset before any answer, after SIGTERM: never accepted
	refused    int
}

func startLoad(addr string, clients int) *load {
	l := &load{addr: addr, done: make(chan struct{})}
	targets := []string{
		"/search?q=parenting+" + secretWord,
		"/refer",
		"/search?need=domestic-abuse&postcode=WV1+1AA&q=" + secretWord,
		"/search?q=mental+health&free=yes",
	}
	for i := range clients {
		l.wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-l.done:
					return
				default:
				}
				if !l.one(targets[(i+n)%len(targets)], fmt.Sprintf("10.%d.%d.%d", i, n/250%250, n%250+1)) {
					return
				}
			}
		})
	}
	return l
}

// one sends one request and records how it went; false means stop (the server refused).
func (l *load) one(target, client string) bool {
	c, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
	if err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		// After SIGTERM a dial is refused, or reset if it reached the backlog as the listener
		// closed: either way the server did not take it.
		closed := errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
		if l.signalled.Load() == 0 || !closed {
			l.failures = append(l.failures, fmt.Sprintf("%s: dial: %v", target, err))
		}
		l.refused++
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	_, werr := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nX-Forwarded-For: %s\r\nConnection: close\r\n\r\n", target, l.addr, client)
	status, got, err := readResponse(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil && status >= 200 && status < 400:
		l.completed.Add(1)
	case err == nil:
		l.failures = append(l.failures, fmt.Sprintf("%s: status %d", target, status))
	case got:
		l.failures = append(l.failures, fmt.Sprintf("%s: answer cut short: %v", target, err))
	case l.signalled.Load() == 0:
		l.failures = append(l.failures, fmt.Sprintf("%s: no answer before SIGTERM: %v (write: %v)", target, err, werr))
	default:
		// Reset before a byte of answer, after SIGTERM: the kernel had completed the
		// connection, the server had not accepted it, and closing the listener resets what
		// waits in its backlog. (Checked with fasthttp's ConnState: resets equal connections
		// made less connections accepted.) A client sees that as a refusal, and retries.
		l.unanswered++
	}
	return true
}

func (l *load) waitFor(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.completed.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests answered in 30 s", l.completed.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *load) stop() {
	close(l.done)
	l.wg.Wait()
}

func (l *load) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failures {
		t.Error(f)
	}
	t.Logf("load: %d answered, %d never accepted, %d refused after SIGTERM", l.completed.Load(), l.unanswered, l.refused)
}

// checkMetrics scrapes the metrics address: requests by route pattern, nothing typed, and
// nothing of it on the site's own address.
func checkMetrics(t *testing.T, addr, metricsAddr string) {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`familyhelp_http_requests_total{method="GET",route="/search",status="2xx"}`,
		`familyhelp_http_requests_total{method="GET",route="/refer",status="`,
		`familyhelp_http_request_duration_seconds_bucket{method="GET",route="/search",le="0.1"}`,
		`familyhelp_notifications_failed_total{outcome="retry"} 0`,
		`familyhelp_search_fallbacks_total 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range []string{secretWord, "q=", "postcode", "10.0."} {
		if strings.Contains(text, secret) {
			t.Errorf("metrics hold %q", secret)
		}
	}
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the public site serves /metrics: status %d", resp.StatusCode)
		}
	}
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// checkLog reads the server's JSON log: every line an object; request lines with the request
// id, route, status and duration, and nothing typed.
func checkLog(t *testing.T, log string) {
	t.Helper()
	requests := 0
	for line := range strings.Lines(log) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["msg"] != "request" {
			continue
		}
		requests++
		if id, _ := rec["id"].(string); !requestIDRE.MatchString(id) {
			t.Errorf("request line without a request id: %s", line)
		}
		for _, k := range []string{"path", "status", "duration_ms", "method"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("request line without %s: %s", k, line)
			}
		}
	}
	if requests == 0 {
		t.Error("no request lines in the log")
	}
	for _, secret := range []string{secretWord, "q=", "10.0.", "WV1"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q", secret)
		}
	}
	for _, want := range []string{`"msg":"shutting down`, `"msg":"notifications handed back at shutdown","released":2`, `"msg":"stopped serving`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// checkOutboxAfterShutdown: the message the worker was sending is recorded as sent, once, and
// the rest of its batch can be claimed at once by another instance, with no attempt counted.
func checkOutboxAfterShutdown(t *testing.T, dataDir string, waiting int, mail *holdingMail) {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dataDir, "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, e := range entries {
		switch {
		case e.Sent:
			sent++
		case e.Attempts != 0 || e.GaveUp || e.LastError != "":
			t.Errorf("a notification handed back carries an attempt: %+v", e)
		}
	}
	if sent != 1 || mail.count() != 1 {
		t.Errorf("%d notifications marked sent and %d delivered, want the one under way at SIGTERM", sent, mail.count())
	}
	claimed, err := db.ClaimOutbox(ctx, time.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != waiting-1 {
		t.Errorf("another instance can claim %d notifications right after shutdown, want %d", len(claimed), waiting-1)
	}
}

// holdingMail is an SMTP server that holds the first message until proceed is closed, so a
// test can stop the server while a delivery is under way.
type holdingMail struct {
	addr     string
	arrived  chan struct{} // closed when the first message's data has arrived
	proceed  chan struct{} // close to accept it
	once     sync.Once
	mu       sync.Mutex
	accepted int
}

func startHoldingMail(t *testing.T) *holdingMail {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &holdingMail{addr: ln.Addr().String(), arrived: make(chan struct{}), proceed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &holdingSession{m: m}, nil }))
	srv.Domain = "localhost"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		m.once.Do(func() { close(m.arrived) })
		select {
		case <-m.proceed:
		default:
			close(m.proceed)
		}
		srv.Close()
	})
	return m
}

func (m *holdingMail) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accepted
}

type holdingSession struct{ m *holdingMail }

func (s *holdingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *holdingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *holdingSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.m.once.Do(func() { close(s.m.arrived) })
	<-s.m.proceed
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.accepted++
	return nil
}
func (s *holdingSession) Reset()        {}
func (s *holdingSession) Logout() error { return nil }
