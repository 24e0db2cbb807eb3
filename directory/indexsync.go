package directory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"familyhelp/search"
)

const (
	// indexBatch is the most index jobs applied at once: one Upsert and one Delete call.
	indexBatch = 100
	// indexLease is how long a claimed job is reserved for the worker applying it. The engine
	// gets half of it: a worker that wrote after its lease ran out could overwrite a newer
	// state that another worker had applied meanwhile.
	indexLease = time.Minute
	// reindexLease covers a whole rebuild. If one takes longer, the jobs it holds are applied
	// again by the sync loop, which costs time but loses nothing.
	reindexLease = 30 * time.Minute
	// reindexClaim is how many jobs a rebuild claims per query.
	reindexClaim = 1000

	// A failed job waits indexRetryBase, then twice as long after each failure, up to
	// indexRetryCap: an engine that is down is not asked every few seconds for as long as it
	// stays down, and one that is back catches up within minutes.
	indexRetryBase = 5 * time.Second
	indexRetryCap  = 5 * time.Minute

	// saveIndexWait bounds how long Save waits for the engine, so an editor is not kept
	// waiting by a slow one; the change is safe in the queue by then.
	saveIndexWait = 5 * time.Second
	// saveBusyWait is how long Save waits for another worker to let go of a service it was
	// applying when Save wanted it, which normally takes milliseconds.
	saveBusyWait = time.Second

	// queueWriteTimeout bounds recording the outcome of an attempt. That runs even after ctx
	// has ended, because an outcome not recorded leaves the jobs leased, and so not applied,
	// until the lease runs out.
	queueWriteTimeout = 10 * time.Second
)

// SyncIndex applies one batch of due index jobs and returns how many it applied. It reads the
// services as the store holds them now (not from the cache, which may hold another instance's
// older copy), upserts the active ones and deletes the rest, then finishes the jobs. If that
// fails, the jobs are kept and tried again later, each failure waiting longer, up to five
// minutes: none is ever dropped.
func (d *Directory) SyncIndex(ctx context.Context) (int, error) {
	if d.Queue == nil || d.Index == nil {
		return 0, nil
	}
	jobs, err := d.syncJobs(ctx, nil)
	if err != nil {
		return 0, err
	}
	return len(jobs), nil
}

// RunIndexSync applies queued index jobs until ctx is done: every interval, on Wake, and
// straight away again while there is more to do. It is how changes saved while the engine was
// down, or by an instance that stopped before applying them, reach the index. Errors are
// logged, not returned: an engine that is down now may be back at the next tick.
func (d *Directory) RunIndexSync(ctx context.Context, interval time.Duration) {
	if d.Queue == nil || d.Index == nil {
		return
	}
	if interval <= 0 {
		interval = indexRetryBase // as often as a first retry can fall due
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			n, err := d.SyncIndex(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.logger().Warn("search index is behind the database; will try again", "err", err)
				}
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.wakeChan():
		}
	}
}

// Wake makes a running RunIndexSync look at the queue now rather than at its next tick. It
// never blocks.
func (d *Directory) Wake() {
	select {
	case d.wakeChan() <- struct{}{}:
	default: // a wake-up is already pending; one is enough
	}
}

func (d *Directory) wakeChan() chan struct{} {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
	return d.wake
}

// indexNow applies the index jobs for services just saved, for Save's read-your-writes.
//
// It claims only these services' jobs, so an editor does not wait for a backlog left by an
// outage. A job it cannot claim is held by another worker, one applying an earlier change or
// one that took this very change: indexNow waits a little while one is held, claiming it as
// soon as it is given back, and then leaves whatever is left to the sync loops.
func (d *Directory) indexNow(ctx context.Context, ids []string) {
	if d.Index == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, saveIndexWait)
	defer cancel()
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if d.Queue == nil {
		if _, err := d.apply(ctx, ids); err != nil {
			d.logger().Warn("saved, but could not update the search index; the next rebuild will", "err", err)
		}
		return
	}
	// A worker that finds a service queued again while it applied it gives the job back; the
	// loop it belongs to may be idle, so one is woken to pick up such a job.
	defer d.Wake()
	deadline := time.Now().Add(saveBusyWait)
	for chunk := range slices.Chunk(ids, indexBatch) {
		if ctx.Err() != nil {
			return // a large import: the loop applies the rest
		}
		if err := d.indexHeld(ctx, chunk, deadline); err != nil {
			d.logger().Warn("saved; the search index will catch up when it can", "err", err)
			return
		}
	}
}

// indexHeld applies the jobs for ids, waiting until deadline for those another worker holds.
func (d *Directory) indexHeld(ctx context.Context, ids []string, deadline time.Time) error {
	for wait := time.Millisecond; ; wait *= 2 {
		jobs, err := d.syncJobs(ctx, ids)
		if err != nil {
			return err
		}
		if ids = unclaimed(ids, jobs); len(ids) == 0 {
			return nil
		}
		if ids, err = d.Queue.LeasedIndexJobs(ctx, d.now(), ids...); err != nil {
			return fmt.Errorf("sync index: %w", err)
		}
		if len(ids) == 0 || time.Now().Add(wait).After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// unclaimed is the ids that jobs do not name.
func unclaimed(ids []string, jobs []IndexJob) []string {
	var out []string
	for _, id := range ids {
		if !slices.ContainsFunc(jobs, func(j IndexJob) bool { return j.ServiceID == id }) {
			out = append(out, id)
		}
	}
	return out
}

// syncJobs claims one batch of due jobs, limited to serviceIDs if any are given, applies them
// and records the outcome. It returns the jobs claimed; an error means they were not all
// applied, or not recorded as applied, and will be claimed again.
func (d *Directory) syncJobs(ctx context.Context, serviceIDs []string) ([]IndexJob, error) {
	started := time.Now() // the wall clock, even if Now is injected: leases run out in real time
	jobs, err := d.Queue.ClaimIndexJobs(ctx, d.now(), indexLease, indexBatch, serviceIDs...)
	if err != nil {
		return nil, fmt.Errorf("sync index: %w", err)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ServiceID
	}
	applyCtx, cancel := context.WithDeadline(ctx, started.Add(indexLease/2))
	reason, applyErr := d.apply(applyCtx, ids)
	cancel()

	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), queueWriteTimeout)
	defer wcancel()
	if applyErr == nil {
		if err := d.Queue.FinishIndexJobs(wctx, jobs); err != nil {
			return jobs, fmt.Errorf("sync index: %w", err)
		}
		return jobs, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// Whoever asked has gone (a shutdown, an editor's closed page): that is not the
		// engine failing, so the jobs are given back due now, with no attempt counted.
		if err := d.release(ctx, jobs, "interrupted"); err != nil {
			return jobs, fmt.Errorf("sync index: %w", errors.Join(applyErr, err))
		}
		return jobs, fmt.Errorf("sync index: %w", applyErr)
	}
	var errs []error
	for _, j := range jobs {
		attempts := j.Attempts + 1
		next := d.now().Add(indexRetryDelay(attempts))
		if err := d.Queue.RetryIndexJob(wctx, j, attempts, next, reason); err != nil {
			errs = append(errs, err)
		}
	}
	return jobs, fmt.Errorf("sync index: %w", errors.Join(append([]error{applyErr}, errs...)...))
}

// apply brings the index into step with the services as the store holds them now: those that
// are active are upserted, those missing or not active deleted. reason says in a few words,
// fit to keep beside a job, what failed.
func (d *Directory) apply(ctx context.Context, ids []string) (reason string, err error) {
	found, err := d.Store.Services(ctx, ids)
	if err != nil {
		return "could not read the services", fmt.Errorf("read services to index: %w", err)
	}
	var docs []search.Document
	active := make(map[string]bool, len(found))
	for _, s := range found {
		if s.Status == Active {
			docs = append(docs, DocumentFor(s))
			active[s.ID] = true
		}
	}
	var gone []string
	for _, id := range ids {
		if !active[id] {
			gone = append(gone, id)
		}
	}
	if len(docs) > 0 {
		if err := d.Index.Upsert(ctx, docs...); err != nil {
			return engineFailure(err), fmt.Errorf("index services: %w", err)
		}
	}
	if len(gone) > 0 {
		if err := d.Index.Delete(ctx, gone...); err != nil {
			return engineFailure(err), fmt.Errorf("remove services from index: %w", err)
		}
	}
	return "", nil
}

// engineFailure names an engine's failure without its message, which is the engine's to
// word and could repeat what it was sent.
func engineFailure(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "search engine timed out"
	}
	return "search engine failed"
}

// claimAll claims every job that is due, for a rebuild to cover.
func (d *Directory) claimAll(ctx context.Context) ([]IndexJob, error) {
	if d.Queue == nil {
		return nil, nil
	}
	var all []IndexJob
	for {
		jobs, err := d.Queue.ClaimIndexJobs(ctx, d.now(), reindexLease, reindexClaim)
		if err != nil {
			// The rebuild is not starting, so those claimed so far must not wait out its lease.
			if rerr := d.release(ctx, all, "rebuild did not start"); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, err
		}
		all = append(all, jobs...)
		if len(jobs) < reindexClaim {
			return all, nil
		}
	}
}

// finish finishes jobs that a rebuild covered.
func (d *Directory) finish(ctx context.Context, jobs []IndexJob) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueWriteTimeout)
	defer cancel()
	for chunk := range slices.Chunk(jobs, reindexClaim) {
		if err := d.Queue.FinishIndexJobs(ctx, chunk); err != nil {
			return err
		}
	}
	return nil
}

// release gives jobs back, due now, with no failed attempt counted.
func (d *Directory) release(ctx context.Context, jobs []IndexJob, reason string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), queueWriteTimeout)
	defer cancel()
	now := d.now()
	for _, j := range jobs {
		if err := d.Queue.RetryIndexJob(ctx, j, j.Attempts, now, reason); err != nil {
			return err
		}
	}
	return nil
}

// indexRetryDelay is the wait after the given failed attempt (1 for the first), less up to a
// quarter at random so that jobs that failed together in an outage do not all return to the
// engine at the same moment.
func indexRetryDelay(attempt int) time.Duration {
	d := indexRetryBase
	for i := 1; i < attempt && d < indexRetryCap; i++ {
		d *= 2
	}
	d = min(d, indexRetryCap)
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

func (d *Directory) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}
