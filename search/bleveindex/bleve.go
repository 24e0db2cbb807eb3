// Package bleveindex is the embedded search engine: Bleve (scorch) on disk in the data
// directory, or in memory for tests. It implements search.Index with typo tolerance, the
// shared synonyms, filters and distance sorting, so a fresh machine needs no search server.
package bleveindex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"familyhelp/search"
)

// Fields searched for the stemmed form of each word, with how much a match in each counts.
var textFields = []struct {
	name  string
	boost float64
}{
	{"name", 3}, {"terms", 2}, {"summary", 1.5}, {"organisation", 1}, {"description", 1}, {"towns", 1},
}

// plainField holds all the text unstemmed: typo tolerance needs the word as written, because
// stemming a misspelt word ("domestik") does not give the stem of the right one ("domest").
const plainField = "plain"

// Index is a Bleve index. Reset swaps the whole index, so the pointer sits behind a lock.
type Index struct {
	path string // "" for memory

	mu    sync.RWMutex
	index bleve.Index

	stem  analysis.Analyzer
	plain analysis.Analyzer
}

// Open opens the index at path, creating it if it does not exist. An empty path keeps the
// index in memory (scorch, not the slower upsidedown memory store).
func Open(path string) (*Index, error) {
	var (
		ix  bleve.Index
		err error
	)
	switch {
	case path == "":
		ix, err = bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	default:
		ix, err = bleve.Open(path)
		if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
			ix, err = bleve.New(path, newMapping())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open bleve index: %w", err)
	}
	i := &Index{path: path, index: ix}
	m := ix.Mapping()
	if i.stem = m.AnalyzerNamed(en.AnalyzerName); i.stem == nil {
		return nil, errors.New("open bleve index: no english analyzer")
	}
	if i.plain = m.AnalyzerNamed(standard.Name); i.plain == nil {
		return nil, errors.New("open bleve index: no standard analyzer")
	}
	return i, nil
}

func newMapping() *mapping.IndexMappingImpl {
	text := func(analyzer string) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = analyzer == en.AnalyzerName // phrase queries need positions
		f.DocValues = false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		return f
	}
	num := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		return f
	}
	boolean := func() *mapping.FieldMapping {
		f := bleve.NewBooleanFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		return f
	}

	doc := bleve.NewDocumentStaticMapping()
	for _, f := range textFields {
		doc.AddFieldMappingsAt(f.name, text(en.AnalyzerName))
	}
	doc.AddFieldMappingsAt(plainField, text(standard.Name))
	sortName := kw()
	sortName.DocValues = true
	doc.AddFieldMappingsAt("name_sort", sortName)
	for _, f := range []string{"needs", "categories", "delivery"} {
		doc.AddFieldMappingsAt(f, kw())
	}
	doc.AddFieldMappingsAt("min_age", num())
	doc.AddFieldMappingsAt("max_age", num())
	doc.AddFieldMappingsAt("free", boolean())
	doc.AddFieldMappingsAt("remote", boolean())
	geo := bleve.NewGeoPointFieldMapping()
	geo.Store = false
	geo.IncludeInAll = false
	geo.DocValues = true
	doc.AddFieldMappingsAt("location", geo)

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = en.AnalyzerName
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

func fields(d search.Document) map[string]any {
	f := map[string]any{
		"name":         d.Name,
		"name_sort":    strings.ToLower(d.Name),
		"terms":        d.Terms,
		"summary":      d.Summary,
		"organisation": d.Organisation,
		"description":  d.Description,
		"towns":        d.Towns,
		plainField:     strings.Join([]string{d.Name, d.Terms, d.Summary, d.Organisation, d.Description, d.Towns}, " \n "),
		"needs":        d.Needs,
		"categories":   d.Categories,
		"delivery":     d.Delivery,
		"min_age":      float64(d.MinAge),
		"max_age":      float64(d.MaxAge),
		"free":         d.Free,
		"remote":       d.Remote,
	}
	if d.Location != nil {
		f["location"] = []float64{d.Location.Lng, d.Location.Lat} // GeoJSON order
	}
	return f
}

// batchSize keeps memory flat when a whole directory is indexed at once.
const batchSize = 500

// Upsert adds or replaces documents.
func (i *Index) Upsert(ctx context.Context, docs ...search.Document) error {
	i.mu.RLock()
	defer i.mu.RUnlock()
	for start := 0; start < len(docs); start += batchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := i.index.NewBatch()
		for _, d := range docs[start:min(start+batchSize, len(docs))] {
			if err := b.Index(d.ID, fields(d)); err != nil {
				return fmt.Errorf("bleve upsert %s: %w", d.ID, err)
			}
		}
		if err := i.index.Batch(b); err != nil {
			return fmt.Errorf("bleve upsert: %w", err)
		}
	}
	return nil
}

// Delete removes documents.
func (i *Index) Delete(ctx context.Context, ids ...string) error {
	i.mu.RLock()
	defer i.mu.RUnlock()
	b := i.index.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	if err := i.index.Batch(b); err != nil {
		return fmt.Errorf("bleve delete: %w", err)
	}
	return nil
}

// Reset empties the index by replacing it with a new one.
func (i *Index) Reset(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.index.Close(); err != nil {
		return fmt.Errorf("bleve reset: %w", err)
	}
	var err error
	if i.path == "" {
		i.index, err = bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	} else {
		if err = os.RemoveAll(i.path); err != nil {
			return fmt.Errorf("bleve reset: %w", err)
		}
		i.index, err = bleve.New(i.path, newMapping())
	}
	if err != nil {
		return fmt.Errorf("bleve reset: %w", err)
	}
	return nil
}

// Count returns the number of documents.
func (i *Index) Count(ctx context.Context) (int, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	n, err := i.index.DocCount()
	if err != nil {
		return 0, fmt.Errorf("bleve count: %w", err)
	}
	return int(n), nil
}

// Close closes the index.
func (i *Index) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.index.Close()
}

// Search answers a query.
func (i *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	var must []query.Query
	text := i.textQuery(q.Text)
	if text != nil {
		must = append(must, text)
	}
	must = append(must, filters(q)...)

	var root query.Query
	switch len(must) {
	case 0:
		root = bleve.NewMatchAllQuery()
	case 1:
		root = must[0]
	default:
		root = bleve.NewConjunctionQuery(must...)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	req := bleve.NewSearchRequestOptions(root, limit, max(q.Offset, 0), false)
	switch {
	case q.Near != nil:
		req.SortByCustom(bsearch.SortOrder{
			&bsearch.SortGeoDistance{Field: "location", Lat: q.Near.Lat, Lon: q.Near.Lng, Unit: "m"},
			&bsearch.SortScore{Desc: true},
			&bsearch.SortField{Field: "name_sort"},
		})
	case text == nil:
		req.SortBy([]string{"name_sort"})
	default:
		req.SortBy([]string{"-_score", "name_sort"})
	}

	i.mu.RLock()
	defer i.mu.RUnlock()
	res, err := i.index.SearchInContext(ctx, req)
	if err != nil {
		return search.Result{}, fmt.Errorf("bleve search: %w: %w", search.ErrUnavailable, err)
	}
	out := search.Result{Total: int(res.Total), IDs: make([]string, 0, len(res.Hits))}
	for _, h := range res.Hits {
		out.IDs = append(out.IDs, h.ID)
	}
	return out, nil
}

// textQuery turns what a person typed into a query: every word must match (as its stem in a
// field, or within a typo or two of a word as written), or the text must contain an everyday
// word or phrase whose service-language synonym matches. Nil means "no text to search by".
func (i *Index) textQuery(text string) query.Query {
	var words []query.Query
	for _, w := range strings.Fields(search.Normalise(text)) {
		stems := i.stem.Analyze([]byte(w))
		if len(stems) == 0 {
			continue // a stop word: "my", "the"
		}
		stem := string(stems[0].Term)
		var either []query.Query
		for _, f := range textFields {
			t := bleve.NewTermQuery(stem)
			t.SetField(f.name)
			t.SetBoost(f.boost)
			either = append(either, t)
		}
		if plain := i.plain.Analyze([]byte(w)); len(plain) > 0 {
			word := string(plain[0].Term)
			if typos := allowedTypos(word); typos > 0 {
				fz := bleve.NewFuzzyQuery(word)
				fz.SetField(plainField)
				fz.SetFuzziness(typos)
				fz.SetBoost(0.5)
				either = append(either, fz)
			}
		}
		words = append(words, bleve.NewDisjunctionQuery(either...))
	}

	var any []query.Query
	if len(words) > 0 {
		any = append(any, bleve.NewConjunctionQuery(words...))
	}
	for _, phrase := range search.Expand(text) {
		for _, f := range textFields {
			p := bleve.NewMatchPhraseQuery(phrase)
			p.SetField(f.name)
			p.SetBoost(f.boost)
			any = append(any, p)
		}
	}
	if len(any) == 0 {
		return nil
	}
	return bleve.NewDisjunctionQuery(any...)
}

// allowedTypos follows the usual rule (and Meilisearch's default): none in short words, one
// from five letters, two from nine.
func allowedTypos(word string) int {
	switch n := utf8.RuneCountInString(word); {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

func filters(q search.Query) []query.Query {
	var out []query.Query
	if len(q.Needs) > 0 {
		out = append(out, anyTerm("needs", q.Needs))
	}
	if len(q.Delivery) > 0 {
		out = append(out, anyTerm("delivery", q.Delivery))
	}
	if q.Age != nil {
		age := float64(*q.Age)
		yes := true
		lo := bleve.NewNumericRangeInclusiveQuery(nil, &age, nil, &yes)
		lo.SetField("min_age")
		hi := bleve.NewNumericRangeInclusiveQuery(&age, nil, &yes, nil)
		hi.SetField("max_age")
		out = append(out, lo, hi)
	}
	if q.FreeOnly {
		f := bleve.NewBoolFieldQuery(true)
		f.SetField("free")
		out = append(out, f)
	}
	if q.Near != nil {
		radius := q.RadiusMetres
		if radius <= 0 {
			radius = 40000
		}
		near := bleve.NewGeoDistanceQuery(q.Near.Lng, q.Near.Lat, fmt.Sprintf("%.0fm", radius))
		near.SetField("location")
		remote := bleve.NewBoolFieldQuery(true)
		remote.SetField("remote")
		out = append(out, bleve.NewDisjunctionQuery(near, remote))
	}
	return out
}

func anyTerm(field string, values []string) query.Query {
	var qs []query.Query
	for _, v := range values {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		qs = append(qs, t)
	}
	return bleve.NewDisjunctionQuery(qs...)
}
