package testsvc

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestPostgresMissingSkipsOrFails(t *testing.T) {
	closed, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		require     string
		wantSkipped bool
		wantFailed  bool
	}{
		{require: "", wantSkipped: true},
		{require: "1", wantFailed: true},
	}
	for _, tt := range tests {
		t.Run("require="+tt.require, func(t *testing.T) {
			t.Setenv(PostgresEnv, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", closed))
			t.Setenv(RequireEnv, tt.require)
			r := record(t, func(tb testing.TB) { PostgresDB(tb) })
			if r.skipped != tt.wantSkipped || r.failed != tt.wantFailed {
				t.Fatalf("skipped=%v failed=%v (%q), want skipped=%v failed=%v",
					r.skipped, r.failed, r.msg, tt.wantSkipped, tt.wantFailed)
			}
		})
	}
}

// Each test gets a database of its own, empty, which is gone once the test ends even if the
// test left a connection open.
func TestPostgresDBIsFreshAndDropped(t *testing.T) {
	server := PostgresServerURL(t)
	ctx := context.Background()
	var names []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			dbURL := PostgresDB(t)
			u, err := url.Parse(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, strings.TrimPrefix(u.Path, "/"))
			conn, err := connectPostgres(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			// Left open on purpose: the drop must not wait for it.
			var tables int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("new database has %d tables, want none", tables)
			}
			// A table of the same name in each: only separate databases let both be created.
			if _, err := conn.Exec(ctx, `CREATE TABLE mine (id int)`); err != nil {
				t.Fatalf("create a table in the test's database: %v", err)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %q: want two different ones", names)
	}
	conn, err := connectPostgres(server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, name := range names {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}
