package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"familyhelp/referral"
	"familyhelp/secret"
	"familyhelp/store"
)

func newService(t *testing.T, db *store.DB, now *time.Time) *referral.Service {
	t.Helper()
	key, err := secret.Parse(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return &referral.Service{
		Store: db, Drafts: key.Box("draft"), Sealed: key.Box("referral"), Routing: referral.SampleConfig(),
		TeamLetter: func(ref string, urgent bool, link string) (string, string) {
			return "New referral " + ref, "See " + link
		},
		FamilyLetter: func(ref, team, phone string) (string, string) { return "Received", ref + " " + phone },
		StaffLink:    func(ref string) string { return "http://localhost/staff/referrals/" + ref },
		Now:          func() time.Time { return *now },
	}
}

// complete is a referral with every page answered, full of words that must never be found in
// the database file in plain form.
func complete() referral.Referral {
	age := 9
	return referral.Referral{
		Asker: referral.AskerSelf, Danger: "no", Needs: []referral.Need{referral.NeedDomesticAbuse},
		Story: "Zebedee my partner hits me", Adult: referral.Adult{Name: "Quentinella Marsh"},
		Children: []referral.Child{{Name: "Ottoline", Age: &age}}, Postcode: "WV1 1AA", NoNetwork: true,
		Contact: referral.Contact{Safe: []referral.Method{referral.ByEmail, referral.ByText}, Email: "quentinella@example.org",
			Phone: "07700900123", SayWhoWeAre: "yes", Confirmation: true},
		Consent: true,
	}
}

func TestSubmitStoresSealedWithNotifications(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "familyhelp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	svc := newService(t, db, &now)

	d := svc.NewDraft()
	d.Referral = complete()
	if err := svc.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	// A double click reaches two instances at once: each loads the draft, each submits.
	var copies [2]*referral.Draft
	for i := range copies {
		if copies[i], err = svc.LoadDraft(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	var refs [2]string
	var wg sync.WaitGroup
	for i := range copies {
		wg.Go(func() {
			done, err := svc.Submit(ctx, copies[i])
			if err != nil {
				t.Error(err)
				return
			}
			refs[i] = done.Reference
		})
	}
	wg.Wait()
	ref := refs[0]
	if _, ok := referral.NormaliseReference(ref); !ok || refs[1] != ref {
		t.Fatalf("references %q: want one valid reference for both submissions", refs)
	}
	// Afterwards the draft keeps the confirmation and none of the answers.
	after, err := svc.LoadDraft(ctx, d.ID)
	if err != nil || after.Receipt == nil || after.Receipt.Reference != ref || after.Referral.Story != "" {
		t.Fatalf("draft after sending: %+v, %v", after, err)
	}
	if again, err := svc.Submit(ctx, after); err != nil || again.Reference != ref {
		t.Fatalf("submitting the sent draft again = %v, %v", again, err)
	}

	rec, err := db.Referral(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TeamID != "wv-central" || strings.Join(rec.AlsoTeams, ",") != "domestic-abuse" || rec.Urgent {
		t.Errorf("stored %+v: want Wolverhampton Central with the domestic abuse team, not urgent", rec)
	}
	r, err := svc.OpenReferral(rec)
	if err != nil || r.Story != "Zebedee my partner hits me" || r.Decision == nil || len(r.Decision.Reasons) == 0 {
		t.Fatalf("opened %+v, %v", r, err)
	}

	// Notifications: one per team and the family's own, in the outbox with the referral.
	entries, err := db.Outbox(ctx, 10)
	if err != nil || len(entries) != 3 {
		t.Fatalf("outbox %+v, %v; want 3 notifications (and no more from the second submission)", entries, err)
	}
	pending, err := db.ClaimOutbox(ctx, now, time.Minute, 10)
	if err != nil || len(pending) != 3 {
		t.Fatalf("claimed %d, %v", len(pending), err)
	}
	var to []string
	for _, p := range pending {
		l, err := svc.OpenLetter(p.Key, p.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		to = append(to, l.To)
		if strings.Contains(l.Text, "Zebedee") || strings.Contains(l.Subject, "Quentinella") {
			t.Errorf("notification %q carries what the family told us", l.Subject)
		}
		if l.To == "quentinella@example.org" && (strings.Contains(l.Text, "Family Help team") || strings.Contains(l.Text, "abuse")) {
			t.Errorf("the family's confirmation says what it is about: %q", l.Text)
		}
	}
	if want := "wv-central.familyhelp@example.org domestic-abuse.familyhelp@example.org quentinella@example.org"; strings.Join(to, " ") != want {
		t.Errorf("notifications to %v, want %s", to, want)
	}

	// Nothing the family typed is in the database files in plain form.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "familyhelp.db*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secretWord := range []string{"Zebedee", "Quentinella", "Ottoline", "07700900123", "partner hits", "quentinella@example.org"} {
			if bytes.Contains(raw, []byte(secretWord)) {
				t.Errorf("%s holds %q in plain form", filepath.Base(f), secretWord)
			}
		}
	}
}

func TestSubmitRefusesAGap(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now()
	svc := newService(t, db, &now)
	d := svc.NewDraft()
	d.Referral = complete()
	d.Referral.Consent = false
	var gap referral.ErrIncomplete
	if _, err := svc.Submit(ctx, d); !errors.As(err, &gap) || gap.Step != referral.StepConsent {
		t.Fatalf("Submit without consent = %v, want incomplete at consent", err)
	}
}

func TestReferenceTaken(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	rec := referral.Record{Reference: "FH-AAAA-BBBB", Key: "k1", TeamID: "t", CreatedAt: time.Now(), Sealed: []byte{1}}
	if _, created, err := db.CreateReferral(ctx, rec, nil); err != nil || !created {
		t.Fatal(err)
	}
	rec.Key = "k2"
	if _, _, err := db.CreateReferral(ctx, rec, nil); !errors.Is(err, referral.ErrReferenceTaken) {
		t.Errorf("same reference again = %v, want ErrReferenceTaken", err)
	}
}

func TestDraftsExpire(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	svc := newService(t, db, &now)
	d := svc.NewDraft()
	d.Referral.Story = "kept between pages"
	if err := svc.SaveDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	now = now.Add(referral.DraftLifetime - time.Second)
	got, err := svc.LoadDraft(ctx, d.ID)
	if err != nil || got.Referral.Story != "kept between pages" {
		t.Fatalf("LoadDraft before expiry = %+v, %v", got, err)
	}
	now = now.Add(2 * time.Second)
	if _, err := svc.LoadDraft(ctx, d.ID); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("LoadDraft after expiry = %v, want ErrNotFound", err)
	}
	if n, err := db.PurgeDrafts(ctx, now); err != nil || n != 1 {
		t.Errorf("PurgeDrafts = %d, %v; want 1", n, err)
	}
	if _, err := svc.LoadDraft(ctx, "not-a-draft-id"); !errors.Is(err, referral.ErrNotFound) {
		t.Errorf("LoadDraft of a made-up id = %v", err)
	}
}

func TestOutboxLeases(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var out []referral.Outgoing
	for _, k := range []string{"a", "b", "c"} {
		out = append(out, referral.Outgoing{Key: k, Kind: referral.KindTeam, TeamID: "t", Sealed: []byte(k)})
	}
	if _, _, err := db.CreateReferral(ctx, referral.Record{Reference: "FH-AAAA-CCCC", Key: "k", TeamID: "t", CreatedAt: now, Sealed: []byte{1}}, out); err != nil {
		t.Fatal(err)
	}
	// Two workers at once: every notification goes to exactly one of them.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := db.ClaimOutbox(ctx, now, time.Minute, 2)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, p := range got {
				seen[p.Key]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) != 3 || seen["a"] != 1 || seen["b"] != 1 || seen["c"] != 1 {
		t.Fatalf("claims %v, want each notification claimed once", seen)
	}
	// Leased: nobody else gets them until the lease runs out.
	if got, _ := db.ClaimOutbox(ctx, now.Add(30*time.Second), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %d leased notifications", len(got))
	}
	got, _ := db.ClaimOutbox(ctx, now.Add(61*time.Second), time.Minute, 10)
	if len(got) != 3 {
		t.Fatalf("after the lease: claimed %d, want 3 back", len(got))
	}
	later := now.Add(2 * time.Minute)
	if err := db.MarkSent(ctx, got[0].ID, later); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, got[1].ID, 1, later.Add(time.Hour), "smtp 4xx"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, got[2].ID, 10, time.Time{}, "smtp 5xx"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ClaimOutbox(ctx, later.Add(59*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %d before the retry was due", len(got))
	}
	got2, _ := db.ClaimOutbox(ctx, later.Add(61*time.Minute), time.Minute, 10)
	if len(got2) != 1 || got2[0].Key != got[1].Key || got2[0].Attempts != 1 {
		t.Errorf("claimed %+v when the retry was due, want only the one that failed once", got2)
	}
}

func TestKV(t *testing.T) {
	db := openTest(t)
	kv := db.KV()
	if v, err := kv.Get("missing"); v != nil || err != nil {
		t.Fatalf("Get(missing) = %q, %v", v, err)
	}
	if err := kv.Set("a", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := kv.Set("b", []byte("2"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if v, _ := kv.Get("a"); string(v) != "1" {
		t.Errorf("Get(a) = %q", v)
	}
	if v, _ := kv.Get("b"); v != nil {
		t.Errorf("expired key still answers %q", v)
	}
	if n, err := kv.Purge(context.Background()); n != 1 || err != nil {
		t.Errorf("Purge = %d, %v; want the expired one", n, err)
	}
	if err := kv.Delete("a"); err != nil {
		t.Fatal(err)
	}
	if v, _ := kv.Get("a"); v != nil {
		t.Errorf("deleted key still answers %q", v)
	}
}
