package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"familyhelp/directory"
	"familyhelp/handlers"
	"familyhelp/search/bleveindex"
	"familyhelp/seed"
	"familyhelp/store"
)

// BenchmarkPages measures whole requests through the app, without a network, on 10,000
// services; `make bench` measures the same over loopback against the real binary.
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "familyhelp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ix, err := bleveindex.Open("")
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	if err := db.SaveServices(ctx, seed.Synthetic(10000)...); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := directory.New(db, ix, log)
	if _, err := dir.Reindex(ctx); err != nil {
		b.Fatal(err)
	}
	srv := &handlers.Server{Directory: dir, Settings: db, Database: db, Log: log, SampleModeKey: seed.SampleModeKey}
	app, err := srv.App()
	if err != nil {
		b.Fatal(err)
	}
	handler := app.Handler()
	postcodes := []string{"WV1 1AA", "WS1 1AA", "WV14 0AA", "WS3 2DA", "WV10 0AA", "WS9 8AA"}
	needs := []string{"parenting", "money", "housing", "mental-health"}
	cases := map[string]func(i int) string{
		"service": func(i int) string { return fmt.Sprintf("/services/synthetic-%05d", i%10000+1) },
		"need+postcode": func(i int) string {
			return "/search?need=" + needs[i%len(needs)] + "&postcode=" + postcodes[i%len(postcodes)]
		},
		"typo'd text": func(i int) string {
			return []string{"/search?q=domestik+abuse", "/search?q=councelling", "/search?q=alchohol"}[i%3]
		},
	}
	for name, url := range cases {
		b.Run(name, func(b *testing.B) {
			var fctx fasthttp.RequestCtx
			i := 0
			for b.Loop() {
				fctx.Request.Reset()
				fctx.Response.Reset()
				fctx.Request.SetRequestURI(url(i))
				handler(&fctx)
				if fctx.Response.StatusCode() != 200 {
					b.Fatalf("%s: status %d", url(i), fctx.Response.StatusCode())
				}
				i++
			}
		})
	}
}
