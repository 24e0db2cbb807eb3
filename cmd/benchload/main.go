// Command benchload is the program behind `make bench`. It builds familyhelp, seeds a throwaway
// data dir with synthetic services, serves it on loopback, and drives it with a closed-loop
// load generator. Page and search rates are judged against a ceiling: a bare Fiber app in this
// process that returns the same results page from memory, so those targets hold on any machine
// rather than naming absolute numbers. It also weighs the results page as a phone would
// receive it.
//
// Then virtual people walk the referral form from start to confirmation, first against the
// embedded default (SQLite, in-process limiter) and then in production mode (a database made
// for the run on the local PostgreSQL, and the local Redis): completed referrals per second
// and the latency of the final "Send request" are judged against absolute targets, because
// they are what a council must plan for.
//
// Run it from the repository root:
//
//	go run ./cmd/benchload [-c 10] [-refer-c 20] [-d 5s] [-services 10000] [-postgres=false]
//	    [-postgres-url URL] [-redis-url URL] [-bin PATH] [-json FILE]
//
// It exits 1 if a target is missed or any request fails. Without PostgreSQL or Redis it stops
// and says so; -postgres=false measures the embedded default alone.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// The page the ceiling copies and the page weighed: a typical results page.
const resultsPath = "/search?need=parenting&postcode=WV1+1AA"

// postcodeFile is read from the working tree so the searches use real postcodes that the app
// itself knows.
const postcodeFile = "postcode/data/postcodes_WV_WS.csv.gz"

// needs are the need slugs; fixed here so the benchmark does not move when the app changes.
var needs = []string{"domestic-abuse", "addiction", "mental-health", "parenting", "money",
	"housing", "child-health", "send", "child-safety"}

// typos are misspelt family queries: free-text search must forgive them, and quickly.
var typos = []string{"domestik abuse", "alchohol", "councelling", "mentel health",
	"parenting suport", "debt advise", "housng", "anxeity", "depresion", "bullyng",
	"speach and language", "brestfeeding", "gamblng", "homless", "autisim", "self harme",
	"eviktion", "foodbank vouchr", "post natel depression", "behavour support"}

type options struct {
	bin         string
	services    int
	conc        int
	referConc   int
	warmup      time.Duration
	dur         time.Duration
	maxReq      int
	jsonFile    string
	postgres    bool
	postgresURL string
	redisURL    string
}

// Where production mode is measured by default: the services this machine runs (see
// scripts/ensure-services). The PostgreSQL role must be allowed to create databases.
const (
	defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	defaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// The referral targets, absolute: what one instance on this machine must take at the
// concurrency the issue names.
const (
	referralConc      = 20
	minReferralsPerS  = 200
	maxSubmitP99      = 100 * time.Millisecond
	embeddedName      = "embedded (SQLite, in-process limiter)"
	productionName    = "production (PostgreSQL, Redis)"
	productionSkipped = "PostgreSQL + Redis NOT MEASURED (-postgres=false): the production-mode referral targets were not checked"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "use this familyhelp binary instead of building one")
	flag.IntVar(&o.services, "services", 10000, "synthetic services to seed")
	flag.IntVar(&o.conc, "c", 10, "concurrent keep-alive connections for the page and search scenarios")
	flag.IntVar(&o.referConc, "refer-c", referralConc, "virtual people walking the referral form at once")
	flag.BoolVar(&o.postgres, "postgres", true, "also measure referrals on PostgreSQL and Redis (false: the embedded default only)")
	flag.StringVar(&o.postgresURL, "postgres-url", defaultPostgresURL,
		"PostgreSQL server `URL`, of a role that may create databases: one is made for the run and dropped after")
	flag.StringVar(&o.redisURL, "redis-url", defaultRedisURL, "Redis `URL` for production mode")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per scenario (not measured)")
	flag.DurationVar(&o.dur, "d", 5*time.Second, "measured duration per scenario")
	flag.IntVar(&o.maxReq, "max", 1_000_000, "hard cap on requests per scenario")
	flag.StringVar(&o.jsonFile, "json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	if o.services < 1 || o.conc < 1 || o.referConc < 1 || o.dur <= 0 || o.maxReq < 1 {
		fmt.Fprintln(os.Stderr, "benchload: -services, -c, -refer-c, -d and -max must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ok, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// report is everything measured; it is also the -json output.
type report struct {
	CPUs        int             `json:"cpus"`
	Services    int             `json:"services"`
	Concurrency int             `json:"concurrency"`
	Duration    time.Duration   `json:"duration_ns"`
	SeedTime    time.Duration   `json:"seed_ns"`
	Scenarios   []result        `json:"scenarios"`
	Weight      pageWeight      `json:"page_weight"`
	Referrals   []journeyResult `json:"referrals"`
	// PostgresMeasured is false when -postgres=false left production mode out.
	PostgresMeasured bool          `json:"postgres_measured"`
	Targets          []target      `json:"targets"`
	TotalTime        time.Duration `json:"total_ns"`
	Pass             bool          `json:"pass"`
}

type target struct {
	Name   string `json:"name"`
	Actual string `json:"actual"`
	Pass   bool   `json:"pass"`
	// Skipped targets were not measured; they do not count towards Pass.
	Skipped bool `json:"skipped,omitempty"`
}

// run does the whole benchmark; ok is false if a target failed or a request failed.
func run(ctx context.Context, o options) (ok bool, err error) {
	began := time.Now()
	if _, err := os.Stat(postcodeFile); err != nil {
		return false, fmt.Errorf("run me from the repository root: %w", err)
	}
	// Production mode is checked first, so a machine without PostgreSQL or Redis is told at
	// once rather than after the embedded run.
	if o.postgres {
		if err := execPostgres(ctx, o.postgresURL, "SELECT 1"); err != nil {
			return false, fmt.Errorf("%w\nproduction mode needs PostgreSQL; start it (see scripts/ensure-services) or run with -postgres=false to measure the embedded default alone", err)
		}
		if err := pingRedis(ctx, o.redisURL); err != nil {
			return false, fmt.Errorf("%w\nproduction mode needs Redis; start it (see scripts/ensure-services) or run with -postgres=false to measure the embedded default alone", err)
		}
	}
	tmp, err := os.MkdirTemp("", "benchload-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	rep := report{CPUs: runtime.NumCPU(), Services: o.services, Concurrency: o.conc, Duration: o.dur, PostgresMeasured: o.postgres}
	fmt.Printf("Family Help load benchmark: %d synthetic services, %d connections, %s per scenario after a %s warm-up\n",
		o.services, o.conc, o.dur, o.warmup)
	fmt.Printf("Loopback only. %d CPUs, shared by the load generator, the ceiling app and familyhelp;\n", rep.CPUs)
	fmt.Println("compare the rates with each other, not with a production server. Load requests ask for no gzip.")
	if !o.postgres {
		fmt.Printf("\n*** %s ***\n\n", productionSkipped)
	}

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "familyhelp")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/familyhelp")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return false, fmt.Errorf("build familyhelp: %w", err)
		}
	}

	// The servers' logs go with tmp, so what matters from them is shown before: their last
	// words if the run broke, their warnings and errors if a target was missed.
	var logs []string
	defer func() {
		for _, l := range logs {
			if err != nil && ctx.Err() == nil {
				printLog(l, false)
			} else if !ok {
				printLog(l, true)
			}
		}
	}()
	who := newPeople()

	embedded, err := serverEnv(tmp, "embedded")
	if err != nil {
		return false, err
	}
	start := time.Now()
	seed := exec.CommandContext(ctx, bin, "seed", "--synthetic", fmt.Sprint(o.services))
	seed.Env = embedded.env
	if out, err := seed.CombinedOutput(); err != nil {
		return false, fmt.Errorf("seed: %w\n%s", err, out)
	}
	rep.SeedTime = time.Since(start)
	fmt.Printf("seed --synthetic %d: %s\n", o.services, rep.SeedTime.Round(time.Millisecond))

	logs = append(logs, embedded.log)
	stopServer, err := startServer(ctx, bin, embedded.env, embedded.addr, embedded.log)
	if err != nil {
		return false, err
	}
	// Stopped before production mode starts, so the two never share the CPUs.
	defer func() { stopServer() }()

	addr := embedded.addr
	app := newClient(addr, o.conc)
	base := "http://" + addr
	page, ctype, err := get(app, base+resultsPath, false)
	if err != nil {
		return false, fmt.Errorf("results page: %w", err)
	}

	ceiling, ceilAddr, err := startCeiling(page.body, ctype)
	if err != nil {
		return false, err
	}
	defer ceiling.Shutdown()

	rep.Weight, err = weigh(app, base, page.body)
	if err != nil {
		return false, err
	}

	postcodes, err := readPostcodes(postcodeFile, 1000)
	if err != nil {
		return false, err
	}
	scenarios := []struct {
		name string
		hc   *fasthttp.HostClient
		urls []string
	}{
		{"ceiling", newClient(ceilAddr, o.conc), []string{"http://" + ceilAddr + "/"}},
		{"service page", app, serviceURLs(base, o.services)},
		{"need + postcode search", app, searchURLs(base, postcodes)},
		{"typo'd free text", app, typoURLs(base)},
	}
	for _, s := range scenarios {
		r := measure(ctx, s.name, s.hc, s.urls, o.conc, o.warmup, o.dur, o.maxReq)
		if ctx.Err() != nil {
			return false, errors.New("interrupted")
		}
		rep.Scenarios = append(rep.Scenarios, r)
	}
	fmt.Printf("referrals, %s: %d people walking the form at once\n", embeddedName, o.referConc)
	rep.Referrals = append(rep.Referrals, measureReferrals(ctx, embeddedName, addr, who, o.referConc, o.warmup, o.dur))
	if ctx.Err() != nil {
		return false, errors.New("interrupted")
	}
	stopServer()
	stopServer = func() {}

	if o.postgres {
		r, logPath, err := measureProduction(ctx, o, bin, tmp, who)
		if logPath != "" {
			logs = append(logs, logPath)
		}
		if err != nil {
			return false, err
		}
		rep.Referrals = append(rep.Referrals, r)
	}

	rep.Targets = judge(rep, o.conc, o.referConc)
	rep.Pass = true
	for _, t := range rep.Targets {
		rep.Pass = rep.Pass && (t.Pass || t.Skipped)
	}
	rep.TotalTime = time.Since(began)
	printReport(rep)
	if o.jsonFile != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonFile, append(b, '\n'), 0o644); err != nil {
			return false, err
		}
	}
	return rep.Pass, nil
}

// measureProduction serves familyhelp on a database made for the run and on Redis, and sends
// the virtual people through the referral form. The app seeds its sample services into the
// empty database itself; the journey needs no others.
func measureProduction(ctx context.Context, o options, bin, tmp string, who *people) (r journeyResult, logPath string, err error) {
	dbURL, drop, err := freshDatabase(ctx, o.postgresURL)
	if err != nil {
		return r, "", err
	}
	defer drop()
	srv, err := serverEnv(tmp, "production")
	if err != nil {
		return r, "", err
	}
	// Every instance on a shared database needs the one key; serve refuses to run without it.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return r, "", err
	}
	env := append(srv.env, "DATABASE_URL="+dbURL, "REDIS_URL="+o.redisURL, "FAMILYHELP_SECRET_KEY="+hex.EncodeToString(key))
	stop, err := startServer(ctx, bin, env, srv.addr, srv.log)
	if err != nil {
		return r, srv.log, err
	}
	defer stop()
	fmt.Printf("referrals, %s: %d people walking the form at once\n", productionName, o.referConc)
	r = measureReferrals(ctx, productionName, srv.addr, who, o.referConc, o.warmup, o.dur)
	if ctx.Err() != nil {
		return r, srv.log, errors.New("interrupted")
	}
	return r, srv.log, nil
}

// server is where one familyhelp serves: its data dir, address, log file and environment.
type server struct {
	addr, log string
	env       []string
}

func serverEnv(tmp, name string) (server, error) {
	port, err := freePort()
	if err != nil {
		return server{}, err
	}
	s := server{addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(tmp, name+".log")}
	s.env = appEnv(filepath.Join(tmp, name), s.addr)
	return s, nil
}

// appEnv gives the app a private data dir and address, and drops any DATABASE_URL, MEILI_URL
// and the like from the caller's shell: the benchmark must never seed a real database.
// Production mode adds its own DATABASE_URL and REDIS_URL after.
func appEnv(data, addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "FAMILYHELP_"), k == "DATABASE_URL", k == "MEILI_URL",
			k == "MEILI_API_KEY", k == "REDIS_URL", k == "SMTP_URL":
			continue
		}
		env = append(env, kv)
	}
	// The load comes from loopback, standing for many people: requests say who they are in
	// X-Forwarded-For, which the app believes from 127.0.0.1 alone. A referral may be sent as
	// soon as the form is filled: the least fill time is for people, and these are not.
	return append(env, "FAMILYHELP_DATA_DIR="+data, "FAMILYHELP_ADDR="+addr,
		"FAMILYHELP_TRUSTED_PROXIES=127.0.0.1", "FAMILYHELP_MIN_FILL_SECONDS=0")
}

// freePort asks the kernel for an unused loopback port. Another process could take it before
// familyhelp binds it; on a dev machine that is rare enough, and startServer then fails loudly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs `familyhelp serve` and waits for /healthz. The returned stop asks it to
// shut down, and kills it if it has not within a few seconds.
func startServer(ctx context.Context, bin string, env []string, addr, logPath string) (stop func(), err error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start familyhelp: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	stop = func() {
		if cmd.Process.Signal(os.Interrupt) != nil {
			cmd.Process.Kill()
		}
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	hc := newClient(addr, 1)
	limit := time.Now().Add(60 * time.Second)
	for {
		if r, _, err := get(hc, "http://"+addr+"/healthz", false); err == nil && string(r.body) == "ok" {
			return stop, nil
		}
		select {
		case <-exited:
			return func() {}, fmt.Errorf("familyhelp serve exited before it was healthy: %v", cmd.ProcessState)
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(limit) {
			stop()
			return nil, errors.New("familyhelp serve was not healthy within 60s")
		}
	}
}

// startCeiling serves body from memory with the least work Fiber can do: what is left of a
// request's cost is the HTTP stack and the load generator, which familyhelp pays too.
func startCeiling(body []byte, ctype string) (*fiber.App, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, ctype)
		return c.Send(body)
	})
	go app.Listener(ln)
	return app, ln.Addr().String(), nil
}

type fetched struct {
	body     []byte
	encoding string
}

// get fetches one URL and insists on 200. With gzip it asks for compression and leaves the
// body as it came over the wire.
func get(hc *fasthttp.HostClient, u string, gz bool) (fetched, string, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(u)
	if gz {
		req.Header.Set(fasthttp.HeaderAcceptEncoding, "gzip")
	}
	if err := hc.Do(req, resp); err != nil {
		return fetched{}, "", err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fetched{}, "", fmt.Errorf("GET %s: status %d", u, resp.StatusCode())
	}
	f := fetched{body: bytes.Clone(resp.Body()), encoding: string(resp.Header.ContentEncoding())}
	return f, string(resp.Header.ContentType()), nil
}

// pageWeight is gzipped body bytes: the HTML and each CSS and JS file it links.
type pageWeight struct {
	HTML   int            `json:"html_bytes"`
	Assets map[string]int `json:"asset_bytes"`
	// SelfGzipped names responses the server sent uncompressed, which were gzipped here.
	SelfGzipped []string `json:"self_gzipped,omitempty"`
}

func (w pageWeight) total() int {
	t := w.HTML
	for _, n := range w.Assets {
		t += n
	}
	return t
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/static/[^"?#]+\.(?:css|js))"`)

// weigh fetches the results page and its CSS and JS as a browser would, asking for gzip.
func weigh(hc *fasthttp.HostClient, base string, html []byte) (pageWeight, error) {
	w := pageWeight{Assets: map[string]int{}}
	paths := []string{resultsPath}
	for _, m := range assetRef.FindAllSubmatch(html, -1) {
		paths = append(paths, string(m[1]))
	}
	if len(paths) == 1 {
		return w, errors.New("the results page links no /static CSS or JS")
	}
	for _, p := range paths {
		f, _, err := get(hc, base+p, true)
		if err != nil {
			return w, fmt.Errorf("page weight: %w", err)
		}
		n := len(f.body)
		if f.encoding != "gzip" {
			n = gzipLen(f.body)
			w.SelfGzipped = append(w.SelfGzipped, p)
		}
		if p == resultsPath {
			w.HTML = n
		} else {
			w.Assets[p] = n
		}
	}
	return w, nil
}

func gzipLen(b []byte) int {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

// readPostcodes takes n postcodes spread evenly through the file, skipping rows without a
// location (terminated postcodes): always the same ones, so runs compare.
func readPostcodes(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var all []string
	for _, r := range rows[1:] { // header: Postcode,lat,long
		if len(r) >= 3 && r[1] != "" && r[2] != "" {
			all = append(all, r[0])
		}
	}
	if len(all) < n {
		return nil, fmt.Errorf("%s: only %d postcodes with a location, want %d", path, len(all), n)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*len(all)/n]
	}
	return out, nil
}

// serviceURLs visits every id once per cycle, in an order that jumps across the whole range so
// neighbouring requests do not share database pages.
func serviceURLs(base string, n int) []string {
	step := 7919 // a prime; any step coprime with n visits every id
	for gcd(step, n) != 1 {
		step++
	}
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/services/synthetic-%05d", base, i*step%n+1)
	}
	return urls
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// searchURLs pairs needs with postcodes; 9 and 1,000 are coprime, so the cycle holds 9,000
// different searches and no answer is simply cached.
func searchURLs(base string, postcodes []string) []string {
	urls := make([]string, len(needs)*len(postcodes))
	for i := range urls {
		q := url.Values{"need": {needs[i%len(needs)]}, "postcode": {postcodes[i%len(postcodes)]}}
		urls[i] = base + "/search?" + q.Encode()
	}
	return urls
}

func typoURLs(base string) []string {
	urls := make([]string, len(typos))
	for i, t := range typos {
		urls[i] = base + "/search?" + url.Values{"q": {t}}.Encode()
	}
	return urls
}

const kb = 1024

// judge checks the targets. Rates are relative to the ceiling so they mean the same on a
// laptop and on CI; latency and weight are absolute because a phone user feels them as such.
func judge(r report, conc, referConc int) []target {
	sc := map[string]result{}
	failed := 0
	for _, s := range r.Scenarios {
		sc[s.Name] = s
		failed += s.Failed
	}
	for _, j := range r.Referrals {
		failed += j.Failed
	}
	ceil := sc["ceiling"].RPS
	share := func(name string) float64 {
		if ceil == 0 {
			return 0
		}
		return sc[name].RPS / ceil
	}
	svc, srch := share("service page"), share("need + postcode search")
	p99 := sc["typo'd free text"].P99
	p99Name := "typo'd free text p99 ≤ 50 ms at concurrency 10"
	if conc != 10 {
		p99Name += fmt.Sprintf(" (measured at %d)", conc)
	}
	html, total := r.Weight.HTML, r.Weight.total()
	targets := []target{
		{Name: "service page ≥ 50% of ceiling rate", Actual: fmt.Sprintf("%.1f%%", 100*svc), Pass: svc >= 0.5},
		{Name: "need + postcode search ≥ 10% of ceiling rate", Actual: fmt.Sprintf("%.1f%%", 100*srch), Pass: srch >= 0.1},
		{Name: p99Name, Actual: ms(p99), Pass: p99 <= 50*time.Millisecond},
		{Name: "results HTML ≤ 14 KB gzipped", Actual: fmt.Sprintf("%.1f KB", float64(html)/kb), Pass: html <= 14*kb},
		{Name: "HTML+CSS+JS ≤ 40 KB gzipped", Actual: fmt.Sprintf("%.1f KB", float64(total)/kb), Pass: total <= 40*kb},
	}
	at := fmt.Sprintf(" at concurrency %d", referralConc)
	if referConc != referralConc {
		at += fmt.Sprintf(" (measured at %d)", referConc)
	}
	rate := fmt.Sprintf("referrals ≥ %d/s", minReferralsPerS) + at
	submitP99 := fmt.Sprintf("referral submit p99 ≤ %d ms", maxSubmitP99.Milliseconds()) + at
	measured := map[string]journeyResult{}
	for _, j := range r.Referrals {
		measured[j.Name] = j
	}
	for _, name := range []string{embeddedName, productionName} {
		j, ok := measured[name]
		if !ok {
			targets = append(targets,
				target{Name: rate + ", " + name, Actual: "not measured", Skipped: true},
				target{Name: submitP99 + ", " + name, Actual: "not measured", Skipped: true})
			continue
		}
		targets = append(targets,
			target{Name: rate + ", " + name, Actual: fmt.Sprintf("%.0f/s", j.PerSecond), Pass: j.PerSecond >= minReferralsPerS},
			target{Name: submitP99 + ", " + name, Actual: ms(j.SubmitP99), Pass: j.Referrals > 0 && j.SubmitP99 <= maxSubmitP99})
	}
	return append(targets, target{Name: "no failed requests or journeys", Actual: fmt.Sprintf("%d failed", failed), Pass: failed == 0})
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func printReport(r report) {
	fmt.Println()
	fmt.Printf("%-24s %9s %10s %10s %10s %10s %8s\n", "scenario", "requests", "req/s", "p50", "p90", "p99", "non-200")
	for _, s := range r.Scenarios {
		fmt.Printf("%-24s %9d %10.0f %10s %10s %10s %8d\n", s.Name, s.Requests, s.RPS, ms(s.P50), ms(s.P90), ms(s.P99), s.Failed)
	}
	for _, s := range r.Scenarios {
		if s.FirstFailure != "" {
			fmt.Printf("  %s: first failure: %s\n", s.Name, s.FirstFailure)
		}
	}

	fmt.Println()
	fmt.Println("referrals: each virtual person walks the whole form as a browser does (every POST, every page")
	fmt.Println("after it, the confirmation); \"submit\" is the final POST that stores the referral")
	fmt.Printf("%-38s %4s %10s %9s %10s %10s %10s %10s %10s %7s\n", "", "c", "referrals", "per sec", "req/s",
		"submit p50", "submit p99", "page p50", "page p99", "failed")
	for _, j := range r.Referrals {
		fmt.Printf("%-38s %4d %10d %9.0f %10.0f %10s %10s %10s %10s %7d\n", j.Name, j.Concurrency, j.Referrals, j.PerSecond,
			j.RequestsPS, ms(j.SubmitP50), ms(j.SubmitP99), ms(j.PageP50), ms(j.PageP99), j.Failed)
	}
	if !r.PostgresMeasured {
		fmt.Printf("%-38s %s\n", productionName, "NOT MEASURED (-postgres=false)")
	}
	for _, j := range r.Referrals {
		if j.FirstFailure != "" {
			fmt.Printf("  %s: first failure: %s\n", j.Name, j.FirstFailure)
		}
	}

	fmt.Println()
	fmt.Println("page weight, gzipped body bytes as served (1 KB = 1024 bytes)")
	fmt.Printf("  %-40s %8.1f KB\n", resultsPath, float64(r.Weight.HTML)/kb)
	for _, p := range slices.Sorted(maps.Keys(r.Weight.Assets)) {
		fmt.Printf("  %-40s %8.1f KB\n", p, float64(r.Weight.Assets[p])/kb)
	}
	fmt.Printf("  %-40s %8.1f KB\n", "HTML+CSS+JS", float64(r.Weight.total())/kb)
	for _, p := range r.Weight.SelfGzipped {
		fmt.Printf("  note: the server sent %s uncompressed; its size is gzipped here\n", p)
	}

	fmt.Println()
	width := 0
	for _, t := range r.Targets {
		width = max(width, utf8.RuneCountInString(t.Name))
	}
	for _, t := range r.Targets {
		verdict := "PASS"
		switch {
		case t.Skipped:
			verdict = "SKIP"
		case !t.Pass:
			verdict = "FAIL"
		}
		fmt.Printf("%s  %-*s %s\n", verdict, width, t.Name, t.Actual)
	}
	if !r.PostgresMeasured {
		fmt.Printf("\n*** %s ***\n", productionSkipped)
	}
	fmt.Printf("\nseed %s, total run %s\n", r.SeedTime.Round(time.Millisecond), r.TotalTime.Round(time.Millisecond))
}

// problem matches a warning or an error in the app's log, as text or as JSON (its format when
// not on a terminal).
var problem = regexp.MustCompile(`level=(WARN|ERROR)|"level":"(WARN|ERROR)"`)

// printLog shows the end of the server's log on stderr, or only its warnings and errors:
// at info level it logs every request, which says nothing about a missed target.
func printLog(path string, problemsOnly bool) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); !problemsOnly || problem.MatchString(l) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	switch {
	case len(lines) > 0:
		fmt.Fprintf(os.Stderr, "\nfrom the familyhelp log (%s):\n%s\n", strings.TrimSuffix(filepath.Base(path), ".log"), strings.Join(lines, "\n"))
	case problemsOnly:
		fmt.Fprintf(os.Stderr, "\nthe familyhelp log (%s) holds no warnings or errors\n", strings.TrimSuffix(filepath.Base(path), ".log"))
	}
}
