package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// followInterval is how often an instance with its own embedded index reads the change log,
// which bounds how long a change saved on another instance takes to be found here; and
// reconcileInterval how often the index is compared with the database, to repair what the
// queue and the log could not see.
const (
	followInterval    = time.Second
	reconcileInterval = 10 * time.Minute
)

// reconcileCommand compares the search index with the database, repairs the difference and
// says what it found. Drift is not an error: repairing it is the point.
func reconcileCommand(ctx context.Context, cfg config, log *slog.Logger, out io.Writer) error {
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	start := time.Now()
	rep, err := a.dir.Reconcile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "search index checked against the database in %s: %d missing, %d extra, %d out of date; %d repaired\n",
		time.Since(start).Round(time.Millisecond), rep.Missing, rep.Extra, rep.Stale, rep.Drift())
	return nil
}

// reconcileAtStart brings the index into step with the database before serving: a lost or
// restored index, or changes made while this instance was stopped, are repaired here. An
// index of the instance's own starts following the change log at the same time. An engine
// that is down is not fatal: searches use the database until it is back, and the queue and
// the periodic reconcile catch up.
func reconcileAtStart(ctx context.Context, a *app, log *slog.Logger) {
	start := time.Now()
	rep, err := a.dir.Reconcile(ctx)
	switch {
	case err != nil:
		log.Warn("search index unavailable at start; searches use the database until it returns", "err", err)
	case rep.Drift() > 0:
		log.Info("brought the search index into step with the database", "missing", rep.Missing,
			"extra", rep.Extra, "stale", rep.Stale, "took", time.Since(start).Round(time.Millisecond))
	}
}
