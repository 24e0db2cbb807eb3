package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/internal/testsvc"
	"familyhelp/store"
)

func service(id, name string) *directory.Service {
	return &directory.Service{
		ID: id, Name: name, Status: directory.Active,
		Organisation: directory.Organisation{ID: "org-" + id, Name: "Org " + name},
		Needs:        []directory.Need{directory.NeedParenting},
		Delivery:     []directory.Delivery{directory.InPerson},
		MaxAge:       directory.MaxAgeLimit,
		Locations: []directory.Location{{ID: id + "-loc", Address: "1 High Street", Town: "Walsall",
			Postcode: "WS1 1AA", Latitude: 52.58, Longitude: -1.98,
			Schedules: []directory.Schedule{{Weekday: time.Tuesday, Opens: "09:30", Closes: "12:00"}}}},
		LastReviewed: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestServicesRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := service("a", "Bumps and babies"), service("b", "Around the table")
		if err := db.SaveServices(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetService(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != a.Name || got.Organisation.Name != "Org Bumps and babies" ||
			len(got.Locations) != 1 || got.Locations[0].Schedules[0].Opens != "09:30" ||
			!got.LastReviewed.Equal(a.LastReviewed) {
			t.Errorf("read back %+v", got)
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		if o, err := db.Organisation(ctx, "org-a"); err != nil || o.Name != "Org Bumps and babies" {
			t.Errorf("Organisation = %+v, %v", o, err)
		}
		if _, err := db.Organisation(ctx, "org-none"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("a missing organisation: %v, want ErrNotFound", err)
		}

		// Save again with a change: replaces, does not duplicate.
		a.Name = "Bumps, babies and beyond"
		if err := db.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		if n, _ := db.CountServices(ctx); n != 2 {
			t.Errorf("count = %d, want 2", n)
		}

		many, err := db.Services(ctx, []string{"b", "missing", "a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(many) != 2 || many[0].ID != "b" || many[1].Name != "Bumps, babies and beyond" {
			t.Errorf("Services kept order and dropped missing? got %v", many)
		}

		var names []string
		if err := db.EachService(ctx, func(s *directory.Service) error { names = append(names, s.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{"Around the table", "Bumps, babies and beyond"}) {
			t.Errorf("EachService in name order: %v", names)
		}

		if err := db.DeleteService(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetService(ctx, "a"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("deleted service: err = %v, want ErrNotFound", err)
		}
		if err := db.DeleteService(ctx, "a"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
		}
	})
}

func TestSaveServicesIsAtomic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		bad := service("", "No id")
		if err := db.SaveServices(ctx, service("ok", "Fine"), bad); err == nil {
			t.Fatal("saving a service without an id succeeded")
		}
		if n, _ := db.CountServices(ctx); n != 0 {
			t.Errorf("a failed save left %d services behind", n)
		}
	})
}

func TestSettingsAndReopen(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		db := e.open(t)
		if v, err := db.Setting(ctx, "sample"); err != nil || v != "" {
			t.Errorf("unset setting = %q, %v", v, err)
		}
		if err := db.SetSetting(ctx, "sample", "on"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSetting(ctx, "sample", "off"); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveServices(ctx, service("kept", "Kept")); err != nil {
			t.Fatal(err)
		}
		db.Close()

		// Opening again runs the migrations again: they must be idempotent and keep the data.
		db = e.open(t)
		if v, _ := db.Setting(ctx, "sample"); v != "off" {
			t.Errorf("setting after reopen = %q, want the last value written", v)
		}
		if _, err := db.GetService(ctx, "kept"); err != nil {
			t.Errorf("service after reopen: %v", err)
		}
	})
}

func TestOpenChoosesTheEngine(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite in the data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		db, err := store.Open(ctx, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.SetSetting(ctx, "where", "here"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		// The same file as the command has always used, so existing data dirs keep their data.
		again, err := store.OpenSQLite(ctx, filepath.Join(dir, "familyhelp.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if v, _ := again.Setting(ctx, "where"); v != "here" {
			t.Errorf("setting in %s = %q: Open used another file", store.SQLiteFile, v)
		}
	})
	t.Run("postgres by URL", func(t *testing.T) {
		url := testsvc.PostgresDB(t)
		for _, u := range []string{url, "postgresql" + strings.TrimPrefix(url, "postgres")} {
			db, err := store.Open(ctx, t.TempDir(), u)
			if err != nil {
				t.Fatalf("Open(%s): %v", u, err)
			}
			if err := db.SetSetting(ctx, "where", u); err != nil {
				t.Fatal(err)
			}
			db.Close()
		}
		db, err := store.OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if v, _ := db.Setting(ctx, "where"); !strings.HasPrefix(v, "postgresql://") {
			t.Errorf("setting = %q: Open did not use the database in the URL", v)
		}
	})
	t.Run("other URLs", func(t *testing.T) {
		for _, u := range []string{"mysql://user:hunter2@db/familyhelp", "sqlite:///tmp/x.db", "::hunter2"} {
			dir := t.TempDir()
			db, err := store.Open(ctx, dir, u)
			if err == nil {
				db.Close()
				t.Errorf("Open(%q) succeeded", u)
				continue
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open(%q) error shows the password: %v", u, err)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("Open(%q) left %d files in the data dir", u, len(files))
			}
		}
	})
}

// A migration written for one engine only would leave the other behind without failing any
// test that uses the tables it does not touch.
func TestEveryMigrationHasBothEngines(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(filepath.Join("migrations", dir))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, postgres := names("sqlite"), names("postgres")
	if len(sqlite) == 0 || !slices.Equal(sqlite, postgres) {
		t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", sqlite, postgres)
	}
}
