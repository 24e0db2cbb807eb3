// Package searchtest is the contract every search.Index must keep: typo tolerance, the shared
// synonyms, each filter, distance sorting, pagination, updates and deletions. Each engine's
// tests call Run with a way to open an empty index.
package searchtest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"familyhelp/search"
)

// Places used by the fixtures (real postcode centroids).
var (
	wolverhampton = search.Point{Lat: 52.5862, Lng: -2.1286} // WV1
	bilston       = search.Point{Lat: 52.5661, Lng: -2.0730} // WV14
	walsall       = search.Point{Lat: 52.5862, Lng: -1.9822} // WS1
	birmingham    = search.Point{Lat: 52.4797, Lng: -1.8961} // B1, about 10 miles from Walsall
	manchester    = search.Point{Lat: 53.4794, Lng: -2.2453} // M1
)

func at(p search.Point) *search.Point { return &p }

// Fixtures is the fixed set of documents the contract is checked against. Their words are
// chosen so that each search below can only succeed in the way it names.
func Fixtures() []search.Document {
	return []search.Document{
		{ID: "da-outreach", Name: "Women's outreach", Summary: "Support if you are experiencing domestic abuse or coercive control.",
			Terms: "Domestic abuse", Needs: []string{"domestic-abuse"}, MinAge: 0, MaxAge: 99, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{wolverhampton}, Towns: "Wolverhampton"},
		{ID: "alcohol-service", Name: "Recovery Near You", Summary: "Help to cut down or stop alcohol use.",
			Description: "Group sessions and one-to-one key work.", Terms: "Drugs and alcohol",
			Needs: []string{"addiction"}, MinAge: 18, MaxAge: 99, Free: true,
			Delivery: []string{"in-person", "phone"}, Locations: []search.Point{bilston}, Towns: "Bilston"},
		{ID: "youth-substance", Name: "Young people's substance misuse team", Summary: "For teenagers worried about their own use.",
			Terms: "Drugs and alcohol", Needs: []string{"addiction"}, MinAge: 11, MaxAge: 18, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{walsall}, Towns: "Walsall"},
		{ID: "counselling", Name: "Talking therapies", Summary: "Free counselling for adults.",
			Terms: "Mental health", Needs: []string{"mental-health"}, MinAge: 16, MaxAge: 99, Free: true,
			Delivery: []string{"online", "phone"}, Remote: true},
		{ID: "parent-course", Name: "Calmer family course", Summary: "A ten week course for parents of young children.",
			Terms: "Parenting and family life", Needs: []string{"parenting"}, MinAge: 0, MaxAge: 5, Free: false,
			Delivery: []string{"in-person"}, Locations: []search.Point{walsall}, Towns: "Walsall"},
		{ID: "debt-advice", Name: "Money matters", Summary: "Free debt advice and welfare benefits checks.",
			Terms: "Money and debt", Needs: []string{"money"}, MinAge: 0, MaxAge: 99, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{birmingham}, Towns: "Birmingham"},
		{ID: "helpline", Name: "National helpline", Summary: "Call any time, day or night.",
			Terms: "Domestic abuse", Needs: []string{"domestic-abuse"}, MinAge: 0, MaxAge: 99, Free: true,
			Delivery: []string{"phone"}, Remote: true},
		{ID: "wellbeing-cafe", Name: "Wellbeing cafe", Summary: "A friendly drop-in for your mental health and family support.",
			Terms: "Mental health", Needs: []string{"mental-health", "parenting"}, MinAge: 0, MaxAge: 99, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{manchester}, Towns: "Manchester"},
		// In two places far apart: a family near either finds it, measured to that one.
		{ID: "youth-hub", Name: "Youth hub", Summary: "Help for young people with special educational needs.",
			Terms: "Special educational needs", Needs: []string{"send"}, MinAge: 11, MaxAge: 25, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{manchester, walsall}, Towns: "Manchester Walsall"},
	}
}

// Run checks the contract. open returns a new, empty index; Run closes it.
func Run(t *testing.T, open func(t *testing.T) search.Index) {
	ctx := context.Background()
	ix := open(t)
	t.Cleanup(func() { _ = ix.Close() })
	if err := ix.Upsert(ctx, Fixtures()...); err != nil {
		t.Fatalf("upsert fixtures: %v", err)
	}

	find := func(t *testing.T, q search.Query) search.Result {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 20
		}
		res, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		return res
	}

	t.Run("fingerprints", func(t *testing.T) {
		prints, err := ix.Fingerprints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(prints) != len(Fixtures()) {
			t.Errorf("Fingerprints lists %d services, want %d", len(prints), len(Fixtures()))
		}
		for _, d := range Fixtures() {
			if prints[d.ID] != search.Fingerprint(d) {
				t.Errorf("fingerprint of %s = %q, want %q", d.ID, prints[d.ID], search.Fingerprint(d))
			}
		}
		changed := Fixtures()[0]
		changed.Summary += " Evenings too."
		if err := ix.Upsert(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if prints, err = ix.Fingerprints(ctx); err != nil || prints[changed.ID] != search.Fingerprint(changed) {
			t.Errorf("after a change, fingerprint %q (%v), want the changed document's", prints[changed.ID], err)
		}
		if err := ix.Upsert(ctx, Fixtures()[0]); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("count", func(t *testing.T) {
		n, err := ix.Count(ctx)
		if err != nil || n != len(Fixtures()) {
			t.Fatalf("Count = %d, %v; want %d", n, err, len(Fixtures()))
		}
	})

	t.Run("text", func(t *testing.T) {
		cases := []struct {
			name, text string
			want       string   // must be among the hits
			not        []string // must not be
		}{
			{"plain word", "counselling", "counselling", []string{"debt-advice"}},
			{"typo domestik", "domestik abuse", "da-outreach", []string{"debt-advice", "parent-course"}},
			{"typo alchohol", "alchohol", "alcohol-service", []string{"counselling"}},
			{"typo councelling", "councelling", "counselling", []string{"alcohol-service"}},
			{"synonym drink", "drink", "alcohol-service", []string{"parent-course"}},
			{"synonym drugs", "drugs", "youth-substance", []string{"parent-course"}},
			{"synonym DV", "DV", "da-outreach", []string{"debt-advice"}},
			{"phrase my partner hits me", "my partner hits me", "da-outreach", []string{"debt-advice", "parent-course"}},
			{"synonym depressed", "depressed", "counselling", []string{"debt-advice"}},
			{"synonym anxious", "anxious", "wellbeing-cafe", []string{"alcohol-service"}},
			{"synonym debt", "debt", "debt-advice", []string{"da-outreach"}},
			{"can't cope", "I can't cope", "wellbeing-cafe", []string{"debt-advice"}},
			{"stemming", "courses", "parent-course", nil},
			{"every word must match", "alcohol course", "", []string{"alcohol-service", "parent-course"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := find(t, search.Query{Text: c.text})
				if c.want != "" && !slices.Contains(res.IDs, c.want) {
					t.Errorf("%q found %v, want %s among them", c.text, res.IDs, c.want)
				}
				for _, n := range c.not {
					if slices.Contains(res.IDs, n) {
						t.Errorf("%q found %v, which should not include %s", c.text, res.IDs, n)
					}
				}
				if res.Total != len(res.IDs) {
					t.Errorf("%q: Total %d but %d hits on one page", c.text, res.Total, len(res.IDs))
				}
			})
		}
	})

	t.Run("filters", func(t *testing.T) {
		age := func(n int) *int { return &n }
		cases := []struct {
			name string
			q    search.Query
			want []string // exactly these, in any order
		}{
			{"need", search.Query{Needs: []string{"addiction"}}, []string{"alcohol-service", "youth-substance"}},
			{"two needs", search.Query{Needs: []string{"money", "parenting"}}, []string{"debt-advice", "parent-course", "wellbeing-cafe"}},
			{"age 14", search.Query{Needs: []string{"addiction"}, Age: age(14)}, []string{"youth-substance"}},
			{"age at the edge", search.Query{Age: age(5), Needs: []string{"parenting"}}, []string{"parent-course", "wellbeing-cafe"}},
			{"age 6", search.Query{Age: age(6), Needs: []string{"parenting"}}, []string{"wellbeing-cafe"}},
			{"free only", search.Query{FreeOnly: true, Needs: []string{"parenting"}}, []string{"wellbeing-cafe"}},
			{"delivery phone", search.Query{Delivery: []string{"phone"}}, []string{"alcohol-service", "counselling", "helpline"}},
			{"delivery online", search.Query{Delivery: []string{"online"}}, []string{"counselling"}},
			{"text and need", search.Query{Text: "support", Needs: []string{"domestic-abuse"}}, []string{"da-outreach"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := find(t, c.q)
				got := slices.Clone(res.IDs)
				slices.Sort(got)
				want := slices.Clone(c.want)
				slices.Sort(want)
				if !slices.Equal(got, want) || res.Total != len(want) {
					t.Errorf("got %v (total %d), want %v", got, res.Total, want)
				}
			})
		}
	})

	t.Run("near", func(t *testing.T) {
		// From Bilston, within 12 km: Bilston, then Wolverhampton (4 km), then Walsall (6.5 km,
		// three times, one of them the youth hub's second place), then the remote services;
		// Birmingham (15 km) and Manchester are too far.
		res := find(t, search.Query{Near: at(bilston), RadiusMetres: 12000})
		if len(res.IDs) != 7 || res.Total != 7 {
			t.Fatalf("near Bilston: %v (total %d), want 5 located and 2 remote", res.IDs, res.Total)
		}
		if res.IDs[0] != "alcohol-service" || res.IDs[1] != "da-outreach" {
			t.Errorf("near Bilston: %v, want alcohol-service then da-outreach first", res.IDs)
		}
		rest := slices.Clone(res.IDs[2:5])
		slices.Sort(rest)
		if !slices.Equal(rest, []string{"parent-course", "youth-hub", "youth-substance"}) {
			t.Errorf("near Bilston: %v, want the Walsall services third to fifth", res.IDs)
		}
		remote := slices.Clone(res.IDs[5:])
		slices.Sort(remote)
		if !slices.Equal(remote, []string{"counselling", "helpline"}) {
			t.Errorf("near Bilston: %v, want the remote services last", res.IDs)
		}

		res = find(t, search.Query{Near: at(manchester), RadiusMetres: 12000, Needs: []string{"domestic-abuse"}})
		if !slices.Equal(res.IDs, []string{"helpline"}) {
			t.Errorf("domestic abuse near Manchester: %v, want only the national helpline", res.IDs)
		}

		for _, from := range []search.Point{manchester, walsall} {
			res = find(t, search.Query{Near: at(from), RadiusMetres: 12000, Needs: []string{"send"}})
			if !slices.Equal(res.IDs, []string{"youth-hub"}) || res.Total != 1 {
				t.Errorf("SEND near %v: %v (total %d), want the youth hub once, from either of its places", from, res.IDs, res.Total)
			}
		}
		// Its nearest place, not its first, decides where it comes.
		res = find(t, search.Query{Near: at(walsall), RadiusMetres: 12000, Needs: []string{"send", "domestic-abuse"}})
		if !slices.Equal(res.IDs, []string{"youth-hub", "da-outreach", "helpline"}) {
			t.Errorf("near Walsall: %v, want youth-hub (Walsall), da-outreach (Wolverhampton), then the helpline", res.IDs)
		}
		if res = find(t, search.Query{Near: at(birmingham), RadiusMetres: 12000, Needs: []string{"send"}}); len(res.IDs) != 0 {
			t.Errorf("SEND near Birmingham: %v, want none (both places are further than 12 km)", res.IDs)
		}

		res = find(t, search.Query{Near: at(walsall), RadiusMetres: 12000, Text: "alcohol"})
		if !slices.Equal(res.IDs, []string{"youth-substance", "alcohol-service"}) {
			t.Errorf("alcohol near Walsall: %v, want youth-substance (in Walsall) then alcohol-service (Bilston)", res.IDs)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		all := find(t, search.Query{})
		if all.Total != len(Fixtures()) {
			t.Fatalf("everything: total %d, want %d", all.Total, len(Fixtures()))
		}
		var paged []string
		for off := 0; off < all.Total; off += 3 {
			p := find(t, search.Query{Offset: off, Limit: 3})
			if p.Total != all.Total {
				t.Errorf("page at %d: total %d, want %d", off, p.Total, all.Total)
			}
			paged = append(paged, p.IDs...)
		}
		if !slices.Equal(paged, all.IDs) {
			t.Errorf("pages %v, want %v in the same order as one page", paged, all.IDs)
		}
		// With no text the order is by name, so a person can find their place again.
		if all.IDs[0] != "parent-course" {
			t.Errorf("first by name is %s, want parent-course (Calmer family course)", all.IDs[0])
		}
		if p := find(t, search.Query{Offset: 100, Limit: 3}); len(p.IDs) != 0 {
			t.Errorf("page past the end: %v, want none", p.IDs)
		}
	})

	t.Run("update and delete", func(t *testing.T) {
		changed := Fixtures()[4]
		changed.Name = "Incredible Years"
		changed.Summary = "A course for parents."
		if err := ix.Upsert(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if res := find(t, search.Query{Text: "calmer"}); slices.Contains(res.IDs, "parent-course") {
			t.Errorf("old name still finds the service: %v", res.IDs)
		}
		if res := find(t, search.Query{Text: "incredible"}); !slices.Contains(res.IDs, "parent-course") {
			t.Errorf("new name does not find the service: %v", res.IDs)
		}
		if err := ix.Delete(ctx, "parent-course", "no-such-id"); err != nil {
			t.Fatal(err)
		}
		if res := find(t, search.Query{Text: "incredible"}); len(res.IDs) != 0 {
			t.Errorf("deleted service still found: %v", res.IDs)
		}
		if n, _ := ix.Count(ctx); n != len(Fixtures())-1 {
			t.Errorf("Count after delete = %d, want %d", n, len(Fixtures())-1)
		}
		prints, err := ix.Fingerprints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, d := range Fixtures() {
			if d.ID != "parent-course" {
				want[d.ID] = search.Fingerprint(d)
			}
		}
		if !maps.Equal(prints, want) {
			t.Errorf("Fingerprints after delete = %v, want %v", prints, want)
		}
	})

	t.Run("a place removed", func(t *testing.T) {
		moved := Fixtures()[len(Fixtures())-1]
		moved.Locations = moved.Locations[:1] // Manchester only
		if err := ix.Upsert(ctx, moved); err != nil {
			t.Fatal(err)
		}
		if res := find(t, search.Query{Near: at(walsall), RadiusMetres: 12000, Needs: []string{"send"}}); len(res.IDs) != 0 {
			t.Errorf("SEND near Walsall after the Walsall place closed: %v, want none", res.IDs)
		}
		if res := find(t, search.Query{Needs: []string{"send"}}); !slices.Equal(res.IDs, []string{"youth-hub"}) {
			t.Errorf("SEND anywhere: %v, want the youth hub still", res.IDs)
		}
	})

	if rb, ok := ix.(search.Rebuilder); ok {
		t.Run("rebuild", func(t *testing.T) { checkRebuild(t, ix, rb, find) })
	}
}

// checkRebuild checks an engine's Rebuild: the new documents replace the old all at once, and
// a rebuild that fails part-way leaves the index as it was.
func checkRebuild(t *testing.T, ix search.Index, rb search.Rebuilder, find func(*testing.T, search.Query) search.Result) {
	ctx := context.Background()
	fresh := Fixtures()[:4]
	fresh[0].Name = "Freedom programme"
	fill := func(docs []search.Document, fail error) func(add func(...search.Document) error) error {
		return func(add func(...search.Document) error) error {
			// In two goes, as a caller reading the database in batches would.
			if err := add(docs[:2]...); err != nil {
				return err
			}
			if fail != nil {
				return fail
			}
			return add(docs[2:]...)
		}
	}
	if err := rb.Rebuild(ctx, fill(fresh, nil)); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	want := map[string]string{}
	for _, d := range fresh {
		want[d.ID] = search.Fingerprint(d)
	}
	if prints, err := ix.Fingerprints(ctx); err != nil || !maps.Equal(prints, want) {
		t.Errorf("after Rebuild, Fingerprints = %v (%v), want exactly the rebuilt documents %v", prints, err, want)
	}
	if n, err := ix.Count(ctx); n != len(fresh) || err != nil {
		t.Errorf("after Rebuild, Count = %d, %v; want %d", n, err, len(fresh))
	}
	if res := find(t, search.Query{Text: "freedom"}); !slices.Equal(res.IDs, []string{fresh[0].ID}) {
		t.Errorf("the rebuilt name finds %v, want %s", res.IDs, fresh[0].ID)
	}
	if res := find(t, search.Query{Text: "outreach"}); len(res.IDs) != 0 {
		t.Errorf("the name before the rebuild still finds %v", res.IDs)
	}
	if res := find(t, search.Query{Needs: []string{"money"}}); len(res.IDs) != 0 {
		t.Errorf("a service left out of the rebuild is still found: %v", res.IDs)
	}
	// Searches that the in-memory records of an engine answer see the new documents too.
	if res := find(t, search.Query{Near: at(bilston), RadiusMetres: 12000}); !slices.Equal(res.IDs, []string{"alcohol-service", "da-outreach", "youth-substance", "counselling"}) {
		t.Errorf("near Bilston after Rebuild: %v, want alcohol-service, da-outreach, youth-substance, counselling", res.IDs)
	}

	failed := errors.New("the database went away")
	if err := rb.Rebuild(ctx, fill(Fixtures(), failed)); !errors.Is(err, failed) {
		t.Fatalf("Rebuild with a failing fill = %v, want its error", err)
	}
	if prints, err := ix.Fingerprints(ctx); err != nil || !maps.Equal(prints, want) {
		t.Errorf("after a failed Rebuild, Fingerprints = %v (%v), want the index as it was: %v", prints, err, want)
	}
	if res := find(t, search.Query{Text: "freedom"}); !slices.Equal(res.IDs, []string{fresh[0].ID}) {
		t.Errorf("after a failed Rebuild, search finds %v, want the index as it was", res.IDs)
	}
	// And a later change reaches the rebuilt index.
	if err := ix.Upsert(ctx, Fixtures()[5]); err != nil {
		t.Fatal(err)
	}
	if res := find(t, search.Query{Text: "debt"}); !slices.Equal(res.IDs, []string{"debt-advice"}) {
		t.Errorf("a service added after the rebuild: search found %v", res.IDs)
	}
}
