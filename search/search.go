// Package search defines the search index the public directory queries: the documents it
// holds, the query a family's search becomes, and the everyday-words synonyms every engine
// must understand. Engines live in sub-packages: bleve (embedded default) and meili
// (Meilisearch). The index is derived from the database and can be rebuilt at any time.
package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnavailable wraps engine failures, so callers can fall back to the database.
var ErrUnavailable = errors.New("search index unavailable")

// Point is a place on the earth in WGS84 degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

func (p Point) String() string { return fmt.Sprintf("%.5f,%.5f", p.Lat, p.Lng) }

// Document is what the index holds for one service.
type Document struct {
	ID           string
	Name         string
	Summary      string
	Description  string
	Organisation string
	// Terms are the labels and words of the service's needs and categories.
	Terms      string
	Needs      []string
	Categories []string
	MinAge     int
	MaxAge     int
	Free       bool
	Delivery   []string
	// Remote services (national, phone or online) match a postcode search wherever it is.
	Remote bool
	// Locations are where the service is delivered in person, if anywhere. A postcode search
	// measures to the nearest of them.
	Locations []Point
	Towns     string
}

// Query is one search.
type Query struct {
	// Text is what the person typed, as typed.
	Text     string
	Needs    []string // any of
	Age      *int     // the child's age: MinAge <= Age <= MaxAge
	FreeOnly bool
	Delivery []string // any of
	// Near sorts located services nearest first, keeps only those within RadiusMetres, and adds
	// remote services after them.
	Near         *Point
	RadiusMetres float64
	Offset       int
	Limit        int
}

// Result is one page of hits and the total number of matches.
type Result struct {
	Total int
	IDs   []string
}

// Index is a search engine holding Documents.
type Index interface {
	// Upsert adds or replaces documents by ID.
	Upsert(ctx context.Context, docs ...Document) error
	// Delete removes documents by ID; unknown IDs are not an error.
	Delete(ctx context.Context, ids ...string) error
	// Search answers a query with one page of IDs, best first.
	Search(ctx context.Context, q Query) (Result, error)
	// Fingerprints lists every service the index holds, with the Fingerprint of the document
	// it holds for each, so that a reconcile can find services missing from the index, held
	// but no longer listed, or held as they were before a change, without reading them back.
	Fingerprints(ctx context.Context) (map[string]string, error)
	// Count is how many documents the index holds.
	Count(ctx context.Context) (int, error)
	Close() error
}

// Fingerprint identifies what a document says: two documents with the same fingerprint index
// alike. Engines keep it beside each document, and the database's version of a service is
// compared with it to tell whether the index is out of date. JSON encodes the fields in their
// declared order, so the same document always gives the same fingerprint; a field added to
// Document changes every fingerprint, which is right, since every document then needs writing.
func Fingerprint(d Document) string {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(d); err != nil {
		// A Document is strings, numbers and lists of them: it always encodes.
		panic(fmt.Sprintf("fingerprint %s: %v", d.ID, err))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Rebuilder is an Index that can be built afresh and swapped in at once. Searches keep being
// answered from the old index while the new one is filled, and then from the new one, never
// from an empty or half-built one; a rebuild that fails leaves the old index as it was.
type Rebuilder interface {
	// Rebuild builds a new, empty index and calls fill with a function that adds documents
	// to it. If fill returns nil, the new index replaces the live one; otherwise it is thrown
	// away and the error returned. Writes made to the live index while fill runs are not
	// carried over: the caller applies again whatever changed meanwhile.
	Rebuild(ctx context.Context, fill func(add func(docs ...Document) error) error) error
}

// Local is implemented by engines whose index belongs to one process (the embedded Bleve
// index). With several instances each has its own, so each must follow every change to the
// directory itself; an engine the instances share (Meilisearch) needs each change applied
// once, by whichever instance takes it from the queue.
type Local interface {
	Local() bool
}

// IsLocal reports whether ix belongs to this process alone.
func IsLocal(ix Index) bool {
	l, ok := ix.(Local)
	return ok && l.Local()
}
