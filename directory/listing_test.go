package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/search/bleveindex"
	"familyhelp/seed"
	"familyhelp/store"
)

// Every sample listing goes through the edit form unchanged: the form holds every field.
func TestListingFormKeepsEveryField(t *testing.T) {
	help, err := seed.Helplines()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := seed.Sample()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, s := range append(help, sample...) {
		f := directory.FormFor(s)
		if errs := f.Check(s, now); len(errs) > 0 {
			t.Errorf("%s: the form of the listing as it is has problems: %v", s.ID, errs)
			continue
		}
		after := *s
		f.Apply(&after)
		if changes := directory.Changes(s, &after); len(changes) > 0 {
			t.Errorf("%s: saving the form unchanged changes %v", s.ID, changes)
		}
		if len(after.Locations) != len(s.Locations) || (len(s.Locations) > 0 && after.Locations[0].ID != s.Locations[0].ID) {
			t.Errorf("%s: places lose their ids", s.ID)
		}
	}
}

func TestListingFormChecks(t *testing.T) {
	valid := func() *directory.ListingForm {
		return &directory.ListingForm{Organisation: "Org", Name: "Name", Summary: "Summary", Description: "Description",
			Needs: []string{"money"}, MinAge: "0", Free: "yes", Delivery: []string{"phone"}, SelfReferral: "no"}
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		change func(f *directory.ListingForm)
		field  string // "" when the form is fine
	}{
		{"valid", func(*directory.ListingForm) {}, ""},
		{"no name", func(f *directory.ListingForm) { f.Name = "  " }, "name"},
		{"name on two lines", func(f *directory.ListingForm) { f.Name = "A\nB" }, "name"},
		{"bidi override", func(f *directory.ListingForm) { f.Summary = "abc\u202edef" }, "summary"},
		{"long summary", func(f *directory.ListingForm) { f.Summary = strings.Repeat("é", 301) }, "summary"},
		{"unknown need", func(f *directory.ListingForm) { f.Needs = []string{"pets"} }, "needs"},
		{"made-up category", func(f *directory.ListingForm) { f.Categories = []string{"Pets"} }, "categories"},
		{"ages the wrong way", func(f *directory.ListingForm) { f.MinAge, f.MaxAge = "10", "5" }, "max-age"},
		{"no upper age", func(f *directory.ListingForm) { f.MinAge, f.MaxAge = "10", "" }, ""},
		{"javascript website", func(f *directory.ListingForm) { f.Website = "javascript:alert(1)" }, "website"},
		{"phone of letters", func(f *directory.ListingForm) { f.Phones = []directory.PhoneRow{{Number: "call us"}} }, "phone-0-number"},
		{"short helpline", func(f *directory.ListingForm) { f.Phones = []directory.PhoneRow{{Number: "116 123"}} }, ""},
		{"contact with nothing to call them", func(f *directory.ListingForm) { f.Contacts = []directory.ContactRow{{Email: "a@example.org"}} }, "contact-0-name"},
		{"place without postcode", func(f *directory.ListingForm) {
			f.Locations = []directory.LocationRow{{Address: "1 High St", Town: "Walsall"}}
		}, "location-0-postcode"},
		{"place in nowhere", func(f *directory.ListingForm) {
			f.Locations = []directory.LocationRow{{Address: "1 High St", Town: "Walsall", Postcode: "ZE9 9ZZ"}}
		}, "location-0-postcode"},
		{"bad opening times", func(f *directory.ListingForm) { f.Times = "Monday 17:00-09:00" }, "times"},
		{"review date in the past", func(f *directory.ListingForm) { f.ReviewDue = directory.DateParts{Day: "1", Month: "1", Year: "2026"} }, "review-due"},
		{"review date 31 April", func(f *directory.ListingForm) { f.ReviewDue = directory.DateParts{Day: "31", Month: "4", Year: "2027"} }, "review-due"},
		{"review date next year", func(f *directory.ListingForm) { f.ReviewDue = directory.DateParts{Day: "1", Month: "3", Year: "2027"} }, ""},
	}
	for _, c := range cases {
		f := valid()
		c.change(f)
		errs := f.Check(nil, now)
		switch {
		case c.field == "" && len(errs) > 0:
			t.Errorf("%s: unexpected problems %v", c.name, errs)
		case c.field != "" && (len(errs) == 0 || errs[0].Field != c.field):
			t.Errorf("%s: problems %v, want one for %s", c.name, errs, c.field)
		}
	}
}

func TestParseSchedules(t *testing.T) {
	got, err := directory.ParseSchedules("monday 9:00 - 17:00\n\n  Sat 10.30 to 12:00 drop-in for dads  \nSun 00:00-24:00")
	want := []directory.Schedule{{Weekday: time.Monday, Opens: "09:00", Closes: "17:00"},
		{Weekday: time.Saturday, Opens: "10:30", Closes: "12:00", Description: "drop-in for dads"},
		{Weekday: time.Sunday, Opens: "00:00", Closes: "24:00"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v", got, err)
	}
	if back, _ := directory.ParseSchedules(directory.ScheduleLines(want)); !slices.Equal(back, want) {
		t.Errorf("written and read back: %v", back)
	}
	for _, bad := range []string{"Mo 9:00-17:00", "Funday 09:00-17:00", "Monday 25:00-26:00", "Monday 9-5", "Monday 09:00-17:00 \u202e"} {
		if _, err := directory.ParseSchedules(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestChangesNameFieldsNotContents(t *testing.T) {
	before := &directory.Service{Name: "A", Summary: "Old words", Free: false, Status: directory.Inactive,
		Contacts: []directory.Contact{{Name: "Jo Bloggs"}}}
	after := *before
	after.Summary, after.Free, after.Status = "New words", true, directory.Active
	after.Contacts = []directory.Contact{{Name: "Jo Smith"}}
	got := directory.Changes(before, &after)
	want := []string{"summary", "free: no → yes", "contacts", "status: Unpublished → Published"}
	if !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
	if strings.Contains(strings.Join(got, " "), "Jo") {
		t.Error("a contact's name reached the change list")
	}
	if got := directory.Changes(before, before); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
}

func TestReviewDue(t *testing.T) {
	checked := time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)
	if got := directory.ReviewDue(checked, time.Time{}); !got.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("six months after 31 May: %v", got)
	}
	set := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := directory.ReviewDue(checked, set); !got.Equal(set) {
		t.Errorf("a date set: %v", got)
	}
	if got := directory.ReviewDue(time.Time{}, time.Time{}); !got.IsZero() {
		t.Errorf("never checked: %v, want due at once", got)
	}
}

func newListings(t *testing.T, now time.Time) (*directory.Listings, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "fh.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix, err := bleveindex.Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return &directory.Listings{Directory: directory.New(db, ix, nil), Store: db, Now: func() time.Time { return now }}, db
}

func TestListingsLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	l, db := newListings(t, now)
	mk := func(name string, reviewed time.Time) string {
		f := &directory.ListingForm{Organisation: "Same Org", Name: name, Summary: "S", Description: "D",
			Needs: []string{"housing"}, MinAge: "0", Free: "yes", Delivery: []string{"phone"}, SelfReferral: "yes"}
		s := &directory.Service{Status: directory.Active, LastReviewed: reviewed}
		f.Apply(s)
		id, err := l.Create(ctx, s, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	recent := mk("Recent", now.AddDate(0, -1, 0))
	old := mk("Old", now.AddDate(-2, 0, 0))
	older := mk("Older", now.AddDate(-3, 0, 0))
	soon := mk("Soon", now.AddDate(0, -6, 10))
	if a, _ := db.GetService(ctx, recent); a.Organisation.ID != "org-same-org" {
		t.Errorf("organisation %+v", a.Organisation)
	}
	if b, _ := db.GetService(ctx, old); b.Organisation.ID != "org-same-org" {
		t.Error("a second listing of the same organisation made another one")
	}
	queue, err := l.ReviewQueue(ctx, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range queue {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{older, old, soon}) {
		t.Errorf("queue %v, want the most overdue first and the one due soon last", ids)
	}
	// A report puts a listing in the queue whatever its date.
	if _, err := l.Report(ctx, recent, "Closed down"); err != nil {
		t.Fatal(err)
	}
	queue, _ = l.ReviewQueue(ctx, 30*24*time.Hour)
	ids = nil
	for _, r := range queue {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{older, old, recent, soon}) || queue[2].OpenReports != 1 {
		t.Errorf("queue after a report: %v, want it after the overdue ones and before the one due soon", ids)
	}
	// Marking reviewed takes it out and sets the date families see.
	svc, err := l.MarkReviewed(ctx, older)
	if err != nil || !svc.LastReviewed.Equal(now) {
		t.Fatalf("mark reviewed: %v %v", svc, err)
	}
	if queue, _ = l.ReviewQueue(ctx, 30*24*time.Hour); slices.ContainsFunc(queue, func(r directory.ListingRow) bool { return r.ID == older }) {
		t.Error("a listing just reviewed is still in the queue")
	}
	// A change over a newer version is refused and saves nothing.
	l2, _ := l.Listing(ctx, old)
	if _, _, err := l.Change(ctx, old, now.Add(-time.Hour), func(s *directory.Service) error { s.Name = "Lost"; return nil }); !errors.Is(err, directory.ErrChanged) {
		t.Errorf("a stale change: %v", err)
	}
	if _, _, err := l.Change(ctx, old, l2.Service.UpdatedAt, func(s *directory.Service) error { s.Name = "Kept"; return nil }); err != nil {
		t.Errorf("a current change: %v", err)
	}
	// Archived listings take no reports.
	if _, _, err := l.Change(ctx, soon, time.Time{}, func(s *directory.Service) error { s.Status = directory.Defunct; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Report(ctx, soon, "x"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a report on an archived listing: %v", err)
	}
}
