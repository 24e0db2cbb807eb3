package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/store"
)

func TestFindListings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, c := service("a", "Parents 100% together"), service("b", "Parents_Club"), service("c", "Toddler time")
		c.Status = directory.Defunct
		if err := db.SaveServices(ctx, a, b, c); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			q    directory.ListingQuery
			want []string
			all  int
		}{
			{directory.ListingQuery{Text: "PARENTS"}, []string{"a", "b"}, 2},
			{directory.ListingQuery{Text: "100%"}, []string{"a"}, 1},
			{directory.ListingQuery{Text: "s_c"}, []string{"b"}, 1},
			{directory.ListingQuery{Text: "%"}, []string{"a"}, 1},
			{directory.ListingQuery{Status: directory.Defunct}, []string{"c"}, 1},
			{directory.ListingQuery{Limit: 1}, []string{"a"}, 3},
		}
		for _, tc := range cases {
			rows, total, err := db.FindListings(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			if len(ids) != len(tc.want) || (len(ids) > 0 && ids[0] != tc.want[0]) || total != tc.all {
				t.Errorf("%+v: %v of %d, want %v of %d", tc.q, ids, total, tc.want, tc.all)
			}
		}
		if rows, _ := db.ReviewRows(ctx); len(rows) != 2 || rows[0].Organisation != "Org Parents 100% together" {
			t.Errorf("review rows %+v: want the two not archived, with their organisation", rows)
		}
	})
}

func TestReviewDateOutlivesSaves(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := service("a", "A")
		if err := db.SaveServices(ctx, s); err != nil {
			t.Fatal(err)
		}
		due := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
		if err := db.SetReviewDue(ctx, "a", due); err != nil {
			t.Fatal(err)
		}
		s.Summary = "changed"
		if err := db.SaveServices(ctx, s); err != nil {
			t.Fatal(err)
		}
		r, err := db.ListingRow(ctx, "a")
		if err != nil || !r.DueSet.Equal(due) || !r.ReviewDue().Equal(due) {
			t.Errorf("after a save: %+v, %v", r, err)
		}
		if err := db.SetReviewDue(ctx, "a", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.ListingRow(ctx, "a"); !r.DueSet.IsZero() || !r.ReviewDue().Equal(s.LastReviewed.AddDate(0, 6, 0)) {
			t.Errorf("cleared: %+v", r)
		}
		if err := db.SetReviewDue(ctx, "nope", due); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("a missing listing: %v", err)
		}
		if _, err := db.ListingRow(ctx, "nope"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("a missing listing's row: %v", err)
		}
	})
}

func TestReports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveServices(ctx, service("a", "A"), service("b", "B")); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		first, _ := db.AddReport(ctx, directory.Report{ServiceID: "a", Text: "Old number", At: at})
		second, _ := db.AddReport(ctx, directory.Report{ServiceID: "a", Text: "Moved", At: at.Add(time.Hour)})
		if err := db.ResolveReport(ctx, "b", first, "Ed", at); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("resolving through another service: %v", err)
		}
		if err := db.ResolveReport(ctx, "a", first, "Ed", at.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Resolving again keeps who did it first.
		if err := db.ResolveReport(ctx, "a", first, "Someone else", at.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := db.Reports(ctx, "a")
		if err != nil || len(got) != 2 {
			t.Fatalf("reports %+v, %v", got, err)
		}
		if got[0].ID != second || !got[0].Open() || got[1].ID != first || got[1].ResolvedBy != "Ed" || !got[1].At.Equal(at) {
			t.Errorf("reports %+v: want the open one first", got)
		}
		if r, _ := db.ListingRow(ctx, "a"); r.OpenReports != 1 {
			t.Errorf("open reports %d", r.OpenReports)
		}
		// A service's reports go with it.
		if err := db.DeleteService(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Reports(ctx, "a"); len(got) != 0 {
			t.Errorf("reports of a deleted service: %+v", got)
		}
	})
}

func TestPurgeReports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveServices(ctx, service("s1", "Service one")); err != nil {
			t.Fatal(err)
		}
		open, err := db.AddReport(ctx, directory.Report{ServiceID: "s1", Text: "Wrong phone number", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		done, _ := db.AddReport(ctx, directory.Report{ServiceID: "s1", Text: "Closed on Fridays now", At: time.Now()})
		if err := db.ResolveReport(ctx, "s1", done, "Editor", time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, err := db.PurgeReports(ctx, time.Now().Add(-time.Hour)); n != 0 || err != nil {
			t.Fatalf("purged %d, %v before the time", n, err)
		}
		if n, err := db.PurgeReports(ctx, time.Now().Add(time.Hour)); n != 1 || err != nil {
			t.Fatalf("purged %d, %v; want the one dealt with", n, err)
		}
		left, _ := db.Reports(ctx, "s1")
		if len(left) != 1 || left[0].ID != open {
			t.Errorf("reports left %+v, want only the open one", left)
		}
	})
}
