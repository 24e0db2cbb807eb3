package meili

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"familyhelp/search"
)

// buildName is the temporary index a rebuild created, from the requests it sent.
func buildName(t *testing.T, f *fakeMeili) string {
	t.Helper()
	for _, r := range f.sent("POST /indexes") {
		var c struct {
			UID        string `json:"uid"`
			PrimaryKey string `json:"primaryKey"`
		}
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(c.UID, testIndex+"_build_") {
			if c.PrimaryKey != "id" {
				t.Errorf("build index created with primary key %q, want id", c.PrimaryKey)
			}
			return c.UID
		}
	}
	t.Fatal("no build index was created")
	return ""
}

// steps names the requests sent, with each task poll as "wait" and the build index as BUILD.
func steps(f *fakeMeili, build string) []string {
	var out []string
	for _, r := range f.all() {
		s := strings.ReplaceAll(r.String(), build, "BUILD")
		switch {
		case strings.HasPrefix(r.path, "/tasks/"):
			s = "wait"
		case r.method == http.MethodGet && r.path == "/indexes":
			s = "list"
		}
		// Polls of one task are one wait.
		if s == "wait" && len(out) > 0 && out[len(out)-1] == "wait" {
			continue
		}
		out = append(out, s)
	}
	return out
}

func fillWith(docs []search.Document, fail error) func(add func(...search.Document) error) error {
	return func(add func(...search.Document) error) error {
		for chunk := range slices.Chunk(docs, 1500) {
			if err := add(chunk...); err != nil {
				return err
			}
		}
		return fail
	}
}

func manyDocs(n int) []search.Document {
	docs := make([]search.Document, n)
	for k := range docs {
		docs[k] = search.Document{ID: fmt.Sprintf("s%d", k), Name: fmt.Sprintf("Service %d", k)}
	}
	return docs
}

// A rebuild creates a temporary index, gives it the live index's settings, fills it in batches
// waiting for each, swaps it with the live index and deletes it (now holding the old
// documents), without writing to the live index at any point.
func TestRebuildSwapsAFreshIndexIn(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	docs := manyDocs(2500)
	if err := ix.Rebuild(context.Background(), fillWith(docs, nil)); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	build := buildName(t, f)
	stamp, err := strconv.ParseInt(strings.TrimPrefix(build, testIndex+"_build_"), 10, 64)
	if err != nil || time.Since(time.Unix(0, stamp)) > time.Hour {
		t.Errorf("build index %q is not named after the time it was made", build)
	}
	want := []string{
		"list", // indexes left by rebuilds that died, to delete
		"POST /indexes", "wait",
		"PATCH /indexes/BUILD/settings", "wait",
		// fill added 1500 then 1000: batches of at most 1000, each waited for
		"POST /indexes/BUILD/documents", "wait",
		"POST /indexes/BUILD/documents", "wait",
		"POST /indexes/BUILD/documents", "wait",
		"POST /swap-indexes", "wait",
		"DELETE /indexes/BUILD", "wait",
	}
	if got := steps(f, build); !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The same settings as the live index, so the swapped-in index searches alike.
	var sent, live map[string]any
	if err := json.Unmarshal(f.sent("PATCH /indexes/" + build + "/settings")[0].body, &sent); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(settings())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &live); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sent) != fmt.Sprint(live) {
		t.Errorf("build index settings differ from the live index's")
	}

	var added []string
	for _, r := range f.sent("POST /indexes/" + build + "/documents") {
		var batch []document
		if err := json.Unmarshal(r.body, &batch); err != nil {
			t.Fatal(err)
		}
		for _, d := range batch {
			added = append(added, d.ID)
			if d.Fingerprint == "" {
				t.Errorf("document %s added without its fingerprint", d.ID)
			}
		}
	}
	if len(added) != len(docs) || added[0] != "s0" || added[len(added)-1] != "s2499" {
		t.Errorf("added %d documents, want all %d in order", len(added), len(docs))
	}

	var swaps []struct {
		Indexes []string `json:"indexes"`
	}
	if err := json.Unmarshal(f.sent("POST /swap-indexes")[0].body, &swaps); err != nil {
		t.Fatal(err)
	}
	if len(swaps) != 1 || !slices.Equal(swaps[0].Indexes, []string{testIndex, build}) {
		t.Errorf("swapped %+v, want the live index with %s", swaps, build)
	}
	if got := f.existing(); !slices.Equal(got, []string{testIndex}) {
		t.Errorf("indexes after the rebuild: %v, want only %s", got, testIndex)
	}
}

// A rebuild that fails part-way deletes its temporary index and never touches the live one.
func TestRebuildFailurePartWayLeavesLiveIndex(t *testing.T) {
	dbGone := errors.New("the database went away")
	cases := []struct {
		name    string
		arrange func(f *fakeMeili)
		fail    error // from fill
		swapped bool  // whether the swap was tried
	}{
		{"fill fails", nil, dbGone, false},
		{"a batch of documents fails", func(f *fakeMeili) {
			f.failType, f.failCode, f.failMessage = "documentAdditionOrUpdate", "invalid_document_id", "Document identifier is invalid."
		}, nil, false},
		{"the engine refuses documents", func(f *fakeMeili) { f.status["POST /indexes/"+testIndex+"_build_*/documents"] = 500 }, nil, false},
		{"settings fail", func(f *fakeMeili) {
			f.failType, f.failCode, f.failMessage = "settingsUpdate", "invalid_settings", "Invalid settings."
		}, nil, false},
		{"the swap fails", func(f *fakeMeili) {
			f.failType, f.failCode, f.failMessage = "indexSwap", "index_not_found", "Index not found."
		}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			ix := f.open(t)
			if c.arrange != nil {
				f.set(c.arrange)
			}
			err := ix.Rebuild(context.Background(), fillWith(manyDocs(1200), c.fail))
			switch {
			case err == nil:
				t.Fatal("Rebuild succeeded")
			case c.fail != nil && !errors.Is(err, c.fail):
				t.Errorf("Rebuild = %v, want fill's error", err)
			case c.fail == nil && !errors.Is(err, search.ErrUnavailable):
				t.Errorf("Rebuild = %v, want search.ErrUnavailable", err)
			}
			build := buildName(t, f)
			for _, r := range f.all() {
				if strings.HasPrefix(r.path, "/indexes/"+testIndex+"/") || r.path == "/indexes/"+testIndex {
					t.Errorf("the live index was touched: %s", r)
				}
			}
			if got := len(f.sent("POST /swap-indexes")) > 0; got != c.swapped {
				t.Errorf("swap sent: %v, want %v", got, c.swapped)
			}
			if n := len(f.sent("DELETE /indexes/" + build)); n != 1 {
				t.Errorf("temporary index deleted %d times, want once", n)
			}
			if got := f.existing(); !slices.Equal(got, []string{testIndex}) {
				t.Errorf("indexes after the failed rebuild: %v, want only the live one", got)
			}
		})
	}
}

// A build index left by a rebuild that died long ago is deleted by the next rebuild; a recent
// one (perhaps another rebuild still running) and other indexes are left alone.
func TestRebuildDeletesStaleBuilds(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	old := fmt.Sprintf("%s_build_%d", testIndex, time.Now().Add(-2*staleBuild).UnixNano())
	recent := fmt.Sprintf("%s_build_%d", testIndex, time.Now().Add(-time.Minute).UnixNano())
	f.set(func(f *fakeMeili) {
		for _, uid := range []string{old, recent, "other_build_1", "services_archive"} {
			f.others[uid] = true
		}
	})
	if err := ix.Rebuild(context.Background(), fillWith(manyDocs(3), nil)); err != nil {
		t.Fatal(err)
	}
	got := f.existing()
	want := []string{"other_build_1", testIndex, recent, "services_archive"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("indexes after the rebuild: %v, want %v", got, want)
	}
	if n := len(f.sent("DELETE /indexes/" + old)); n != 1 {
		t.Errorf("stale build deleted %d times, want once", n)
	}
}

// After the swap the rebuild has succeeded, even if the old index cannot be deleted.
func TestRebuildSucceedsIfOldIndexStays(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	f.set(func(f *fakeMeili) { f.failType, f.failCode, f.failMessage = "indexDeletion", "internal", "Disk full." })
	if err := ix.Rebuild(context.Background(), fillWith(manyDocs(3), nil)); err != nil {
		t.Errorf("Rebuild = %v; the new index is in, so it succeeded", err)
	}
	if len(f.sent("POST /swap-indexes")) != 1 {
		t.Error("no swap")
	}
}
