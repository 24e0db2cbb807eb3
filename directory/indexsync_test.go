package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/store"
)

// flaky is a search engine whose writes fail while it is down; searches still work, so a test
// can see what the index holds.
type flaky struct {
	search.Index
	down atomic.Bool

	mu      sync.Mutex
	written map[string]int // upserts per service
}

func (f *flaky) Upsert(ctx context.Context, docs ...search.Document) error {
	if f.down.Load() {
		return search.ErrUnavailable
	}
	f.mu.Lock()
	if f.written == nil {
		f.written = map[string]int{}
	}
	for _, d := range docs {
		f.written[d.ID]++
	}
	f.mu.Unlock()
	return f.Index.Upsert(ctx, docs...)
}

func (f *flaky) Delete(ctx context.Context, ids ...string) error {
	if f.down.Load() {
		return search.ErrUnavailable
	}
	return f.Index.Delete(ctx, ids...)
}

// clock is the time, moved on when a test says so, as if it had waited.
type clock struct {
	mu    sync.Mutex
	ahead time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

type queued struct {
	d     *directory.Directory
	db    *store.DB
	path  string // of the database, for a second instance to open
	ix    *flaky
	clock *clock
}

func newQueued(t *testing.T) *queued {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fh.db")
	db, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bix.Close() })
	q := &queued{db: db, path: path, ix: &flaky{Index: bix}, clock: &clock{}}
	q.d = directory.New(db, q.ix, nil)
	q.d.Now = q.clock.Now
	return q
}

// finds is what a search for text finds, from the index.
func (q *queued) finds(t *testing.T, text string) []string {
	t.Helper()
	return indexFinds(t, q.d, text)
}

// indexFinds is what a search for text finds through d, failing if the index did not answer.
func indexFinds(t *testing.T, d *directory.Directory, text string) []string {
	t.Helper()
	p, err := d.Search(context.Background(), directory.Query{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if p.FromDatabase {
		t.Fatal("the search was answered from the database, not the index")
	}
	return ids(p)
}

// sync applies what is due and says how many jobs it applied.
func (q *queued) sync(t *testing.T) int {
	t.Helper()
	n, err := q.d.SyncIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// assertQueueEmpty checks that no job is left, even one backing off or leased.
func (q *queued) assertQueueEmpty(t *testing.T) {
	t.Helper()
	q.clock.Add(time.Hour)
	if n := q.sync(t); n != 0 {
		t.Errorf("%d jobs were still queued", n)
	}
}

func TestChangeWhileEngineDownCatchesUp(t *testing.T) {
	ctx := context.Background()
	q := newQueued(t)
	s := svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
	if err := q.d.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got := q.finds(t, "toddler"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("right after Save with the engine up, search found %v", got)
	}

	q.ix.down.Store(true)
	changed := *s
	changed.Name, changed.Summary = "Dads club", "Dads club in Walsall"
	if err := q.d.Save(ctx, &changed); err != nil {
		t.Fatalf("Save with the engine down: %v; the database has the change, so it must succeed", err)
	}
	if got, err := q.d.Get(ctx, "a"); err != nil || got.Name != "Dads club" {
		t.Errorf("Get = %v, %v; the service page must show the change at once", got, err)
	}
	q.ix.down.Store(false)
	if got := q.finds(t, "dads"); len(got) != 0 {
		t.Fatalf("the index has a change the engine refused: %v", got)
	}

	// The failed attempt backs off: nothing is due at once, even with the engine back.
	if n := q.sync(t); n != 0 {
		t.Errorf("SyncIndex straight after a failure applied %d jobs; the retry should wait", n)
	}
	q.clock.Add(6 * time.Minute)
	if n := q.sync(t); n != 1 {
		t.Errorf("SyncIndex when due applied %d jobs, want 1", n)
	}
	if got := q.finds(t, "dads"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("search for the new name found %v, want a", got)
	}
	if got := q.finds(t, "toddler"); len(got) != 0 {
		t.Errorf("search for the old name still finds %v", got)
	}
	q.assertQueueEmpty(t)
}

func TestRetireAndDeleteWhileEngineDown(t *testing.T) {
	ctx := context.Background()
	q := newQueued(t)
	retired := svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
	if err := q.d.Save(ctx, retired, svc("b", "Toddler music", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	q.ix.down.Store(true)
	retired.Status = directory.Defunct
	if err := q.d.Save(ctx, retired); err != nil {
		t.Fatal(err)
	}
	if err := q.d.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := q.d.Delete(ctx, "b"); !directory.IsNotFound(err) {
		t.Errorf("deleting twice: err = %v, want not found", err)
	}
	q.ix.down.Store(false)
	if held := held(t, q.ix); len(held) != 2 {
		t.Fatalf("index holds %v; the engine was down, so both should still be there", held)
	}
	q.clock.Add(6 * time.Minute)
	if n := q.sync(t); n != 2 {
		t.Errorf("SyncIndex applied %d jobs, want 2", n)
	}
	if held := held(t, q.ix); len(held) != 0 {
		t.Errorf("index still holds %v after catching up", held)
	}
	if got := q.finds(t, "toddler"); len(got) != 0 {
		t.Errorf("search finds %v", got)
	}
	q.assertQueueEmpty(t)
}

// A service saved again while a worker is applying its earlier change must end up in the index
// as last saved, even though the worker writes what it read before the change.
func TestSavedAgainWhileBeingApplied(t *testing.T) {
	ctx := context.Background()
	older := svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
	newer := svc("a", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson)

	t.Run("the sync loop applies it", func(t *testing.T) {
		q := newQueued(t)
		if err := q.db.SaveServices(ctx, older); err != nil {
			t.Fatal(err)
		}
		slow, err := q.db.ClaimIndexJobs(ctx, q.clock.Now(), time.Minute, 10)
		if err != nil || len(slow) != 1 {
			t.Fatalf("claim = %v, %v", slow, err)
		}
		read, err := q.db.GetService(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if err := q.db.SaveServices(ctx, newer); err != nil {
			t.Fatal(err)
		}
		if n := q.sync(t); n != 0 {
			t.Fatalf("SyncIndex applied %d jobs that another worker holds", n)
		}
		if err := q.ix.Upsert(ctx, directory.DocumentFor(read)); err != nil {
			t.Fatal(err)
		}
		if err := q.db.FinishIndexJobs(ctx, slow); err != nil {
			t.Fatal(err)
		}
		if n := q.sync(t); n != 1 {
			t.Fatalf("SyncIndex after the slow worker finished applied %d jobs, want 1", n)
		}
		if got := q.finds(t, "dads"); !slices.Equal(got, []string{"a"}) {
			t.Errorf("the newer change is not in the index: search found %v", got)
		}
		if got := q.finds(t, "toddler"); len(got) != 0 {
			t.Errorf("the older state won: search found %v", got)
		}
		q.assertQueueEmpty(t)
	})

	t.Run("Save waits for it", func(t *testing.T) {
		q := newQueued(t)
		if err := q.db.SaveServices(ctx, older); err != nil {
			t.Fatal(err)
		}
		slow, err := q.db.ClaimIndexJobs(ctx, q.clock.Now(), time.Minute, 10)
		if err != nil || len(slow) != 1 {
			t.Fatalf("claim = %v, %v", slow, err)
		}
		read, err := q.db.GetService(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(50 * time.Millisecond) // while Save is waiting for the job
			if err := q.ix.Upsert(ctx, directory.DocumentFor(read)); err != nil {
				t.Error(err)
			}
			if err := q.db.FinishIndexJobs(ctx, slow); err != nil {
				t.Error(err)
			}
		})
		err = q.d.Save(ctx, newer)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if got := q.finds(t, "dads"); !slices.Equal(got, []string{"a"}) {
			t.Errorf("right after Save, search found %v; want the change, applied once the other worker let go", got)
		}
		q.assertQueueEmpty(t)
	})
}

// Two instances sharing the database and the engine each apply jobs as they come, and every
// change reaches the index once.
func TestRacingSyncsApplyEveryJobOnce(t *testing.T) {
	ctx := context.Background()
	q := newQueued(t)
	second := q.secondInstance(t)

	const n = 450
	var all []*directory.Service
	for i := range n {
		all = append(all, svc(fmt.Sprintf("s%03d", i), fmt.Sprintf("Service %d", i), "Walsall", 52.58, -1.98, directory.InPerson))
	}
	if err := q.db.SaveServices(ctx, all...); err != nil {
		t.Fatal(err)
	}
	var applied atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		d := []*directory.Directory{q.d, second}[w%2]
		wg.Go(func() {
			for {
				got, err := d.SyncIndex(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if got == 0 {
					return
				}
				applied.Add(int64(got))
			}
		})
	}
	wg.Wait()
	if got := applied.Load(); got != n {
		t.Errorf("racing syncs applied %d jobs in all, want %d", got, n)
	}
	if got, _ := q.ix.Count(ctx); got != n {
		t.Errorf("index holds %d services, want %d", got, n)
	}
	for id, times := range q.ix.written {
		if times != 1 {
			t.Errorf("%s written %d times", id, times)
		}
	}
	q.assertQueueEmpty(t)
}

// Services saved over and over on two instances while both sync loops run end up in the index
// as last saved.
func TestRacingSavesAndSyncsLoseNoChange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := newQueued(t)
	second := q.secondInstance(t)
	var loops sync.WaitGroup
	for _, d := range []*directory.Directory{q.d, second} {
		loops.Go(func() { d.RunIndexSync(ctx, 5*time.Millisecond) })
	}

	const services, rounds = 5, 20
	var saves sync.WaitGroup
	for w, d := range []*directory.Directory{q.d, second} {
		saves.Go(func() {
			for r := range rounds {
				for i := range services {
					name := fmt.Sprintf("Round%02dw%d", r, w)
					if err := d.Save(ctx, svc(fmt.Sprintf("s%d", i), name, "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	saves.Wait()
	cancel()
	loops.Wait()

	// Whatever the loops left, one more pass applies; then the index must match the store.
	for q.sync(t) > 0 {
	}
	for i := range services {
		id := fmt.Sprintf("s%d", i)
		s, err := q.db.GetService(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.finds(t, s.Name); !slices.Contains(got, id) {
			t.Errorf("%s was last saved as %q, but a search for that finds %v", id, s.Name, got)
		}
	}
	q.assertQueueEmpty(t)
}

// secondInstance is another Directory on the same database file and engine, as a second
// instance behind the load balancer would be.
func (q *queued) secondInstance(t *testing.T) *directory.Directory {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), q.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := directory.New(db, q.ix, nil)
	d.Now = q.clock.Now
	return d
}

func TestRunIndexSyncCatchesUpWhenWoken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := newQueued(t)
	q.ix.down.Store(true)
	if err := q.d.Save(ctx, svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.d.RunIndexSync(ctx, time.Hour)
	}()
	q.ix.down.Store(false)
	q.clock.Add(6 * time.Minute)
	q.d.Wake()
	for start := time.Now(); len(q.finds(t, "toddler")) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the woken sync loop did not apply the change")
		}
	}
	cancel()
	<-done
}

// A rebuild covers the jobs queued before it, so they are not applied a second time; if it
// fails, they are given back to be applied as soon as the engine takes them.
func TestReindexSettlesQueuedJobs(t *testing.T) {
	ctx := context.Background()
	q := newQueued(t)
	if err := q.db.SaveServices(ctx, svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson),
		svc("b", "Toddler music", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	if n, err := q.d.Reindex(ctx); err != nil || n != 2 {
		t.Fatalf("Reindex = %d, %v", n, err)
	}
	if n := q.sync(t); n != 0 {
		t.Errorf("after a rebuild, SyncIndex applied %d jobs again", n)
	}

	q.ix.down.Store(true)
	if err := q.db.SaveServices(ctx, svc("c", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.d.Reindex(ctx); err == nil {
		t.Fatal("Reindex with the engine down succeeded")
	}
	q.ix.down.Store(false)
	if n := q.sync(t); n != 1 {
		t.Errorf("after a failed rebuild, SyncIndex applied %d jobs, want the one it held", n)
	}
	if got := q.finds(t, "dads"); !slices.Equal(got, []string{"c"}) {
		t.Errorf("search found %v, want c", got)
	}
	q.assertQueueEmpty(t)
}
