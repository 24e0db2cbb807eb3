package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/store"
)

func openTest(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

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
	ctx := context.Background()
	db := openTest(t)
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
}

func TestSaveServicesIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	bad := service("", "No id")
	if err := db.SaveServices(ctx, service("ok", "Fine"), bad); err == nil {
		t.Fatal("saving a service without an id succeeded")
	}
	if n, _ := db.CountServices(ctx); n != 0 {
		t.Errorf("a failed save left %d services behind", n)
	}
}

func TestSettingsAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "familyhelp.db")
	db, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Setting(ctx, "sample"); err != nil || v != "" {
		t.Errorf("unset setting = %q, %v", v, err)
	}
	if err := db.SetSetting(ctx, "sample", "on"); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveServices(ctx, service("kept", "Kept")); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Opening again runs the migrations again: they must be idempotent and keep the data.
	db, err = store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.Setting(ctx, "sample"); v != "on" {
		t.Errorf("setting after reopen = %q", v)
	}
	if _, err := db.GetService(ctx, "kept"); err != nil {
		t.Errorf("service after reopen: %v", err)
	}
}
