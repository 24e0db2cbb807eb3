package meili

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"familyhelp/search"
)

// sentSettings is the part of the settings payload that search depends on.
type sentSettings struct {
	RankingRules         []string            `json:"rankingRules"`
	SearchableAttributes []string            `json:"searchableAttributes"`
	FilterableAttributes []string            `json:"filterableAttributes"`
	DistinctAttribute    *string             `json:"distinctAttribute"`
	SortableAttributes   []string            `json:"sortableAttributes"`
	StopWords            []string            `json:"stopWords"`
	Synonyms             map[string][]string `json:"synonyms"`
	TypoTolerance        *struct {
		Enabled             *bool `json:"enabled"`
		MinWordSizeForTypos struct {
			OneTypo  int `json:"oneTypo"`
			TwoTypos int `json:"twoTypos"`
		} `json:"minWordSizeForTypos"`
		DisableOnWords      []string `json:"disableOnWords"`
		DisableOnAttributes []string `json:"disableOnAttributes"`
	} `json:"typoTolerance"`
	Pagination *struct {
		MaxTotalHits int `json:"maxTotalHits"`
	} `json:"pagination"`
}

func TestNewCreatesIndexAndAppliesSettings(t *testing.T) {
	f := newFake(t)
	if _, err := New(context.Background(), f.srv.URL, "secret", testIndex); err != nil {
		t.Fatalf("New: %v", err)
	}

	for _, r := range f.all() {
		if r.auth != "Bearer secret" {
			t.Errorf("%s %s sent Authorization %q, want the API key as a bearer token", r.method, r.path, r.auth)
		}
	}

	created := f.sent("POST /indexes")
	if len(created) != 1 {
		t.Fatalf("index created %d times, want once", len(created))
	}
	var create map[string]string
	if err := json.Unmarshal(created[0].body, &create); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"uid": testIndex, "primaryKey": "id"}; !reflect.DeepEqual(create, want) {
		t.Errorf("create index sent %v, want %v", create, want)
	}

	patches := f.sent("PATCH /indexes/" + testIndex + "/settings")
	if len(patches) != 1 {
		t.Fatalf("settings sent %d times, want once", len(patches))
	}
	var s sentSettings
	if err := json.Unmarshal(patches[0].body, &s); err != nil {
		t.Fatalf("settings payload: %v\n%s", err, patches[0].body)
	}
	if want := []string{"sort", "words", "typo", "proximity", "attribute", "exactness"}; !slices.Equal(s.RankingRules, want) {
		t.Errorf("rankingRules %v, want %v (sort first)", s.RankingRules, want)
	}
	if want := []string{"name", "terms", "summary", "organisation", "description", "towns"}; !slices.Equal(s.SearchableAttributes, want) {
		t.Errorf("searchableAttributes %v, want %v in that order", s.SearchableAttributes, want)
	}
	if want := []string{"_geo", "categories", "delivery", "free", "id", "max_age", "min_age", "needs", "remote", "service_id"}; !slices.Equal(slices.Sorted(slices.Values(s.FilterableAttributes)), want) {
		t.Errorf("filterableAttributes %v, want %v", s.FilterableAttributes, want)
	}
	if s.DistinctAttribute == nil || *s.DistinctAttribute != "service_id" {
		t.Errorf("distinctAttribute %v, want service_id: a service in several places would be listed once for each", s.DistinctAttribute)
	}
	if want := []string{"_geo", "name"}; !slices.Equal(slices.Sorted(slices.Values(s.SortableAttributes)), want) {
		t.Errorf("sortableAttributes %v, want %v", s.SortableAttributes, want)
	}

	tt := s.TypoTolerance
	switch {
	case tt == nil:
		t.Error("no typoTolerance sent")
	case tt.Enabled == nil || !*tt.Enabled:
		t.Errorf("typoTolerance.enabled is %v, want true (left out, Meilisearch turns typos off)", tt.Enabled)
	case tt.MinWordSizeForTypos.OneTypo != 5 || tt.MinWordSizeForTypos.TwoTypos != 9:
		t.Errorf("minWordSizeForTypos %+v, want oneTypo 5, twoTypos 9", tt.MinWordSizeForTypos)
	case tt.DisableOnWords == nil || tt.DisableOnAttributes == nil:
		t.Errorf("disableOnWords %v / disableOnAttributes %v sent as null, want []", tt.DisableOnWords, tt.DisableOnAttributes)
	}
	if s.Pagination == nil || s.Pagination.MaxTotalHits <= 1000 {
		t.Errorf("pagination %+v: Meilisearch's default of 1000 would cap Total", s.Pagination)
	}

	for _, w := range []string{"my", "me", "i", "the", "a", "and", "of", "to", "for", "with", "is", "am", "im", "help", "need"} {
		if !slices.Contains(s.StopWords, w) {
			t.Errorf("stop word %q missing", w)
		}
	}
	for _, w := range []string{"not", "cope", "up", "stop", "send"} {
		if slices.Contains(s.StopWords, w) {
			t.Errorf("%q is a stop word, but synonyms need it", w)
		}
	}

	for key := range search.Synonyms {
		if _, ok := s.Synonyms[search.Normalise(key)]; !ok {
			t.Errorf("synonym %q not sent", key)
		}
	}
	for key, want := range map[string][]string{
		"dv":           {"domestic abuse"},
		"partner hits": {"domestic abuse"},
		"hits me":      {"domestic abuse"},
		"addiction":    {"substance misuse", "alcohol"},
		"cant cope":    {"mental health", "family support"},
		"can't cope":   {"mental health", "family support"},
		"can’t cope":   {"mental health", "family support"},
		"talking":      {"speech", "language"}, // "speech and language", split at its stop word
	} {
		if got := s.Synonyms[key]; !slices.Equal(got, want) {
			t.Errorf("synonym %q → %q, want %q", key, got, want)
		}
	}
	for key := range s.Synonyms {
		if key != strings.ToLower(key) {
			t.Errorf("synonym key %q is not lower case", key)
		}
	}

	// Each task was polled through enqueued and processing to succeeded, and the settings were
	// sent only once the index existed.
	f.mu.Lock()
	for uid, n := range f.polls {
		if n != 3 {
			t.Errorf("task %d (%s) polled %d times, want 3 (enqueued, processing, succeeded)", uid, f.tasks[uid], n)
		}
	}
	f.mu.Unlock()
	order := f.all()
	patchAt := slices.IndexFunc(order, func(r recorded) bool { return r.method == http.MethodPatch })
	lastCreatePoll := -1
	for i, r := range order {
		if r.path == "/tasks/1" {
			lastCreatePoll = i
		}
	}
	if patchAt < lastCreatePoll {
		t.Errorf("settings sent (request %d) before index creation finished (request %d)", patchAt, lastCreatePoll)
	}
}

// TestSynonymsSurviveStopWords guards edits to search.Synonyms and the stop words: Meilisearch
// drops stop words from synonym keys and phrases, so a key made only of stop words would never
// match, and a phrase with one inside would need words that no document has side by side.
func TestSynonymsSurviveStopWords(t *testing.T) {
	for key, values := range synonyms() {
		if !slices.ContainsFunc(strings.Fields(search.Normalise(key)), func(w string) bool { return !isStopWord[w] }) {
			t.Errorf("synonym key %q is all stop words", key)
		}
		for _, v := range values {
			for _, w := range strings.Fields(v) {
				if isStopWord[w] {
					t.Errorf("synonym %q → %q holds the stop word %q", key, v, w)
				}
			}
		}
	}
}

func TestNewExistingIndex(t *testing.T) {
	f := newFake(t)
	f.exists = true
	if _, err := New(context.Background(), f.srv.URL, "", testIndex); err != nil {
		t.Fatalf("New: %v", err)
	}
	if n := len(f.sent("POST /indexes")); n != 0 {
		t.Errorf("index created %d times though it exists", n)
	}
	if n := len(f.sent("PATCH /indexes/" + testIndex + "/settings")); n != 1 {
		t.Errorf("settings sent %d times, want once (they may have changed)", n)
	}
	for _, r := range f.all() {
		if r.auth != "" {
			t.Errorf("with no API key, %s %s sent Authorization %q", r.method, r.path, r.auth)
		}
	}
}

func TestNewIndexCreatedByAnotherInstance(t *testing.T) {
	f := newFake(t)
	f.failType, f.failCode, f.failMessage = "indexCreation", "index_already_exists", "Index `services` already exists."
	if _, err := New(context.Background(), f.srv.URL, "", testIndex); err != nil {
		t.Fatalf("New failed though the index exists, made by someone else: %v", err)
	}
}

func TestNewNeedsURLAndIndex(t *testing.T) {
	for _, c := range []struct{ url, index string }{{"", testIndex}, {"http://127.0.0.1:7700", ""}} {
		_, err := New(context.Background(), c.url, "", c.index)
		if err == nil {
			t.Errorf("New(%q, %q) succeeded", c.url, c.index)
		} else if errors.Is(err, search.ErrUnavailable) {
			t.Errorf("New(%q, %q) = %v: a configuration mistake is not an outage", c.url, c.index, err)
		}
	}
}

// TestFailedTasks checks that a task Meilisearch accepts and then fails is an error that names
// what failed and wraps ErrUnavailable.
func TestFailedTasks(t *testing.T) {
	cases := []struct {
		name     string
		failType string
		message  string
		op       func(ix *Index) error
	}{
		{"settings", "settingsUpdate", "Invalid ranking rule `sortt`.", nil},
		{"upsert", "documentAdditionOrUpdate", "Document identifier `a b` is invalid.", func(ix *Index) error {
			return ix.Upsert(context.Background(), search.Document{ID: "a b"})
		}},
		{"delete", "documentDeletion", "Deletion went wrong.", func(ix *Index) error {
			return ix.Delete(context.Background(), "x")
		}},
		{"upsert removing old places", "documentDeletion", "Deletion went wrong.", func(ix *Index) error {
			return ix.Upsert(context.Background(), search.Document{ID: "a"})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			var err error
			if c.op == nil {
				f.failType, f.failCode, f.failMessage = c.failType, "invalid_settings", c.message
				_, err = New(context.Background(), f.srv.URL, "", testIndex)
			} else {
				ix := f.open(t)
				f.set(func(f *fakeMeili) { f.failType, f.failCode, f.failMessage = c.failType, "invalid_request", c.message })
				err = c.op(ix)
			}
			if err == nil {
				t.Fatal("no error for a failed task")
			}
			if !errors.Is(err, search.ErrUnavailable) {
				t.Errorf("%v does not wrap search.ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), c.message) || !strings.Contains(err.Error(), c.failType) {
				t.Errorf("%q does not say which task failed and why (%s: %s)", err, c.failType, c.message)
			}
		})
	}
}

func TestCanceledTaskIsAnError(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	f.set(func(f *fakeMeili) { f.flow = []string{"enqueued", "canceled"} })
	err := ix.Upsert(context.Background(), search.Document{ID: "a"})
	if !errors.Is(err, search.ErrUnavailable) || !strings.Contains(fmt.Sprint(err), "canceled") {
		t.Errorf("Upsert with a canceled task = %v, want an ErrUnavailable saying canceled", err)
	}
}

func TestTaskWaitStopsWithContext(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	f.set(func(f *fakeMeili) { f.flow = []string{"processing"} }) // never finishes
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ix.Upsert(ctx, search.Document{ID: "a"})
	if !errors.Is(err, search.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Upsert on a stuck task = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Upsert took %v to give up on a 100ms context", d)
	}
}

func TestUpsertDocuments(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	docs := []search.Document{
		{
			ID: "da-outreach", Name: "Women's outreach", Summary: "Support", Description: "Long text",
			Organisation: "Safe Homes", Terms: "Domestic abuse", Needs: []string{"domestic-abuse"},
			Categories: []string{"Family support"}, MinAge: 0, MaxAge: 99, Free: true,
			Delivery: []string{"in-person"}, Locations: []search.Point{{Lat: 52.5862, Lng: -2.1286}}, Towns: "Wolverhampton",
		},
		{ID: "helpline", Name: "National helpline", MinAge: 11, MaxAge: 18, Remote: true},
		{ID: "hub", Name: "Hub", Locations: []search.Point{{Lat: 52.5, Lng: -2.1}, {Lat: 52.6, Lng: -1.9}}},
	}
	if err := ix.Upsert(context.Background(), docs...); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	sent := f.sent("POST /indexes/" + testIndex + "/documents")
	if len(sent) != 1 {
		t.Fatalf("%d document requests, want 1", len(sent))
	}
	var got []map[string]any
	if err := json.Unmarshal(sent[0].body, &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{
			"id": "da-outreach", "service_id": "da-outreach", "name": "Women's outreach", "summary": "Support", "description": "Long text",
			"organisation": "Safe Homes", "terms": "Domestic abuse", "needs": []any{"domestic-abuse"},
			"categories": []any{"Family support"}, "min_age": 0.0, "max_age": 99.0, "free": true,
			"delivery": []any{"in-person"}, "remote": false, "towns": "Wolverhampton",
			"_geo": map[string]any{"lat": 52.5862, "lng": -2.1286}, "fingerprint": search.Fingerprint(docs[0]),
		},
		{
			// No _geo at all: Meilisearch rejects one without coordinates.
			"id": "helpline", "service_id": "helpline", "name": "National helpline", "summary": "", "description": "",
			"organisation": "", "terms": "", "needs": []any{}, "categories": []any{},
			"min_age": 11.0, "max_age": 18.0, "free": false, "delivery": []any{}, "remote": true, "towns": "",
			"fingerprint": search.Fingerprint(docs[1]),
		},
	}
	// A service in two places is a document for each, the first with the service's own id.
	for k, at := range []map[string]any{{"lat": 52.5, "lng": -2.1}, {"lat": 52.6, "lng": -1.9}} {
		want = append(want, map[string]any{
			"id": []string{"hub", "hub__place1"}[k], "service_id": "hub", "name": "Hub", "summary": "", "description": "",
			"organisation": "", "terms": "", "needs": []any{}, "categories": []any{},
			"min_age": 0.0, "max_age": 0.0, "free": false, "delivery": []any{}, "remote": false, "towns": "", "_geo": at,
			"fingerprint": search.Fingerprint(docs[2]),
		})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("documents sent:\n%v\nwant:\n%v", got, want)
	}
	// Then the places the services no longer have go, in a task queued after the additions.
	del := f.sent("POST /indexes/" + testIndex + "/documents/delete")
	wantFilter := `{"filter":"service_id IN [\"da-outreach\",\"helpline\",\"hub\"] AND id NOT IN [\"da-outreach\",\"helpline\",\"hub\",\"hub__place1\"]"}`
	if len(del) != 1 || string(del[0].body) != wantFilter {
		t.Errorf("old places deleted with %q, want %s", del, wantFilter)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tasks[f.nextUID-1] != "documentAdditionOrUpdate" || f.tasks[f.nextUID] != "documentDeletion" {
		t.Errorf("tasks %v, want the addition before the deletion of old places", f.tasks)
	}
	for uid := range f.tasks {
		if f.polls[uid] != 3 {
			t.Errorf("task %d polled %d times, want 3: Upsert must wait until it has succeeded", uid, f.polls[uid])
		}
	}
}

func TestUpsertInBatches(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	docs := make([]search.Document, 2500)
	for i := range docs {
		docs[i].ID = fmt.Sprintf("s%d", i)
	}
	if err := ix.Upsert(context.Background(), docs...); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	var sizes []int
	for _, r := range f.sent("POST /indexes/" + testIndex + "/documents") {
		var batch []map[string]any
		if err := json.Unmarshal(r.body, &batch); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(batch))
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) {
		t.Errorf("batches of %v, want 1000, 1000, 500", sizes)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for uid, kind := range f.tasks {
		if f.polls[uid] != 3 {
			t.Errorf("task %d (%s) polled %d times, want every batch waited for", uid, kind, f.polls[uid])
		}
	}
}

func TestDeleteIDsCount(t *testing.T) {
	f := newFake(t)
	ix := f.open(t)
	ctx := context.Background()

	if err := ix.Delete(ctx, "a", `b"`); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	del := f.sent("POST /indexes/" + testIndex + "/documents/delete")
	if len(del) != 1 || string(del[0].body) != `{"filter":"service_id IN [\"a\",\"b\\\"\"]"}` {
		t.Errorf("delete sent %q, want one delete of every place of a and b\"", del)
	}

	// Several places of one service are one service; listing pages through every document.
	var stored []fakeDoc
	for k := range 7000 {
		stored = append(stored, fakeDoc{ServiceID: fmt.Sprintf("s%d", k/2), Fingerprint: fmt.Sprintf("f%d", k/2)})
	}
	// A document written before fingerprints were kept has none; places that disagree are
	// not all of one version.
	stored[6000].Fingerprint = ""
	stored[6003].Fingerprint = "other"
	f.set(func(f *fakeMeili) { f.stored = stored; f.requests = nil })
	prints, err := ix.Fingerprints(ctx)
	if err != nil || len(prints) != 3500 || prints["s0"] != "f0" || prints["s3499"] != "f3499" {
		t.Errorf("Fingerprints = %d services (%v), want s0 to s3499 once each with its fingerprint", len(prints), err)
	}
	if prints["s3000"] != "" || prints["s3001"] != "" || prints["s3002"] != "f3002" {
		t.Errorf("fingerprints of s3000, s3001, s3002 = %q, %q, %q; want none for a place without one or places that disagree",
			prints["s3000"], prints["s3001"], prints["s3002"])
	}
	fetches := f.sent("POST /indexes/" + testIndex + "/documents/fetch")
	if len(fetches) != 2 {
		t.Errorf("Fingerprints read %d pages of documents, want 2", len(fetches))
	}
	for _, r := range fetches {
		var q struct{ Fields []string }
		if err := json.Unmarshal(r.body, &q); err != nil || !slices.Equal(q.Fields, []string{"service_id", "fingerprint"}) {
			t.Errorf("document listing asked for %s, want only service_id and fingerprint", r.body)
		}
	}

	f.set(func(f *fakeMeili) { f.totalHits = 42; f.requests = nil })
	if n, err := ix.Count(ctx); n != 42 || err != nil {
		t.Errorf("Count = %d, %v; want 42", n, err)
	}
	var q sentSearch
	if s := f.sent("POST /indexes/" + testIndex + "/search"); len(s) != 1 || json.Unmarshal(s[0].body, &q) != nil ||
		q.Page != 1 || q.HitsPerPage != 0 || q.Q != "" {
		t.Errorf("Count sent %v, want one empty search counting exhaustively (page 1, no hits)", s)
	}

	// Nothing to do sends nothing.
	f.set(func(f *fakeMeili) { f.requests = nil })
	if err := ix.Delete(ctx); err != nil {
		t.Errorf("Delete(): %v", err)
	}
	if err := ix.Upsert(ctx); err != nil {
		t.Errorf("Upsert(): %v", err)
	}
	if r := f.all(); len(r) != 0 {
		t.Errorf("empty Delete and Upsert sent %d requests", len(r))
	}
}

// sentSearch is the search payload as Meilisearch reads it.
type sentSearch struct {
	Q                    string   `json:"q"`
	Filter               *string  `json:"filter"`
	Sort                 []string `json:"sort"`
	Page                 int      `json:"page"`
	HitsPerPage          int      `json:"hitsPerPage"`
	Offset               *int     `json:"offset"`
	Limit                *int     `json:"limit"`
	MatchingStrategy     string   `json:"matchingStrategy"`
	AttributesToRetrieve []string `json:"attributesToRetrieve"`
}

func TestSearchRequests(t *testing.T) {
	age := func(n int) *int { return &n }
	bilston := &search.Point{Lat: 52.5661, Lng: -2.073}
	const geoSort = "_geoPoint(52.5661,-2.073):asc"

	cases := []struct {
		name   string
		q      search.Query
		text   string
		filter string // "" = no filter sent
		sort   []string
		page   int
		size   int
	}{
		{name: "everything, by name", q: search.Query{}, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "text as typed, by relevance", q: search.Query{Text: "Councelling  for ADHD"}, text: "Councelling  for ADHD", page: 1, size: 10},
		{name: "one need", q: search.Query{Needs: []string{"addiction"}}, filter: `needs IN ["addiction"]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "two needs", q: search.Query{Needs: []string{"money", "parenting"}}, filter: `needs IN ["money","parenting"]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "delivery", q: search.Query{Delivery: []string{"phone", "online"}}, filter: `delivery IN ["phone","online"]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "age", q: search.Query{Age: age(14)}, filter: `min_age <= 14 AND max_age >= 14`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "age zero is an age", q: search.Query{Age: age(0)}, filter: `min_age <= 0 AND max_age >= 0`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "free", q: search.Query{FreeOnly: true}, filter: `free = true`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "near", q: search.Query{Near: bilston, RadiusMetres: 12000},
			filter: `(_geoRadius(52.5661, -2.073, 12000) OR remote = true)`, sort: []string{geoSort}, page: 1, size: 10},
		{name: "near, no radius given", q: search.Query{Near: bilston},
			filter: `(_geoRadius(52.5661, -2.073, 40000) OR remote = true)`, sort: []string{geoSort}, page: 1, size: 10},
		{name: "near with text still sorts by distance", q: search.Query{Near: bilston, RadiusMetres: 5000.5, Text: "alcohol"}, text: "alcohol",
			filter: `(_geoRadius(52.5661, -2.073, 5000.5) OR remote = true)`, sort: []string{geoSort}, page: 1, size: 10},
		{name: "everything at once", q: search.Query{
			Text: "drink", Needs: []string{"addiction"}, Age: age(14), FreeOnly: true, Delivery: []string{"in-person"},
			Near: bilston, RadiusMetres: 12000, Offset: 20, Limit: 10,
		}, text: "drink",
			filter: `needs IN ["addiction"] AND delivery IN ["in-person"] AND min_age <= 14 AND max_age >= 14 AND free = true AND (_geoRadius(52.5661, -2.073, 12000) OR remote = true)`,
			sort:   []string{geoSort}, page: 3, size: 10},
		{name: "hostile need cannot end its string", q: search.Query{Needs: []string{`a"] OR free = false OR needs IN ["b`}},
			filter: `needs IN ["a\"] OR free = false OR needs IN [\"b"]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "backslash cannot escape the closing quote", q: search.Query{Needs: []string{`x\`, `y`}},
			filter: `needs IN ["x\\","y"]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "escaped quote stays escaped", q: search.Query{Delivery: []string{`\"`}},
			filter: `delivery IN ["\\\""]`, sort: []string{"name:asc"}, page: 1, size: 10},
		{name: "second page", q: search.Query{Text: "debt", Offset: 10, Limit: 10}, text: "debt", page: 2, size: 10},
		{name: "offset off the page grid", q: search.Query{Offset: 100, Limit: 3}, sort: []string{"name:asc"}, page: 26, size: 4},
		{name: "trailing stop words dropped", q: search.Query{Text: "my partner hits me"}, text: "my partner hits", page: 1, size: 10},
		{name: "trailing punctuation and stop words", q: search.Query{Text: "I can't cope, please help me!"}, text: "I can't cope", page: 1, size: 10},
		{name: "only stop words is no text", q: search.Query{Text: "help me"}, sort: []string{"name:asc"}, page: 1, size: 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			ix := f.open(t)
			if _, err := ix.Search(context.Background(), c.q); err != nil {
				t.Fatalf("Search: %v", err)
			}
			sent := f.sent("POST /indexes/" + testIndex + "/search")
			if len(sent) != 1 {
				t.Fatalf("%d search requests, want 1", len(sent))
			}
			var got sentSearch
			if err := json.Unmarshal(sent[0].body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Q != c.text {
				t.Errorf("q = %q, want %q", got.Q, c.text)
			}
			switch {
			case c.filter == "" && got.Filter != nil:
				t.Errorf("filter = %q, want none", *got.Filter)
			case c.filter != "" && got.Filter == nil:
				t.Errorf("no filter, want %s", c.filter)
			case c.filter != "" && *got.Filter != c.filter:
				t.Errorf("filter\n got %s\nwant %s", *got.Filter, c.filter)
			}
			if !slices.Equal(got.Sort, c.sort) {
				t.Errorf("sort = %q, want %q", got.Sort, c.sort)
			}
			if got.Page != c.page || got.HitsPerPage != c.size || got.Offset != nil || got.Limit != nil {
				t.Errorf("page %d of %d (offset %v, limit %v), want page %d of %d and no offset/limit",
					got.Page, got.HitsPerPage, got.Offset, got.Limit, c.page, c.size)
			}
			if got.MatchingStrategy != "all" {
				t.Errorf("matchingStrategy %q, want all: every word must match", got.MatchingStrategy)
			}
			if !slices.Equal(got.AttributesToRetrieve, []string{"service_id"}) {
				t.Errorf("attributesToRetrieve %v, want only the service id", got.AttributesToRetrieve)
			}
		})
	}
}

// TestQuoteCannotBeEscaped reads quoted values back the way Meilisearch's filter parser does
// (crates/filter-parser/src/value.rs, quoted_by: a backslash takes the next character with it;
// the first bare quote ends the string) and checks that each one ends where it began.
func TestQuoteCannotBeEscaped(t *testing.T) {
	for _, v := range []string{``, `plain`, `"`, `\`, `\"`, `a\`, `a\\`, `"\"`, `") OR (remote = true`, `x\\"] OR free = false`, "new\nline", `'single'`} {
		q := quote(v)
		if q[0] != '"' {
			t.Fatalf("quote(%q) = %s does not start with a quote", v, q)
		}
		var value strings.Builder
		end := -1
		for i := 1; i < len(q); i++ {
			if q[i] == '\\' && i+1 < len(q) {
				i++
				value.WriteByte(q[i])
				continue
			}
			if q[i] == '"' {
				end = i
				break
			}
			value.WriteByte(q[i])
		}
		if end != len(q)-1 {
			t.Errorf("quote(%q) = %s: the string ends at byte %d of %d", v, q, end, len(q))
		}
		if value.String() != v {
			t.Errorf("quote(%q) = %s reads back as %q", v, q, value.String())
		}
	}
}

func TestWindow(t *testing.T) {
	cases := []struct{ offset, limit, page, size, skip int }{
		{0, 10, 1, 10, 0},
		{20, 10, 3, 10, 0},
		{9, 3, 4, 3, 0},
		{100, 3, 26, 4, 0},
		{1, 2, 1, 3, 1},
		{10, 3, 3, 5, 0},
	}
	for _, c := range cases {
		page, size, skip := window(c.offset, c.limit)
		if page != c.page || size != c.size || skip != c.skip {
			t.Errorf("window(%d, %d) = page %d of %d skip %d, want page %d of %d skip %d",
				c.offset, c.limit, page, size, skip, c.page, c.size, c.skip)
		}
	}
	// Whatever the offset, the page holds exactly the hits asked for.
	for offset := 0; offset < 300; offset++ {
		for limit := 1; limit < 25; limit++ {
			page, size, skip := window(offset, limit)
			if (page-1)*size+skip != offset || skip+limit > size || page < 1 {
				t.Fatalf("window(%d, %d) = page %d of %d skip %d misses the hits", offset, limit, page, size, skip)
			}
		}
	}
}

func TestSearchResults(t *testing.T) {
	cases := []struct {
		name  string
		q     search.Query
		hits  []string
		total int
		want  []string
	}{
		{"hits in order", search.Query{Text: "support"}, []string{"b", "a", "c"}, 42, []string{"b", "a", "c"}},
		{"no hits", search.Query{Text: "zzz"}, nil, 0, []string{}},
		{"offset off the page grid drops the hits before it", search.Query{Offset: 1, Limit: 2}, []string{"x", "y", "z"}, 3, []string{"y", "z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			ix := f.open(t)
			f.set(func(f *fakeMeili) { f.hits, f.totalHits = c.hits, c.total })
			res, err := ix.Search(context.Background(), c.q)
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if !slices.Equal(res.IDs, c.want) || res.Total != c.total {
				t.Errorf("got %v (total %d), want %v (total %d)", res.IDs, res.Total, c.want, c.total)
			}
		})
	}
}

// TestEngineFailures checks that every kind of failure reaches the caller as ErrUnavailable,
// quickly, so that it can fall back to the database.
func TestEngineFailures(t *testing.T) {
	base := "/indexes/" + testIndex
	ops := map[string]func(ix *Index) error{
		"search": func(ix *Index) error { _, err := ix.Search(context.Background(), search.Query{Text: "x"}); return err },
		"upsert": func(ix *Index) error { return ix.Upsert(context.Background(), search.Document{ID: "a"}) },
		"delete": func(ix *Index) error { return ix.Delete(context.Background(), "a") },
		"ids":    func(ix *Index) error { _, err := ix.Fingerprints(context.Background()); return err },
		"count":  func(ix *Index) error { _, err := ix.Count(context.Background()); return err },
	}
	cases := []struct {
		name, op, route string
		status          int
	}{
		{"search 500", "search", "POST " + base + "/search", 500},
		{"search 503", "search", "POST " + base + "/search", 503},
		{"search 502 from a proxy", "search", "POST " + base + "/search", 502},
		{"upsert 500", "upsert", "POST " + base + "/documents", 500},
		{"upsert task poll 503", "upsert", "GET /tasks/3", 503},
		{"delete 500", "delete", "POST " + base + "/documents/delete", 500},
		{"ids 503", "ids", "POST " + base + "/documents/fetch", 503},
		{"count 500", "count", "POST " + base + "/search", 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			ix := f.open(t)
			f.set(func(f *fakeMeili) { f.status[c.route] = c.status })
			start := time.Now()
			err := ops[c.op](ix)
			if !errors.Is(err, search.ErrUnavailable) {
				t.Fatalf("%s with HTTP %d = %v, want search.ErrUnavailable", c.op, c.status, err)
			}
			// No retries with back-off: the caller has a database to ask instead.
			if n := len(f.sent(c.route)); n != 1 {
				t.Errorf("%s sent %d times, want once", c.route, n)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("%s took %v to fail", c.op, d)
			}
		})
	}

	t.Run("server gone", func(t *testing.T) {
		f := newFake(t)
		ix := f.open(t)
		f.srv.Close()
		for name, op := range ops {
			if err := op(ix); !errors.Is(err, search.ErrUnavailable) {
				t.Errorf("%s with the server gone = %v, want search.ErrUnavailable", name, err)
			}
		}
	})

	t.Run("connection refused on New", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := New(context.Background(), url, "", testIndex)
		if !errors.Is(err, search.ErrUnavailable) {
			t.Errorf("New with nothing listening = %v, want search.ErrUnavailable", err)
		}
	})

	t.Run("New when the engine fails", func(t *testing.T) {
		f := newFake(t)
		f.status["GET "+base] = 500
		if _, err := New(context.Background(), f.srv.URL, "", testIndex); !errors.Is(err, search.ErrUnavailable) {
			t.Errorf("New with HTTP 500 = %v, want search.ErrUnavailable", err)
		}
		if n := len(f.sent("POST /indexes")); n != 0 {
			t.Errorf("an engine error was taken for a missing index: created it %d times", n)
		}
	})

	t.Run("hung server gives up with the context", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		ix := connect(srv.URL, "", testIndex) // New would hang too
		for name, op := range map[string]func(ctx context.Context) error{
			"search": func(ctx context.Context) error { _, err := ix.Search(ctx, search.Query{Text: "x"}); return err },
			"upsert": func(ctx context.Context) error { return ix.Upsert(ctx, search.Document{ID: "a"}) },
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			start := time.Now()
			err := op(ctx)
			cancel()
			if !errors.Is(err, search.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s on a hung server = %v, want ErrUnavailable and DeadlineExceeded", name, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s took %v on a 100ms context", name, d)
			}
		}
	})
}
