package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"familyhelp/referral"
	"familyhelp/staff"
	"familyhelp/store"
)

var inboxStart = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// addReferral stores a referral made minutes after inboxStart, with one notification to its
// team.
func addReferral(t *testing.T, db *store.DB, ref, team string, also []string, urgent bool, minutes int, needs ...referral.Need) {
	t.Helper()
	rec := referral.Record{Reference: ref, Key: "draft-" + ref, TeamID: team, AlsoTeams: also, Urgent: urgent,
		CreatedAt: inboxStart.Add(time.Duration(minutes) * time.Minute), Needs: needs, Sealed: []byte("sealed " + ref)}
	out := []referral.Outgoing{{Key: ref + "/team/" + team, Kind: referral.KindTeam, TeamID: team, Sealed: []byte("letter " + ref)}}
	if _, created, err := db.CreateReferral(context.Background(), rec, out); err != nil || !created {
		t.Fatalf("create %s: %v, %v", ref, created, err)
	}
}

func references(recs []referral.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Reference)
	}
	return out
}

func TestTeamReferrals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addReferral(t, db, "FH-OLD", "wv-central", nil, false, 1, referral.NeedParenting)
		addReferral(t, db, "FH-NEW", "wv-central", nil, false, 5, referral.NeedMoney, referral.NeedParenting)
		addReferral(t, db, "FH-URGENT", "wv-central", nil, true, 9, referral.NeedDomesticAbuse)
		addReferral(t, db, "FH-JOINED", "wv-east", []string{"domestic-abuse", "wv-central"}, false, 2, referral.NeedDomesticAbuse)
		addReferral(t, db, "FH-OTHER", "wv-east", []string{"wv-central-2"}, false, 3, referral.NeedMoney)
		if err := db.SetReferralStatus(ctx, "FH-OLD", referral.StatusNew, referral.StatusClosed, "helped", inboxStart.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name string
			team string
			f    staff.InboxFilter
			want []string
		}{
			{"open ones, urgent first then oldest, joined ones too", "wv-central", staff.InboxFilter{}, []string{"FH-URGENT", "FH-JOINED", "FH-NEW"}},
			{"closed only when asked", "wv-central", staff.InboxFilter{Status: referral.StatusClosed}, []string{"FH-OLD"}},
			{"by need", "wv-central", staff.InboxFilter{Need: referral.NeedMoney}, []string{"FH-NEW"}},
			{"limit", "wv-central", staff.InboxFilter{Limit: 1}, []string{"FH-URGENT"}},
			{"a team name inside another is not that team", "wv-central-2", staff.InboxFilter{}, []string{"FH-OTHER"}},
			{"a joining team", "domestic-abuse", staff.InboxFilter{}, []string{"FH-JOINED"}},
			{"no such team", "nobody", staff.InboxFilter{}, nil},
		}
		for _, tc := range cases {
			got, err := db.TeamReferrals(ctx, tc.team, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(references(got), tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, references(got), tc.want)
			}
			for _, r := range got {
				if r.Sealed != nil {
					t.Errorf("%s: the inbox read %s's sealed contents", tc.name, r.Reference)
				}
			}
		}
		got, _ := db.TeamReferrals(ctx, "wv-central", staff.InboxFilter{})
		if len(got) == 3 && (!got[0].Urgent || !slices.Equal(got[2].Needs, []referral.Need{referral.NeedMoney, referral.NeedParenting}) ||
			!got[1].CreatedAt.Equal(inboxStart.Add(2*time.Minute)) || got[1].Status != referral.StatusNew) {
			t.Errorf("rows read back wrong: %+v", got)
		}
	})
}

func TestReferralStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addReferral(t, db, "FH-A", "wv-central", nil, false, 0)
		at := inboxStart.Add(time.Hour)
		if err := db.SetReferralStatus(ctx, "FH-A", referral.StatusNew, referral.StatusAcknowledged, "", at); err != nil {
			t.Fatal(err)
		}
		// Someone who still saw it as new is too late.
		if err := db.SetReferralStatus(ctx, "FH-A", referral.StatusNew, referral.StatusContacted, "", at); !errors.Is(err, staff.ErrConflict) {
			t.Errorf("a change from a status it no longer has: %v, want ErrConflict", err)
		}
		if err := db.SetReferralStatus(ctx, "FH-A", referral.StatusAcknowledged, referral.StatusClosed, "helped", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		rec, err := db.Referral(ctx, "FH-A")
		if err != nil || rec.Status != referral.StatusClosed || rec.Outcome != "helped" ||
			!rec.ClosedAt.Equal(at.Add(time.Hour)) || !rec.UpdatedAt.Equal(at.Add(time.Hour)) {
			t.Errorf("after closing: %+v, %v", rec, err)
		}
		if _, err := db.Referral(ctx, "FH-NONE"); !errors.Is(err, referral.ErrNotFound) {
			t.Errorf("a missing referral: %v, want ErrNotFound", err)
		}
	})
}

func TestTransferAndNotes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addReferral(t, db, "FH-A", "wv-central", nil, false, 0)
		at := inboxStart.Add(time.Hour)
		if err := db.AddNote(ctx, "FH-A", staff.Note{AccountID: "a", Actor: "Ann", Kind: "note", At: at, Sealed: []byte("n1")}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetReferralStatus(ctx, "FH-A", referral.StatusNew, referral.StatusContacted, "", at); err != nil {
			t.Fatal(err)
		}
		why := staff.Note{AccountID: "m", Actor: "Manager", Kind: "transfer", At: at.Add(time.Minute), Sealed: []byte("n2")}
		out := []referral.Outgoing{{Key: "FH-A/transfer/wv-east", Kind: referral.KindTeam, TeamID: "wv-east", Sealed: []byte("letter")}}
		if err := db.TransferReferral(ctx, "FH-A", "wv-east", "walsall", at, why, out); !errors.Is(err, staff.ErrConflict) {
			t.Errorf("a transfer from a team that does not have it: %v, want ErrConflict", err)
		}
		if err := db.TransferReferral(ctx, "FH-A", "wv-central", "wv-east", at.Add(time.Minute), why, out); err != nil {
			t.Fatal(err)
		}
		rec, err := db.Referral(ctx, "FH-A")
		if err != nil || rec.TeamID != "wv-east" || rec.Status != referral.StatusNew {
			t.Errorf("after the transfer: %+v, %v; want wv-east's, new again", rec, err)
		}
		notes, err := db.Notes(ctx, "FH-A")
		if err != nil || len(notes) != 2 || string(notes[0].Sealed) != "n1" || notes[1].Kind != "transfer" ||
			notes[1].Actor != "Manager" || !notes[1].At.Equal(at.Add(time.Minute)) {
			t.Errorf("notes %+v, %v; want the note then the transfer's", notes, err)
		}
		east, err := db.OutboxFor(ctx, "wv-east", 10)
		if err != nil || len(east) != 1 || east[0].Reference != "FH-A" || east[0].Sent || east[0].GaveUp {
			t.Errorf("wv-east's notifications %+v, %v; want the transfer's", east, err)
		}
		// The old team no longer has the referral, so it no longer sees its notifications.
		if central, err := db.OutboxFor(ctx, "wv-central", 10); err != nil || len(central) != 0 {
			t.Errorf("wv-central's notifications %+v, %v; want none", central, err)
		}
		if all, err := db.Outbox(ctx, 10); err != nil || len(all) != 2 || all[0].TeamID != "wv-east" {
			t.Errorf("every notification %+v, %v; want both, newest first", all, err)
		}
	})
}

func TestPurgeClosedReferrals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addReferral(t, db, "FH-OLD", "wv-central", nil, false, 0, referral.NeedMoney)
		addReferral(t, db, "FH-RECENT", "wv-central", nil, false, 1)
		addReferral(t, db, "FH-OPEN", "wv-central", nil, false, 2)
		for ref, closed := range map[string]time.Time{"FH-OLD": inboxStart.AddDate(0, 0, 1), "FH-RECENT": inboxStart.AddDate(0, 0, 10)} {
			if err := db.SetReferralStatus(ctx, ref, referral.StatusNew, referral.StatusClosed, "helped", closed); err != nil {
				t.Fatal(err)
			}
			if err := db.AddNote(ctx, ref, staff.Note{AccountID: "a", Actor: "Ann", Kind: "note", At: closed, Sealed: []byte("note")}); err != nil {
				t.Fatal(err)
			}
		}
		now := inboxStart.AddDate(0, 0, 20)
		refs, err := db.PurgeClosedReferrals(ctx, inboxStart.AddDate(0, 0, 5), now)
		if err != nil || !slices.Equal(refs, []string{"FH-OLD"}) {
			t.Fatalf("purged %v, %v; want FH-OLD", refs, err)
		}
		rec, err := db.Referral(ctx, "FH-OLD")
		if err != nil || !rec.Purged || len(rec.Sealed) != 0 || len(rec.Needs) != 0 || rec.Outcome != "" ||
			rec.TeamID != "wv-central" || rec.Status != referral.StatusClosed {
			t.Errorf("purged referral %+v, %v; want its reference, team and status only", rec, err)
		}
		if notes, _ := db.Notes(ctx, "FH-OLD"); len(notes) != 0 {
			t.Errorf("a purged referral keeps %d notes", len(notes))
		}
		// Its notification is still listed (for the record) but its sealed letter is gone.
		pending, err := db.ClaimOutbox(ctx, now, time.Minute, 10)
		if err != nil || len(pending) != 3 {
			t.Fatalf("claimed %d notifications, %v", len(pending), err)
		}
		for _, p := range pending {
			if want := p.Key != "FH-OLD/team/wv-central"; (len(p.Sealed) > 0) != want {
				t.Errorf("notification %s sealed = %q", p.Key, p.Sealed)
			}
		}
		for _, ref := range []string{"FH-RECENT", "FH-OPEN"} {
			if rec, err := db.Referral(ctx, ref); err != nil || rec.Purged || len(rec.Sealed) == 0 {
				t.Errorf("%s: %+v, %v; want it kept whole", ref, rec, err)
			}
		}
		if again, err := db.PurgeClosedReferrals(ctx, inboxStart.AddDate(0, 0, 5), now); err != nil || len(again) != 0 {
			t.Errorf("purging again: %v, %v; want nothing", again, err)
		}
	})
}
