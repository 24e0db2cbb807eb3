package meili

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/store"
)

// A Meilisearch that takes longer than the directory's search timeout is given up on, and the
// family gets results from the database: the page is the same page, marked as answered from
// the database (which it words gently), never an error.
func TestSlowMeilisearchFallsBackToDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the family's request
	defer cancel()
	f := newFake(t)
	ix := f.open(t)
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	debt := &directory.Service{ID: "debt", Name: "Debt advice", Summary: "Free debt advice", Status: directory.Active,
		Organisation: directory.Organisation{ID: "org", Name: "Org"}, MaxAge: directory.MaxAgeLimit, Free: true,
		Needs: []directory.Need{directory.NeedMoney}, Delivery: []directory.Delivery{directory.Phone}}
	if err := db.SaveServices(ctx, debt); err != nil {
		t.Fatal(err)
	}
	d := directory.New(db, ix, nil)
	d.SearchTimeout = 50 * time.Millisecond

	f.set(func(f *fakeMeili) { f.hits, f.totalHits = []string{"debt"}, 1 })
	p, err := d.Search(ctx, directory.Query{Text: "debt"})
	if err != nil || p.FromDatabase || len(p.Results) != 1 {
		t.Fatalf("with Meilisearch answering: %+v, %v; want its hit", p, err)
	}

	f.stallSearch.Store(true)
	for range 4 {
		p, err = d.Search(ctx, directory.Query{Text: "debt"})
		if err != nil {
			t.Fatalf("search with Meilisearch stalled: %v; want results from the database", err)
		}
		var got []string
		for _, r := range p.Results {
			got = append(got, r.Service.ID)
		}
		if !p.FromDatabase || !slices.Equal(got, []string{"debt"}) || p.Total != 1 {
			t.Errorf("search with Meilisearch stalled found %v (total %d, from database %v), want debt from the database", got, p.Total, p.FromDatabase)
		}
	}
	// After three timeouts the engine is left alone for a while: the fourth search did not
	// wait on it.
	if n := f.stalls.Load(); n != 3 {
		t.Errorf("Meilisearch was kept waiting by %d of 4 searches, want 3 before it is left alone", n)
	}
}
