package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		db, other := e.open(t), e.open(t)
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		svc := newService(t, db, &now)
		// The same service in a second instance, with its own connections to the same database.
		svcs := [2]*referral.Service{svc, newService(t, other, &now)}
		var err error

		d := svc.NewDraft()
		d.Referral = complete()
		if err := svc.SaveDraft(ctx, d); err != nil {
			t.Fatal(err)
		}
		// A double click reaches two instances at once: each loads the draft, each submits.
		var copies [2]*referral.Draft
		for i := range copies {
			if copies[i], err = svcs[i].LoadDraft(ctx, d.ID); err != nil {
				t.Fatal(err)
			}
		}
		var refs [2]string
		var wg sync.WaitGroup
		for i := range copies {
			wg.Go(func() {
				done, err := svcs[i].Submit(ctx, copies[i])
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

		// Nothing the family typed is in the database in plain form.
		db.Close()
		other.Close()
		raw := e.contents(t)
		for _, secretWord := range []string{"Zebedee", "Quentinella", "Ottoline", "07700900123", "partner hits", "quentinella@example.org"} {
			if bytes.Contains(raw, []byte(secretWord)) {
				t.Errorf("the %s database holds %q in plain form", e.name, secretWord)
			}
		}
		// The check can see: the reference is kept in the clear.
		if !bytes.Contains(raw, []byte(ref)) {
			t.Errorf("the %s database's contents lack the reference %s: the check reads the wrong thing", e.name, ref)
		}
	})
}

func TestSubmitRefusesAGap(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now()
		svc := newService(t, db, &now)
		d := svc.NewDraft()
		d.Referral = complete()
		d.Referral.Consent = false
		var gap referral.ErrIncomplete
		if _, err := svc.Submit(ctx, d); !errors.As(err, &gap) || gap.Step != referral.StepConsent {
			t.Fatalf("Submit without consent = %v, want incomplete at consent", err)
		}
	})
}

func TestReferenceTaken(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := referral.Record{Reference: "FH-AAAA-BBBB", Key: "k1", TeamID: "t", CreatedAt: time.Now(), Sealed: []byte{1}}
		if _, created, err := db.CreateReferral(ctx, rec, nil); err != nil || !created {
			t.Fatal(err)
		}
		rec.Key = "k2"
		if _, _, err := db.CreateReferral(ctx, rec, nil); !errors.Is(err, referral.ErrReferenceTaken) {
			t.Errorf("same reference again = %v, want ErrReferenceTaken", err)
		}
	})
}

func TestDraftsExpire(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
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
	})
}

func TestOutboxLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
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
	})
}

// A notification handed back at shutdown can be claimed again at once, by any instance, with
// nothing about it changed: no attempt counted, the last failure still shown to staff.
func TestOutboxReleaseEndsOnlyTheLease(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		stopping, other := e.open(t), e.open(t)
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		var out []referral.Outgoing
		for _, k := range []string{"fresh", "failed-once", "sent"} {
			out = append(out, referral.Outgoing{Key: k, Kind: referral.KindTeam, TeamID: "t", Sealed: []byte(k)})
		}
		if _, _, err := stopping.CreateReferral(ctx, referral.Record{Reference: "FH-AAAA-DDDD", Key: "k", TeamID: "t", CreatedAt: t0, Sealed: []byte{1}}, out); err != nil {
			t.Fatal(err)
		}
		first, err := stopping.ClaimOutbox(ctx, t0, 10*time.Minute, 10)
		if err != nil || len(first) != 3 {
			t.Fatalf("first claim: %d, %v", len(first), err)
		}
		ids := map[string]int64{}
		for _, p := range first {
			ids[p.Key] = p.ID
		}
		if err := stopping.MarkFailed(ctx, ids["failed-once"], 1, t0.Add(time.Minute), "421 try again later"); err != nil {
			t.Fatal(err)
		}
		t1 := t0.Add(time.Minute)
		again, err := stopping.ClaimOutbox(ctx, t1, 10*time.Minute, 10)
		if err != nil || len(again) != 1 || again[0].Key != "failed-once" {
			t.Fatalf("claim when the retry is due: %+v, %v", again, err)
		}
		if err := stopping.MarkSent(ctx, ids["sent"], t1); err != nil {
			t.Fatal(err)
		}

		// The instance stops holding "fresh" and "failed-once", and hands back all three.
		for _, id := range ids {
			if err := stopping.ReleaseOutbox(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		// The other instance claims them at once, long before the leases would have ended.
		got, err := other.ClaimOutbox(ctx, t1, time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		attempts := map[string]int{}
		for _, p := range got {
			attempts[p.Key] = p.Attempts
		}
		if len(got) != 2 || attempts["fresh"] != 0 || attempts["failed-once"] != 1 {
			t.Errorf("claimed after release: %v; want fresh with no attempt and failed-once with 1, and not the sent one", attempts)
		}
		entries, err := other.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if en.Sent && en.Attempts != 0 {
				t.Errorf("the sent notification: %+v", en)
			}
			if !en.Sent && en.LastError != "" && (en.Attempts != 1 || en.LastError != "421 try again later") {
				t.Errorf("after release staff see %d attempts, %q; want the failure as it was", en.Attempts, en.LastError)
			}
			if en.GaveUp {
				t.Errorf("release gave up on %+v", en)
			}
		}
		if n := countWhere(entries, func(en referral.OutboxEntry) bool { return en.LastError == "421 try again later" }); n != 1 {
			t.Errorf("%d notifications show the earlier failure, want 1", n)
		}
	})
}

func countWhere(entries []referral.OutboxEntry, f func(referral.OutboxEntry) bool) int {
	n := 0
	for _, e := range entries {
		if f(e) {
			n++
		}
	}
	return n
}

// The backlog counts what is neither sent nor given up, and knows how long the oldest has
// waited.
func TestOutboxDepth(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if n, oldest, err := db.OutboxDepth(ctx); err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty outbox: %d, %v, %v", n, oldest, err)
		}
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		for i, at := range []time.Time{t0, t0.Add(time.Hour)} {
			ref := fmt.Sprintf("FH-AAAA-EEE%d", i)
			var out []referral.Outgoing
			for _, k := range []string{"a", "b"} {
				out = append(out, referral.Outgoing{Key: ref + k, Kind: referral.KindTeam, TeamID: "t", Sealed: []byte(k)})
			}
			if _, _, err := db.CreateReferral(ctx, referral.Record{Reference: ref, Key: ref, TeamID: "t", CreatedAt: at, Sealed: []byte{1}}, out); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ClaimOutbox(ctx, t0.Add(2*time.Hour), time.Minute, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("claimed %d, %v", len(got), err)
		}
		// The first referral's two: one sent, one given up. A claimed one is still pending.
		if err := db.MarkSent(ctx, got[0].ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkFailed(ctx, got[1].ID, 5, time.Time{}, "550 no such mailbox"); err != nil {
			t.Fatal(err)
		}
		n, oldest, err := db.OutboxDepth(ctx)
		if err != nil || n != 2 || !oldest.Equal(t0.Add(time.Hour)) {
			t.Errorf("OutboxDepth = %d, %v, %v; want 2 pending, the oldest queued at %v", n, oldest, err, t0.Add(time.Hour))
		}
	})
}

func TestKV(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
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
		if err := kv.Set("a", []byte{0, 255}, 0); err != nil {
			t.Fatal(err)
		}
		if err := kv.Set("c", []byte("3"), 0); err != nil {
			t.Fatal(err)
		}
		if v, _ := kv.Get("a"); !bytes.Equal(v, []byte{0, 255}) {
			t.Errorf("Get(a) after setting it again = %v, want the bytes as set", v)
		}
		if err := kv.Delete("a"); err != nil {
			t.Fatal(err)
		}
		if v, _ := kv.Get("a"); v != nil {
			t.Errorf("deleted key still answers %q", v)
		}
		if err := kv.Reset(); err != nil {
			t.Fatal(err)
		}
		if v, _ := kv.Get("c"); v != nil {
			t.Errorf("after Reset, c answers %q", v)
		}
	})
}

// Two instances sharing the database, each with several workers, deliver every notification
// exactly once. On PostgreSQL this fails without SKIP LOCKED: two claims that run side by side
// pick the same rows, and the second leases them again once the first commits.
func TestConcurrentOutboxClaimsShareOut(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		dbs := [2]*store.DB{e.open(t), e.open(t)}
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		const referrals, perReferral = 60, 5
		for r := range referrals {
			ref := fmt.Sprintf("FH-%04d-TEST", r)
			var out []referral.Outgoing
			for k := range perReferral {
				key := fmt.Sprintf("%s/%d", ref, k)
				out = append(out, referral.Outgoing{Key: key, Kind: referral.KindTeam, TeamID: "t", Sealed: []byte(key)})
			}
			rec := referral.Record{Reference: ref, Key: "draft-" + ref, TeamID: "t", CreatedAt: now, Sealed: []byte{1}}
			if _, _, err := dbs[r%2].CreateReferral(ctx, rec, out); err != nil {
				t.Fatal(err)
			}
		}
		// Each worker claims, delivers and marks sent, in a loop, until there is nothing left.
		var mu sync.Mutex
		delivered := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			db := dbs[w%2]
			wg.Go(func() {
				for {
					got, err := db.ClaimOutbox(ctx, now, time.Minute, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, p := range got {
						mu.Lock()
						delivered[p.Key]++
						mu.Unlock()
						if err := db.MarkSent(ctx, p.ID, now); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		if len(delivered) != referrals*perReferral {
			t.Errorf("%d notifications delivered, want %d", len(delivered), referrals*perReferral)
		}
		for key, n := range delivered {
			if n != 1 {
				t.Errorf("%s delivered %d times", key, n)
			}
		}
		// Every one is recorded as sent, and none comes back when the leases have ended.
		entries, err := dbs[0].Outbox(ctx, 2*referrals*perReferral)
		if err != nil {
			t.Fatal(err)
		}
		if n := countWhere(entries, func(e referral.OutboxEntry) bool { return e.Sent }); n != referrals*perReferral || len(entries) != n {
			t.Errorf("%d of %d notifications recorded as sent, want all %d", n, len(entries), referrals*perReferral)
		}
		if left, err := dbs[1].ClaimOutbox(ctx, now.Add(2*time.Minute), time.Minute, 10); err != nil || len(left) != 0 {
			t.Errorf("after the leases: claimed %d more, %v; want none", len(left), err)
		}
	})
}

// The same draft sent by two instances at the same moment, each having made its own
// reference, stores one referral with one set of notifications, and both are told its
// reference.
func TestSameDraftFromTwoInstancesAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		dbs := [2]*store.DB{e.open(t), e.open(t)}
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		for round := range 20 {
			var got [2]referral.Record
			var created [2]bool
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, db := range dbs {
				ref := fmt.Sprintf("FH-%04d-000%d", round, i)
				rec := referral.Record{Reference: ref, Key: fmt.Sprintf("draft-%d", round), TeamID: "t", CreatedAt: now, Sealed: []byte{1}}
				out := []referral.Outgoing{{Key: ref + "/team/t", Kind: referral.KindTeam, TeamID: "t", Sealed: []byte{2}}}
				wg.Go(func() {
					<-start
					var err error
					if got[i], created[i], err = db.CreateReferral(ctx, rec, out); err != nil {
						t.Errorf("round %d, instance %d: %v", round, i, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if created[0] == created[1] || got[0].Reference != got[1].Reference {
				t.Fatalf("round %d: created %v, references %q and %q; want one created and both the same reference",
					round, created, got[0].Reference, got[1].Reference)
			}
		}
		entries, err := dbs[0].Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 20 {
			t.Errorf("%d notifications queued, want one per draft (20)", len(entries))
		}
	})
}

func TestDraftsStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		if err := db.PutDraft(ctx, "d", []byte{1, 0, 2}, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Saving again replaces the answers and moves the expiry on.
		if err := db.PutDraft(ctx, "d", []byte{3}, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetDraft(ctx, "d", now.Add(90*time.Minute)); err != nil || !bytes.Equal(got, []byte{3}) {
			t.Errorf("GetDraft = %v, %v; want the second save", got, err)
		}
		if err := db.DeleteDraft(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetDraft(ctx, "d", now); !errors.Is(err, referral.ErrNotFound) {
			t.Errorf("a deleted draft: %v, want ErrNotFound", err)
		}
		if err := db.DeleteDraft(ctx, "d"); err != nil {
			t.Errorf("deleting a missing draft: %v", err)
		}
	})
}
