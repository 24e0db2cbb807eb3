package handlers_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"familyhelp/handlers"
	"familyhelp/internal/testsvc"
	"familyhelp/ratelimit/redisrate"
	"familyhelp/referral"
	"familyhelp/secret"
	"familyhelp/staff"
	"familyhelp/staff/redissessions"
)

// staffSite is the site with the staff portal, a clock the tests can move, and accounts.
type staffSite struct {
	*site
	portal *staff.Portal
	now    time.Time
	pw     map[string]string // email → password
}

func newStaffSite(t *testing.T) *staffSite {
	t.Helper()
	s := &staffSite{site: newSite(t, false), now: time.Now().UTC(), pw: map[string]string{}}
	key, _ := secret.Parse(strings.Repeat("a1", 32))
	clock := func() time.Time { return s.now }
	s.portal = &staff.Portal{Store: s.db, Sessions: s.db, Sealer: key.Box("totp"), Issuer: "Family Help", Now: clock}
	s.srv.StaffPortal = s.portal
	s.srv.StaffInbox = &staff.Inbox{Store: s.db, Referrals: s.referral, Notes: key.Box("notes"), Audit: s.db, Routing: s.referral.Routing}
	s.srv.StaffAdmin = s.db
	s.srv.BaseURL = "https://familyhelp.example.org"
	app, err := s.srv.App()
	if err != nil {
		t.Fatal(err)
	}
	s.app = app
	for _, a := range []struct {
		email string
		role  staff.Role
		team  string
	}{
		{"admin@example.org", staff.RoleAdmin, ""},
		{"editor@example.org", staff.RoleEditor, ""},
		{"member-a@example.org", staff.RoleMember, "wv-central"},
		{"manager-a@example.org", staff.RoleManager, "wv-central"},
		{"member-b@example.org", staff.RoleMember, "ws-central"},
		{"manager-b@example.org", staff.RoleManager, "ws-central"},
		{"da@example.org", staff.RoleMember, "domestic-abuse"},
	} {
		acct, link, err := s.portal.NewAccount(context.Background(), a.email, "Staff "+a.email[:strings.Index(a.email, "@")], a.role, a.team)
		if err != nil {
			t.Fatal(err)
		}
		pw := "long enough pass " + acct.ID[:6]
		if _, err := s.portal.SetPassword(context.Background(), link, pw); err != nil {
			t.Fatal(err)
		}
		s.pw[a.email] = pw
	}
	return s
}

// submit sends a complete referral for a postcode and returns its reference.
func (s *staffSite) submit(t *testing.T, postcode string, needs ...referral.Need) string {
	t.Helper()
	age := 6
	d := s.referral.NewDraft()
	d.Referral = referral.Referral{Asker: referral.AskerSelf, Danger: "no", Needs: needs, Story: "Secret story " + postcode,
		Adult: referral.Adult{Name: "Pat Example"}, Children: []referral.Child{{Name: "Lee", Age: &age}}, Postcode: postcode,
		NoNetwork: true, Contact: referral.Contact{Safe: []referral.Method{referral.ByText}, Phone: "07700900123", SayWhoWeAre: "no"}, Consent: true}
	d, err := s.referral.Submit(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return d.Reference
}

// signIn signs a browser in as email.
func (s *staffSite) signIn(t *testing.T, email string) *browser {
	t.Helper()
	b := s.browser(t)
	b.get("/staff/login")
	p := b.post("/staff/login", vals("email", email, "password", s.pw[email]))
	if p.status != http.StatusOK || !p.has("Signed in as") {
		t.Fatalf("sign in as %s: %d %q", email, p.status, p.title())
	}
	return b
}

func TestStaffSignIn(t *testing.T) {
	s := newStaffSite(t)
	b := s.browser(t)
	b.get("/staff/login")
	wrong := b.post("/staff/login", vals("email", "member-a@example.org", "password", "not the password"))
	b.get("/staff/login")
	unknown := b.post("/staff/login", vals("email", "nobody@example.org", "password", "not the password"))
	for _, p := range []page{wrong, unknown} {
		if p.status != http.StatusUnauthorized || !p.has("Enter a correct email address and password") {
			t.Errorf("failed sign-in: %d %q", p.status, errorsIn(p))
		}
	}
	if errorsIn(wrong) != errorsIn(unknown) {
		t.Error("a wrong password and an unknown email get different messages")
	}

	// Fixation: a session token planted before sign-in is not the one used after.
	b.cookies["__Host-fh_staff"] = "planted-by-someone-else"
	b.setCookies = nil
	b.get("/staff/login")
	p := b.post("/staff/login", vals("email", "member-a@example.org", "password", s.pw["member-a@example.org"]))
	if !p.has("Signed in as Staff member-a") {
		t.Fatalf("sign in: %q", p.title())
	}
	token := b.cookies["__Host-fh_staff"]
	if token == "" || token == "planted-by-someone-else" {
		t.Fatal("the session token was not replaced at sign-in")
	}
	for _, c := range b.setCookies {
		if c.Name == "__Host-fh_staff" && c.Value != "" && (!c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || !c.Expires.IsZero()) {
			t.Errorf("session cookie %+v: want __Host-, Secure, HttpOnly, Lax, path /, a session cookie", c)
		}
	}

	// Idle for 30 minutes: signed out.
	s.now = s.now.Add(31 * time.Minute)
	if p := b.get("/staff/referrals"); !p.has("Sign in") || p.has("Signed in as") {
		t.Errorf("after 31 idle minutes: %q, want the sign-in page", p.title())
	}
	// Twelve hours in use: signed out however busy.
	b = s.signIn(t, "member-a@example.org")
	for range 25 {
		s.now = s.now.Add(29 * time.Minute)
		b.get("/staff/referrals")
	}
	if p := b.get("/staff/referrals"); p.has("Signed in as") {
		t.Error("still signed in after 12 hours")
	}

	// Signing out ends the session on the server: the old token no longer works.
	b = s.signIn(t, "member-a@example.org")
	old := b.cookies["__Host-fh_staff"]
	b.get("/staff")
	b.post("/staff/logout", vals())
	c := s.browser(t)
	c.cookies["__Host-fh_staff"] = old
	if p := c.get("/staff/referrals"); p.has("Signed in as") {
		t.Error("the session still works after signing out")
	}
}

func TestStaffFormsNeedCSRF(t *testing.T) {
	s := newStaffSite(t)
	b := s.signIn(t, "admin@example.org")
	b.get("/staff/accounts")
	p := b.do(http.MethodPost, "/staff/accounts", vals("email", "x@example.org", "name", "X", "role", "editor"))
	if p.status != http.StatusForbidden {
		t.Errorf("a post without a token: %d, want 403", p.status)
	}
	if accts, _ := s.db.Accounts(context.Background()); len(accts) != 7 {
		t.Errorf("%d accounts after a forged post, want 7", len(accts))
	}
}

var requestIDLine = regexp.MustCompile(`quote this reference: [0-9a-f]+|name="_csrf" value="[^"]*"`)

// Every role × every staff route × a referral of their own team or another's: nobody sees
// another team's referral, and what they get is exactly what a made-up reference gets.
func TestStaffAccessMatrix(t *testing.T) {
	s := newStaffSite(t)
	refA := s.submit(t, "WV1 1AA", referral.NeedMoney)                              // wv-central
	refDA := s.submit(t, "WV1 2AA", referral.NeedDomesticAbuse, referral.NeedMoney) // wv-central + domestic-abuse
	const nowhere = "FH-2222-2222"
	roles := []string{"admin@example.org", "editor@example.org", "member-a@example.org", "manager-a@example.org", "member-b@example.org", "manager-b@example.org", "da@example.org"}
	sees := map[string]map[string]bool{
		"member-a@example.org":  {refA: true, refDA: true},
		"manager-a@example.org": {refA: true, refDA: true},
		"da@example.org":        {refDA: true},
	}
	for _, email := range roles {
		b := s.signIn(t, email)
		for _, ref := range []string{refA, refDA} {
			own := b.get("/staff/referrals/" + ref)
			missing := b.get("/staff/referrals/" + nowhere)
			if sees[email][ref] {
				if own.status != http.StatusOK || !own.has("Secret story") {
					t.Errorf("%s cannot open %s, routed to their team: %d", email, ref, own.status)
				}
				continue
			}
			if own.status != http.StatusNotFound || own.has("Secret story") {
				t.Errorf("%s opened %s of another team: %d", email, ref, own.status)
			}
			if requestIDLine.ReplaceAllString(own.body, "") != requestIDLine.ReplaceAllString(missing.body, "") || own.status != missing.status {
				t.Errorf("%s can tell another team's referral from a made-up one", email)
			}
			// Nor can they change it.
			for _, path := range []string{"/notes", "/status", "/transfer"} {
				b.get("/staff")
				p := b.post("/staff/referrals/"+ref+path, vals("note", "x", "status", "acknowledged", "team", "ws-central", "reason", "x"))
				if p.status != http.StatusNotFound {
					t.Errorf("%s posted %s to %s of another team: %d", email, path, ref, p.status)
				}
			}
		}
		// The inbox lists only their team's.
		inbox := b.get("/staff/referrals")
		for _, ref := range []string{refA, refDA} {
			if inbox.has(ref) != sees[email][ref] {
				t.Errorf("%s's inbox lists %s: %v, want %v (status %d)", email, ref, inbox.has(ref), sees[email][ref], inbox.status)
			}
		}
		// Admin pages for the admin only.
		acc := b.get("/staff/accounts")
		if (acc.status == http.StatusOK) != (email == "admin@example.org") {
			t.Errorf("%s: /staff/accounts %d", email, acc.status)
		}
	}
	// The joining team may not transfer; only the owning team's manager may.
	b := s.signIn(t, "da@example.org")
	if p := b.get("/staff/referrals/" + refDA); p.has("Send to another team") {
		t.Error("a joining team's member is offered the transfer")
	}
	b = s.signIn(t, "member-a@example.org")
	b.get("/staff")
	if p := b.post("/staff/referrals/"+refA+"/transfer", vals("team", "ws-central", "reason", "Moved")); p.status != http.StatusNotFound {
		t.Errorf("a member transferred a referral: %d", p.status)
	}
}

func TestWorkingAReferral(t *testing.T) {
	s := newStaffSite(t)
	ref := s.submit(t, "WV1 1AA", referral.NeedHousing)
	b := s.signIn(t, "manager-a@example.org")
	p := b.get("/staff/referrals/" + ref)
	if !p.has("Do not use") || !p.has("Contact only by: Text message") || !p.has("do not say who you are") {
		t.Error("the safe-contact preferences are not at the top of the referral")
	}
	// Every view is in the audit trail, without the contents.
	trail, _ := s.db.AuditTrail(context.Background(), "referral:"+ref, 10)
	if len(trail) != 1 || trail[0].Action != "viewed referral" || strings.Contains(trail[0].Detail, "Secret") {
		t.Errorf("audit trail %+v", trail)
	}
	p = b.post("/staff/referrals/"+ref+"/notes", vals("note", "Called back, left no message"))
	if !p.has("Called back, left no message") {
		t.Error("the note is not shown")
	}
	p = b.post("/staff/referrals/"+ref+"/status", vals("status", "contacted"))
	if !p.has("Status: <strong>Contacted") && !p.has("Status: Contacted") {
		t.Errorf("status after change: %s", errorsIn(p))
	}
	p = b.post("/staff/referrals/"+ref+"/status", vals("status", "acknowledged"))
	if !strings.Contains(errorsIn(p), "can only move on") {
		t.Errorf("moving back: %s", errorsIn(p))
	}
	p = b.post("/staff/referrals/"+ref+"/status", vals("status", "closed"))
	if !strings.Contains(errorsIn(p), "Choose the outcome") {
		t.Errorf("closing without an outcome: %s", errorsIn(p))
	}
	// Transfer: it leaves this inbox, reaches the other team's, and that team is emailed.
	p = b.post("/staff/referrals/"+ref+"/transfer", vals("team", "ws-central", "reason", "They moved to Walsall"))
	if p.has(ref) {
		t.Error("the transferred referral is still in the first team's inbox")
	}
	other := s.signIn(t, "member-b@example.org")
	if p := other.get("/staff/referrals"); !p.has(ref) {
		t.Error("the transferred referral is not in the new team's inbox")
	}
	if p := other.get("/staff/referrals/" + ref); !p.has("They moved to Walsall") {
		t.Error("the new team cannot see why it came to them")
	}
	entries, _ := s.db.Outbox(context.Background(), 10)
	if len(entries) == 0 || entries[0].TeamID != "ws-central" {
		t.Errorf("outbox %+v: want a notification to the new team", entries)
	}
	rec, _ := s.db.Referral(context.Background(), ref)
	if rec.Status != referral.StatusNew || rec.TeamID != "ws-central" {
		t.Errorf("after transfer: %+v", rec)
	}
}

func TestTwoStepSignIn(t *testing.T) {
	s := newStaffSite(t)
	b := s.signIn(t, "member-a@example.org")
	p := b.get("/staff/account/two-step")
	m := regexp.MustCompile(`<code class="fh-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("no key shown to set up two-step sign-in")
	}
	p = b.post("/staff/account/two-step", vals("code", "000000"))
	if !strings.Contains(errorsIn(p), "code is not right") {
		t.Errorf("a wrong code: %s", errorsIn(p))
	}
	m = regexp.MustCompile(`<code class="fh-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(p.body)
	code, _ := totp.GenerateCode(m[1], s.now)
	if p = b.post("/staff/account/two-step", vals("code", code)); !p.has("Signed in as") {
		t.Fatalf("turning on two-step: %q %s", p.title(), errorsIn(p))
	}
	// Next sign-in asks for a code before anything else.
	c := s.browser(t)
	c.get("/staff/login")
	p = c.post("/staff/login", vals("email", "member-a@example.org", "password", s.pw["member-a@example.org"]))
	if !p.has("Enter your security code") {
		t.Fatalf("after the password: %q, want the code page", p.title())
	}
	if p := c.get("/staff/referrals"); !p.has("Enter your security code") {
		t.Error("the inbox opened before the code was given")
	}
	p = c.post("/staff/login/code", vals("code", "123456"))
	if p.status != http.StatusUnauthorized {
		t.Errorf("a wrong code: %d", p.status)
	}
	// The code used to turn it on cannot be used again: each code signs in once.
	code, _ = totp.GenerateCode(m[1], s.now)
	if p = c.post("/staff/login/code", vals("code", code)); p.status != http.StatusUnauthorized {
		t.Errorf("a code used before: %d %q", p.status, p.title())
	}
	s.now = s.now.Add(30 * time.Second)
	code, _ = totp.GenerateCode(m[1], s.now)
	before := c.cookies["__Host-fh_staff"]
	if p = c.post("/staff/login/code", vals("code", code)); !p.has("Referrals for") {
		t.Errorf("the right code: %d %q", p.status, p.title())
	}
	if c.cookies["__Host-fh_staff"] == before {
		t.Error("the session token was not replaced after the second factor")
	}
	if p = c.get("/staff/login/code"); p.has("Enter your security code") {
		t.Error("the code page still asks after the code was given")
	}
	// A wrong code from a signed-in person does not turn it off, nor does the set-up page
	// replace the secret.
	c.get("/staff/account/two-step")
	c.post("/staff/account/two-step", vals("code", "000000"))
	if a, _ := s.db.AccountByEmail(context.Background(), "member-a@example.org"); !a.TOTPEnabled {
		t.Fatal("a wrong code on the set-up page turned two-step sign-in off")
	}

	// An admin requires it for everyone: an account without it must set it up first, even
	// one signed in before.
	early := s.signIn(t, "member-b@example.org")
	admin := s.signIn(t, "admin@example.org")
	admin.get("/staff/accounts")
	admin.post("/staff/settings/two-step", vals("require", "yes"))
	d := s.browser(t)
	d.get("/staff/login")
	if p := d.post("/staff/login", vals("email", "member-b@example.org", "password", s.pw["member-b@example.org"])); !p.has("Set up two-step sign-in") {
		t.Errorf("with two-step required: %q, want the set-up page", p.title())
	}
	if p := d.get("/staff/referrals"); !p.has("Set up two-step sign-in") {
		t.Error("the inbox opened without the required second factor")
	}
	if p := early.get("/staff/referrals"); !p.has("Set up two-step sign-in") {
		t.Error("a session from before the requirement still opens the inbox")
	}
	// Loading the set-up page again shows the same key: one already scanned keeps working.
	k1 := regexp.MustCompile(`<code class="fh-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(d.get("/staff/account/two-step").body)
	k2 := regexp.MustCompile(`<code class="fh-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(d.get("/staff/account/two-step").body)
	if k1 == nil || k2 == nil || k1[1] != k2[1] {
		t.Error("loading the set-up page again changed the key")
	}
}

func TestAccountsAndOneTimeLinks(t *testing.T) {
	s := newStaffSite(t)
	b := s.signIn(t, "admin@example.org")
	b.get("/staff/accounts")
	p := b.post("/staff/accounts", vals("email", "new@example.org", "name", "New Person", "role", "member"))
	if !strings.Contains(errorsIn(p), "need a team") {
		t.Errorf("a member without a team: %s", errorsIn(p))
	}
	p = b.post("/staff/accounts", vals("email", "new@example.org", "name", "New Person", "role", "member", "team", "ws-north"))
	link := regexp.MustCompile(`https://familyhelp\.example\.org/staff/set-password\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatalf("no one-time link shown: %s", errorsIn(p))
	}
	n := s.browser(t)
	n.get("/staff/set-password?token=" + link[1])
	p = n.post("/staff/set-password", vals("token", link[1], "password", "password1234", "confirm", "password1234"))
	if !strings.Contains(errorsIn(p), "too common") {
		t.Errorf("a common password: %s", errorsIn(p))
	}
	p = n.post("/staff/set-password", vals("token", link[1], "password", "three quiet herons", "confirm", "three quiet herons"))
	if !p.has("Your password is set") {
		t.Fatalf("setting the password: %s", errorsIn(p))
	}
	n.get("/staff/set-password?token=" + link[1])
	if p = n.post("/staff/set-password", vals("token", link[1], "password", "another fine password", "confirm", "another fine password")); !strings.Contains(errorsIn(p), "expired or has been used") {
		t.Errorf("the link used twice: %s", errorsIn(p))
	}
	n.get("/staff/login")
	if p = n.post("/staff/login", vals("email", "new@example.org", "password", "three quiet herons")); !p.has("Signed in as New Person") {
		t.Errorf("sign in with the new password: %q", p.title())
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	s := newStaffSite(t)
	b := s.browser(t)
	for range handlers.LoginPerAccount.Burst {
		b.get("/staff/login")
		b.post("/staff/login", vals("email", "member-a@example.org", "password", "guess guess guess"))
	}
	b.get("/staff/login")
	p := b.post("/staff/login", vals("email", "member-a@example.org", "password", s.pw["member-a@example.org"]))
	if p.has("Signed in as") || !p.has("Too many attempts") {
		t.Errorf("after %d wrong passwords the right one still signs in at once: %q", handlers.LoginPerAccount.Burst, p.title())
	}
}

func TestRetentionPurge(t *testing.T) {
	s := newStaffSite(t)
	ref := s.submit(t, "WV1 1AA", referral.NeedMoney)
	b := s.signIn(t, "member-a@example.org")
	b.get("/staff/referrals/" + ref)
	b.post("/staff/referrals/"+ref+"/notes", vals("note", "Private note"))
	b.post("/staff/referrals/"+ref+"/status", vals("status", "closed", "outcome", referral.Outcomes[0]))
	ctx := context.Background()
	if refs, _ := s.db.PurgeClosedReferrals(ctx, time.Now().Add(-time.Hour), time.Now()); len(refs) != 0 {
		t.Fatalf("purged %v closed only now", refs)
	}
	refs, err := s.db.PurgeClosedReferrals(ctx, time.Now().Add(time.Hour), time.Now())
	if err != nil || len(refs) != 1 || refs[0] != ref {
		t.Fatalf("purge = %v, %v", refs, err)
	}
	p := b.get("/staff/referrals/" + ref)
	if p.status != http.StatusOK || p.has("Secret story") || p.has("Private note") || !p.has("its details have been deleted") {
		t.Errorf("a purged referral's page: %d", p.status)
	}
	rec, _ := s.db.Referral(ctx, ref)
	notes, _ := s.db.Notes(ctx, ref)
	if len(rec.Sealed) != 0 || len(rec.Needs) != 0 || rec.Outcome != "" || len(notes) != 0 {
		t.Errorf("after the purge: sealed %d bytes, needs %v, outcome %q, %d notes; want none", len(rec.Sealed), rec.Needs, rec.Outcome, len(notes))
	}
	trail, _ := s.db.AuditTrail(ctx, "referral:"+ref, 20)
	for _, e := range trail {
		if strings.Contains(e.Detail, "Secret") || strings.Contains(e.Detail, "Private") {
			t.Errorf("the audit trail holds contents: %+v", e)
		}
	}
}

// A joining team reads a referral and adds notes, but the owning team moves its work on; the
// notes are sealed in the database.
func TestJoiningTeam(t *testing.T) {
	s := newStaffSite(t)
	ref := s.submit(t, "WV1 1AA", referral.NeedDomesticAbuse)
	da := s.signIn(t, "da@example.org")
	if p := da.get("/staff/referrals/" + ref); p.has("Update status") || !p.has("Add a note") {
		t.Error("a joining team is offered the status, or not offered notes")
	}
	da.get("/staff/referrals/" + ref)
	if p := da.post("/staff/referrals/"+ref+"/status", vals("status", "closed", "outcome", referral.Outcomes[0])); p.status != http.StatusNotFound {
		t.Errorf("a joining team changed the status: %d", p.status)
	}
	if rec, _ := s.db.Referral(context.Background(), ref); rec.Status != referral.StatusNew {
		t.Errorf("status %s after a joining team's attempt", rec.Status)
	}
	da.get("/staff/referrals/" + ref)
	da.post("/staff/referrals/"+ref+"/notes", vals("note", "Specialist worker allocated, Zanzibar"))
	notes, _ := s.db.Notes(context.Background(), ref)
	if len(notes) != 1 || strings.Contains(string(notes[0].Sealed), "Zanzibar") {
		t.Errorf("notes %d; the note must be stored sealed", len(notes))
	}
}

func TestAdminAccountActions(t *testing.T) {
	s := newStaffSite(t)
	ctx := context.Background()
	member := s.signIn(t, "member-a@example.org")
	acct, _ := s.db.AccountByEmail(ctx, "member-a@example.org")
	admin := s.signIn(t, "admin@example.org")
	act := func(action string) page {
		admin.get("/staff/accounts")
		return admin.post("/staff/accounts/"+acct.ID+"/"+action, vals())
	}
	act("disable")
	if p := member.get("/staff/referrals"); p.has("Referrals for") {
		t.Error("a turned-off account's session still works")
	}
	b := s.browser(t)
	b.get("/staff/login")
	if p := b.post("/staff/login", vals("email", "member-a@example.org", "password", s.pw["member-a@example.org"])); p.has("Referrals for") || p.status != http.StatusUnauthorized {
		t.Errorf("a turned-off account signed in: %d", p.status)
	}
	act("enable")
	member = s.signIn(t, "member-a@example.org")
	p := act("new-link")
	link := regexp.MustCompile(`/staff/set-password\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatal("no new password link shown")
	}
	if p := member.get("/staff/referrals"); p.has("Referrals for") {
		t.Error("a new password link left the old session signed in")
	}
	admin.get("/staff/accounts")
	self, _ := s.db.AccountByEmail(ctx, "admin@example.org")
	if p := admin.post("/staff/accounts/"+self.ID+"/disable", vals()); !strings.Contains(errorsIn(p), "your own account") {
		t.Errorf("an admin turned off their own account: %s", errorsIn(p))
	}
	trail, _ := s.db.AuditTrail(ctx, "account:"+acct.ID, 20)
	if len(trail) < 3 {
		t.Errorf("audit trail for the account: %+v", trail)
	}
	// Nobody else may do any of it.
	for _, email := range []string{"editor@example.org", "manager-a@example.org"} {
		o := s.signIn(t, email)
		o.get("/staff")
		if p := o.post("/staff/accounts/"+acct.ID+"/disable", vals()); p.status != http.StatusNotFound {
			t.Errorf("%s turned an account off: %d", email, p.status)
		}
	}
}

// Every state-changing staff route refuses a post without the form's token, and changes
// nothing.
func TestEveryStaffPostNeedsCSRF(t *testing.T) {
	s := newStaffSite(t)
	ref := s.submit(t, "WV1 1AA", referral.NeedMoney)
	member, _ := s.db.AccountByEmail(context.Background(), "member-b@example.org")
	cases := []struct{ who, path string }{
		{"manager-a@example.org", "/staff/referrals/" + ref + "/notes"},
		{"manager-a@example.org", "/staff/referrals/" + ref + "/status"},
		{"manager-a@example.org", "/staff/referrals/" + ref + "/transfer"},
		{"admin@example.org", "/staff/accounts"},
		{"admin@example.org", "/staff/settings/two-step"},
		{"admin@example.org", "/staff/accounts/" + member.ID + "/disable"},
		{"manager-a@example.org", "/staff/account/two-step"},
		{"manager-a@example.org", "/staff/logout"},
	}
	for _, c := range cases {
		b := s.signIn(t, c.who)
		p := b.do(http.MethodPost, c.path, vals("note", "x", "status", "acknowledged", "team", "ws-central", "reason", "x",
			"email", "forged@example.org", "name", "Forged", "role", "editor", "require", "yes", "code", "123456"))
		if p.status != http.StatusForbidden {
			t.Errorf("%s without a token: %d, want 403", c.path, p.status)
		}
	}
	ctx := context.Background()
	rec, _ := s.db.Referral(ctx, ref)
	notes, _ := s.db.Notes(ctx, ref)
	accts, _ := s.db.Accounts(ctx)
	m, _ := s.db.AccountByEmail(ctx, "member-b@example.org")
	req, _ := s.db.Setting(ctx, handlers.RequireTwoStepKey)
	if rec.Status != referral.StatusNew || rec.TeamID != "wv-central" || len(notes) != 0 || len(accts) != 7 || m.Disabled || req == "on" {
		t.Errorf("forged posts changed something: status %s team %s notes %d accounts %d disabled %v two-step %q",
			rec.Status, rec.TeamID, len(notes), len(accts), m.Disabled, req)
	}
}

// Every role against every staff page that is not theirs gets the same "not found".
func TestStaffRoutesByRole(t *testing.T) {
	s := newStaffSite(t)
	member, _ := s.db.AccountByEmail(context.Background(), "member-b@example.org")
	pages := map[string][]string{ // path → the roles that may open it
		"/staff":                    {"admin", "editor", "member-a", "manager-a"},
		"/staff/referrals":          {"member-a", "manager-a"},
		"/staff/outbox":             {"admin", "member-a", "manager-a"},
		"/staff/accounts":           {"admin"},
		"/staff/account/two-step":   {"admin", "editor", "member-a", "manager-a"},
		"/staff/no-such-staff-page": {},
	}
	for _, who := range []string{"admin", "editor", "member-a", "manager-a"} {
		b := s.signIn(t, who+"@example.org")
		for path, allowed := range pages {
			p := b.get(path)
			want := http.StatusNotFound
			for _, a := range allowed {
				if a == who {
					want = http.StatusOK
				}
			}
			if p.status != want {
				t.Errorf("%s GET %s: %d, want %d", who, path, p.status, want)
			}
		}
		if who != "admin" {
			b.get("/staff")
			if p := b.post("/staff/accounts/"+member.ID+"/disable", vals()); p.status != http.StatusNotFound {
				t.Errorf("%s POST an account change: %d", who, p.status)
			}
			b.get("/staff")
			if p := b.post("/staff/settings/two-step", vals("require", "yes")); p.status != http.StatusNotFound {
				t.Errorf("%s POST the two-step setting: %d", who, p.status)
			}
		}
	}
	// Signed out, every page sends you to sign in, and nothing else.
	anon := s.browser(t)
	for path := range pages {
		if path == "/staff/no-such-staff-page" {
			continue // not found, signed in or not
		}
		if p := anon.get(path); !p.has("Sign in") || p.has("Signed in as") {
			t.Errorf("signed out, GET %s: %d %q", path, p.status, p.title())
		}
	}
}

// With Redis configured, sessions live there: signing in, the idle limit and signing out work
// the same, and two sites (instances) sharing one Redis share the session.
func TestStaffSessionsInRedis(t *testing.T) {
	url := testsvc.RedisURL(t)
	client, err := redisrate.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	s := newStaffSite(t)
	s.portal.Sessions = redissessions.New(client)
	b := s.signIn(t, "member-a@example.org")
	if p := b.get("/staff/referrals"); !p.has("Referrals for") {
		t.Fatalf("signed in with Redis sessions: %q", p.title())
	}
	if n, _ := s.db.PurgeSessions(context.Background(), time.Now().Add(24*time.Hour)); n != 0 {
		t.Errorf("%d sessions in the database, want none: they belong in Redis", n)
	}
	s.now = s.now.Add(31 * time.Minute)
	if p := b.get("/staff/referrals"); p.has("Referrals for") {
		t.Error("the idle limit does not apply to Redis sessions")
	}
	s.now = s.now.Add(-31 * time.Minute)
	b = s.signIn(t, "member-a@example.org")
	token := b.cookies["__Host-fh_staff"]
	b.get("/staff")
	b.post("/staff/logout", vals())
	c := s.browser(t)
	c.cookies["__Host-fh_staff"] = token
	if p := c.get("/staff/referrals"); p.has("Referrals for") {
		t.Error("signing out did not end the Redis session")
	}
}
