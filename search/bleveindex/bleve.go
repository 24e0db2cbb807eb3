// Package bleveindex is the embedded search engine: Bleve (scorch) on disk in the data
// directory, or in memory for tests. It implements search.Index with typo tolerance, the
// shared synonyms, filters and distance sorting, so a fresh machine needs no search server.
package bleveindex

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"familyhelp/search"
)

// Fields searched for the stemmed form of each word, with how much a match in each counts.
var textFields = []struct {
	name  string
	boost float64
}{
	{"name", 3}, {"terms", 2}, {"body", 1},
}

// plainField holds all the text unstemmed: typo tolerance needs the word as written, because
// stemming a misspelt word ("domestik") does not give the stem of the right one ("domest").
const plainField = "plain"

// Index is a Bleve index. Rebuild swaps the whole index, so the pointer sits behind a lock.
type Index struct {
	path string // "" for memory

	// rebuilding lets one Rebuild run at a time.
	rebuilding sync.Mutex

	mu    sync.RWMutex
	index bleve.Index

	stem  analysis.Analyzer
	plain analysis.Analyzer

	// meta holds every document's filter fields and position (no text), in name order.
	// Bleve's geo-distance query costs milliseconds on a dense area (it tests each
	// candidate's geohash cells), while a scan of ten thousand small records in memory costs
	// a fraction of that; so searches without words, and the location rule of searches with
	// them, are answered from here.
	mmu    sync.RWMutex
	meta   map[string]*search.Document
	prints map[string]string // each document's search.Fingerprint
	sorted []record          // meta packed and in name order; nil when it needs building again
	bits   map[string]uint64
	// withBit holds, for each need and delivery bit, copies of the records that have it, in
	// name order: a search for one need reads only its own services, one after another in
	// memory rather than scattered through all of them.
	withBit map[uint64][]record
}

// record is what filtering and ordering need of a document, packed so that scanning ten
// thousand of them stays in the CPU cache: needs and delivery modes as bit sets.
type record struct {
	needs, delivery uint64
	minAge, maxAge  int32
	free            bool
	cand            search.Candidate
}

// bit gives each distinct need or delivery value its own bit; the caller holds mmu.
func (i *Index) bit(v string) (uint64, error) {
	if b, ok := i.bits[v]; ok {
		return b, nil
	}
	if len(i.bits) == 64 {
		return 0, fmt.Errorf("bleve upsert: more than 64 distinct need and delivery values")
	}
	b := uint64(1) << len(i.bits)
	i.bits[v] = b
	return b, nil
}

// mask is the bit set of values; values never indexed have no bit and so match nothing.
func (i *Index) mask(prefix string, values []string) uint64 {
	var m uint64
	for _, v := range values {
		m |= i.bits[prefix+v]
	}
	return m
}

// Open opens the index at path, creating it if it does not exist. An empty path keeps the
// index in memory (scorch, not the slower upsidedown memory store). What a rebuild that
// stopped half-way (the process died) left beside the index is tidied away.
func Open(path string) (*Index, error) {
	if path != "" {
		// The live index moved aside and the new one not yet moved in: put the old one back.
		// It is out of date by whatever the rebuild would have changed, which the server's
		// start-up reconcile repairs.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(path+oldMark, path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("open bleve index: restore the index a rebuild moved aside: %w", err)
			}
		}
	}
	ix, err := openBleve(path)
	if err != nil {
		return nil, fmt.Errorf("open bleve index: %w", err)
	}
	if path != "" {
		// Only now, holding the live index (which a rebuilding process keeps open until its
		// swap), is it safe to throw away what another process left.
		if err := tidy(path); err != nil {
			ix.Close()
			return nil, fmt.Errorf("open bleve index: %w", err)
		}
	}
	return wrap(path, ix)
}

// Beside the index at path, a rebuild builds its new index in path+buildMark+<time> and moves
// the live one to path+oldMark for the moment of the swap.
const (
	buildMark = ".build-"
	oldMark   = ".old"
)

// openOptions are for opening an index on disk: another process holding it (a running server)
// must not hang us for ever.
var openOptions = map[string]any{"bolt_timeout": "3s"}

// openBleve opens or creates the Bleve index at path ("" for memory), starting again if it was
// written by an older version.
func openBleve(path string) (bleve.Index, error) {
	if path == "" {
		return create("")
	}
	ix, err := bleve.OpenUsing(path, openOptions)
	if err == nil && !current(ix) {
		// Built by an older version with other fields: start again, and the caller's
		// reconcile fills it from the database.
		ix.Close()
		if err := os.RemoveAll(path); err != nil {
			return nil, fmt.Errorf("remove old index: %w", err)
		}
		err = bleve.ErrorIndexPathDoesNotExist
	}
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		return create(path)
	}
	return ix, err
}

// create makes a new, empty index at path ("" for memory) with this version's fields.
func create(path string) (bleve.Index, error) {
	var (
		ix  bleve.Index
		err error
	)
	if path == "" {
		ix, err = bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	} else {
		ix, err = bleve.New(path, newMapping())
	}
	if err != nil {
		return nil, err
	}
	if err := ix.SetInternal([]byte(schemaKey), []byte(schemaVersion)); err != nil {
		ix.Close()
		return nil, err
	}
	return ix, nil
}

// tidy removes build directories and a moved-aside index left beside path by a rebuild that
// never finished.
func tidy(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("tidy: %w", err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, base+buildMark) || name == base+oldMark {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("tidy: %w", err)
			}
		}
	}
	return nil
}

// wrap makes an Index of an open Bleve index, reading its filter records into memory. It
// closes ix if it fails.
func wrap(path string, ix bleve.Index) (*Index, error) {
	i := &Index{path: path, index: ix, meta: map[string]*search.Document{}, prints: map[string]string{}, bits: map[string]uint64{}}
	m := ix.Mapping()
	if i.stem = m.AnalyzerNamed(en.AnalyzerName); i.stem == nil {
		ix.Close()
		return nil, errors.New("open bleve index: no english analyzer")
	}
	if i.plain = m.AnalyzerNamed(standard.Name); i.plain == nil {
		ix.Close()
		return nil, errors.New("open bleve index: no standard analyzer")
	}
	if err := i.loadMeta(); err != nil {
		ix.Close()
		return nil, err
	}
	return i, nil
}

// Local reports that the index belongs to this process: each instance keeps its own.
func (i *Index) Local() bool { return true }

// schemaVersion changes whenever the fields below change, so that an index written by an
// older version is rebuilt rather than read wrongly.
const (
	schemaKey     = "familyhelp-schema"
	schemaVersion = "3"
)

func current(ix bleve.Index) bool {
	v, err := ix.GetInternal([]byte(schemaKey))
	return err == nil && string(v) == schemaVersion
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
	sortName.Store = true
	doc.AddFieldMappingsAt("name_sort", sortName)
	doc.AddFieldMappingsAt("categories", kw())
	// Stored, to rebuild the in-memory filter records when the index is opened from disk.
	for _, f := range []string{"needs", "delivery"} {
		m := kw()
		m.Store = true
		doc.AddFieldMappingsAt(f, m)
	}
	for _, f := range []string{"min_age", "max_age"} {
		m := num()
		m.Store = true
		doc.AddFieldMappingsAt(f, m)
	}
	for _, f := range []string{"free", "remote"} {
		m := boolean()
		m.Store = true
		doc.AddFieldMappingsAt(f, m)
	}
	// Where the service is, stored and not indexed: the location rule runs on the in-memory
	// records, and a service can have several places.
	places := bleve.NewTextFieldMapping()
	places.Index = false
	places.Store = true
	places.IncludeInAll = false
	places.IncludeTermVectors = false
	places.DocValues = false
	doc.AddFieldMappingsAt("places", places)
	// What the document says, in short, so that a reconcile can tell an out-of-date document
	// after the index is opened again.
	fp := bleve.NewTextFieldMapping()
	fp.Index = false
	fp.Store = true
	fp.IncludeInAll = false
	fp.IncludeTermVectors = false
	fp.DocValues = false
	doc.AddFieldMappingsAt("fingerprint", fp)

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = en.AnalyzerName
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

func fields(d search.Document, fingerprint string) map[string]any {
	f := map[string]any{
		"fingerprint": fingerprint,
		"name":        d.Name,
		"name_sort":   strings.ToLower(d.Name),
		"terms":       d.Terms,
		// The rest of the text is one field: fewer fields make fewer postings to merge for
		// each word, and the name and need terms keep their own weight.
		"body":       strings.Join([]string{d.Summary, d.Organisation, d.Description, d.Towns}, " \n "),
		plainField:   strings.Join([]string{d.Name, d.Terms, d.Summary, d.Organisation, d.Description, d.Towns}, " \n "),
		"needs":      d.Needs,
		"categories": d.Categories,
		"delivery":   d.Delivery,
		"min_age":    float64(d.MinAge),
		"max_age":    float64(d.MaxAge),
		"free":       d.Free,
		"remote":     d.Remote,
	}
	if len(d.Locations) > 0 {
		f["places"] = encodePlaces(d.Locations)
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
		batch := docs[start:min(start+batchSize, len(docs))]
		prints := make([]string, len(batch))
		b := i.index.NewBatch()
		for k, d := range batch {
			prints[k] = search.Fingerprint(d)
			if err := b.Index(d.ID, fields(d, prints[k])); err != nil {
				return fmt.Errorf("bleve upsert %s: %w", d.ID, err)
			}
		}
		if err := i.index.Batch(b); err != nil {
			return fmt.Errorf("bleve upsert: %w", err)
		}
		i.mmu.Lock()
		for k, d := range batch {
			i.meta[d.ID] = metaOf(d)
			i.prints[d.ID] = prints[k]
		}
		i.sorted = nil
		i.mmu.Unlock()
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
	i.mmu.Lock()
	for _, id := range ids {
		delete(i.meta, id)
		delete(i.prints, id)
	}
	i.sorted = nil
	i.mmu.Unlock()
	return nil
}

// Fingerprints lists the services the index holds, with the fingerprint of each.
func (i *Index) Fingerprints(ctx context.Context) (map[string]string, error) {
	i.mmu.RLock()
	defer i.mmu.RUnlock()
	return maps.Clone(i.prints), nil
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

var _ search.Rebuilder = (*Index)(nil)

// Rebuild builds a new index from what fill adds and swaps it in for the live one. On disk the
// new index is built in a directory beside the live one, then, for a moment under the lock,
// the live one is closed and moved aside, the new one moved to its place and opened, and the
// old one removed. Searches meanwhile are answered by the old index, wait out the moment of
// the swap, and are then answered by the new one: none sees an empty or half-built index. If
// fill fails, or the swap cannot be made, the live index is left as it was.
func (i *Index) Rebuild(ctx context.Context, fill func(add func(docs ...search.Document) error) error) error {
	i.rebuilding.Lock()
	defer i.rebuilding.Unlock()
	build := ""
	if i.path != "" {
		build = i.path + buildMark + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	bix, err := create(build)
	if err != nil {
		if build != "" {
			os.RemoveAll(build)
		}
		return fmt.Errorf("bleve rebuild: %w", err)
	}
	next, err := wrap(build, bix)
	if err != nil {
		if build != "" {
			os.RemoveAll(build)
		}
		return fmt.Errorf("bleve rebuild: %w", err)
	}
	err = fill(func(docs ...search.Document) error { return next.Upsert(ctx, docs...) })
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		next.index.Close()
		if build != "" {
			os.RemoveAll(build)
		}
		return fmt.Errorf("bleve rebuild: %w", err)
	}
	if err := i.swap(next); err != nil {
		return fmt.Errorf("bleve rebuild: %w", err)
	}
	return nil
}

// swap makes next the live index, with its records.
func (i *Index) swap(next *Index) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.path == "" {
		old := i.index
		i.index = next.index
		// Nothing on disk to lose: an error closing the old one in memory changes nothing.
		_ = old.Close()
	} else if err := i.moveIn(next); err != nil {
		return err
	}
	i.mmu.Lock()
	i.meta, i.prints = next.meta, next.prints
	// The packed records and their bits are built again from the new records when needed.
	i.bits, i.withBit, i.sorted = map[string]uint64{}, nil, nil
	i.mmu.Unlock()
	return nil
}

// moveIn puts the index built beside the live one in its place on disk and opens it; the
// caller holds mu for writing. If that fails, the built index is thrown away and the live one
// put back and opened again, so that searches go on; only if even that fails is it left
// closed, and searches fall back to the database until the next start.
func (i *Index) moveIn(next *Index) error {
	build, old := next.path, i.path+oldMark
	if err := next.index.Close(); err != nil {
		os.RemoveAll(build)
		return fmt.Errorf("close the new index: %w", err)
	}
	if err := i.index.Close(); err != nil {
		os.RemoveAll(build)
		return i.reopen(fmt.Errorf("close the live index: %w", err))
	}
	if err := os.Rename(i.path, old); err != nil {
		os.RemoveAll(build)
		return i.reopen(fmt.Errorf("move the live index aside: %w", err))
	}
	if err := os.Rename(build, i.path); err != nil {
		os.RemoveAll(build)
		return i.restore(old, fmt.Errorf("move the new index in: %w", err))
	}
	ix, err := bleve.OpenUsing(i.path, openOptions)
	if err != nil {
		return i.restore(old, fmt.Errorf("open the new index: %w", err))
	}
	i.index = ix
	// Left behind if this fails, for the next Open to remove.
	_ = os.RemoveAll(old)
	return nil
}

// restore puts the live index moved aside to old back in its place and opens it, after cause
// stopped a swap.
func (i *Index) restore(old string, cause error) error {
	if err := os.RemoveAll(i.path); err != nil {
		return errors.Join(cause, fmt.Errorf("remove the new index: %w", err))
	}
	if err := os.Rename(old, i.path); err != nil {
		return errors.Join(cause, fmt.Errorf("put the live index back: %w", err))
	}
	return i.reopen(cause)
}

// reopen opens the live index again after cause stopped a swap, and returns cause.
func (i *Index) reopen(cause error) error {
	ix, err := bleve.OpenUsing(i.path, openOptions)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("open the live index again: %w", err))
	}
	i.index = ix
	return cause
}

// Search answers a query.
func (i *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	text := i.textQuery(q.Text)
	if text == nil {
		return i.searchMeta(q)
	}
	must := append([]query.Query{text}, filters(q)...)
	var root query.Query = bleve.NewConjunctionQuery(must...)
	if len(must) == 1 {
		root = text
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	size, from := limit, max(q.Offset, 0)
	if q.Near != nil {
		// The location rule is applied to every match, in memory, so take them all.
		size, from = maxMatches, 0
	}
	req := bleve.NewSearchRequestOptions(root, size, from, false)
	req.SortBy([]string{"-_score"}) // a second key would read doc values for every match

	i.mu.RLock()
	res, err := i.index.SearchInContext(ctx, req)
	i.mu.RUnlock()
	if err != nil {
		return search.Result{}, fmt.Errorf("bleve search: %w: %w", search.ErrUnavailable, err)
	}
	if q.Near == nil {
		out := search.Result{Total: int(res.Total), IDs: make([]string, 0, len(res.Hits))}
		for _, h := range res.Hits {
			out.IDs = append(out.IDs, h.ID)
		}
		return out, nil
	}
	cands := make([]*search.Candidate, 0, len(res.Hits))
	i.mmu.RLock()
	for _, h := range res.Hits {
		if d, ok := i.meta[h.ID]; ok {
			c := &search.Candidate{ID: d.ID, Score: h.Score, Remote: d.Remote}
			c.Place(d.Locations)
			cands = append(cands, c)
		}
	}
	i.mmu.RUnlock()
	return search.Arrange(q, slices.Values(cands)), nil
}

// maxMatches bounds how many text matches a postcode search ranks by distance.
const maxMatches = 20000

// searchMeta answers a search without words from the in-memory records.
func (i *Index) searchMeta(q search.Query) (search.Result, error) {
	// Searches only read the packed records; they are rebuilt, under the write lock, only
	// after a change. Searches run side by side otherwise.
	i.mmu.RLock()
	for i.sorted == nil {
		i.mmu.RUnlock()
		i.mmu.Lock()
		var err error
		if i.sorted == nil {
			err = i.pack()
		}
		i.mmu.Unlock()
		if err != nil {
			return search.Result{}, err
		}
		i.mmu.RLock()
	}
	all := i.sorted
	needs, delivery := i.mask("need:", q.Needs), i.mask("delivery:", q.Delivery)
	if len(q.Needs) == 1 && needs != 0 {
		all = i.withBit[needs]
	}
	i.mmu.RUnlock()
	if (len(q.Needs) > 0 && needs == 0) || (len(q.Delivery) > 0 && delivery == 0) {
		return search.Result{}, nil
	}
	return search.Arrange(q, func(yield func(*search.Candidate) bool) {
		for k := range all {
			r := &all[k]
			if (needs != 0 && r.needs&needs == 0) || (delivery != 0 && r.delivery&delivery == 0) ||
				(q.FreeOnly && !r.free) || (q.Age != nil && (int32(*q.Age) < r.minAge || int32(*q.Age) > r.maxAge)) {
				continue
			}
			if !yield(&r.cand) {
				return
			}
		}
	}), nil
}

// pack rebuilds the packed records in name order; the caller holds mmu.
func (i *Index) pack() error {
	docs := make([]*search.Document, 0, len(i.meta))
	for _, d := range i.meta {
		docs = append(docs, d)
	}
	slices.SortFunc(docs, func(a, b *search.Document) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	packed := make([]record, len(docs))
	for k, d := range docs {
		r := record{minAge: int32(d.MinAge), maxAge: int32(min(d.MaxAge, 1<<30)), free: d.Free,
			cand: search.Candidate{ID: d.ID, Remote: d.Remote}}
		r.cand.Place(d.Locations)
		for _, n := range d.Needs {
			b, err := i.bit("need:" + n)
			if err != nil {
				return err
			}
			r.needs |= b
		}
		for _, m := range d.Delivery {
			b, err := i.bit("delivery:" + m)
			if err != nil {
				return err
			}
			r.delivery |= b
		}
		packed[k] = r
	}
	i.withBit = map[uint64][]record{}
	for k, r := range packed {
		for bits := r.needs | r.delivery; bits != 0; bits &= bits - 1 {
			b := bits & -bits
			i.withBit[b] = append(i.withBit[b], packed[k])
		}
	}
	i.sorted = packed
	return nil
}

// metaOf keeps what filtering and ordering need of a document, and no text; Name becomes the
// sort key.
func metaOf(d search.Document) *search.Document {
	return &search.Document{
		ID: d.ID, Name: strings.ToLower(d.Name), Needs: d.Needs, Delivery: d.Delivery,
		MinAge: d.MinAge, MaxAge: d.MaxAge, Free: d.Free, Remote: d.Remote, Locations: d.Locations,
	}
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

// loadMeta rebuilds the in-memory records from an index opened from disk.
func (i *Index) loadMeta() error {
	n, err := i.index.DocCount()
	if err != nil || n == 0 {
		return err
	}
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), int(n), 0, false)
	req.Fields = []string{"name_sort", "needs", "delivery", "min_age", "max_age", "free", "remote", "places", "fingerprint"}
	res, err := i.index.Search(req)
	if err != nil {
		return fmt.Errorf("bleve load: %w", err)
	}
	for _, h := range res.Hits {
		f := h.Fields
		d := &search.Document{ID: h.ID, Needs: strs(f["needs"]), Delivery: strs(f["delivery"])}
		d.Name, _ = f["name_sort"].(string)
		minAge, _ := f["min_age"].(float64)
		maxAge, _ := f["max_age"].(float64)
		d.MinAge, d.MaxAge = int(minAge), int(maxAge)
		d.Free, _ = f["free"].(bool)
		d.Remote, _ = f["remote"].(bool)
		if p, ok := f["places"].(string); ok {
			if d.Locations, err = decodePlaces(p); err != nil {
				return fmt.Errorf("bleve load %s: %w", h.ID, err)
			}
		}
		i.meta[h.ID] = d
		i.prints[h.ID], _ = f["fingerprint"].(string)
	}
	return nil
}

// strs reads a stored keyword field: a string for one value, a list for several.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// encodePlaces writes points as "lat,lng;lat,lng", the stored form of a document's places.
func encodePlaces(points []search.Point) string {
	var b strings.Builder
	for k, p := range points {
		if k > 0 {
			b.WriteByte(';')
		}
		b.WriteString(strconv.FormatFloat(p.Lat, 'f', -1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(p.Lng, 'f', -1, 64))
	}
	return b.String()
}

func decodePlaces(s string) ([]search.Point, error) {
	var out []search.Point
	for pair := range strings.SplitSeq(s, ";") {
		lat, lng, ok := strings.Cut(pair, ",")
		if !ok {
			return nil, fmt.Errorf("stored place %q is not lat,lng", pair)
		}
		var p search.Point
		var err1, err2 error
		p.Lat, err1 = strconv.ParseFloat(lat, 64)
		p.Lng, err2 = strconv.ParseFloat(lng, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("stored place %q: %w", pair, err)
		}
		out = append(out, p)
	}
	return out, nil
}
