// Command familyhelp runs the Family Help website and its maintenance tasks. It is the only
// place that chooses and wires the adapters: SQLite or PostgreSQL, Bleve or Meilisearch.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // staff pages show UK time; the distroless image has no zoneinfo

	"github.com/redis/go-redis/v9"

	"familyhelp/directory"
	"familyhelp/handlers"
	"familyhelp/notify"
	"familyhelp/postcode"
	"familyhelp/referral"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/search/meili"
	"familyhelp/secret"
	"familyhelp/seed"
	"familyhelp/staff"
	"familyhelp/store"
)

const usage = `familyhelp runs the Family Help website.

Usage:
  familyhelp [command] [flags]

Commands:
  serve                 run the website (the default)
  migrate               create or update the database tables, then exit
  seed                  add the national helplines and the sample services, and rebuild the index
  seed --synthetic N    add N made-up services (the same every time) for benchmarks
  reindex               rebuild the search index from the database and swap it in
  reconcile             find and repair differences between the search index and the database
  purge                 delete expired drafts, tokens and sessions, and the contents of referrals
                        closed longer ago than FAMILYHELP_RETENTION_DAYS (serve also does it)
  import FILE|FOLDER|URL
                        import Open Referral UK services: ORUK JSON (a file, or an API address
                        whose pages are followed), or an HSDS CSV data package (a zip or a folder)
  export [--format oruk-json|csv] [--out FILE]
                        write every listing as ORUK JSON, or as a zip of HSDS CSV files
  staff add --email E --name N --role R [--team T]
                        create a staff account and print a one-time link to set its password
  help                  show this help

Configuration is by environment variable; see README.md.
`

func main() {
	logs := newLogWriter(os.Stderr)
	defer logs.Close()
	log, err := newLogger(os.Getenv("FAMILYHELP_LOG_FORMAT"), logs, isTerminal(os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "familyhelp:", err)
		logs.Close()
		os.Exit(2)
	}
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, os.Args[1:], os.Stdout, log)
	stop()
	logs.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "familyhelp:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError string

func (e usageError) Error() string { return string(e) }

func run(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	cfg := configFromEnv()
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		a, err := open(ctx, cfg, log, false)
		if err != nil {
			return err
		}
		defer a.close()
		fmt.Fprintln(out, "database is up to date")
		return nil
	case "seed":
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		fs.SetOutput(out)
		synthetic := fs.Int("synthetic", 0, "add `N` deterministic synthetic services")
		if err := fs.Parse(args); err != nil {
			return usageError(err.Error())
		}
		return seedCommand(ctx, cfg, log, out, *synthetic)
	case "staff":
		return staffCommand(ctx, cfg, log, out, args)
	case "import":
		return importCommand(ctx, cfg, log, out, args)
	case "export":
		return exportCommand(ctx, cfg, log, out, args)
	case "purge":
		a, err := open(ctx, cfg, log, false)
		if err != nil {
			return err
		}
		defer a.close()
		n, err := purge(ctx, a, cfg.Retention)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted %d expired drafts, %d expired tokens and %d expired sessions; removed the contents of %d closed referrals\n",
			n.drafts, n.tokens, n.sessions, n.referrals)
		return nil
	case "reconcile":
		return reconcileCommand(ctx, cfg, log, out)
	case "reindex":
		a, err := open(ctx, cfg, log, true)
		if err != nil {
			return err
		}
		defer a.close()
		start := time.Now()
		n, err := a.dir.Reindex(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "indexed %d services in %s\n", n, time.Since(start).Round(time.Millisecond))
		return nil
	}
	return usageError(fmt.Sprintf("unknown command %q; run 'familyhelp help'", cmd))
}

// config is read from the environment; names are part of the contract in DESIGN.md.
type config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	MeiliURL    string
	MeiliKey    string
	BaseURL     string
	RedisURL    string
	SMTPURL     string
	MailFrom    string
	SecretKey   string
	RoutingFile string
	Proxies     string
	// MetricsAddr is where /metrics is served; empty serves none.
	MetricsAddr string
	// Retention is how long a closed referral's contents are kept.
	Retention time.Duration
	// MinFill is how long a referral must take before it can be sent; faster is a script.
	MinFill time.Duration
	// MailRetry, if set, is the wait before an email that failed is tried again (doubling
	// each time) and how often the outbox is looked at; MailLease, if set, is how long an
	// instance holds the emails it is sending. Zero keeps the notify package's defaults.
	MailRetry, MailLease time.Duration
}

func configFromEnv() config {
	get := func(k, def string) string {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := config{
		Addr:        get("FAMILYHELP_ADDR", ":8080"),
		DataDir:     get("FAMILYHELP_DATA_DIR", "./data"),
		DatabaseURL: get("DATABASE_URL", ""),
		MeiliURL:    get("MEILI_URL", ""),
		MeiliKey:    get("MEILI_API_KEY", ""),
		BaseURL:     strings.TrimRight(get("FAMILYHELP_BASE_URL", "http://localhost:8080"), "/"),
		RedisURL:    get("REDIS_URL", ""),
		SMTPURL:     get("SMTP_URL", ""),
		MailFrom:    get("FAMILYHELP_MAIL_FROM", "Family Help <familyhelp@localhost>"),
		SecretKey:   os.Getenv("FAMILYHELP_SECRET_KEY"),
		RoutingFile: get("FAMILYHELP_ROUTING", ""),
		MinFill:     handlers.DefaultMinFillTime,
		Proxies:     get("FAMILYHELP_TRUSTED_PROXIES", ""),
		MetricsAddr: get("FAMILYHELP_METRICS_ADDR", ""),
		Retention:   defaultRetention,
	}
	if v := get("FAMILYHELP_RETENTION_DAYS", ""); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.Retention = time.Duration(n) * 24 * time.Hour
		}
	}
	if v := get("FAMILYHELP_MIN_FILL_SECONDS", ""); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			c.MinFill = time.Duration(n) * time.Second
		}
	}
	for k, d := range map[string]*time.Duration{"FAMILYHELP_MAIL_RETRY_SECONDS": &c.MailRetry, "FAMILYHELP_MAIL_LEASE_SECONDS": &c.MailLease} {
		if n, err := strconv.Atoi(get(k, "")); err == nil && n > 0 {
			*d = time.Duration(n) * time.Second
		}
	}
	return c
}

type app struct {
	db     *store.DB
	ix     search.Index
	dir    *directory.Directory
	key    *secret.Key
	refs   *referral.Service
	portal *staff.Portal
	inbox  *staff.Inbox
}

func (a *app) close() {
	if a.ix != nil {
		a.ix.Close()
	}
	a.db.Close()
}

// open connects the database and, if withIndex, the search index.
func open(ctx context.Context, cfg config, log *slog.Logger, withIndex bool) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a := &app{db: db}
	if a.key, err = secret.LoadOrCreate(cfg.SecretKey, filepath.Join(cfg.DataDir, "secret.key")); err != nil {
		db.Close()
		return nil, err
	}
	routing := referral.SampleConfig()
	if cfg.RoutingFile != "" {
		data, err := os.ReadFile(cfg.RoutingFile)
		if err == nil {
			routing, err = referral.ParseConfig(data)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("FAMILYHELP_ROUTING: %w", err)
		}
	}
	a.refs = &referral.Service{
		Store: db, Drafts: a.key.Box("draft"), Sealed: a.key.Box("referral"), Routing: routing,
		TeamLetter: notify.TeamNotification, FamilyLetter: notify.FamilyConfirmation,
		StaffLink: func(ref string) string { return cfg.BaseURL + "/staff/referrals/" + ref },
	}
	a.portal = &staff.Portal{Store: db, Sessions: db, Sealer: a.key.Box("totp"), Issuer: "Family Help"}
	a.inbox = &staff.Inbox{Store: db, Referrals: a.refs, Notes: a.key.Box("notes"), Audit: db, Routing: routing}
	if withIndex {
		if cfg.MeiliURL != "" {
			a.ix, err = meili.New(ctx, cfg.MeiliURL, cfg.MeiliKey, "services")
		} else {
			a.ix, err = bleveindex.Open(filepath.Join(cfg.DataDir, "index.bleve"))
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	a.dir = directory.New(db, a.ix, log)
	return a, nil
}

func seedCommand(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, synthetic int) error {
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	if synthetic < 0 {
		return usageError("--synthetic needs a number of services, 1 or more")
	}
	if synthetic > 0 {
		all := seed.Synthetic(synthetic)
		for start := 0; start < len(all); start += 1000 {
			if err := a.db.SaveServices(ctx, all[start:min(start+1000, len(all))]...); err != nil {
				return err
			}
		}
		if err := a.db.SetSetting(ctx, seed.SampleModeKey, "on"); err != nil {
			return err
		}
		fmt.Fprintf(out, "added %d synthetic services\n", synthetic)
	} else {
		n, err := seed.Defaults(ctx, a.db, a.db)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "added %d helplines and sample services\n", n)
	}
	n, err := a.dir.Reindex(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "indexed %d services\n", n)
	return nil
}

// gcPercent is the garbage collector's target when GOGC is not set. The server's live heap is
// small (tens of megabytes for ten thousand services) while every page allocates, so letting the
// heap grow to three times the live data rather than twice halves the collector's work for a
// few tens of megabytes more memory.
const gcPercent = 200

// Shutdown, from SIGTERM: stop accepting connections, give requests in flight up to httpDrain
// to finish, give the background loops until shutdownBudget to finish what they hold (the
// outbox worker hands back what it has not sent), then close everything. The budget sits
// inside the 10 seconds service managers and orchestrators usually allow before SIGKILL.
const (
	shutdownBudget = 9 * time.Second
	httpDrain      = 7 * time.Second
	// stopOnError bounds the wait for the loops when serve fails rather than being stopped.
	stopOnError = 5 * time.Second
)

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if cfg.DatabaseURL != "" && strings.TrimSpace(cfg.SecretKey) == "" {
		// A key made in this instance's data dir would seal what no other instance can open.
		return errors.New("FAMILYHELP_SECRET_KEY must be set when DATABASE_URL is: every instance on a shared database needs the same key (make one with: openssl rand -base64 32)")
	}
	if err := postcode.Load(); err != nil {
		return err
	}
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	if err := prepare(ctx, a, log); err != nil {
		return err
	}
	proxies, err := handlers.ParseProxies(cfg.Proxies)
	if err != nil {
		return fmt.Errorf("FAMILYHELP_TRUSTED_PROXIES: %w", err)
	}
	var m *metrics
	if cfg.MetricsAddr != "" {
		m = newMetrics()
		m.watchOutbox(a.db, log)
		stopMetrics, err := startMetrics(cfg.MetricsAddr, m, log)
		if err != nil {
			return err
		}
		// Last to stop, so a scrape during shutdown still answers.
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
			defer cancel()
			stopMetrics(ctx)
		}()
	}
	rdb, err := openRedis(cfg, log)
	if err != nil {
		return err
	}
	if rdb != nil {
		defer rdb.Close()
	}
	limiter := newLimiter(rdb, log)
	useRedis(rdb, a, log)
	worker, err := newWorker(cfg, a, log, m)
	if err != nil {
		return err
	}
	if err := demoAccounts(ctx, a, cfg.BaseURL, os.Stdout); err != nil {
		return err
	}

	// The loops stop when ctx ends (SIGTERM) or serve returns, and are waited for, until
	// loopsDeadline, before the deferred closes above run.
	loopCtx, stopLoops := context.WithCancel(ctx)
	var bg loops
	var loopsDeadline time.Time
	defer func() {
		stopLoops()
		if loopsDeadline.IsZero() {
			loopsDeadline = time.Now().Add(stopOnError)
		}
		if !bg.wait(loopsDeadline) {
			log.Warn("background work still running at the deadline; closing anyway")
		}
	}()
	submitted := []func(){m.referralSubmitted}
	if worker.Enabled() {
		submitted = append(submitted, worker.Wake)
		bg.Go(func() { worker.Run(loopCtx) })
	} else {
		log.Info("SMTP_URL is not set: notifications wait in the outbox")
	}
	a.refs.Submitted = func() {
		for _, f := range submitted {
			f()
		}
	}
	bg.Go(func() { purgeEvery(loopCtx, a, log, purgeInterval, cfg.Retention) })
	bg.Go(func() { a.dir.RunIndexSync(loopCtx, indexSyncInterval) })
	bg.Go(func() { a.dir.RunFollow(loopCtx, followInterval) }) // an embedded index only
	bg.Go(func() { a.dir.RunReconcile(loopCtx, reconcileInterval) })

	srv := &handlers.Server{
		Directory:      a.dir,
		Settings:       a.db,
		Database:       a.db,
		Dependencies:   dependencies(a, rdb, worker),
		Log:            log,
		SampleModeKey:  seed.SampleModeKey,
		Referrals:      a.refs,
		Routing:        a.refs.Routing,
		Limiter:        limiter,
		LimitSecret:    a.key.Derive("rate-limit"),
		CSRFStorage:    csrfStorage(rdb, a, log),
		SecureCookies:  strings.HasPrefix(cfg.BaseURL, "https://"),
		MinFillTime:    cfg.MinFill,
		StaffPortal:    a.portal,
		StaffInbox:     a.inbox,
		StaffAdmin:     a.db,
		Listings:       &directory.Listings{Directory: a.dir, Store: a.db},
		BaseURL:        cfg.BaseURL,
		TrustedProxies: proxies,
	}
	if m != nil {
		srv.Metrics = m
		srv.Directory = countedDirectory{Directory: a.dir, m: m}
		srv.Limiter = countedLimiter{Limiter: limiter, m: m}
	}
	web, err := srv.App()
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- web.Listen(cfg.Addr) }()
	log.Info("listening", "addr", cfg.Addr)
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	case <-ctx.Done():
	}

	loopsDeadline = time.Now().Add(shutdownBudget)
	log.Info("shutting down: refusing new connections, finishing requests in flight")
	// The loops saw ctx end with everyone else: the worker hands back what it holds while
	// the requests finish.
	if err := web.ShutdownWithTimeout(httpDrain); err != nil {
		log.Warn("requests still in flight when the drain time ran out; closing anyway", "err", err)
	}
	log.Info("stopped serving; closing once the background work has stopped")
	return nil
}

// dependencies are what /readyz reports besides the database. Only the database is required:
// the others are shared by every instance and the site works without them, less well (see
// handlers.Dependency), so their outage must not take every instance off the load balancer.
func dependencies(a *app, rdb *redis.Client, worker *notify.Worker) []handlers.Dependency {
	deps := []handlers.Dependency{{Name: "search", Optional: true,
		// Count is the cheapest call every engine answers: Bleve reads it locally, Meilisearch
		// from its index stats.
		Pinger: handlers.PingFunc(func(ctx context.Context) error {
			_, err := a.ix.Count(ctx)
			return err
		})}}
	if rdb != nil {
		deps = append(deps, handlers.Dependency{Name: "redis", Optional: true,
			Pinger: handlers.PingFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })})
	}
	if worker.Enabled() {
		// The worker's last attempt, not a new connection: a probe every few seconds would
		// otherwise open one SMTP session each.
		deps = append(deps, handlers.Dependency{Name: "smtp", Optional: true, Pinger: worker})
	}
	return deps
}

// prepare seeds an empty database and repairs an index that is out of step with it, so a
// fresh machine serves a working site and a lost index heals itself.
func prepare(ctx context.Context, a *app, log *slog.Logger) error {
	n, err := a.db.CountServices(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		added, err := seed.Defaults(ctx, a.db, a.db)
		if err != nil {
			return err
		}
		log.Info("seeded an empty database", "services", added)
	}
	reconcileAtStart(ctx, a, log)
	return nil
}
