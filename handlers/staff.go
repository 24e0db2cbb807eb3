package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/staff"
	"familyhelp/views"
)

// StaffPortal is what the portal needs of staff accounts and sessions (staff.Portal).
type StaffPortal interface {
	CheckLogin(ctx context.Context, email, password string) (*staff.Account, error)
	StartSession(ctx context.Context, a *staff.Account, verified bool) (string, error)
	Resume(ctx context.Context, token string) (*staff.Account, *staff.Session, error)
	EndSession(ctx context.Context, token string) error
	Verify(ctx context.Context, s *staff.Session) (string, error)
	PendingTOTP(ctx context.Context, a *staff.Account) (*otp.Key, error)
	CheckCode(ctx context.Context, a *staff.Account, code string) bool
	EnableTOTP(ctx context.Context, a *staff.Account, code string) error
	SetPassword(ctx context.Context, linkToken, password string) (*staff.Account, error)
	NewAccount(ctx context.Context, email, name string, role staff.Role, team string) (*staff.Account, string, error)
	SetDisabled(ctx context.Context, admin *staff.Account, id string, disabled bool) error
	ResetTOTP(ctx context.Context, admin *staff.Account, id string) error
	ResetPassword(ctx context.Context, admin *staff.Account, id string) (string, error)
}

// StaffInbox is how staff work referrals (staff.Inbox); it applies the access policy itself.
type StaffInbox interface {
	List(ctx context.Context, a *staff.Account, f staff.InboxFilter) ([]referral.Record, error)
	Open(ctx context.Context, a *staff.Account, reference string) (*staff.Opened, error)
	AddNote(ctx context.Context, a *staff.Account, reference, text string) error
	SetStatus(ctx context.Context, a *staff.Account, reference string, to referral.Status, outcome string) error
	Transfer(ctx context.Context, a *staff.Account, reference, toTeam, reason string) error
}

// StaffAdmin is what an admin's pages need: accounts, settings, the audit trail and outbox.
type StaffAdmin interface {
	Accounts(ctx context.Context) ([]*staff.Account, error)
	Audit(ctx context.Context, e staff.Entry) error
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
	// OutboxFor lists a team's notifications for referrals it still has ("" for every one).
	OutboxFor(ctx context.Context, team string, limit int) ([]referral.OutboxEntry, error)
}

// RequireTwoStepKey is the setting that is "on" when every account must use two-step sign-in.
const RequireTwoStepKey = "staff_require_two_step"

// Login limits: per connection, and per email (hashed), so neither guessing many passwords
// for one account nor one password across many accounts gets far.
var (
	LoginPerIP      = ratelimit.Rule{Name: "login-ip", Rate: 20, Period: 15 * time.Minute, Burst: 10}
	LoginPerAccount = ratelimit.Rule{Name: "login-account", Rate: 5, Period: 15 * time.Minute, Burst: 5}
)

// staffCookie is the session cookie: __Host- makes browsers insist on Secure, Path=/ and no
// Domain, so no other site or subdomain can set or read it.
const staffCookie = "__Host-fh_staff"

const staffAccountKey = "fh_staff_account"
const staffSessionKey = "fh_staff_session"

func (s *Server) staffRoutes(app *fiber.App) {
	g := app.Group("/staff", s.staffCSRF())
	g.Get("/login", s.staffLoginPage)
	g.Post("/login", s.staffLogin)
	g.Get("/set-password", s.staffSetPasswordPage)
	g.Post("/set-password", s.staffSetPassword)

	// Signed in, second factor or not: the code page and setting one up.
	half := g.Group("", s.staffSession(false))
	half.Post("/logout", s.staffLogout)
	half.Get("/login/code", s.staffCodePage)
	half.Post("/login/code", s.staffCode)
	half.Get("/account/two-step", s.staffEnrolPage)
	half.Post("/account/two-step", s.staffEnrol)

	in := g.Group("", s.staffSession(true))
	in.Get("", s.staffHome)
	in.Get("/referrals", s.staffInbox)
	in.Get("/referrals/:ref", s.staffReferral)
	in.Post("/referrals/:ref/notes", s.staffNote)
	in.Post("/referrals/:ref/status", s.staffStatus)
	in.Post("/referrals/:ref/transfer", s.staffTransfer)
	in.Get("/outbox", s.staffOutbox)
	in.Get("/accounts", s.staffAccounts)
	in.Post("/accounts", s.staffAddAccount)
	in.Post("/settings/two-step", s.staffRequireTwoStep)
	s.listingRoutes(in)
	in.Post("/accounts/:id/:action", s.staffAccountAction)
	// Anything else under /staff is not found, signed in or not.
	g.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// staffCSRF guards the portal's forms with its own cookie, on the portal's path.
func (s *Server) staffCSRF() fiber.Handler {
	return s.csrfFor("/staff", "__Host-fh_staff_csrf", func(c *fiber.Ctx) error {
		// A stale sign-in form: show it again with a fresh token. A stale listing form (an
		// editor can spend a long time on one) comes back with everything typed, unsaved.
		// Anything else starts over.
		if strings.HasSuffix(c.Path(), "/login") {
			return s.renderLogin(c, c.FormValue("email"), "This page timed out. Enter your details again.", nil)
		}
		if m := listingFormPath.FindStringSubmatch(c.Path()); m != nil {
			return s.listingFormTimedOut(c, m[1])
		}
		if c.Path() == importPath && s.resumeEditor(c) {
			// The import form comes back saying so; nothing is imported.
			return s.listingImport(c)
		}
		return fiber.ErrForbidden
	})
}

// staffSession requires a signed-in staff member; with full, also their second factor where
// one is needed. Without one the person is sent to sign in; nothing says what was there.
func (s *Server) staffSession(full bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, sess, err := s.StaffPortal.Resume(c.UserContext(), c.Cookies(staffCookie))
		if errors.Is(err, staff.ErrNotFound) {
			s.clearStaffCookie(c)
			return c.Redirect("/staff/login", fiber.StatusSeeOther)
		}
		if err != nil {
			return err
		}
		c.Locals(staffAccountKey, a)
		c.Locals(staffSessionKey, sess)
		if !full {
			return c.Next()
		}
		switch {
		case !sess.Verified && a.TOTPEnabled:
			return c.Redirect("/staff/login/code", fiber.StatusSeeOther)
		case !sess.Verified, !a.TOTPEnabled && s.requireTwoStep(c.UserContext()):
			// Also a session from before an admin required two-step sign-in of everyone.
			return c.Redirect("/staff/account/two-step", fiber.StatusSeeOther)
		}
		return c.Next()
	}
}

func staffAccount(c *fiber.Ctx) *staff.Account {
	a, _ := c.Locals(staffAccountKey).(*staff.Account)
	return a
}

func staffSessionOf(c *fiber.Ctx) *staff.Session {
	x, _ := c.Locals(staffSessionKey).(*staff.Session)
	return x
}

func (s *Server) staffBase(c *fiber.Ctx, title, nav string) views.StaffBase {
	return views.StaffBase{Title: title, Account: staffAccount(c), CSRF: csrfToken(c), Nav: nav}
}

func (s *Server) setStaffCookie(c *fiber.Ctx, token string) {
	c.Cookie(&fiber.Cookie{Name: staffCookie, Value: token, Path: "/", Secure: true, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
}

func (s *Server) clearStaffCookie(c *fiber.Ctx) {
	if c.Cookies(staffCookie) == "" {
		return
	}
	c.Cookie(&fiber.Cookie{Name: staffCookie, Value: "", Path: "/", Secure: true, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0)})
}

// requireTwoStep reports whether every account must use two-step sign-in. If the setting
// cannot be read, it is: failing safe costs a code, failing open costs the second factor.
func (s *Server) requireTwoStep(ctx context.Context) bool {
	v, err := s.StaffAdmin.Setting(ctx, RequireTwoStepKey)
	return err != nil || v == "on"
}

func (s *Server) staffLoginPage(c *fiber.Ctx) error {
	if a, _, err := s.StaffPortal.Resume(c.UserContext(), c.Cookies(staffCookie)); err == nil && a != nil {
		return c.Redirect("/staff", fiber.StatusSeeOther)
	}
	return s.renderLogin(c, "", "", nil)
}

func (s *Server) renderLogin(c *fiber.Ctx, email, notice string, errs []views.FieldError) error {
	b := views.StaffBase{Title: "Sign in", CSRF: csrfToken(c), Notice: notice, Errors: errs, HasErrors: len(errs) > 0}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnauthorized)
	}
	return render(c, views.StaffLoginPage(views.StaffLogin{Base: b, Email: email}))
}

// loginFailed is the one message for every failed sign-in.
var loginFailed = []views.FieldError{{Field: "email", Message: "Enter a correct email address and password"}}

func (s *Server) staffLogin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	email, password := staff.NormaliseEmail(c.FormValue("email")), c.FormValue("password")
	if limited, retry := s.loginLimited(c, email); limited {
		s.Log.Info("sign-in limited", "id", requestID(c))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(retry.Seconds()))))
		return s.renderLogin(c, email, "Too many attempts to sign in. Wait "+strings.TrimPrefix(retryText(retry), "in ")+" and try again.", loginFailed)
	}
	a, err := s.StaffPortal.CheckLogin(ctx, email, password)
	if errors.Is(err, staff.ErrLogin) {
		s.Log.Info("sign-in failed", "id", requestID(c))
		return s.renderLogin(c, email, "", loginFailed)
	}
	if err != nil {
		return err
	}
	// A session that existed before sign-in (fixation) is ended; a new one is started.
	if old := c.Cookies(staffCookie); old != "" {
		_ = s.StaffPortal.EndSession(ctx, old)
	}
	needCode := staff.NeedsSecondFactor(a, s.requireTwoStep(ctx))
	token, err := s.StaffPortal.StartSession(ctx, a, !needCode)
	if err != nil {
		return err
	}
	s.setStaffCookie(c, token)
	s.auditBy(c, a, "signed in", "account:"+a.ID, "")
	switch {
	case needCode && a.TOTPEnabled:
		return c.Redirect("/staff/login/code", fiber.StatusSeeOther)
	case needCode:
		return c.Redirect("/staff/account/two-step", fiber.StatusSeeOther)
	}
	return c.Redirect("/staff", fiber.StatusSeeOther)
}

// loginLimited applies the sign-in limits. A limiter error never blocks staff: the limiter
// already falls back to memory on its own.
func (s *Server) loginLimited(c *fiber.Ctx, email string) (bool, time.Duration) {
	return s.overLimit(c, limitKey{LoginPerIP, s.addressKey(c)}, limitKey{LoginPerAccount, ratelimit.HashKey(s.LimitSecret, "login:"+email)})
}

func (s *Server) staffLogout(c *fiber.Ctx) error {
	_ = s.StaffPortal.EndSession(c.UserContext(), c.Cookies(staffCookie))
	if a := staffAccount(c); a != nil {
		s.auditBy(c, a, "signed out", "account:"+a.ID, "")
	}
	s.clearStaffCookie(c)
	return c.Redirect("/staff/login", fiber.StatusSeeOther)
}

func (s *Server) staffCodePage(c *fiber.Ctx) error {
	if staffSessionOf(c).Verified {
		return c.Redirect("/staff", fiber.StatusSeeOther)
	}
	return render(c, views.StaffCodePage(views.StaffCode{Base: s.staffBase(c, "Security code", "")}))
}

func (s *Server) staffCode(c *fiber.Ctx) error {
	a, sess := staffAccount(c), staffSessionOf(c)
	if !a.TOTPEnabled {
		return c.Redirect("/staff/account/two-step", fiber.StatusSeeOther)
	}
	if limited, _ := s.loginLimited(c, a.Email); limited || !s.StaffPortal.CheckCode(c.UserContext(), a, c.FormValue("code")) {
		b := s.staffBase(c, "Security code", "")
		b.Errors, b.HasErrors = []views.FieldError{{Field: "code", Message: "Enter the 6-digit code your app shows now"}}, true
		c.Status(fiber.StatusUnauthorized)
		return render(c, views.StaffCodePage(views.StaffCode{Base: b}))
	}
	token, err := s.StaffPortal.Verify(c.UserContext(), sess)
	if err != nil {
		return err
	}
	s.setStaffCookie(c, token)
	return c.Redirect("/staff", fiber.StatusSeeOther)
}

func (s *Server) staffEnrolPage(c *fiber.Ctx) error {
	return s.renderEnrol(c, nil)
}

func (s *Server) renderEnrol(c *fiber.Ctx, errs []views.FieldError) error {
	a := staffAccount(c)
	if a.TOTPEnabled {
		// Set up already: nothing here may replace it.
		if !staffSessionOf(c).Verified {
			return c.Redirect("/staff/login/code", fiber.StatusSeeOther)
		}
		b := s.staffBase(c, "Two-step sign-in", "two-step")
		b.Notice = "Two-step sign-in is on for your account. To move it to a new phone, ask your administrator."
		return render(c, views.StaffHomePage(views.StaffHome{Base: b, TeamName: s.teamName(a.TeamID)}))
	}
	key, err := s.StaffPortal.PendingTOTP(c.UserContext(), a)
	if err != nil {
		return err
	}
	p := views.StaffEnrol{Base: s.staffBase(c, "Two-step sign-in", "two-step"), Secret: key.Secret()}
	p.Base.Errors, p.Base.HasErrors = errs, len(errs) > 0
	if img, err := key.Image(200, 200); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			p.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return render(c, views.StaffEnrolPage(p))
}

func (s *Server) staffEnrol(c *fiber.Ctx) error {
	a := staffAccount(c)
	if a.TOTPEnabled {
		return s.renderEnrol(c, nil)
	}
	if err := s.StaffPortal.EnableTOTP(c.UserContext(), a, c.FormValue("code")); err != nil {
		var p staff.Problem
		if errors.As(err, &p) {
			return s.renderEnrol(c, []views.FieldError{{Field: "code", Message: p.Error()}})
		}
		return err
	}
	token, err := s.StaffPortal.Verify(c.UserContext(), staffSessionOf(c))
	if err != nil {
		return err
	}
	s.setStaffCookie(c, token)
	return c.Redirect("/staff", fiber.StatusSeeOther)
}

func (s *Server) staffSetPasswordPage(c *fiber.Ctx) error {
	token := c.Query("token")
	if token == "" || len(token) > 100 {
		return fiber.ErrNotFound
	}
	return render(c, views.StaffSetPasswordPage(views.StaffSetPassword{Base: views.StaffBase{Title: "Set your password", CSRF: csrfToken(c)}, Token: token}))
}

func (s *Server) staffSetPassword(c *fiber.Ctx) error {
	token, pw := c.FormValue("token"), c.FormValue("password")
	var errs []views.FieldError
	if err := staff.CheckPassword(pw); err != nil {
		errs = append(errs, views.FieldError{Field: "password", Message: err.Error()})
	} else if pw != c.FormValue("confirm") {
		errs = append(errs, views.FieldError{Field: "confirm", Message: "The two passwords are not the same"})
	}
	if len(errs) == 0 {
		_, err := s.StaffPortal.SetPassword(c.UserContext(), token, pw)
		switch {
		case errors.Is(err, staff.ErrNotFound):
			errs = append(errs, views.FieldError{Field: "password", Message: "This link has expired or has been used. Ask your administrator for a new one"})
		case err != nil:
			return err
		default:
			b := views.StaffBase{Title: "Sign in", CSRF: csrfToken(c), Notice: "Your password is set. Sign in with it now."}
			return render(c, views.StaffLoginPage(views.StaffLogin{Base: b}))
		}
	}
	c.Status(fiber.StatusUnprocessableEntity)
	b := views.StaffBase{Title: "Set your password", CSRF: csrfToken(c), Errors: errs, HasErrors: true}
	return render(c, views.StaffSetPasswordPage(views.StaffSetPassword{Base: b, Token: token}))
}

func (s *Server) teamName(id string) string {
	if s.Routing != nil {
		if t, ok := s.Routing.TeamByID(id); ok {
			return t.Name
		}
	}
	return id
}

func (s *Server) staffHome(c *fiber.Ctx) error {
	a := staffAccount(c)
	return render(c, views.StaffHomePage(views.StaffHome{Base: s.staffBase(c, "Home", ""), TeamName: s.teamName(a.TeamID)}))
}

// auditBy writes a line of the audit trail for what account a (nil: a member of the public)
// did. A failure is logged, not shown: the change it records has already been made.
func (s *Server) auditBy(c *fiber.Ctx, a *staff.Account, action, target, detail string) {
	e := staff.Entry{At: time.Now(), Action: action, Target: target, Detail: detail, Actor: publicActor}
	if a != nil {
		e.AccountID, e.Actor = a.ID, a.Name
	}
	if err := s.StaffAdmin.Audit(c.UserContext(), e); err != nil {
		s.Log.Error("audit", "id", requestID(c), "err", err)
	}
}

// notFoundUnless turns a refusal into "not found", so that a staff member cannot tell a page
// they may not see from one that does not exist.
func notFoundUnless(ok bool) error {
	if !ok {
		return fiber.ErrNotFound
	}
	return nil
}

func (s *Server) staffInbox(c *fiber.Ctx) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ViewReferrals, a.TeamID)); err != nil {
		return err
	}
	f := staff.InboxFilter{Status: referral.Status(c.Query("status")), Need: referral.Need(c.Query("need"))}
	if f.Status != "" && !slices.Contains(referral.Statuses, f.Status) {
		f.Status = ""
	}
	if !slices.ContainsFunc(referral.NeedChoices, func(n referral.NeedChoice) bool { return n.Need == f.Need }) {
		f.Need = ""
	}
	recs, err := s.StaffInbox.List(c.UserContext(), a, f)
	if err != nil {
		return err
	}
	p := views.StaffInbox{Base: s.staffBase(c, "Referrals", "referrals"), TeamName: s.teamName(a.TeamID)}
	p.Statuses = append(p.Statuses, views.Option{Value: "", Label: "Open (not closed)", Checked: f.Status == ""})
	for _, st := range referral.Statuses {
		p.Statuses = append(p.Statuses, views.Option{Value: string(st), Label: st.Label(), Checked: f.Status == st})
	}
	p.Needs = append(p.Needs, views.Option{Value: "", Label: "Any need", Checked: f.Need == ""})
	for _, n := range referral.NeedChoices {
		p.Needs = append(p.Needs, views.Option{Value: string(n.Need), Label: n.Label, Checked: f.Need == n.Need})
	}
	for _, r := range recs {
		var needs []string
		for _, n := range r.Needs {
			needs = append(needs, n.Label())
		}
		p.Rows = append(p.Rows, views.InboxRow{Reference: r.Reference, Urgent: r.Urgent, Status: r.Status.Label(),
			Received: views.When(r.CreatedAt), Needs: strings.Join(needs, ", "), Joined: r.TeamID != a.TeamID})
	}
	return render(c, views.StaffInboxPage(p))
}

func (s *Server) staffReferral(c *fiber.Ctx) error {
	return s.renderReferral(c, nil, "")
}

func (s *Server) renderReferral(c *fiber.Ctx, errs []views.FieldError, notice string) error {
	a := staffAccount(c)
	o, err := s.StaffInbox.Open(c.UserContext(), a, c.Params("ref"))
	if errors.Is(err, staff.ErrNotFound) || errors.Is(err, staff.ErrForbidden) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	p := views.StaffReferral{Base: s.staffBase(c, "Referral "+o.Record.Reference, "referrals"), Record: o.Record, Referral: o.Referral,
		Notes: o.Notes, TeamName: s.teamName(o.Record.TeamID), CanTransfer: o.CanTransfer, CanChangeStatus: o.CanChangeStatus,
		Received: views.When(o.Record.CreatedAt)}
	p.Base.Errors, p.Base.HasErrors, p.Base.Notice = errs, len(errs) > 0, notice
	if s.Routing != nil {
		p.Teams = s.Routing.Teams
	}
	for _, st := range referral.Statuses {
		if referral.CanMove(o.Record.Status, st) {
			p.NextStatus = append(p.NextStatus, st)
		}
	}
	if o.Referral != nil {
		p.Sections = staffSections(o.Referral)
	}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return render(c, views.StaffReferralPage(p))
}

// staffSections are the answers as the family gave them, with the routing decision.
func staffSections(r *referral.Referral) []views.CheckSection {
	sections := CheckSections(r, time.Now())
	if r.Decision != nil {
		sections = append(sections, views.CheckSection{Title: "Why it came to this team",
			Rows: []views.CheckRow{{Key: "Routing", Lines: r.Decision.Reasons}}})
	}
	return sections
}

// staffChange runs a change to a referral and answers it: back to the referral's page, with
// the problem shown if the change was refused.
func (s *Server) staffChange(c *fiber.Ctx, field string, change func(a *staff.Account, ref string) error, done string) error {
	a := staffAccount(c)
	err := change(a, c.Params("ref"))
	var p staff.Problem
	switch {
	case errors.Is(err, staff.ErrNotFound), errors.Is(err, staff.ErrForbidden):
		return fiber.ErrNotFound
	case errors.As(err, &p):
		return s.renderReferral(c, []views.FieldError{{Field: field, Message: p.Error()}}, "")
	case errors.Is(err, staff.ErrConflict):
		return s.renderReferral(c, nil, "Someone else changed this referral at the same time. Check it and try again.")
	case err != nil:
		return err
	}
	if done == "" {
		done = "/staff/referrals/" + c.Params("ref")
	}
	return c.Redirect(done, fiber.StatusSeeOther)
}

func (s *Server) staffNote(c *fiber.Ctx) error {
	return s.staffChange(c, "note", func(a *staff.Account, ref string) error {
		return s.StaffInbox.AddNote(c.UserContext(), a, ref, c.FormValue("note"))
	}, "")
}

func (s *Server) staffStatus(c *fiber.Ctx) error {
	return s.staffChange(c, "status", func(a *staff.Account, ref string) error {
		return s.StaffInbox.SetStatus(c.UserContext(), a, ref, referral.Status(c.FormValue("status")), c.FormValue("outcome"))
	}, "")
}

func (s *Server) staffTransfer(c *fiber.Ctx) error {
	return s.staffChange(c, "team", func(a *staff.Account, ref string) error {
		return s.StaffInbox.Transfer(c.UserContext(), a, ref, c.FormValue("team"), c.FormValue("reason"))
	}, "/staff/referrals")
}

func (s *Server) staffOutbox(c *fiber.Ctx) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ViewOutbox, a.TeamID)); err != nil {
		return err
	}
	// A team sees the notifications about referrals it has; an admin sees every one (never
	// their contents).
	team := a.TeamID
	if a.Role == staff.RoleAdmin {
		team = ""
	}
	entries, err := s.StaffAdmin.OutboxFor(c.UserContext(), team, 200)
	if err != nil {
		return err
	}
	p := views.StaffOutbox{Base: s.staffBase(c, "Emails waiting", "outbox")}
	for _, e := range entries {
		state := "Waiting"
		switch {
		case e.Sent:
			state = "Sent"
		case e.GaveUp:
			state = "Not sent: gave up (" + e.LastError + ")"
		case e.Attempts > 0:
			state = "Waiting: " + e.LastError
		}
		to := s.teamName(e.TeamID)
		if e.Kind == referral.KindFamily {
			to = "The family (confirmation)"
		}
		p.Rows = append(p.Rows, views.OutboxRow{Reference: e.Reference, Kind: e.Kind, Team: to, Created: views.When(e.Created), State: state})
	}
	return render(c, views.StaffOutboxPage(p))
}

func (s *Server) staffAccounts(c *fiber.Ctx) error {
	return s.renderAccounts(c, views.AccountForm{}, nil, "")
}

func (s *Server) renderAccounts(c *fiber.Ctx, form views.AccountForm, errs []views.FieldError, link string) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ManageAccounts, "")); err != nil {
		return err
	}
	accounts, err := s.StaffAdmin.Accounts(c.UserContext())
	if err != nil {
		return err
	}
	p := views.StaffAccounts{Base: s.staffBase(c, "Accounts", "accounts"), Accounts: accounts, Form: form, NewLink: link,
		RequireMFA: s.requireTwoStep(c.UserContext())}
	p.Base.Errors, p.Base.HasErrors = errs, len(errs) > 0
	if s.Routing != nil {
		p.Teams = s.Routing.Teams
	}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return render(c, views.StaffAccountsPage(p))
}

func (s *Server) staffAddAccount(c *fiber.Ctx) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ManageAccounts, "")); err != nil {
		return err
	}
	form := views.AccountForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role"), Team: c.FormValue("team")}
	if form.Team != "" && s.Routing != nil {
		if _, ok := s.Routing.TeamByID(form.Team); !ok {
			return s.renderAccounts(c, form, []views.FieldError{{Field: "team", Message: "Choose a team from the list"}}, "")
		}
	}
	acct, token, err := s.StaffPortal.NewAccount(c.UserContext(), form.Email, form.Name, staff.Role(form.Role), form.Team)
	var p staff.Problem
	switch {
	case errors.As(err, &p):
		field := "email"
		switch {
		case strings.Contains(p.Error(), "name"):
			field = "name"
		case strings.Contains(p.Error(), "role"):
			field = "role"
		case strings.Contains(p.Error(), "team"):
			field = "team"
		}
		return s.renderAccounts(c, form, []views.FieldError{{Field: field, Message: p.Error()}}, "")
	case errors.Is(err, staff.ErrEmailTaken):
		return s.renderAccounts(c, form, []views.FieldError{{Field: "email", Message: "There is already an account with that email address"}}, "")
	case err != nil:
		return err
	}
	s.auditBy(c, a, "created account", "account:"+acct.ID, string(acct.Role)+" "+acct.TeamID)
	return s.renderAccounts(c, views.AccountForm{}, nil, s.BaseURL+"/staff/set-password?token="+token)
}

func (s *Server) staffRequireTwoStep(c *fiber.Ctx) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ManageSettings, "")); err != nil {
		return err
	}
	v := "off"
	if c.FormValue("require") == "yes" {
		v = "on"
	}
	if err := s.StaffAdmin.SetSetting(c.UserContext(), RequireTwoStepKey, v); err != nil {
		return err
	}
	s.auditBy(c, a, "two-step sign-in required: "+v, "", "")
	return c.Redirect("/staff/accounts", fiber.StatusSeeOther)
}

// staffAccountAction is an admin's change to one account: turn it off or on, reset its
// two-step sign-in, or make a new one-time link to set its password.
func (s *Server) staffAccountAction(c *fiber.Ctx) error {
	a := staffAccount(c)
	if err := notFoundUnless(staff.Can(a, staff.ManageAccounts, "")); err != nil {
		return err
	}
	ctx, id := c.UserContext(), c.Params("id")
	var err error
	link := ""
	switch c.Params("action") {
	case "disable":
		err = s.StaffPortal.SetDisabled(ctx, a, id, true)
	case "enable":
		err = s.StaffPortal.SetDisabled(ctx, a, id, false)
	case "reset-two-step":
		err = s.StaffPortal.ResetTOTP(ctx, a, id)
	case "new-link":
		var token string
		if token, err = s.StaffPortal.ResetPassword(ctx, a, id); err == nil {
			link = s.BaseURL + "/staff/set-password?token=" + token
		}
	default:
		return fiber.ErrNotFound
	}
	var p staff.Problem
	switch {
	case errors.Is(err, staff.ErrNotFound):
		return fiber.ErrNotFound
	case errors.As(err, &p):
		return s.renderAccounts(c, views.AccountForm{}, []views.FieldError{{Field: "accounts", Message: p.Error()}}, "")
	case err != nil:
		return err
	}
	if link != "" {
		return s.renderAccounts(c, views.AccountForm{}, nil, link)
	}
	return c.Redirect("/staff/accounts", fiber.StatusSeeOther)
}
