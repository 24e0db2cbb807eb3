package bleveindex_test

import (
	"context"
	"testing"

	"familyhelp/directory"
	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/seed"
)

func benchIndex(b *testing.B) search.Index {
	b.Helper()
	ix, err := bleveindex.Open(b.TempDir() + "/ix")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.Close() })
	var docs []search.Document
	for _, s := range seed.Synthetic(10000) {
		docs = append(docs, directory.DocumentFor(s))
	}
	if err := ix.Upsert(context.Background(), docs...); err != nil {
		b.Fatal(err)
	}
	return ix
}

// BenchmarkSearch measures the queries a family's search becomes, on 10,000 services.
func BenchmarkSearch(b *testing.B) {
	ix := benchIndex(b)
	wv1 := search.Point{Lat: 52.5862, Lng: -2.1286}
	cases := map[string]search.Query{
		"need":          {Needs: []string{"parenting"}},
		"need+postcode": {Needs: []string{"parenting"}, Near: &wv1, RadiusMetres: directory.DefaultRadiusMetres},
		"typo":          {Text: "domestik abuse"},
		"typo2":         {Text: "councelling"},
		"text+postcode": {Text: "alcohol", Near: &wv1, RadiusMetres: directory.DefaultRadiusMetres},
	}
	for name, q := range cases {
		q.Limit = 10
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ix.Search(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
