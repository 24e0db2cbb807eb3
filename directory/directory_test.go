package directory_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"familyhelp/directory"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/store"
)

// down is a search engine that has failed.
type down struct{ search.Index }

func (down) Search(context.Context, search.Query) (search.Result, error) {
	return search.Result{}, search.ErrUnavailable
}

func newDirectory(t *testing.T) (*directory.Directory, search.Index) {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return directory.New(db, ix, nil), ix
}

func svc(id, name, town string, lat, lng float64, d ...directory.Delivery) *directory.Service {
	s := &directory.Service{ID: id, Name: name, Status: directory.Active, Summary: name + " in " + town,
		Organisation: directory.Organisation{ID: "org", Name: "Org"},
		Needs:        []directory.Need{directory.NeedMoney}, MaxAge: directory.MaxAgeLimit, Free: true, Delivery: d}
	if lat != 0 {
		s.Locations = []directory.Location{{ID: id + "-1", Town: town, Latitude: lat, Longitude: lng}}
	}
	return s
}

// held lists the services an index holds, sorted.
func held(t *testing.T, ix search.Index) []string {
	t.Helper()
	prints, err := ix.Fingerprints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(prints))
}

func ids(p *directory.Page) []string {
	var out []string
	for _, r := range p.Results {
		out = append(out, r.Service.ID)
	}
	return out
}

func TestSearchNearestFirstWithDistances(t *testing.T) {
	ctx := context.Background()
	d, _ := newDirectory(t)
	err := d.Save(ctx,
		svc("far", "Debt advice Walsall", "Walsall", 52.5862, -1.9822, directory.InPerson),
		svc("near", "Debt advice Bilston", "Bilston", 52.5661, -2.0730, directory.InPerson),
		svc("line", "Debt advice line", "", 0, 0, directory.Phone),
		svc("too-far", "Debt advice Manchester", "Manchester", 53.4794, -2.2453, directory.InPerson),
	)
	if err != nil {
		t.Fatal(err)
	}
	wv1 := &directory.Place{Label: "WV1 1AA", Point: search.Point{Lat: 52.5862, Lng: -2.1286}}
	for _, engine := range []string{"index", "database"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "database" {
				d.Index = down{d.Index}
			}
			p, err := d.Search(ctx, directory.Query{Text: "debt", Near: wv1})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, []string{"near", "far", "line"}) {
				t.Fatalf("results %v, want near, far, then the phone line", got)
			}
			if p.FromDatabase != (engine == "database") {
				t.Errorf("FromDatabase = %v", p.FromDatabase)
			}
			r := p.Results[0]
			if !r.HasDistance || r.DistanceText() != "2.7 miles away" || r.Nearest.Town != "Bilston" {
				t.Errorf("nearest: %v %q %v", r.HasDistance, r.DistanceText(), r.Nearest)
			}
			if p.Results[2].HasDistance {
				t.Error("a phone line has no distance")
			}
		})
	}
}

func TestSaveKeepsIndexAndCacheInStep(t *testing.T) {
	ctx := context.Background()
	d, ix := newDirectory(t)
	s := svc("a", "Money help", "Walsall", 52.58, -1.98, directory.InPerson)
	if err := d.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(ctx, "a"); err != nil || got.Name != "Money help" {
		t.Fatalf("Get = %v, %v", got, err)
	}
	before := d.Version()
	changed := *s
	changed.Name = "Money and benefits help"
	if err := d.Save(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	if d.Version() == before {
		t.Error("Version did not change after a save")
	}
	if got, _ := d.Get(ctx, "a"); got.Name != "Money and benefits help" {
		t.Errorf("Get after change = %q: the cache kept the old service", got.Name)
	}
	retired := changed
	retired.Status = directory.Defunct
	if err := d.Save(ctx, &retired); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "a"); !directory.IsNotFound(err) {
		t.Errorf("retired service: err = %v, want not found", err)
	}
	if n, _ := ix.Count(ctx); n != 0 {
		t.Errorf("retired service still in the index (%d documents)", n)
	}
	// Reindex brings the index into step with the database: a service the index lost comes
	// back, and one the database does not list (or not as active) goes.
	if err := d.Save(ctx, svc("b", "Food bank", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	if err := ix.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	stale := directory.DocumentFor(svc("gone", "Closed café", "Walsall", 52.58, -1.98, directory.InPerson))
	if err := ix.Upsert(ctx, stale, directory.DocumentFor(&retired)); err != nil {
		t.Fatal(err)
	}
	n, err := d.Reindex(ctx)
	if err != nil || n != 1 {
		t.Errorf("Reindex = %d, %v; want 1 active service", n, err)
	}
	if ids := held(t, ix); !slices.Equal(ids, []string{"b"}) {
		t.Errorf("index holds %v after Reindex, want only b", ids)
	}
}

func TestDocumentForCarriesNeedWords(t *testing.T) {
	s := svc("a", "Drop-in", "Bilston", 52.56, -2.07, directory.InPerson, directory.Online)
	s.Needs = []directory.Need{directory.NeedDomesticAbuse}
	doc := directory.DocumentFor(s)
	if !doc.Remote || len(doc.Locations) != 1 || doc.Towns != "Bilston" {
		t.Errorf("doc = %+v", doc)
	}
	if want := "Domestic abuse"; !strings.Contains(doc.Terms, want) {
		t.Errorf("Terms %q lack the need's label %q", doc.Terms, want)
	}
}

// failing is a search engine that fails every search and counts them.
type failing struct {
	search.Index
	calls atomic.Int32
}

func (f *failing) Search(context.Context, search.Query) (search.Result, error) {
	f.calls.Add(1)
	return search.Result{}, search.ErrUnavailable
}

// During an outage a family must not wait for the engine to fail on every search: after a few
// failures the database answers straight away.
func TestFailingEngineIsLeftAlone(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SaveServices(ctx, svc("a", "Debt advice", "Walsall", 52.58, -1.98, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	engine := &failing{}
	d := directory.New(db, engine, nil)
	for range 10 {
		p, err := d.Search(ctx, directory.Query{Text: "debt"})
		if err != nil || !p.FromDatabase || !slices.Equal(ids(p), []string{"a"}) {
			t.Fatalf("search during the outage = %v, %v; want the service from the database", p, err)
		}
	}
	if n := engine.calls.Load(); n != 3 {
		t.Errorf("the failing engine was asked %d times in 10 searches, want 3 before it is left alone", n)
	}
}

// A service in several places is as near as its nearest place, from the index and from the
// database alike.
func TestSeveralPlacesNearestCounts(t *testing.T) {
	ctx := context.Background()
	d, _ := newDirectory(t)
	hub := svc("hub", "Debt advice hub", "Manchester", 53.4794, -2.2453, directory.InPerson)
	hub.Locations = append(hub.Locations, directory.Location{ID: "hub-2", Town: "Walsall", Latitude: 52.5862, Longitude: -1.9822})
	if err := d.Save(ctx, hub, svc("bilston", "Debt advice Bilston", "Bilston", 52.5661, -2.0730, directory.InPerson)); err != nil {
		t.Fatal(err)
	}
	ws1 := &directory.Place{Label: "WS1 1AA", Point: search.Point{Lat: 52.5862, Lng: -1.9822}}
	for _, engine := range []string{"index", "database"} {
		t.Run(engine, func(t *testing.T) {
			if engine == "database" {
				d.Index = down{d.Index}
			}
			p, err := d.Search(ctx, directory.Query{Text: "debt", Near: ws1})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, []string{"hub", "bilston"}) {
				t.Fatalf("results %v, want the hub (its Walsall place) before Bilston", got)
			}
			if r := p.Results[0]; r.Nearest == nil || r.Nearest.Town != "Walsall" || r.DistanceText() != "Less than 0.1 miles away" {
				t.Errorf("hub shown at %+v, %q; want its Walsall place, less than 0.1 miles away", r.Nearest, r.DistanceText())
			}
		})
	}
}
