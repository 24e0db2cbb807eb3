package staff

import (
	"strings"
	"testing"
	"time"
)

func TestPolicy(t *testing.T) {
	accounts := map[string]*Account{
		"admin":          {Role: RoleAdmin},
		"editor":         {Role: RoleEditor},
		"member A":       {Role: RoleMember, TeamID: "a"},
		"manager A":      {Role: RoleManager, TeamID: "a"},
		"manager B":      {Role: RoleManager, TeamID: "b"},
		"disabled":       {Role: RoleManager, TeamID: "a", Disabled: true},
		"member no team": {Role: RoleMember},
	}
	cases := []struct {
		action Action
		team   string
		allow  []string
	}{
		{ViewReferrals, "a", []string{"member A", "manager A"}},
		{WorkReferral, "a", []string{"member A", "manager A"}},
		{TransferReferral, "a", []string{"manager A"}},
		{ViewReferrals, "b", []string{"manager B"}},
		{ViewReferrals, "", nil},
		{EditListings, "", []string{"admin", "editor"}},
		{ManageAccounts, "", []string{"admin"}},
		{ManageSettings, "", []string{"admin"}},
		{ViewOutbox, "a", []string{"admin", "member A", "manager A"}},
	}
	for _, c := range cases {
		for name, a := range accounts {
			want := false
			for _, n := range c.allow {
				want = want || n == name
			}
			if got := Can(a, c.action, c.team); got != want {
				t.Errorf("Can(%s, %s, %q) = %v, want %v", name, c.action, c.team, got, want)
			}
		}
	}
	if Can(nil, ViewReferrals, "a") {
		t.Error("nobody signed in may see referrals")
	}
}

func TestPasswords(t *testing.T) {
	for pw, want := range map[string]error{
		"short":                       ErrPasswordShort,
		"password1234":                ErrPasswordCommon,
		"Password1234!":               ErrPasswordCommon,
		"qwertyuiopasdfgh":            nil,
		"1q2w3e4r5t6y":                ErrPasswordCommon,
		"abababababab":                ErrPasswordCommon,
		"correct horse battery":       nil,
		strings.Repeat("x", 300):      ErrPasswordLong,
		"Tea at the Wellbeing Café 7": nil,
	} {
		if got := CheckPassword(pw); got != want {
			t.Errorf("CheckPassword(%q) = %v, want %v", pw, got, want)
		}
	}
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the expected parameters", h)
	}
	if !VerifyPassword(h, "correct horse battery") || VerifyPassword(h, "correct horse batterY") {
		t.Error("VerifyPassword does not tell the right password from a wrong one")
	}
	if h == HashPassword("correct horse battery") {
		t.Error("two hashes of one password are equal: no salt")
	}
	if VerifyPassword("", "anything") || VerifyPassword("$argon2id$v=19$m=999999999,t=2,p=1$AAAA$AAAA", "x") {
		t.Error("an empty or hostile hash verified")
	}
}

func TestSessionLimits(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := Session{Created: start, LastSeen: start}
	if s.Expired(start.Add(29 * time.Minute)) {
		t.Error("expired after 29 idle minutes")
	}
	if !s.Expired(start.Add(30 * time.Minute)) {
		t.Error("not expired after 30 idle minutes")
	}
	s.LastSeen = start.Add(12*time.Hour - time.Minute)
	if !s.Expired(start.Add(12 * time.Hour)) {
		t.Error("not expired after 12 hours in use")
	}
}
