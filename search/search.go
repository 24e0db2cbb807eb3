// Package search defines the search index the public directory queries: the documents it
// holds, the query a family's search becomes, and the everyday-words synonyms every engine
// must understand. Engines live in sub-packages: bleve (embedded default) and meili
// (Meilisearch). The index is derived from the database and can be rebuilt at any time.
package search

import (
	"context"
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
	// IDs lists every service the index holds, so that a rebuild can remove those the
	// database no longer lists.
	IDs(ctx context.Context) ([]string, error)
	// Count is how many documents the index holds.
	Count(ctx context.Context) (int, error)
	Close() error
}
