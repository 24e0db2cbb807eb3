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
  reindex               bring the search index into step with the database
  purge                 delete expired drafts, tokens and sessions, and the contents of referrals
                        closed longer ago than FAMILYHELP_RETENTION_DAYS (serve also does it)
  staff add --email E --name N --role R [--team T]
                        create a staff account and print a one-time link to set its password
  help                  show this help

Configuration is by environment variable; see README.md.
`

func main() {
	logs := newLogWriter(os.Stderr)
	defer logs.Close()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, log)
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
	// Retention is how long a closed referral's contents are kept.
	Retention time.Duration
	// MinFill is how long a referral must take before it can be sent; faster is a script.
	MinFill time.Duration
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
	if cfg.DatabaseURL != "" {
		return nil, errors.New("DATABASE_URL is set, but this build supports only the embedded SQLite database: unset it")
	}
	db, err := store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "familyhelp.db"))
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

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
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
	limiter, closeLimiter, err := newLimiter(cfg, log)
	if err != nil {
		return err
	}
	defer closeLimiter()
	closeSessions, err := useRedisSessions(cfg, a)
	if err != nil {
		return err
	}
	defer closeSessions()
	worker, err := newWorker(cfg, a, log)
	if err != nil {
		return err
	}
	if worker.Enabled() {
		a.refs.Submitted = worker.Wake
		go worker.Run(ctx)
	} else {
		log.Info("SMTP_URL is not set: notifications wait in the outbox")
	}
	if err := demoAccounts(ctx, a, cfg.BaseURL, os.Stdout); err != nil {
		return err
	}
	go purgeEvery(ctx, a, log, purgeInterval, cfg.Retention)
	stopIndexSync := startIndexSync(ctx, a)
	defer stopIndexSync()
	srv := &handlers.Server{
		Directory:      a.dir,
		Settings:       a.db,
		Database:       a.db,
		Log:            log,
		SampleModeKey:  seed.SampleModeKey,
		Referrals:      a.refs,
		Routing:        a.refs.Routing,
		Limiter:        limiter,
		LimitSecret:    a.key.Derive("rate-limit"),
		CSRFStorage:    a.db.KV(),
		SecureCookies:  strings.HasPrefix(cfg.BaseURL, "https://"),
		MinFillTime:    cfg.MinFill,
		StaffPortal:    a.portal,
		StaffInbox:     a.inbox,
		StaffAdmin:     a.db,
		Listings:       &directory.Listings{Directory: a.dir, Store: a.db},
		BaseURL:        cfg.BaseURL,
		TrustedProxies: proxies,
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
		return err
	case <-ctx.Done():
		log.Info("shutting down")
		return web.ShutdownWithTimeout(10 * time.Second)
	}
}

// prepare seeds an empty database and rebuilds an index that is out of step with it, so a
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
	active := 0
	if err := a.db.EachService(ctx, func(s *directory.Service) error {
		if s.Status == directory.Active {
			active++
		}
		return nil
	}); err != nil {
		return err
	}
	indexed, err := a.ix.Count(ctx)
	if err != nil {
		log.Warn("search index unavailable at start; searches use the database until it returns", "err", err)
		return nil
	}
	if indexed != active {
		start := time.Now()
		n, err := a.dir.Reindex(ctx)
		if err != nil {
			log.Warn("rebuilding the search index failed; searches use the database", "err", err)
			return nil
		}
		log.Info("rebuilt the search index", "services", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
