package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/sony/gobreaker/v2"

	"familyhelp/search"
)

// DefaultRadiusMetres is how far a postcode search looks for services a family can go to: ten
// miles covers a borough and its neighbours without sending anyone across the region.
const DefaultRadiusMetres = 10 * MetresPerMile

// PerPage is how many results a page shows.
const PerPage = 10

// Directory answers a family's search and keeps the index in step with the store.
type Directory struct {
	Store Store
	Index search.Index
	Log   *slog.Logger
	// Queue carries changes from the store to the index; New sets it when the store is one.
	// Without it a change reaches the index only if the engine takes it when it is saved, or
	// at the next rebuild.
	Queue IndexQueue
	// Changes is the store's log of every change; New sets it when the store keeps one. An
	// index of this instance's own follows it (see FollowChanges), and a rebuild that swaps
	// in a new index applies again what it logged meanwhile.
	Changes ChangeLog
	// Now is the clock for the queue's due times and leases; nil uses time.Now.
	Now func() time.Time
	// SearchTimeout is how long a search waits for the engine before the database answers
	// instead; 0 means DefaultSearchTimeout for a search server, localSearchTimeout for an
	// index in this process.
	SearchTimeout time.Duration

	// recent holds services read lately, so a popular results page or service page does not
	// read and decode the same rows for every family. Entries expire after cacheTTL, which
	// bounds how long another instance's change takes to show here.
	recent *otter.Cache[string, *Service]
	// version counts changes made through this Directory, so caches of pages built from it
	// can tell they are out of date.
	version atomic.Uint64
	// engine stops asking a failing search engine for a while, so that during an outage each
	// family's search goes straight to the database instead of waiting for the engine to fail.
	engine *gobreaker.CircuitBreaker[search.Result]

	wakeOnce sync.Once
	wake     chan struct{}

	follow follower
}

// DefaultSearchTimeout is how long a family's search waits for a search server. It answers in
// tens of milliseconds; one that has taken a second is in trouble, and the database can answer
// instead rather than keep a family waiting on a slow phone.
const DefaultSearchTimeout = time.Second

// localSearchTimeout is the wait for an index in this process. A slow one is slow because this
// machine is busy, and the database's answer, which reads every service, would cost it more:
// so only a search that has plainly stuck is given up on.
const localSearchTimeout = 5 * time.Second

// Circuit breaker settings: a few failures in a row open it; after engineRetry one search is
// let through to see whether the engine is back.
const (
	engineFailures = 3
	engineRetry    = 10 * time.Second
)

// Version changes whenever services change through this Directory.
func (d *Directory) Version() uint64 { return d.version.Load() }

const (
	cacheSize = 20000
	cacheTTL  = 30 * time.Second
)

// New returns a Directory over a store and an index.
func New(store Store, index search.Index, log *slog.Logger) *Directory {
	d := &Directory{Store: store, Index: index, Log: log,
		recent: otter.Must(&otter.Options[string, *Service]{
			MaximumSize:      cacheSize,
			ExpiryCalculator: otter.ExpiryWriting[string, *Service](cacheTTL),
		})}
	d.Queue, _ = store.(IndexQueue)
	d.Changes, _ = store.(ChangeLog)
	d.engine = gobreaker.NewCircuitBreaker[search.Result](gobreaker.Settings{
		Name:        "search engine",
		MaxRequests: 1,
		Timeout:     engineRetry,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= engineFailures },
		// A family who closed the page is not the engine failing.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Once per change, not once per search: an outage must not flood the log.
			switch to {
			case gobreaker.StateOpen:
				d.logger().Warn("search engine failing; searches are answered from the database", "retry_in", engineRetry)
			case gobreaker.StateClosed:
				d.logger().Info("search engine back; searches use it again")
			}
		},
	})
	return d
}

// searchIndex asks the engine, unless it has been failing, in which case it says so at once.
// An engine slower than SearchTimeout has failed this search, and counts towards the breaker.
func (d *Directory) searchIndex(ctx context.Context, q search.Query) (search.Result, error) {
	timeout := d.SearchTimeout
	switch {
	case timeout > 0:
	case search.IsLocal(d.Index):
		timeout = localSearchTimeout
	default:
		timeout = DefaultSearchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if d.engine == nil {
		return d.Index.Search(ctx, q)
	}
	return d.engine.Execute(func() (search.Result, error) { return d.Index.Search(ctx, q) })
}

// Forget drops services from the cache, after they change.
func (d *Directory) Forget(ids ...string) {
	d.version.Add(1)
	if d.recent == nil {
		return
	}
	for _, id := range ids {
		d.recent.Invalidate(id)
	}
}

// services reads services by id, from the cache where it can. The services returned are
// shared: callers must not change them.
func (d *Directory) services(ctx context.Context, ids []string) ([]*Service, error) {
	if d.recent == nil {
		return d.Store.Services(ctx, ids)
	}
	found := make(map[string]*Service, len(ids))
	var missing []string
	for _, id := range ids {
		if s, ok := d.recent.GetIfPresent(id); ok {
			found[id] = s
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		fresh, err := d.Store.Services(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, s := range fresh {
			found[s.ID] = s
			d.recent.Set(s.ID, s)
		}
	}
	out := make([]*Service, 0, len(ids))
	for _, id := range ids {
		if s, ok := found[id]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Place is where a family searched from.
type Place struct {
	Label string // the postcode as the family will recognise it
	Point search.Point
}

// Query is a family's search.
type Query struct {
	Text     string
	Needs    []Need
	Age      *int
	FreeOnly bool
	Delivery []Delivery
	Near     *Place
	Page     int // from 1
}

// Result is one service in a results page.
type Result struct {
	Service *Service
	// Distance is set when the family gave a postcode and the service has somewhere to go.
	Distance    float64
	HasDistance bool
	// Nearest is the location nearest to the family, when there is a distance.
	Nearest *Location
}

// DistanceText says how far away the service is.
func (r Result) DistanceText() string { return MilesText(r.Distance) }

// Page is one page of results.
type Page struct {
	Query   Query
	Total   int
	Results []Result
	Page    int
	Pages   int
	// FromDatabase is true when the search index failed and the database answered instead.
	FromDatabase bool
}

// Search finds services for a family. If the search engine fails, the database answers, so a
// family always gets results.
func (d *Directory) Search(ctx context.Context, q Query) (*Page, error) {
	if q.Page < 1 {
		q.Page = 1
	}
	sq := toSearchQuery(q)
	res, err := d.searchIndex(ctx, sq)
	fromDB := false
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("search: %w", ctx.Err())
		}
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			// Not the error itself: an engine's message can repeat the query or filter,
			// which says what a family searched for and where.
			d.logger().Warn("search index failed; answering from the database",
				"timeout", errors.Is(err, context.DeadlineExceeded))
		}
		if res, err = d.searchStore(ctx, sq); err != nil {
			return nil, err
		}
		fromDB = true
	}
	services, err := d.services(ctx, res.IDs)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	p := &Page{Query: q, Total: res.Total, Page: q.Page, FromDatabase: fromDB}
	p.Pages = (res.Total + PerPage - 1) / PerPage
	for _, s := range services {
		if s.Status != Active {
			continue // retired since the index last heard of it
		}
		r := Result{Service: s}
		if q.Near != nil && len(s.Locations) > 0 {
			r.Nearest, r.Distance = s.Nearest(q.Near.Point)
			r.HasDistance = true
		}
		p.Results = append(p.Results, r)
	}
	return p, nil
}

func toSearchQuery(q Query) search.Query {
	sq := search.Query{
		Text:     strings.TrimSpace(q.Text),
		Age:      q.Age,
		FreeOnly: q.FreeOnly,
		Offset:   (q.Page - 1) * PerPage,
		Limit:    PerPage,
	}
	for _, n := range q.Needs {
		sq.Needs = append(sq.Needs, string(n))
	}
	for _, m := range q.Delivery {
		sq.Delivery = append(sq.Delivery, string(m))
	}
	if q.Near != nil {
		p := q.Near.Point
		sq.Near = &p
		sq.RadiusMetres = DefaultRadiusMetres
	}
	return sq
}

// Get returns one service for its public page; a service that is not active is not found.
// The service is shared: callers must not change it.
func (d *Directory) Get(ctx context.Context, id string) (*Service, error) {
	found, err := d.services(ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("get service: %w", err)
	}
	if len(found) == 0 || found[0].Status != Active {
		return nil, ErrNotFound
	}
	return found[0], nil
}

// Reindex rebuilds the whole search index from the store. Searches, here or on another
// instance sharing the engine, keep finding services throughout:
//
//   - An engine that can (search.Rebuilder) builds a fresh index from every active service and
//     swaps it in at once. Changes saved while it was being built may have reached only the
//     old index, so once it is swapped in, every service the change log shows changed since
//     the rebuild began (less followLookback, for changes still committing) is applied again.
//   - Otherwise every active service is written again in place, then services the index holds
//     but the store no longer lists as active are removed; the index is never emptied.
//
// The index jobs due when it starts are claimed first and finished once it succeeds: the
// rebuild reads the store after claiming them, so it covers them, and a seeded or imported
// database does not have every service applied a second time. A service queued again while
// the rebuild runs stays queued, as the rebuild may have read it before the change, and
// reaches the index when the rebuild ends.
func (d *Directory) Reindex(ctx context.Context) (int, error) {
	d.version.Add(1)
	if d.recent != nil {
		d.recent.InvalidateAll()
	}
	jobs, err := d.claimAll(ctx)
	if err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	began := time.Now() // the clock the change log is written with
	rb, swap := d.Index.(search.Rebuilder)
	swap = swap && d.Changes != nil // without the log, changes made meanwhile could be lost
	var n int
	if swap {
		n, err = d.rebuildSwap(ctx, rb)
	} else {
		n, err = d.rebuild(ctx)
	}
	if err != nil {
		if rerr := d.release(ctx, jobs, "rebuild failed"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("reindex: %w", rerr))
		}
		return n, err
	}
	var errs []error
	if swap {
		if err := d.catchUp(ctx, began.Add(-followLookback)); err != nil {
			// The new index is in and covers the claimed jobs; what it missed, the next
			// reconcile repairs.
			errs = append(errs, fmt.Errorf("reindex: rebuilt, but could not apply the changes made meanwhile: %w", err))
		}
	}
	if err := d.finish(ctx, jobs); err != nil {
		errs = append(errs, fmt.Errorf("reindex: %w", err))
	}
	return n, errors.Join(errs...)
}

// rebuildSwap fills a fresh index from every active service, in batches, and has the engine
// swap it in.
func (d *Directory) rebuildSwap(ctx context.Context, rb search.Rebuilder) (int, error) {
	n := 0
	err := rb.Rebuild(ctx, func(add func(...search.Document) error) error {
		var batch []search.Document
		err := d.Store.EachService(ctx, func(s *Service) error {
			if s.Status != Active {
				return nil
			}
			batch = append(batch, DocumentFor(s))
			if len(batch) < 1000 {
				return nil
			}
			err := add(batch...)
			n += len(batch)
			batch = batch[:0]
			return err
		})
		if err == nil && len(batch) > 0 {
			err = add(batch...)
			n += len(batch)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reindex: %w", err)
	}
	return n, nil
}

// catchUp applies again every service the change log shows changed since since.
func (d *Directory) catchUp(ctx context.Context, since time.Time) error {
	after, err := d.Changes.LastChangeBefore(ctx, since)
	if err != nil {
		return err
	}
	for {
		page, err := d.Changes.Changes(ctx, after, followBatch)
		if err != nil {
			return err
		}
		var ids []string
		for _, c := range page {
			if !slices.Contains(ids, c.ServiceID) {
				ids = append(ids, c.ServiceID)
			}
		}
		if len(ids) > 0 {
			d.Forget(ids...)
			if _, err := d.apply(ctx, ids); err != nil {
				return err
			}
		}
		if len(page) < followBatch {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

func (d *Directory) rebuild(ctx context.Context) (int, error) {
	var batch []search.Document
	n := 0
	flush := func() error {
		if err := d.Index.Upsert(ctx, batch...); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := d.Store.EachService(ctx, func(s *Service) error {
		if s.Status != Active {
			return nil
		}
		batch = append(batch, DocumentFor(s))
		if len(batch) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, err
	}
	return n, d.prune(ctx)
}

// prune removes from the index the services the store does not list as active. The index is
// listed before the store is asked, and a service reaches the store before the index, so a
// service added meanwhile by another instance is never taken out.
func (d *Directory) prune(ctx context.Context) error {
	prints, err := d.Index.Fingerprints(ctx)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	held := slices.Collect(maps.Keys(prints))
	var gone []string
	for chunk := range slices.Chunk(held, 500) {
		found, err := d.Store.Services(ctx, chunk)
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		active := make(map[string]bool, len(found))
		for _, s := range found {
			active[s.ID] = s.Status == Active
		}
		for _, id := range chunk {
			if !active[id] {
				gone = append(gone, id)
			}
		}
	}
	if len(gone) > 0 {
		if err := d.Index.Delete(ctx, gone...); err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
	}
	return nil
}

// Save stores services, forgets cached copies and brings the index into step.
//
// The store queues an index job for each service in the same transaction as the change, so
// once Save has stored them the change cannot be lost. Save then applies those jobs itself
// before it returns, rather than leaving them to the sync loop, so that an editor who saves a
// service finds it in a search straight away (read-your-writes). If the engine fails, Save
// still succeeds: the jobs wait in the queue and RunIndexSync applies them when the engine is
// back.
func (d *Directory) Save(ctx context.Context, services ...*Service) error {
	if err := d.Store.SaveServices(ctx, services...); err != nil {
		return err
	}
	ids := make([]string, 0, len(services))
	for _, s := range services {
		ids = append(ids, s.ID)
	}
	d.Forget(ids...)
	d.indexNow(ctx, ids)
	return nil
}

// EachService calls fn for every service in the store, of any status, until fn returns an
// error: for exports and imports, which read the whole directory.
func (d *Directory) EachService(ctx context.Context, fn func(*Service) error) error {
	return d.Store.EachService(ctx, fn)
}

// Delete removes a service from the store and, like Save, from the index.
func (d *Directory) Delete(ctx context.Context, id string) error {
	if err := d.Store.DeleteService(ctx, id); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	d.Forget(id)
	d.indexNow(ctx, []string{id})
	return nil
}

// DocumentFor is what the index holds for a service.
func DocumentFor(s *Service) search.Document {
	doc := search.Document{
		ID:           s.ID,
		Name:         s.Name,
		Summary:      s.Summary,
		Description:  s.Description,
		Organisation: s.Organisation.Name,
		Categories:   slices.Clone(s.Categories),
		MinAge:       s.MinAge,
		MaxAge:       s.MaxAge,
		Free:         s.Free,
		Remote:       s.Remote(),
	}
	var terms, towns []string
	for _, n := range s.Needs {
		doc.Needs = append(doc.Needs, string(n))
		if info, ok := NeedBySlug(string(n)); ok {
			terms = append(terms, info.Label, info.Terms)
		}
	}
	terms = append(terms, s.Categories...)
	doc.Terms = strings.Join(terms, ". ")
	for _, m := range s.Delivery {
		doc.Delivery = append(doc.Delivery, string(m))
	}
	for _, l := range s.Locations {
		if !slices.Contains(towns, l.Town) {
			towns = append(towns, l.Town)
		}
	}
	doc.Towns = strings.Join(towns, " ")
	for _, l := range s.Locations {
		doc.Locations = append(doc.Locations, search.Point{Lat: l.Latitude, Lng: l.Longitude})
	}
	return doc
}

// searchStore answers a search from the database when the index cannot: every word (or an
// everyday phrase's synonym) must appear in the service's text. It has no typo tolerance, but
// it never leaves a family with nothing.
func (d *Directory) searchStore(ctx context.Context, q search.Query) (search.Result, error) {
	words := strings.Fields(search.Normalise(q.Text))
	phrases := search.Expand(q.Text)
	var cands []*search.Candidate
	err := d.Store.EachService(ctx, func(s *Service) error {
		if s.Status != Active {
			return nil
		}
		doc := DocumentFor(s)
		if !q.Filters(&doc) {
			return nil
		}
		if len(words) > 0 {
			text := search.Normalise(strings.Join([]string{doc.Name, doc.Terms, doc.Summary, doc.Organisation, doc.Description, doc.Towns}, " "))
			if !containsAll(text, words) && !containsAny(text, phrases) {
				return nil
			}
		}
		c := &search.Candidate{ID: doc.ID, Remote: doc.Remote}
		c.Place(doc.Locations)
		cands = append(cands, c)
		return nil
	})
	if err != nil {
		return search.Result{}, fmt.Errorf("search database: %w", err)
	}
	return search.Arrange(q, slices.Values(cands)), nil
}

func containsAll(text string, words []string) bool {
	padded := " " + text + " "
	for _, w := range words {
		if !strings.Contains(padded, " "+w) {
			return false
		}
	}
	return true
}

func containsAny(text string, phrases []string) bool {
	padded := " " + text + " "
	for _, p := range phrases {
		if strings.Contains(padded, " "+p+" ") {
			return true
		}
	}
	return false
}

func (d *Directory) logger() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

// IsNotFound reports whether err means the thing asked for does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
