package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A data dir may be called anything: the database must be the file asked for, with its
// settings, whatever characters the path holds.
func TestSQLitePathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "council #2?test %41 100%")
	path := filepath.Join(dir, SQLiteFile)
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal: the settings after the path were lost", mode)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(filepath.Dir(path)))
	for _, e := range entries {
		if e.Name() != filepath.Base(filepath.Dir(path)) {
			t.Errorf("a stray file %q beside the data dir", e.Name())
		}
	}
}
