package directory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"familyhelp/search"
)

// DefaultReconcileInterval is how often RunReconcile compares the index with the database. The
// queue and the change log keep the index in step change by change; this is the safety net
// for what they cannot see (an index restored from a backup, a write the engine lost, a change
// that took longer to commit than a follower waited for), so it can be rare.
const DefaultReconcileInterval = 10 * time.Minute

// reconcileBatch is the most services a reconcile repairs at once.
const reconcileBatch = 500

// ReconcileReport says how far the index had drifted from the database: what a reconcile
// found, and repaired unless it returned an error.
type ReconcileReport struct {
	// Missing are active services the index did not hold.
	Missing int
	// Extra are services the index held that are retired, archived or deleted.
	Extra int
	// Stale are services the index held as they were before a change.
	Stale int
}

// Drift is how many services were out of step.
func (r ReconcileReport) Drift() int { return r.Missing + r.Extra + r.Stale }

// Reconcile compares the index with the database and repairs the difference: it writes the
// active services the index is missing or holds out of date (told by their fingerprints), and
// removes those it holds that are no longer active. Only what differs is written, so it is
// cheap when the index is in step, and searches go on finding services throughout.
//
// Each repair reads the service as the store holds it at that moment, as the sync loop does,
// so a service changed while Reconcile runs ends up as last saved. An index of this instance's
// own starts following the change log here, if it was not already, so that changes made after
// this reconcile reached its services are not missed.
func (d *Directory) Reconcile(ctx context.Context) (ReconcileReport, error) {
	if d.Index == nil {
		return ReconcileReport{}, nil
	}
	if !d.following() {
		return d.reconcile(ctx)
	}
	f := &d.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	fresh := !f.started
	if fresh {
		if err := d.startFollowing(ctx); err != nil {
			return ReconcileReport{}, fmt.Errorf("reconcile: %w", err)
		}
	}
	rep, err := d.reconcile(ctx)
	if err != nil && fresh {
		// Not yet in step: the follower must reconcile before it follows.
		f.started = false
	}
	return rep, err
}

// reconcile does Reconcile's work. The index is listed before the store is read: a service
// reaches the store before the index, so one added meanwhile is at worst written twice, never
// removed.
func (d *Directory) reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	held, err := d.Index.Fingerprints(ctx)
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	var repair []string
	err = d.Store.EachService(ctx, func(s *Service) error {
		if s.Status != Active {
			return nil
		}
		fp, ok := held[s.ID]
		switch {
		case !ok:
			rep.Missing++
			repair = append(repair, s.ID)
		case fp != search.Fingerprint(DocumentFor(s)):
			rep.Stale++
			repair = append(repair, s.ID)
		}
		delete(held, s.ID)
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("reconcile: %w", err)
	}
	for id := range held {
		rep.Extra++
		repair = append(repair, id)
	}
	if len(repair) == 0 {
		return rep, nil
	}
	// The cache may hold the same out-of-date copies as the index did.
	d.Forget(repair...)
	for chunk := range slices.Chunk(repair, reconcileBatch) {
		if _, err := d.apply(ctx, chunk); err != nil {
			return rep, fmt.Errorf("reconcile: %w", err)
		}
	}
	return rep, nil
}

// RunReconcile reconciles the index with the database every interval
// (DefaultReconcileInterval if 0) until ctx is done, and each time forgets changes in the
// change log old enough that no follower needs them. What it repairs is logged as counts.
func (d *Directory) RunReconcile(ctx context.Context, interval time.Duration) {
	if d.Index == nil {
		return
	}
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rep, err := d.Reconcile(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.logger().Warn("could not compare the search index with the database; will try again", "err", err)
		case rep.Drift() > 0:
			d.logger().Warn("search index had drifted from the database", "missing", rep.Missing,
				"extra", rep.Extra, "stale", rep.Stale, "repaired", err == nil)
		}
		if d.Changes != nil {
			if _, err := d.Changes.PruneChanges(ctx, time.Now().Add(-changeRetention)); err != nil && ctx.Err() == nil {
				d.logger().Warn("could not prune the change log; will try again", "err", err)
			}
		}
	}
}
