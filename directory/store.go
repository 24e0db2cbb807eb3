package directory

import (
	"context"
	"time"
)

// Store keeps services. It is the source of truth: the search index is built from it.
//
// A store that is also an IndexQueue (store.DB is) queues an index job for every service that
// SaveServices or DeleteService changes, in the same transaction as the change: a change that
// is saved is never missed by the index, whatever the engine was doing at the time.
type Store interface {
	GetService(ctx context.Context, id string) (*Service, error)
	// Services returns the services with these ids in the same order, leaving out missing ones.
	Services(ctx context.Context, ids []string) ([]*Service, error)
	// EachService calls fn for every service until fn returns an error.
	EachService(ctx context.Context, fn func(*Service) error) error
	// SaveServices adds or replaces services, all or none, and queues their index jobs.
	SaveServices(ctx context.Context, services ...*Service) error
	// DeleteService removes a service and queues its index job; a missing one is ErrNotFound.
	DeleteService(ctx context.Context, id string) error
	CountServices(ctx context.Context) (int, error)
}

// IndexJob says that the search index must be brought into step with a service. It names the
// service, not the change: whoever applies it reads the service as it is then, so jobs can be
// applied in any order and several changes need one update.
type IndexJob struct {
	ID        int64
	ServiceID string
	// Attempts is how many times applying the job has failed.
	Attempts int
	// Version and Claim belong to the store: pass the job back unchanged. Version changes
	// when the service is queued again; Claim changes each time the job is leased.
	Version int64
	Claim   int64
}

// IndexQueue is the outbox between the store and the search index.
//
// A job is leased while it is applied, so two workers (here or on another instance) never
// apply one service at the same time, where the one that read the older state could write
// last. A job is finished only by the worker that holds its lease, and only if the service
// was not queued again after the job was claimed; otherwise it stays, due at once.
type IndexQueue interface {
	// ClaimIndexJobs leases up to max jobs that are due at now and not leased by anyone else,
	// until now+lease. Given serviceIDs, only jobs for those services are claimed.
	ClaimIndexJobs(ctx context.Context, now time.Time, lease time.Duration, max int, serviceIDs ...string) ([]IndexJob, error)
	// FinishIndexJobs removes jobs that have been applied. A job whose service was queued
	// again since it was claimed is kept and given back, due now, because what was applied
	// may be older than that change. A job leased by someone else since is left alone.
	FinishIndexJobs(ctx context.Context, jobs []IndexJob) error
	// LeasedIndexJobs returns those of serviceIDs whose jobs are leased at now: some worker
	// is applying them.
	LeasedIndexJobs(ctx context.Context, now time.Time, serviceIDs ...string) ([]string, error)
	// RetryIndexJob gives a claimed job back, failed attempts times so far, to be tried again
	// from next. reason is a short phrase for whoever looks at the queue; it must hold no
	// personal data.
	RetryIndexJob(ctx context.Context, job IndexJob, attempts int, next time.Time, reason string) error
}

// Change is one change to a service, as the store's ChangeLog numbered it.
type Change struct {
	Seq       int64
	ServiceID string
	At        time.Time
}

// ChangeLog is the store's record of every change to a service (a save or a delete), written
// in the same transaction as the change, like the IndexQueue's jobs. The queue hands each
// change to one worker, which suits an engine the instances share; the log can be read by
// every instance, so that one whose index is its own (embedded Bleve) follows every change,
// and a rebuild can apply again what changed while it ran.
//
// Numbers rise in the order changes are written, which need not be the order in which they
// commit: a reader may see a number before a lower one is committed, and a change rolled back
// leaves its number unused for good.
type ChangeLog interface {
	// Changes returns up to max changes numbered above after, in number order.
	Changes(ctx context.Context, after int64, max int) ([]Change, error)
	// LastChangeBefore returns the highest number of a change written before t, or 0 if none
	// is kept.
	LastChangeBefore(ctx context.Context, t time.Time) (int64, error)
	// PruneChanges forgets the changes written before t and says how many it forgot.
	PruneChanges(ctx context.Context, before time.Time) (int, error)
}
