// Command benchload is the program behind `make bench`. It builds familyhelp, seeds a throwaway
// data dir with synthetic services, serves it on loopback, and drives it with a closed-loop
// load generator. Rates are judged against a ceiling: a bare Fiber app in this process that
// returns the same results page from memory, so the targets hold on any machine rather than
// naming absolute numbers. It also weighs the results page as a phone would receive it.
//
// Run it from the repository root:
//
//	go run ./cmd/benchload [-c 10] [-d 5s] [-services 10000] [-bin PATH] [-json FILE]
//
// It exits 1 if a target is missed or any request fails.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
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
	bin      string
	services int
	conc     int
	warmup   time.Duration
	dur      time.Duration
	maxReq   int
	jsonFile string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "use this familyhelp binary instead of building one")
	flag.IntVar(&o.services, "services", 10000, "synthetic services to seed")
	flag.IntVar(&o.conc, "c", 10, "concurrent keep-alive connections")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up per scenario (not measured)")
	flag.DurationVar(&o.dur, "d", 5*time.Second, "measured duration per scenario")
	flag.IntVar(&o.maxReq, "max", 1_000_000, "hard cap on requests per scenario")
	flag.StringVar(&o.jsonFile, "json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	if o.services < 1 || o.conc < 1 || o.dur <= 0 || o.maxReq < 1 {
		fmt.Fprintln(os.Stderr, "benchload: -services, -c, -d and -max must be positive")
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
	CPUs        int           `json:"cpus"`
	Services    int           `json:"services"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	SeedTime    time.Duration `json:"seed_ns"`
	Scenarios   []result      `json:"scenarios"`
	Weight      pageWeight    `json:"page_weight"`
	Targets     []target      `json:"targets"`
	TotalTime   time.Duration `json:"total_ns"`
	Pass        bool          `json:"pass"`
}

type target struct {
	Name   string `json:"name"`
	Actual string `json:"actual"`
	Pass   bool   `json:"pass"`
}

// run does the whole benchmark; ok is false if a target failed or a request failed.
func run(ctx context.Context, o options) (ok bool, err error) {
	began := time.Now()
	if _, err := os.Stat(postcodeFile); err != nil {
		return false, fmt.Errorf("run me from the repository root: %w", err)
	}
	tmp, err := os.MkdirTemp("", "benchload-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)

	rep := report{CPUs: runtime.NumCPU(), Services: o.services, Concurrency: o.conc, Duration: o.dur}
	fmt.Printf("Family Help load benchmark: %d synthetic services, %d connections, %s per scenario after a %s warm-up\n",
		o.services, o.conc, o.dur, o.warmup)
	fmt.Printf("Loopback only. %d CPUs, shared by the load generator, the ceiling app and familyhelp;\n", rep.CPUs)
	fmt.Println("compare the rates with each other, not with a production server. Load requests ask for no gzip.")

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "familyhelp")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/familyhelp")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return false, fmt.Errorf("build familyhelp: %w", err)
		}
	}
	data := filepath.Join(tmp, "data")
	port, err := freePort()
	if err != nil {
		return false, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := appEnv(data, addr)

	start := time.Now()
	seed := exec.CommandContext(ctx, bin, "seed", "--synthetic", fmt.Sprint(o.services))
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		return false, fmt.Errorf("seed: %w\n%s", err, out)
	}
	rep.SeedTime = time.Since(start)
	fmt.Printf("seed --synthetic %d: %s\n", o.services, rep.SeedTime.Round(time.Millisecond))

	logPath := filepath.Join(tmp, "serve.log")
	stopServer, err := startServer(ctx, bin, env, addr, logPath)
	if err != nil {
		return false, err
	}
	defer func() {
		stopServer()
		// The server's log goes with tmp, so show what matters from it now: its last words if
		// the run broke, its warnings and errors if a target was missed.
		if err != nil && ctx.Err() == nil {
			printLog(logPath, false)
		} else if !ok {
			printLog(logPath, true)
		}
	}()

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

	rep.Targets = judge(rep, o.conc)
	rep.Pass = true
	for _, t := range rep.Targets {
		rep.Pass = rep.Pass && t.Pass
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

// appEnv gives the app a private data dir and address, and drops any DATABASE_URL, MEILI_URL
// and the like from the caller's shell: the benchmark must never seed a real database.
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
	return append(env, "FAMILYHELP_DATA_DIR="+data, "FAMILYHELP_ADDR="+addr)
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
func judge(r report, conc int) []target {
	sc := map[string]result{}
	failed := 0
	for _, s := range r.Scenarios {
		sc[s.Name] = s
		failed += s.Failed
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
	return []target{
		{"service page ≥ 50% of ceiling rate", fmt.Sprintf("%.1f%%", 100*svc), svc >= 0.5},
		{"need + postcode search ≥ 10% of ceiling rate", fmt.Sprintf("%.1f%%", 100*srch), srch >= 0.1},
		{p99Name, ms(p99), p99 <= 50*time.Millisecond},
		{"results HTML ≤ 14 KB gzipped", fmt.Sprintf("%.1f KB", float64(html)/kb), html <= 14*kb},
		{"HTML+CSS+JS ≤ 40 KB gzipped", fmt.Sprintf("%.1f KB", float64(total)/kb), total <= 40*kb},
		{"no failed requests", fmt.Sprintf("%d failed", failed), failed == 0},
	}
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
	for _, t := range r.Targets {
		verdict := "PASS"
		if !t.Pass {
			verdict = "FAIL"
		}
		fmt.Printf("%s  %-52s %s\n", verdict, t.Name, t.Actual)
	}
	fmt.Printf("\nseed %s, total run %s\n", r.SeedTime.Round(time.Millisecond), r.TotalTime.Round(time.Millisecond))
}

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
		if l := sc.Text(); !problemsOnly || !strings.Contains(l, "level=INFO") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	switch {
	case len(lines) > 0:
		fmt.Fprintf(os.Stderr, "\nfrom the familyhelp log:\n%s\n", strings.Join(lines, "\n"))
	case problemsOnly:
		fmt.Fprintln(os.Stderr, "\nthe familyhelp log holds no warnings or errors")
	}
}
