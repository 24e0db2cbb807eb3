package directory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"familyhelp/search"
)

const (
	// DefaultFollowInterval is how often an instance with an index of its own reads the
	// change log: it bounds how long a change saved on another instance takes to be found
	// by a search here. Each read is one indexed query that usually returns nothing.
	DefaultFollowInterval = time.Second

	// followBatch is how many changes one read of the change log returns, and the most
	// services applied at once.
	followBatch = 500
	// followLookback is how far back a follower starting afresh, and a rebuild catching up,
	// look in the change log: a change whose transaction was still committing when the index
	// was last brought into step is applied again rather than missed. Save transactions
	// last milliseconds; this allows for imports, slow disks and clocks a little apart.
	followLookback = 2 * time.Minute
	// gapWait is how long a follower waits for a missing change number before it takes it
	// for a change that was rolled back. A number is taken at the very end of its
	// transaction (see store.queueIndex), so a gap left by a commit in progress closes within
	// milliseconds; one still open after a minute will not close. A change that did commit
	// later still is found by the next reconcile.
	gapWait = time.Minute
	// changeRetention is how long the change log keeps a change.
	changeRetention = 24 * time.Hour
	// followStale: a follower that has not read the log for this long (its loop was stopped,
	// or the database down) may have missed changes since pruned, so it starts again with a
	// full reconcile.
	followStale = changeRetention / 2
)

// follower is how far a Directory whose index is its own has got through the change log.
type follower struct {
	mu      sync.Mutex
	started bool
	// after: every change numbered up to here has been applied, or given up on as rolled back.
	after int64
	// seen holds the changes numbered above after that have been applied.
	seen map[int64]bool
	// missing holds, for the first number of a run of numbers missing above after, when it
	// was first found missing.
	missing map[int64]time.Time
	// read is when the log was last read.
	read time.Time
}

// following reports whether this Directory must follow the change log itself: its index is its
// own (each instance has one), and the store keeps a log.
func (d *Directory) following() bool {
	return d.Changes != nil && d.Index != nil && search.IsLocal(d.Index)
}

// startFollowing sets the follower to begin just before the changes written in the last
// followLookback; the caller holds d.follow.mu and brings the index into step with the store
// straight after, so that whatever came before is covered.
func (d *Directory) startFollowing(ctx context.Context) error {
	now := time.Now()
	mark, err := d.Changes.LastChangeBefore(ctx, now.Add(-followLookback))
	if err != nil {
		return fmt.Errorf("follow changes: %w", err)
	}
	f := &d.follow
	f.after, f.seen, f.missing, f.read, f.started = mark, map[int64]bool{}, map[int64]time.Time{}, now, true
	return nil
}

// FollowChanges brings an index of this instance's own into step with changes made anywhere:
// here, or on another instance sharing the database, whose index queue jobs this instance may
// never see. It reads the change log from where it last got to, applies every change it has
// not applied yet (reading the services as they are now, so a retired or deleted one leaves
// the index), and forgets cached copies of them. It returns how many services it applied.
// With an engine the instances share, or a store without a change log, it does nothing: the
// queue applies each change once, for everyone.
func (d *Directory) FollowChanges(ctx context.Context) (int, error) {
	if !d.following() {
		return 0, nil
	}
	f := &d.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started || time.Since(f.read) > followStale {
		// Started afresh (the first time, or after so long that changes may have been
		// pruned unread): the follower is set first, then everything before is reconciled.
		if err := d.startFollowing(ctx); err != nil {
			return 0, err
		}
		rep, err := d.reconcile(ctx)
		if err != nil {
			f.started = false
			return 0, fmt.Errorf("follow changes: %w", err)
		}
		return rep.Drift(), nil
	}

	var rows []Change
	for from := f.after; ; {
		page, err := d.Changes.Changes(ctx, from, followBatch)
		if err != nil {
			return 0, fmt.Errorf("follow changes: %w", err)
		}
		rows = append(rows, page...)
		if len(page) < followBatch {
			break
		}
		from = page[len(page)-1].Seq
	}
	now := time.Now()
	f.read = now

	applied := 0
	var err error
	for chunk := range slices.Chunk(rows, followBatch) {
		var ids []string
		for _, c := range chunk {
			if !f.seen[c.Seq] && !slices.Contains(ids, c.ServiceID) {
				ids = append(ids, c.ServiceID)
			}
		}
		if len(ids) > 0 {
			d.Forget(ids...)
			if _, err = d.apply(ctx, ids); err != nil {
				err = fmt.Errorf("follow changes: %w", err)
				break
			}
			applied += len(ids)
		}
		for _, c := range chunk {
			f.seen[c.Seq] = true
		}
	}
	f.advance(rows, now)
	return applied, err
}

// advance moves after up past every change applied, in number order, and past a run of
// missing numbers once it has been missing for gapWait. rows are the changes read above
// after, in number order.
func (f *follower) advance(rows []Change, now time.Time) {
	next := f.after + 1
	for _, r := range rows {
		if r.Seq < next {
			continue
		}
		if r.Seq > next {
			since, ok := f.missing[next]
			if !ok {
				f.missing[next] = now
				return
			}
			if now.Sub(since) < gapWait {
				return
			}
			delete(f.missing, next) // rolled back, or so late that the reconcile will see it
		}
		if !f.seen[r.Seq] {
			return // its apply failed; it is tried again next time
		}
		delete(f.seen, r.Seq)
		delete(f.missing, r.Seq)
		f.after, next = r.Seq, r.Seq+1
	}
}

// RunFollow follows the change log until ctx is done, every interval (DefaultFollowInterval
// if 0), when this Directory's index is its own; otherwise it returns at once. Errors are
// logged once when following starts failing and once when it recovers, not at every read.
func (d *Directory) RunFollow(ctx context.Context, interval time.Duration) {
	if !d.following() {
		return
	}
	if interval <= 0 {
		interval = DefaultFollowInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		_, err := d.FollowChanges(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			d.logger().Warn("cannot follow changes to the directory; this instance's search index may fall behind until it can", "err", err)
		case err == nil && failing:
			failing = false
			d.logger().Info("following changes to the directory again")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
