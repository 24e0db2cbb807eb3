// Package handlers is the website: Fiber routes, middleware and the handlers that turn
// requests into calls on the domain and pages from views. It imports domain packages, views
// and static, never a driver or an engine: what it needs of them are the interfaces on Server.
package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cache"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"familyhelp/directory"
	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/views"
)

// Directory is what the public pages need of the directory.
type Directory interface {
	Search(ctx context.Context, q directory.Query) (*directory.Page, error)
	Get(ctx context.Context, id string) (*directory.Service, error)
	// Version changes when services change, so cached pages are rebuilt.
	Version() uint64
}

// Settings reads stored settings such as sample mode.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
}

// Pinger answers whether a backing service is up, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc makes a function a Pinger.
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Dependency is a backing service, other than the database, that /readyz reports on.
type Dependency struct {
	// Name is its key in the report: "search", "redis", "smtp".
	Name   string
	Pinger Pinger
	// Optional marks a service the site works without, less well: search falls back to the
	// database, rate limits to this instance's own, email waits in the outbox. While it is
	// down the report says "degraded" for it and the instance stays ready, because every
	// instance shares it: failing readiness for it would take the whole site off the load
	// balancer, which is worse for a family than a slower search.
	Optional bool
}

// Server holds what the handlers need. Every field is an interface or plain data, so tests and
// cmd/familyhelp can wire any implementation.
type Server struct {
	Directory Directory
	Settings  Settings
	// Database must answer for /readyz to say the instance is ready; Dependencies are the
	// other backing services it reports on.
	Database     Pinger
	Dependencies []Dependency
	Log          *slog.Logger
	// Metrics, if set, is told of every request.
	Metrics Metrics
	// SampleModeKey is the setting that is "on" while the directory holds sample data.
	SampleModeKey string

	// Referrals keeps drafts and takes submissions; Routing names the council and its teams.
	Referrals Referrals
	Routing   *referral.Config
	// Limiter applies the rate limits; LimitSecret keys the hashes of contact details.
	Limiter     ratelimit.Limiter
	LimitSecret []byte
	// CSRFStorage keeps CSRF tokens where every instance can check them.
	CSRFStorage fiber.Storage
	tokensOnce  sync.Once
	tokens      *tokenStore
	// SecureCookies marks cookies Secure: on whenever the site is served over HTTPS.
	SecureCookies bool
	// TrustedProxies are our own load balancers: behind them, the client's address is read
	// from X-Forwarded-For (see clientIP).
	TrustedProxies []netip.Prefix
	// StaffPortal, StaffInbox and StaffAdmin are the staff portal's accounts and sessions,
	// referral inbox, and admin pages; the portal is served when StaffPortal is set.
	StaffPortal StaffPortal
	StaffInbox  StaffInbox
	StaffAdmin  StaffAdmin
	// Listings is how editors keep the directory; the listings pages and the public "report a
	// problem" form are served when it is set.
	Listings StaffListings
	// BaseURL is the site's address, for links staff send on (one-time links).
	BaseURL string
	// MinFillTime is how long a journey must take before it can be sent (DefaultMinFillTime).
	MinFillTime time.Duration

	// sample is the last reading of sample mode; sampleReading is set while one request
	// reads it again, so the others go on with the last reading instead of waiting.
	sample        atomic.Pointer[sampleReading]
	sampleReading atomic.Bool
	// apiCat is the Open Referral API's view of the active services (see catalogue).
	apiCat atomic.Pointer[apiCatalogue]
	// readiness is the last /readyz report and the state of each check (see ready).
	readiness readiness
}

type sampleReading struct {
	on bool
	at time.Time
}

// contentSecurityPolicy allows nothing from other sites and no inline script or style. It
// starts from nothing (default-src 'none') and names each kind of thing the pages load, so a
// kind nobody thought of (frames, workers, media) is not allowed by default.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders are helmet's headers on every answer.
var securityHeaders = helmet.Config{
	XSSProtection:         "0",
	ContentTypeNosniff:    "nosniff",
	XFrameOptions:         "DENY",
	ReferrerPolicy:        "same-origin", // no-referrer would break CSRF checks over HTTPS
	ContentSecurityPolicy: contentSecurityPolicy,
	PermissionPolicy:      "geolocation=(), camera=(), microphone=(), payment=()",
}

// pageHeaders are set on every answer after helmet's.
func pageHeaders(c *fiber.Ctx) {
	// helmet sets HSTS only when Fiber itself sees TLS; behind a proxy it never does.
	c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
	// Pages can show what a family searched for or which service they looked at: a shared
	// phone must not keep them. Static assets and the open API set their own caching.
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// earlyHeaders give an error page that no middleware ran for the headers every other answer
// has: fasthttp answers a body or headers too large, or a request it cannot read, through
// the error handler alone.
func earlyHeaders(c *fiber.Ctx) {
	h := securityHeaders
	c.Set(fiber.HeaderContentSecurityPolicy, h.ContentSecurityPolicy)
	c.Set(fiber.HeaderXContentTypeOptions, h.ContentTypeNosniff)
	c.Set(fiber.HeaderXFrameOptions, h.XFrameOptions)
	c.Set(fiber.HeaderReferrerPolicy, h.ReferrerPolicy)
	c.Set(fiber.HeaderPermissionsPolicy, h.PermissionPolicy)
	pageHeaders(c)
}

// App builds the Fiber application with every route and middleware.
func (s *Server) App() (*fiber.App, error) {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	app := fiber.New(fiber.Config{
		// Values from requests outlive handlers (they go into pages and goroutines).
		Immutable:             true,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		// The largest body any route takes: an editor's import. limitBody holds every other
		// route to bodyLimit.
		BodyLimit:      importMaxBytes + 64*1024,
		ReadBufferSize: 16 * 1024,
		ReadTimeout:    30 * time.Second,
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    120 * time.Second,
	})
	app.Use(recover.New())
	app.Use(s.requestLog)
	app.Use(helmet.New(securityHeaders))
	app.Use(func(c *fiber.Ctx) error {
		pageHeaders(c)
		return c.Next()
	})
	app.Use(refuseCrossOrigin)
	// After the headers, so that the page refusing a large body has them too.
	app.Use(limitBody)
	app.Use(compress.New(compress.Config{
		Level: compress.LevelBestSpeed,
		Next:  func(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/static/") },
	}))

	app.Get("/static/*", serveStatic)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.ready)

	app.Get("/", s.home)
	app.Get("/search", s.limitSearch, s.search)
	// A service page is the same for every visitor, so it is rendered once and kept briefly;
	// only successful pages are kept (errors return before the cache stores anything).
	app.Get("/services/:id", cache.New(cache.Config{
		Expiration: pageCacheTTL,
		MaxBytes:   64 << 20,
		KeyGenerator: func(c *fiber.Ctx) string {
			return c.Path() + "|" + strconv.FormatUint(s.Directory.Version(), 10)
		},
	}), s.service)
	if s.Referrals != nil {
		s.referRoutes(app)
	}
	if s.StaffPortal != nil {
		s.staffRoutes(app)
	}
	if s.Listings != nil {
		s.reportRoutes(app)
	}
	app.Get("/cover-your-tracks", s.page(views.CoverYourTracksPage, "Cover your tracks online"))
	app.Get("/accessibility", s.page(views.AccessibilityPage, "Accessibility statement"))
	app.Get("/privacy", s.page(views.PrivacyPage, "Privacy notice"))
	app.Get("/data-sources", s.dataSources)
	s.apiRoutes(app)

	app.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
	return app, nil
}

// requestLog logs each request without its query string or body: a search or a referral can
// say things about a family that must never reach a log. "path" is the route pattern (see
// safePath), and "id" the request id that error lines and the error page also show.
func (s *Server) requestLog(c *fiber.Ctx) error {
	start := time.Now()
	id := newRequestID()
	c.Locals(requestIDKey, id)
	c.Set("X-Request-Id", id)
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	took := time.Since(start)
	route, status := safePath(c), c.Response().StatusCode()
	if s.Metrics != nil {
		s.Metrics.ObserveRequest(route, metricMethod(c.Method()), status, took)
	}
	if route != "/static/*" {
		s.Log.Info("request", "id", id, "method", metricMethod(c.Method()), "path", route,
			"status", status, "duration_ms", took.Milliseconds())
	}
	return nil
}

// safePath is the route pattern where there is one ("/services/:id"), otherwise the path: ids
// are not personal, but a pattern keeps anything typed into a URL out of the log.
func safePath(c *fiber.Ctx) string {
	r := c.Route()
	switch {
	case r == nil:
		return "(unmatched)"
	case r.Path == "/static/*":
		return "/static/*"
	case r.Path == "/" && c.Path() != "/":
		// The catch-all 404: the path is whatever was typed, which can be anything.
		return "(unmatched)"
	}
	return r.Path
}

type ctxKey int

const requestIDKey ctxKey = iota

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey).(string)
	return id
}

// handleError turns any error a handler returns into a page. People see a safe message;
// internal errors are logged with the request id, never with what the person typed.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		code = fe.Code
	case errors.Is(err, directory.ErrNotFound):
		code = fiber.StatusNotFound
	}
	p := views.ErrorDetails{Base: s.base(c, "")}
	switch {
	case code == fiber.StatusNotFound:
		p.Base.Title, p.Heading = "Page not found", "Page not found"
		p.Lines = []string{"If you typed the web address, check it is correct.", "If you pasted the web address, check you copied the entire address."}
	case code < 500:
		p.Base.Title, p.Heading = "There is a problem", "Sorry, there is a problem with that request"
		p.Lines = []string{"Go back and try again."}
	default:
		s.Log.Error("request failed", "id", requestID(c), "path", safePath(c), "err", err)
		p.Base.Title, p.Heading = "Sorry, there is a problem", "Sorry, there is a problem with the service"
		p.Lines = []string{"Try again later."}
		p.RequestID = requestID(c)
	}
	if len(c.Response().Header.Peek(fiber.HeaderContentSecurityPolicy)) == 0 {
		earlyHeaders(c)
	}
	// Whatever a failed handler had written goes: the person sees only the error page.
	c.Response().ResetBody()
	c.Status(code)
	if c.Method() == fiber.MethodHead || strings.HasPrefix(c.Path(), "/static/") {
		return nil
	}
	return render(c, views.ErrorPage(p))
}

// readyTimeout bounds each readiness check: a load balancer's probe must not hang on a
// backing service that does not answer.
const readyTimeout = 2 * time.Second

// readyTTL is how long one report answers every /readyz: the route is public, and without it
// each request would reach every backing service.
const readyTTL = time.Second

// Status words in the /readyz report.
const (
	statusOK          = "ok"
	statusUnavailable = "unavailable"
	statusDegraded    = "degraded"
)

type readyReport struct {
	Status string                 `json:"status"`
	Checks map[string]readyStatus `json:"checks"`
}

type readyStatus struct {
	Status string `json:"status"`
}

// readiness keeps the last report, and each check's last status so that a change is logged
// once rather than on every probe. mu is held while checking, so concurrent probes wait for
// one round of checks instead of starting their own.
type readiness struct {
	mu     sync.Mutex
	at     time.Time
	report readyReport
	last   map[string]string
}

// ready answers /readyz with every dependency's state: 200 while the database answers, 503
// when it does not. The report names services and states only; errors, which can hold
// addresses and names from connection strings, go to the log.
func (s *Server) ready(c *fiber.Ctx) error {
	r := s.readyReport(c.UserContext())
	code := fiber.StatusOK
	if r.Status != statusOK {
		code = fiber.StatusServiceUnavailable
	}
	return c.Status(code).JSON(r)
}

func (s *Server) readyReport(ctx context.Context) readyReport {
	rd := &s.readiness
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.at.IsZero() && time.Since(rd.at) < readyTTL {
		return rd.report
	}
	deps := s.Dependencies
	if s.Database != nil {
		deps = append([]Dependency{{Name: "database", Pinger: s.Database}}, deps...)
	}
	errs := make([]error, len(deps))
	var wg sync.WaitGroup
	for i, d := range deps {
		wg.Go(func() { errs[i] = pingWithin(ctx, d.Pinger, readyTimeout) })
	}
	wg.Wait()

	report := readyReport{Status: statusOK, Checks: make(map[string]readyStatus, len(deps))}
	if rd.last == nil {
		rd.last = map[string]string{}
	}
	for i, d := range deps {
		st := statusOK
		switch {
		case errs[i] == nil:
		case d.Optional:
			st = statusDegraded
		default:
			st = statusUnavailable
			report.Status = statusUnavailable
		}
		report.Checks[d.Name] = readyStatus{Status: st}
		if prev, seen := rd.last[d.Name]; st != prev && (seen || st != statusOK) {
			if st == statusOK {
				s.Log.Info("dependency is back", "dependency", d.Name)
			} else {
				s.Log.Warn("dependency is down", "dependency", d.Name, "status", st, "err", errs[i])
			}
		}
		rd.last[d.Name] = st
	}
	rd.at, rd.report = time.Now(), report
	return report
}

// pingWithin is p.Ping bounded by timeout even if p ignores its context.
func pingWithin(ctx context.Context, p Pinger, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Ping(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("ping: %w", ctx.Err())
	}
}

func serveStatic(c *fiber.Ctx) error {
	f, ok := staticLookup(c.Params("*"))
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	if f.Gzip != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.Gzip)
	}
	return c.Send(f.Body)
}

// pageCacheTTL bounds how long a changed service takes to show on its page.
const pageCacheTTL = 30 * time.Second

// sampleModeTTL bounds how stale the sample-data banner can be on one instance.
const sampleModeTTL = 30 * time.Second

func (s *Server) isSampleMode(ctx context.Context) bool {
	if s.Settings == nil || s.SampleModeKey == "" {
		return false
	}
	last := s.sample.Load()
	if last != nil && time.Since(last.at) < sampleModeTTL {
		return last.on
	}
	if last != nil && !s.sampleReading.CompareAndSwap(false, true) {
		return last.on // another request is reading it now
	}
	if last != nil {
		defer s.sampleReading.Store(false)
	}
	v, err := s.Settings.Setting(ctx, s.SampleModeKey)
	if err != nil {
		s.Log.Warn("read sample mode", "err", err)
		if last == nil {
			return false
		}
		// Keep the last reading, and try again after another TTL rather than on every page.
		s.sample.Store(&sampleReading{on: last.on, at: time.Now()})
		return last.on
	}
	s.sample.Store(&sampleReading{on: v == "on", at: time.Now()})
	return v == "on"
}

func (s *Server) base(c *fiber.Ctx, title string) views.Base {
	return views.Base{Title: title, SampleMode: s.isSampleMode(c.UserContext())}
}

// render writes a page straight into the response. A page that fails to render returns its
// error, and the error handler replaces whatever was written.
func render(c *fiber.Ctx, page templ.Component) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return page.Render(c.UserContext(), c.Response().BodyWriter())
}
