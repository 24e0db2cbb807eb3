package directory_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/internal/testsvc"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/store"
)

// database is one engine's database shared by the instances of a test.
type database struct {
	// open gives another handle on it, as another instance of the app would have.
	open func(t *testing.T) *store.DB
	// url is PostgreSQL's, "" for SQLite.
	url string
}

// forEachDatabase runs fn against SQLite and against PostgreSQL (skipped without a server,
// or failing under FAMILYHELP_REQUIRE_SERVICES=1).
func forEachDatabase(t *testing.T, fn func(t *testing.T, db database)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fh.db")
		fn(t, database{open: func(t *testing.T) *store.DB {
			return opened(t)(store.OpenSQLite(context.Background(), path))
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		url := testsvc.PostgresDB(t)
		fn(t, database{url: url, open: func(t *testing.T) *store.DB {
			return opened(t)(store.OpenPostgres(context.Background(), url))
		}})
	})
}

func opened(t *testing.T) func(*store.DB, error) *store.DB {
	return func(db *store.DB, err error) *store.DB {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// instance is one app instance: its own database handle and its own embedded index.
type instance struct {
	d  *directory.Directory
	db *store.DB
	ix *bleveindex.Index
}

func newInstance(t *testing.T, db database) *instance {
	t.Helper()
	ix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	in := &instance{db: db.open(t), ix: ix}
	in.d = directory.New(in.db, ix, nil)
	return in
}

// finds is what a search for text finds on this instance, from its index.
func (in *instance) finds(t *testing.T, text string) []string {
	t.Helper()
	return indexFinds(t, in.d, text)
}

// follow runs one follow step, as this instance's RunFollow loop does every second.
func (in *instance) follow(t *testing.T) int {
	t.Helper()
	n, err := in.d.FollowChanges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Two instances share a database and each has its own embedded index. The index queue gives
// each change to one of them, so without following the change log the other would never
// learn of it: edits, retirements and deletions on one are found by search on the other once
// its follow step has run, and its cached copy of the service is dropped.
func TestEachInstanceFollowsEveryChange(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		a, b := newInstance(t, db), newInstance(t, db)
		b.follow(t) // B starts following before anything happens, as serve does at start

		group := svc("s1", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
		if err := a.d.Save(ctx, group, svc("s2", "Toddler music", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
			t.Fatal(err)
		}
		if got := b.finds(t, "toddler"); len(got) != 0 {
			t.Fatalf("B found %v before following: the test would prove nothing", got)
		}
		if n := b.follow(t); n != 2 {
			t.Errorf("B's follow step applied %d services, want 2", n)
		}
		if got := b.finds(t, "toddler"); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"s1", "s2"}) {
			t.Fatalf("B found %v after following, want s1 and s2", got)
		}
		if s, err := b.d.Get(ctx, "s1"); err != nil || s.Name != "Toddler group" {
			t.Fatalf("B's service page: %v, %v", s, err) // and now B has it cached
		}

		edited := *group
		edited.Name, edited.Summary = "Dads club", "Dads club in Walsall"
		if err := a.d.Save(ctx, &edited); err != nil {
			t.Fatal(err)
		}
		b.follow(t)
		if got := b.finds(t, "dads"); !slices.Equal(got, []string{"s1"}) {
			t.Errorf("B's search for the new name found %v, want s1", got)
		}
		if got := b.finds(t, "toddler"); !slices.Equal(got, []string{"s2"}) {
			t.Errorf("B's search for the old name found %v, want only s2", got)
		}
		if s, err := b.d.Get(ctx, "s1"); err != nil || s.Name != "Dads club" {
			t.Errorf("B's service page after following: %v, %v; want the new name, not its cached copy", s, err)
		}
		if n := b.follow(t); n != 0 {
			t.Errorf("a follow step with nothing new applied %d services", n)
		}

		retired := edited
		retired.Status = directory.Defunct
		if err := a.d.Save(ctx, &retired); err != nil {
			t.Fatal(err)
		}
		if err := a.d.Delete(ctx, "s2"); err != nil {
			t.Fatal(err)
		}
		b.follow(t)
		if got := b.finds(t, "dads"); len(got) != 0 {
			t.Errorf("B still finds the retired service: %v", got)
		}
		if got := b.finds(t, "toddler"); len(got) != 0 {
			t.Errorf("B still finds the deleted service: %v", got)
		}
		if got := held(t, b.ix); len(got) != 0 {
			t.Errorf("B's index still holds %v", got)
		}

		// And the other way round.
		if err := b.d.Save(ctx, svc("s3", "Baby massage", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
			t.Fatal(err)
		}
		a.follow(t) // A's first step: it starts following with a reconcile
		if got := a.finds(t, "massage"); !slices.Equal(got, []string{"s3"}) {
			t.Errorf("A found %v, want s3 saved on B", got)
		}
		if got := held(t, a.ix); !slices.Equal(got, []string{"s3"}) {
			t.Errorf("A's index holds %v, want only s3", got)
		}
	})
}

// RunFollow is what serve runs: B finds A's edit without anyone calling FollowChanges.
func TestRunFollowKeepsAnotherInstanceInStep(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		ctx, cancel := context.WithCancel(context.Background())
		a, b := newInstance(t, db), newInstance(t, db)
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.d.RunFollow(ctx, 10*time.Millisecond)
		}()
		t.Cleanup(func() { cancel(); <-done })
		if err := a.d.Save(context.Background(), svc("s1", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
			t.Fatal(err)
		}
		for start := time.Now(); len(b.finds(t, "dads")) == 0; time.Sleep(10 * time.Millisecond) {
			if time.Since(start) > 10*time.Second {
				t.Fatal("B's follow loop did not apply A's change")
			}
		}
	})
}

// On PostgreSQL a change can take a lower number than one that commits before it. A follower
// that has read the higher one must still apply the lower one when it commits.
func TestFollowerWaitsForChangesCommittedOutOfOrder(t *testing.T) {
	ctx := context.Background()
	url := testsvc.PostgresDB(t)
	db := database{url: url, open: func(t *testing.T) *store.DB { return opened(t)(store.OpenPostgres(ctx, url)) }}
	a, b := newInstance(t, db), newInstance(t, db)
	slow := svc("slow", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
	if err := a.d.Save(ctx, slow); err != nil {
		t.Fatal(err)
	}
	b.follow(t)

	// A transaction that renames "slow" and logs the change, then waits to commit, as
	// SaveServices does in one transaction.
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	renamed := *slow
	renamed.Name, renamed.Summary = "Dads club", "Dads club in Walsall"
	data, err := json.Marshal(&renamed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE services SET name = $2, data = $3 WHERE id = $1`, "slow", renamed.Name, string(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO service_changes (service_id, changed_at) VALUES ($1, $2)`,
		"slow", time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")); err != nil {
		t.Fatal(err)
	}

	// Meanwhile a later change commits and is followed.
	if err := a.d.Save(ctx, svc("quick", "Baby massage", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	b.follow(t)
	if got := b.finds(t, "massage"); !slices.Equal(got, []string{"quick"}) {
		t.Fatalf("B found %v, want the change that committed", got)
	}

	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	b.follow(t)
	if got := b.finds(t, "dads"); !slices.Equal(got, []string{"slow"}) {
		t.Errorf("B found %v for the change that committed late, want slow", got)
	}
	if got := b.finds(t, "toddler"); len(got) != 0 {
		t.Errorf("B still finds the late change's old name: %v", got)
	}
}

// With Meilisearch every instance shares one index, which the claim-once queue keeps in step:
// there is nothing for an instance to follow.
func TestSharedIndexIsNotFollowed(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bix.Close() })
	shared := &counting{Index: bix} // hides Local, as a shared engine has none
	d := directory.New(db, shared, nil)
	if err := db.SaveServices(ctx, svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	if n, err := d.FollowChanges(ctx); n != 0 || err != nil || shared.upserts.Load() != 0 {
		t.Errorf("FollowChanges on a shared index = %d, %v, with %d upserts; want nothing done", n, err, shared.upserts.Load())
	}
}

// counting is an engine that counts upserts.
type counting struct {
	search.Index
	upserts atomic.Int64
}

func (c *counting) Upsert(ctx context.Context, docs ...search.Document) error {
	c.upserts.Add(int64(len(docs)))
	return c.Index.Upsert(ctx, docs...)
}

// Reconcile finds what the index is missing, holds out of date, and holds that is no longer
// listed, repairs exactly that, and then finds nothing.
func TestReconcileRepairsDrift(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		in := newInstance(t, db)
		active := svc("active", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)
		missing := svc("missing", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson)
		stale := svc("stale", "Baby massage", "Walsall", 52.58, -1.98, directory.InPerson)
		retired := svc("retired", "Closed cafe", "Walsall", 52.58, -1.98, directory.InPerson)
		retired.Status = directory.Defunct
		if err := in.db.SaveServices(ctx, active, missing, stale, retired); err != nil {
			t.Fatal(err)
		}
		older := *stale
		older.Name = "Baby yoga"
		ghost := svc("ghost", "Deleted long ago", "Walsall", 52.58, -1.98)
		if err := in.ix.Upsert(ctx, directory.DocumentFor(active), directory.DocumentFor(&older),
			directory.DocumentFor(retired), directory.DocumentFor(ghost)); err != nil {
			t.Fatal(err)
		}

		upserts := &counting{Index: in.ix}
		in.d.Index = upserts
		rep, err := in.d.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (directory.ReconcileReport{Missing: 1, Extra: 2, Stale: 1}); rep != want {
			t.Errorf("Reconcile found %+v, want %+v", rep, want)
		}
		if n := upserts.upserts.Load(); n != 2 {
			t.Errorf("Reconcile wrote %d documents, want only the 2 missing or stale", n)
		}
		if got := held(t, in.ix); !slices.Equal(got, []string{"active", "missing", "stale"}) {
			t.Errorf("index holds %v after Reconcile, want the active services", got)
		}
		if got := in.finds(t, "yoga"); len(got) != 0 {
			t.Errorf("the stale name still finds %v", got)
		}
		if got := in.finds(t, "massage"); !slices.Equal(got, []string{"stale"}) {
			t.Errorf("the current name finds %v", got)
		}
		if rep, err := in.d.Reconcile(ctx); err != nil || rep.Drift() != 0 {
			t.Errorf("a second Reconcile found %+v, %v; want no drift", rep, err)
		}
	})
}

// midway is an embedded index whose rebuild calls during once, after its first batch is in
// the new index: a change saved then reaches only the old index.
type midway struct {
	*bleveindex.Index
	during func()
}

func (m *midway) Rebuild(ctx context.Context, fill func(add func(...search.Document) error) error) error {
	return m.Index.Rebuild(ctx, func(add func(...search.Document) error) error {
		return fill(func(docs ...search.Document) error {
			if err := add(docs...); err != nil {
				return err
			}
			if m.during != nil {
				m.during()
				m.during = nil
			}
			return nil
		})
	})
}

// A rebuild swaps in a fresh index; changes saved while it was built, which the old index
// took, are applied again to the new one.
func TestReindexKeepsChangesMadeWhileBuilding(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db database) {
		ctx := context.Background()
		in := newInstance(t, db)
		m := &midway{Index: in.ix}
		in.d.Index = m
		if err := in.d.Save(ctx, svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson),
			svc("b", "Baby massage", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
			t.Fatal(err)
		}
		m.during = func() {
			if err := in.d.Save(ctx, svc("a", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson),
				svc("c", "Stay and play", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
				t.Error(err)
			}
			if err := in.d.Delete(ctx, "b"); err != nil {
				t.Error(err)
			}
		}
		n, err := in.d.Reindex(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Reindex = %d, %v; want the 2 services there were when it read them", n, err)
		}
		if m.during != nil {
			t.Fatal("the rebuild did not go through the engine's swap")
		}
		for text, want := range map[string][]string{"dads": {"a"}, "toddler": nil, "massage": nil, "play": {"c"}} {
			if got := in.finds(t, text); !slices.Equal(got, want) {
				t.Errorf("after the rebuild, %q finds %v, want %v", text, got, want)
			}
		}
		if got := held(t, in.ix); !slices.Equal(got, []string{"a", "c"}) {
			t.Errorf("index holds %v, want a and c", got)
		}
	})
}

// A rebuild that fails leaves the index as it was and the jobs it claimed queued.
func TestReindexSwapFailureKeepsIndex(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t, database{open: func(t *testing.T) *store.DB {
		return opened(t)(store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db")))
	}})
	if err := in.d.Save(ctx, svc("a", "Toddler group", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	if err := in.db.SaveServices(ctx, svc("b", "Dads club", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("disk full")
	in.d.Index = &failingRebuild{Index: in.ix, err: broken}
	if _, err := in.d.Reindex(ctx); !errors.Is(err, broken) {
		t.Fatalf("Reindex = %v, want the engine's error", err)
	}
	if got := in.finds(t, "toddler"); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after a failed rebuild, search finds %v, want the index as it was", got)
	}
	if n, err := in.d.SyncIndex(ctx); n != 1 || err != nil {
		t.Errorf("SyncIndex after the failed rebuild = %d, %v; want the job for b given back", n, err)
	}
}

type failingRebuild struct {
	*bleveindex.Index
	err error
}

func (f *failingRebuild) Rebuild(ctx context.Context, fill func(add func(...search.Document) error) error) error {
	return f.err
}

// stalled is an engine that never answers a search: it waits until the search is given up.
type stalled struct {
	search.Index
	calls atomic.Int32
}

func (s *stalled) Search(ctx context.Context, q search.Query) (search.Result, error) {
	s.calls.Add(1)
	<-ctx.Done()
	return search.Result{}, fmt.Errorf("%w: %w", search.ErrUnavailable, ctx.Err())
}

// An engine slower than the timeout is given up on and the database answers; after a few such
// searches it is left alone for a while, so families do not each wait out the timeout.
func TestSlowEngineFallsBackToDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the family's request
	defer cancel()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SaveServices(ctx, svc("a", "Debt advice", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	engine := &stalled{}
	d := directory.New(db, engine, nil)
	d.SearchTimeout = 20 * time.Millisecond
	for range 5 {
		p, err := d.Search(ctx, directory.Query{Text: "debt"})
		if err != nil || !p.FromDatabase || !slices.Equal(ids(p), []string{"a"}) {
			t.Fatalf("search with the engine stalled = %+v, %v; want the service from the database", p, err)
		}
	}
	if n := engine.calls.Load(); n != 3 {
		t.Errorf("the stalled engine was asked %d times in 5 searches, want 3 before it is left alone", n)
	}
}
