package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"familyhelp/staff"
	"familyhelp/store"
)

func account(id, email string) *staff.Account {
	return &staff.Account{ID: id, Email: email, Name: "Name " + id, Role: staff.RoleMember, TeamID: "wv-central",
		PasswordHash: "hash-" + id, CreatedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
}

func TestAccounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b, a := account("b", "b@example.org"), account("a", "a@example.org")
		b.Name = "Zara"
		a.Name = "Ann"
		for _, acct := range []*staff.Account{b, a} {
			if err := db.CreateAccount(ctx, acct); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateAccount(ctx, account("c", "a@example.org")); !errors.Is(err, staff.ErrEmailTaken) {
			t.Errorf("a second account with the same email: %v, want ErrEmailTaken", err)
		}

		got, err := db.AccountByEmail(ctx, "a@example.org")
		if err != nil || got.ID != "a" || got.Role != staff.RoleMember || got.TeamID != "wv-central" ||
			got.PasswordHash != "hash-a" || !got.CreatedAt.Equal(a.CreatedAt) || got.TOTPEnabled || got.Disabled {
			t.Fatalf("AccountByEmail = %+v, %v", got, err)
		}
		if _, err := db.AccountByID(ctx, "nobody"); !errors.Is(err, staff.ErrNotFound) {
			t.Errorf("AccountByID of a missing account: %v, want ErrNotFound", err)
		}

		a.TOTPSealed, a.TOTPEnabled, a.Disabled, a.Role = []byte{0, 1, 2, 255}, true, true, staff.RoleManager
		if err := db.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err = db.AccountByID(ctx, "a")
		if err != nil || !bytes.Equal(got.TOTPSealed, a.TOTPSealed) || !got.TOTPEnabled || !got.Disabled || got.Role != staff.RoleManager {
			t.Errorf("after UpdateAccount: %+v, %v", got, err)
		}
		a.Email = "b@example.org"
		if err := db.UpdateAccount(ctx, a); !errors.Is(err, staff.ErrEmailTaken) {
			t.Errorf("taking another account's email: %v, want ErrEmailTaken", err)
		}
		if err := db.UpdateAccount(ctx, account("nobody", "n@example.org")); !errors.Is(err, staff.ErrNotFound) {
			t.Errorf("updating a missing account: %v, want ErrNotFound", err)
		}

		all, err := db.Accounts(ctx)
		if err != nil || len(all) != 2 || all[0].Name != "Ann" || all[1].Name != "Zara" {
			t.Errorf("Accounts = %v, %v; want Ann then Zara", all, err)
		}
	})
}

func TestTOTPStepWorksOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateAccount(ctx, account("a", "a@example.org")); err != nil {
			t.Fatal(err)
		}
		// Steps are Unix time / 30: larger than 32 bits would be a bug in waiting for 2038.
		const step = int64(1) << 40
		for _, tc := range []struct {
			step int64
			want bool
		}{{step, true}, {step, false}, {step - 1, false}, {step + 1, true}} {
			if ok, err := db.UseTOTPStep(ctx, "a", tc.step); err != nil || ok != tc.want {
				t.Errorf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.want)
			}
		}
	})
}

func TestLinksWorkOnceBeforeExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreateAccount(ctx, account("a", "a@example.org")); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		if err := db.PutLink(ctx, "h1", "a", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.PutLink(ctx, "h2", "a", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if id, err := db.TakeLink(ctx, "h1", now); err != nil || id != "a" {
			t.Errorf("TakeLink = %q, %v; want the account", id, err)
		}
		if _, err := db.TakeLink(ctx, "h1", now); !errors.Is(err, staff.ErrNotFound) {
			t.Errorf("a link used twice: %v, want ErrNotFound", err)
		}
		if _, err := db.TakeLink(ctx, "h2", now.Add(time.Hour)); !errors.Is(err, staff.ErrNotFound) {
			t.Errorf("an expired link: %v, want ErrNotFound", err)
		}
	})
}

func TestSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, a := range []*staff.Account{account("a", "a@example.org"), account("b", "b@example.org")} {
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		sessions := []*staff.Session{
			{IDHash: "a1", AccountID: "a", Created: now, LastSeen: now},
			{IDHash: "a2", AccountID: "a", Created: now, LastSeen: now},
			{IDHash: "b1", AccountID: "b", Created: now, LastSeen: now},
			{IDHash: "idle", AccountID: "b", Created: now, LastSeen: now.Add(-staff.IdleTimeout)},
			{IDHash: "old", AccountID: "b", Created: now.Add(-staff.AbsoluteTimeout), LastSeen: now},
		}
		for _, x := range sessions {
			if err := db.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		x, err := db.Session(ctx, "a1")
		if err != nil || x.AccountID != "a" || !x.Created.Equal(now) || x.Verified {
			t.Fatalf("Session = %+v, %v", x, err)
		}
		x.LastSeen, x.Verified = now.Add(time.Minute), true
		if err := db.UpdateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		if x, err := db.Session(ctx, "a1"); err != nil || !x.Verified || !x.LastSeen.Equal(now.Add(time.Minute)) {
			t.Errorf("after UpdateSession: %+v, %v", x, err)
		}

		if n, err := db.PurgeSessions(ctx, now); err != nil || n != 2 {
			t.Errorf("PurgeSessions = %d, %v; want the idle one and the old one", n, err)
		}
		if err := db.DeleteSession(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAccountSessions(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		for hash, want := range map[string]bool{"a1": false, "a2": true, "b1": false, "idle": false, "old": false} {
			_, err := db.Session(ctx, hash)
			if want && err != nil {
				t.Errorf("session %s: %v, want it kept", hash, err)
			}
			if !want && !errors.Is(err, staff.ErrNotFound) {
				t.Errorf("session %s: %v, want ErrNotFound", hash, err)
			}
		}
	})
}

func TestAuditTrail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		for i, target := range []string{"referral:FH-1", "account:a", "referral:FH-1", "referral:FH-1"} {
			e := staff.Entry{At: at.Add(time.Duration(i) * time.Minute), AccountID: "a", Actor: "Ann", Action: "view", Target: target, Detail: string(rune('A' + i))}
			if err := db.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		trail, err := db.AuditTrail(ctx, "referral:FH-1", 2)
		if err != nil || len(trail) != 2 || trail[0].Detail != "D" || trail[1].Detail != "C" || !trail[0].At.Equal(at.Add(3*time.Minute)) {
			t.Errorf("AuditTrail(FH-1, 2) = %+v, %v; want the newest two, newest first", trail, err)
		}
		if all, err := db.AuditTrail(ctx, "", 10); err != nil || len(all) != 4 || all[3].Target != "referral:FH-1" || all[2].Target != "account:a" {
			t.Errorf("AuditTrail(all) = %+v, %v", all, err)
		}
	})
}
