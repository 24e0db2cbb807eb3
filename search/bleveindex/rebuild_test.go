package bleveindex_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/search/searchtest"
)

// generation is n services that all offer "support" for parenting near Walsall, named after
// the generation they belong to, so that a search shows which index answered it.
func generation(name string, n int) []search.Document {
	docs := make([]search.Document, n)
	for k := range docs {
		docs[k] = search.Document{
			ID: fmt.Sprintf("s%04d", k), Name: fmt.Sprintf("%s group %d", name, k),
			Summary: "Family support for parents", Terms: "Parenting", Needs: []string{"parenting"},
			MaxAge: 99, Free: true, Delivery: []string{"in-person"},
			Locations: []search.Point{{Lat: 52.5862, Lng: -1.9822}}, Towns: "Walsall",
		}
	}
	return docs
}

// While an index is rebuilt and swapped in, searches running all the while never fail and
// never find nothing: they are answered by the old index, then by the new one.
func TestSearchesDuringRebuildAlwaysFindServices(t *testing.T) {
	for _, where := range []string{"memory", "disk"} {
		t.Run(where, func(t *testing.T) {
			ctx := context.Background()
			path := ""
			if where == "disk" {
				path = filepath.Join(t.TempDir(), "index.bleve")
			}
			ix, err := bleveindex.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			if err := ix.Upsert(ctx, generation("Oldname", 600)...); err != nil {
				t.Fatal(err)
			}

			walsall := &search.Point{Lat: 52.5862, Lng: -1.9822}
			queries := []search.Query{
				{Text: "support", Limit: 10},                         // Bleve's text index
				{Needs: []string{"parenting"}, Limit: 10},            // the in-memory records
				{Near: walsall, RadiusMetres: 5000, Limit: 10},       // the records, by distance
				{Text: "parents", Near: walsall, RadiusMetres: 5000}, // both
			}
			stop := make(chan struct{})
			var searches atomic.Int64
			var failures sync.Map // one example of each kind of failure
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for k := 0; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						q := queries[(w+k)%len(queries)]
						res, err := ix.Search(ctx, q)
						switch {
						case err != nil:
							failures.Store(fmt.Sprintf("query %d failed", (w+k)%len(queries)), err.Error())
						case res.Total == 0 || len(res.IDs) == 0:
							failures.Store(fmt.Sprintf("query %d found nothing", (w+k)%len(queries)), res)
						}
						searches.Add(1)
					}
				})
			}
			// Each batch of the new index is added only once more searches have been made,
			// so that searches run all through the build, not only before or after it.
			waitForSearches := func() {
				for target := searches.Load() + 20; searches.Load() < target; {
					runtime.Gosched()
				}
			}
			fresh := generation("Newname", 600)
			err = ix.Rebuild(ctx, func(add func(...search.Document) error) error {
				for chunk := range slices.Chunk(fresh, 100) {
					waitForSearches()
					if err := add(chunk...); err != nil {
						return err
					}
				}
				return nil
			})
			waitForSearches() // and after the swap
			close(stop)
			wg.Wait()
			if err != nil {
				t.Fatalf("Rebuild: %v", err)
			}
			failures.Range(func(k, v any) bool {
				t.Errorf("during the rebuild, %s: %v", k, v)
				return true
			})
			if res, err := ix.Search(ctx, search.Query{Text: "newname", Limit: 1}); err != nil || res.Total != len(fresh) {
				t.Errorf("after the rebuild, the new name finds %d (%v), want %d", res.Total, err, len(fresh))
			}
			if res, err := ix.Search(ctx, search.Query{Text: "oldname", Limit: 1}); err != nil || res.Total != 0 {
				t.Errorf("after the rebuild, the old name still finds %d (%v)", res.Total, err)
			}
			if where == "disk" {
				assertOnlyIndex(t, path)
			}
		})
	}
}

// assertOnlyIndex checks that nothing but the index itself is left in its directory.
func assertOnlyIndex(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{filepath.Base(path)}) {
		t.Errorf("beside the index: %v, want only %s", names, filepath.Base(path))
	}
}

// A rebuilt index on disk is the one found when it is opened again; a failed rebuild leaves no
// build directory behind.
func TestRebuildOnDiskLasts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.bleve")
	ix, err := bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Upsert(ctx, generation("Oldname", 10)...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Rebuild(ctx, func(add func(...search.Document) error) error { return add(searchtest.Fixtures()...) }); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("database gone")
	if err := ix.Rebuild(ctx, func(add func(...search.Document) error) error {
		if err := add(generation("Halfway", 5)...); err != nil {
			return err
		}
		return broken
	}); !errors.Is(err, broken) {
		t.Fatalf("Rebuild with a failing fill = %v", err)
	}
	assertOnlyIndex(t, path)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix, err = bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	prints, err := ix.Fingerprints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(prints) != len(searchtest.Fixtures()) {
		t.Errorf("reopened after a rebuild: %d services, want the %d rebuilt", len(prints), len(searchtest.Fixtures()))
	}
	for _, d := range searchtest.Fixtures() {
		if prints[d.ID] != search.Fingerprint(d) {
			t.Errorf("reopened: %s has fingerprint %q, want %q", d.ID, prints[d.ID], search.Fingerprint(d))
		}
	}
	if res, err := ix.Search(ctx, search.Query{Text: "calmer", Limit: 10}); err != nil || !slices.Equal(res.IDs, []string{"parent-course"}) {
		t.Errorf("reopened: search found %v (%v), want parent-course", res.IDs, err)
	}
}

// A rebuild that died half-way (the process killed) leaves directories beside the index; the
// next Open tidies them away and finds the index that was live.
func TestOpenTidiesWhatACrashedRebuildLeft(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		// crash arranges what the rebuild left, given the live index's path.
		crash func(t *testing.T, path string)
	}{
		{"while building", func(t *testing.T, path string) {
			half, err := bleveindex.Open(path + ".build-1700000000000000000")
			if err != nil {
				t.Fatal(err)
			}
			if err := half.Upsert(ctx, generation("Halfway", 3)...); err != nil {
				t.Fatal(err)
			}
			half.Close()
		}},
		{"between moving the live index aside and the new one in", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".old"); err != nil {
				t.Fatal(err)
			}
			built, err := bleveindex.Open(path + ".build-1700000000000000000")
			if err != nil {
				t.Fatal(err)
			}
			if err := built.Upsert(ctx, generation("Halfway", 3)...); err != nil {
				t.Fatal(err)
			}
			built.Close()
		}},
		{"before removing the old index", func(t *testing.T, path string) {
			if err := os.MkdirAll(filepath.Join(path+".old", "store"), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.bleve")
			ix, err := bleveindex.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := ix.Upsert(ctx, searchtest.Fixtures()...); err != nil {
				t.Fatal(err)
			}
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			c.crash(t, path)

			ix, err = bleveindex.Open(path)
			if err != nil {
				t.Fatalf("Open after a crashed rebuild: %v", err)
			}
			defer ix.Close()
			assertOnlyIndex(t, path)
			if n, err := ix.Count(ctx); n != len(searchtest.Fixtures()) || err != nil {
				t.Errorf("Count = %d, %v; want the %d services of the live index", n, err, len(searchtest.Fixtures()))
			}
			if res, err := ix.Search(ctx, search.Query{Text: "halfway", Limit: 10}); err != nil || res.Total != 0 {
				t.Errorf("the half-built index answers: %v, %v", res.IDs, err)
			}
			// And the next rebuild works.
			if err := ix.Rebuild(ctx, func(add func(...search.Document) error) error { return add(generation("Fresh", 2)...) }); err != nil {
				t.Fatal(err)
			}
			if n, _ := ix.Count(ctx); n != 2 {
				t.Errorf("after the next rebuild, Count = %d, want 2", n)
			}
		})
	}
}
