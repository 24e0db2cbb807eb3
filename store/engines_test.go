package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"familyhelp/internal/testsvc"
	"familyhelp/store"
)

// engine is one database engine under test, with a fresh database of the test's own.
type engine struct {
	name string
	// open opens another handle on the test's database (running the migrations again), closed
	// when the test ends: two handles are two instances of the app.
	open func(t *testing.T) *store.DB
	// contents returns everything the database holds, as the engine keeps it: the SQLite
	// files, or every value in every PostgreSQL table with bytes as they are.
	contents func(t *testing.T) []byte
}

// forEachDatabase runs fn once for SQLite and once for PostgreSQL, as subtests named after
// the engine. Without a PostgreSQL server the second is skipped, or fails under
// FAMILYHELP_REQUIRE_SERVICES=1.
func forEachDatabase(t *testing.T, fn func(t *testing.T, e *engine)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), store.SQLiteFile)
		fn(t, &engine{
			name: "sqlite",
			open: func(t *testing.T) *store.DB {
				t.Helper()
				return opened(t)(store.OpenSQLite(context.Background(), path))
			},
			contents: func(t *testing.T) []byte {
				t.Helper()
				files, err := filepath.Glob(path + "*")
				if err != nil || len(files) == 0 {
					t.Fatalf("database files %v, %v", files, err)
				}
				var all []byte
				for _, f := range files {
					raw, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, raw...)
				}
				return all
			},
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := testsvc.PostgresDB(t)
		fn(t, &engine{
			name: "postgres",
			open: func(t *testing.T) *store.DB {
				t.Helper()
				return opened(t)(store.OpenPostgres(context.Background(), url))
			},
			contents: func(t *testing.T) []byte {
				t.Helper()
				return postgresContents(t, url)
			},
		})
	})
}

// forEachEngine runs fn for each engine with a handle on a fresh database.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	forEachDatabase(t, func(t *testing.T, e *engine) { fn(t, e.open(t)) })
}

func opened(t *testing.T) func(*store.DB, error) *store.DB {
	return func(db *store.DB, err error) *store.DB {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

func postgresContents(t *testing.T, url string) []byte {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables []string
	rows, err := raw.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("no tables in the database")
	}
	var all []byte
	for _, table := range tables {
		rows, err := raw.QueryContext(ctx, `SELECT * FROM `+pgx.Identifier{table}.Sanitize())
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					all = append(all, v...)
				case string:
					all = append(all, v...)
				default:
					all = fmt.Append(all, v)
				}
				all = append(all, 0)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return all
}
