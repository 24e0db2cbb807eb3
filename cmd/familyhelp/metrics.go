package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"familyhelp/directory"
	"familyhelp/ratelimit"
)

// metrics are the Prometheus series served on FAMILYHELP_METRICS_ADDR. They live here, not in
// the packages they count, so that only the command depends on Prometheus: the web server is
// told of requests through handlers.Metrics, and everything else is counted by wrapping the
// interfaces the command wires. Labels are route patterns, methods, status classes, rule names
// and outcomes: never a path as typed, a query, a key or an address.
//
// A nil *metrics counts nothing, so wiring code need not ask whether metrics are on.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	referrals prometheus.Counter
	sent      prometheus.Counter
	failed    *prometheus.CounterVec
	fallbacks prometheus.Counter
	limited   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "familyhelp_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "familyhelp_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern and method.",
			// Pages take milliseconds; the top buckets catch a search engine or database that
			// has started to time out.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		referrals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "familyhelp_referrals_submitted_total",
			Help: "Requests for help stored (each once, however often it was sent).",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "familyhelp_notifications_sent_total",
			Help: "Notification emails the mail server accepted.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "familyhelp_notifications_failed_total",
			Help: "Notification attempts that failed: outcome retry (tried again later) or gave_up.",
		}, []string{"outcome"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "familyhelp_search_fallbacks_total",
			Help: "Searches answered by the database because the search engine failed or was being left alone.",
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "familyhelp_rate_limited_total",
			Help: "Requests refused by a rate limit, by rule.",
		}, []string{"rule"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.referrals, m.sent, m.failed, m.fallbacks, m.limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that exist from the start read as zero rather than missing, so alerts on their
	// rate work before the first failure.
	for _, o := range []string{"retry", "gave_up"} {
		m.failed.WithLabelValues(o)
	}
	return m
}

// outboxDepth is what the outbox gauges read: store.DB implements it.
type outboxDepth interface {
	OutboxDepth(ctx context.Context) (pending int, oldest time.Time, err error)
}

// outboxScrapeTimeout bounds the outbox count at each scrape: a slow database must not make
// the scrape time out, which would lose every other series with it.
const outboxScrapeTimeout = 2 * time.Second

// watchOutbox adds the outbox's backlog, read from the database at each scrape: so every
// instance reports the same shared outbox, and a notification sent by another instance is
// counted off at once. One COUNT over the unsent rows, which the outbox's index finds.
func (m *metrics) watchOutbox(db outboxDepth, log *slog.Logger) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&outboxCollector{db: db, log: log, now: time.Now,
		pending: prometheus.NewDesc("familyhelp_outbox_pending",
			"Notifications in the outbox neither sent nor given up, across all instances.", nil, nil),
		oldest: prometheus.NewDesc("familyhelp_outbox_oldest_pending_age_seconds",
			"How long the oldest notification neither sent nor given up has waited; 0 when none waits.", nil, nil),
	})
}

type outboxCollector struct {
	db              outboxDepth
	log             *slog.Logger
	now             func() time.Time
	pending, oldest *prometheus.Desc
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.oldest
}

// Collect leaves both series out when the database does not answer in time: a missing series
// says "unknown", where a zero would say "nothing waiting". /readyz says why.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxScrapeTimeout)
	defer cancel()
	n, oldest, err := c.db.OutboxDepth(ctx)
	if err != nil {
		c.log.Warn("metrics: outbox backlog not counted", "err", err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}

// ObserveRequest implements handlers.Metrics.
func (m *metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, method, statusClass(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
}

// statusClass is "2xx", "4xx" and so on: classes say what an operator needs (errors or not) in
// five series per route rather than one per status.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

func (m *metrics) referralSubmitted() {
	if m != nil {
		m.referrals.Inc()
	}
}

func (m *metrics) notificationSent() {
	if m != nil {
		m.sent.Inc()
	}
}

func (m *metrics) notificationFailed(retry bool) {
	if m == nil {
		return
	}
	outcome := "gave_up"
	if retry {
		outcome = "retry"
	}
	m.failed.WithLabelValues(outcome).Inc()
}

// countedDirectory counts the searches the database answered instead of the search engine.
type countedDirectory struct {
	*directory.Directory
	m *metrics
}

func (d countedDirectory) Search(ctx context.Context, q directory.Query) (*directory.Page, error) {
	p, err := d.Directory.Search(ctx, q)
	if err == nil && p.FromDatabase {
		d.m.fallbacks.Inc()
	}
	return p, err
}

// EachService lets the Open Referral API list the services, as it does through a bare
// *directory.Directory.
func (d countedDirectory) EachService(ctx context.Context, fn func(*directory.Service) error) error {
	return d.Store.EachService(ctx, fn)
}

// countedLimiter counts refusals by rule. The rule's name is a constant of the code; the key,
// an address or a hash of a contact detail, is never a label.
type countedLimiter struct {
	ratelimit.Limiter
	m *metrics
}

func (l countedLimiter) Allow(ctx context.Context, rule ratelimit.Rule, key string) (ratelimit.Decision, error) {
	d, err := l.Limiter.Allow(ctx, rule, key)
	if err == nil && !d.Allowed {
		l.m.limited.WithLabelValues(rule.Name).Inc()
	}
	return d, err
}

// startMetrics serves /metrics on addr, apart from the site, so that it can stay on a private
// address. The listener is opened here, so a bad address stops serve at once. stop shuts the
// server down.
func startMetrics(addr string, m *metrics, log *slog.Logger) (stop func(context.Context), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("FAMILYHELP_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func(ctx context.Context) { _ = srv.Shutdown(ctx) }, nil
}
