package bleveindex_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/search/searchtest"
)

func TestContractInMemory(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		ix, err := bleveindex.Open("")
		if err != nil {
			t.Fatal(err)
		}
		return ix
	})
}

func TestContractOnDisk(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		ix, err := bleveindex.Open(filepath.Join(t.TempDir(), "index.bleve"))
		if err != nil {
			t.Fatal(err)
		}
		return ix
	})
}

// An index opened again from disk must answer as it did before it was closed: the in-memory
// records are rebuilt from what Bleve stored.
func TestReopenedIndexKeepsFiltersAndPlaces(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.bleve")
	ix, err := bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Upsert(ctx, searchtest.Fixtures()...); err != nil {
		t.Fatal(err)
	}
	bilston := search.Point{Lat: 52.5661, Lng: -2.0730}
	queries := []search.Query{
		{Near: &bilston, RadiusMetres: 12000, Limit: 20},
		{Near: &bilston, RadiusMetres: 12000, Text: "alcohol", Limit: 20},
		{Needs: []string{"addiction"}, Limit: 20},
		{Delivery: []string{"phone"}, FreeOnly: true, Limit: 20},
		{Age: ptr(14), Limit: 20},
		// The youth hub's second place is in Walsall.
		{Near: &search.Point{Lat: 52.5862, Lng: -1.9822}, RadiusMetres: 12000, Needs: []string{"send"}, Limit: 20},
	}
	var before []search.Result
	for k, q := range queries {
		res, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == 0 {
			t.Fatalf("query %d found nothing: the comparison below would prove nothing", k)
		}
		before = append(before, res)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for k, q := range queries {
		res, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.IDs, before[k].IDs) || res.Total != before[k].Total {
			t.Errorf("query %d after reopening: %v (total %d), before: %v (total %d)", k, res.IDs, res.Total, before[k].IDs, before[k].Total)
		}
	}
}

func ptr(n int) *int { return &n }

// An index written by an older version, with other fields, is started again rather than read
// wrongly; the server's count check then rebuilds it from the database.
func TestOldIndexIsStartedAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.bleve")
	old, err := bleve.New(path, bleve.NewIndexMapping())
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Index("x", map[string]any{"name": "Old service", "location": []float64{-2.1, 52.5}}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err := bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(context.Background()); n != 0 || err != nil {
		t.Errorf("old index opened with %d documents (%v), want it started again", n, err)
	}
	if err := ix.Upsert(context.Background(), searchtest.Fixtures()[0]); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	// And an index of this version is kept.
	ix, err = bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if n, _ := ix.Count(context.Background()); n != 1 {
		t.Errorf("current index reopened with %d documents, want 1", n)
	}
}
