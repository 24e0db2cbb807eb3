package handlers

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"
	"github.com/gofiber/fiber/v2/utils"

	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/secret"
	"familyhelp/views"
)

// Referrals is what the journey needs of the referral service.
type Referrals interface {
	NewDraft() *referral.Draft
	LoadDraft(ctx context.Context, id string) (*referral.Draft, error)
	SaveDraft(ctx context.Context, d *referral.Draft) error
	DiscardDraft(ctx context.Context, id string) error
	Submit(ctx context.Context, d *referral.Draft) (*referral.Draft, error)
	// SentReceipt is the confirmation of a draft that was sent and has since gone.
	SentReceipt(ctx context.Context, draftID string) (*referral.Receipt, error)
}

// Limits are the rate limits on the public site. A family in a refuge may share one
// connection with many others, so the per-connection limits are generous; the per-contact
// limit is what stops one person being flooded with calls.
var (
	SubmitPerIP      = ratelimit.Rule{Name: "submit-ip", Rate: 20, Period: time.Hour, Burst: 10}
	SubmitPerContact = ratelimit.Rule{Name: "submit-contact", Rate: 3, Period: 24 * time.Hour, Burst: 3}
	SearchPerIP      = ratelimit.Rule{Name: "search-ip", Rate: 120, Period: time.Minute, Burst: 60}
)

// DefaultMinFillTime is the least time a person can take from the start page to sending: the
// journey has ten pages. Faster is a script.
const DefaultMinFillTime = 20 * time.Second

const (
	draftCookie   = "fh_draft"
	csrfCookie    = "fh_csrf"
	csrfFailedKey = "fh_csrf_failed"
	csrfTokenKey  = "fh_csrf_token"
	noticeKey     = "fh_notice"
)

// Notices a person may see when something about the session went wrong, always with what was
// kept.
const (
	noticeTimedOut = "This page timed out, to keep your answers safe. We have kept what you typed on this page: check it and select Continue again."
	noticeExpired  = "Your earlier answers are no longer here: we delete them after an hour to keep them safe, and they can also be lost when our system restarts. We have kept what you typed on this page."
	noticeTooFast  = "Sorry, we could not send that. Please check your answers and select Send request again."
)

// maxFields bounds a posted form: the longest page has about 80 fields.
const maxFields = 200

func (s *Server) referRoutes(app *fiber.App) {
	g := app.Group("/refer", s.csrf())
	g.Get("", s.referStart)
	g.Post("/start", s.referBegin)
	g.Get("/urgent", s.referUrgent)
	g.Get("/check", s.referCheck)
	g.Post("/check", s.referSubmit)
	g.Get("/done", s.referDone)
	g.Post("/finish", s.referFinish)
	g.Post("/discard", s.referDiscard)
	g.Get("/:step", s.referQuestion)
	g.Post("/:step", s.referAnswer)
}

// csrf protects every form of the journey. Tokens live in CSRFStorage (the database or Redis),
// so any instance can check them. A token that fails does not lose the person's answers: the
// handler re-shows the page with what they typed and a fresh token.
func (s *Server) csrf() fiber.Handler {
	return s.csrfFor("/refer", csrfCookie, s.afterCSRFFailure)
}

// csrfFor is the CSRF middleware for the forms under path. On a failed token the request
// gets a fresh token and goes to onFail, which shows the page again.
func (s *Server) csrfFor(path, cookie string, onFail fiber.Handler) fiber.Handler {
	// The middleware's cookie is Secure or not once and for all, so there is one of each, and
	// HTTPS requests get the Secure one whatever the configured address says. A __Host-
	// cookie is always Secure, on path /.
	hostOnly := strings.HasPrefix(cookie, "__Host-")
	if hostOnly {
		path = "/"
	}
	plain, secure := s.csrfWith(path, cookie, false, onFail), s.csrfWith(path, cookie, true, onFail)
	return func(c *fiber.Ctx) error {
		sameOriginReferer(c)
		if hostOnly || s.secure(c) {
			return secure(c)
		}
		return plain(c)
	}
}

func (s *Server) csrfWith(path, cookie string, secureCookie bool, onFail fiber.Handler) fiber.Handler {
	return csrf.New(csrf.Config{
		KeyLookup:      "form:_csrf",
		CookieName:     cookie,
		CookieSecure:   secureCookie,
		CookieHTTPOnly: true,
		CookieSameSite: "Lax",
		CookiePath:     path,
		// Gone when the browser closes: no trace on the phone that this form was opened.
		CookieSessionOnly: true,
		Expiration:        csrfLifetime,
		Storage:           s.csrfTokens(),
		ContextKey:        csrfTokenKey,
		KeyGenerator:      utils.UUIDv4,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			if c.Method() != fiber.MethodPost || errors.Is(err, csrf.ErrBadReferer) || errors.Is(err, csrf.ErrNoReferer) {
				// Posted from another site: refuse, with nothing kept or changed.
				return fiber.ErrForbidden
			}
			token := utils.UUIDv4()
			if st := s.csrfTokens(); st != nil {
				if err := st.Set(token, []byte{'+'}, csrfLifetime); err != nil {
					return err
				}
			}
			c.Cookie(&fiber.Cookie{Name: cookie, Value: token, Path: path, Secure: secureCookie,
				HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
			c.Locals(csrfTokenKey, token)
			c.Locals(csrfFailedKey, true)
			return onFail(c)
		},
	})
}

// csrfTokens is CSRFStorage behind one tokenStore for every form, or nil without storage.
func (s *Server) csrfTokens() fiber.Storage {
	if s.CSRFStorage == nil {
		return nil
	}
	s.tokensOnce.Do(func() { s.tokens = newTokenStore(s.CSRFStorage) })
	return s.tokens
}

// csrfLifetime outlasts a draft, so a person who is slow but within the draft's hour is never
// told the page timed out.
const csrfLifetime = 2 * time.Hour

// sameOriginReferer lets a same-origin form through the CSRF middleware's HTTPS Referer check
// when the browser sent no Referer (privacy tools strip it): the browser's own Origin or
// Sec-Fetch-Site header says where the form came from. A form from anywhere else still fails.
// Every form's CSRF check (csrfFor) does this first.
func sameOriginReferer(c *fiber.Ctx) {
	if c.Method() == fiber.MethodPost && c.Get(fiber.HeaderReferer) == "" {
		origin := c.Protocol() + "://" + c.Hostname()
		if c.Get("Sec-Fetch-Site") == "same-origin" || c.Get(fiber.HeaderOrigin) == origin {
			c.Request().Header.Set(fiber.HeaderReferer, origin+"/")
		}
	}
}

// secure says whether cookies get the Secure flag: always over HTTPS, and whenever the site's
// address is https.
func (s *Server) secure(c *fiber.Ctx) bool {
	return s.SecureCookies || c.Protocol() == "https"
}

// afterCSRFFailure re-shows the page that was posted, unsaved. Deleting answers is done all
// the same: the draft cookie is SameSite=Lax, so another site's form cannot name a draft.
func (s *Server) afterCSRFFailure(c *fiber.Ctx) error {
	switch path := strings.TrimPrefix(c.Path(), "/refer/"); path {
	case "finish", "discard":
		return s.referFinish(c)
	case "start":
		return c.Redirect("/refer", fiber.StatusSeeOther)
	case "check":
		return s.referCheck(c)
	default:
		if !knownStep(referral.Step(path)) {
			return fiber.ErrNotFound
		}
		return s.answer(c, referral.Step(path))
	}
}

func csrfToken(c *fiber.Ctx) string {
	t, _ := c.Locals(csrfTokenKey).(string)
	return t
}

func knownStep(step referral.Step) bool {
	switch step {
	case referral.StepWho, referral.StepProfessional, referral.StepDanger, referral.StepNeeds, referral.StepAdult,
		referral.StepChildren, referral.StepHome, referral.StepNetwork, referral.StepContact, referral.StepConsent:
		return true
	}
	return false
}

// draft returns the person's draft, or nil if they have none (or it expired).
func (s *Server) draft(c *fiber.Ctx) (*referral.Draft, error) {
	id := c.Cookies(draftCookie)
	if id == "" {
		return nil, nil
	}
	d, err := s.Referrals.LoadDraft(c.UserContext(), id)
	switch {
	case errors.Is(err, referral.ErrNotFound):
		// A draft that was sent and then lost (Redis restarted before the confirmation page)
		// still has its referral: the family is shown its reference, not asked to start again.
		rc, err := s.Referrals.SentReceipt(c.UserContext(), id)
		if err != nil {
			if !errors.Is(err, referral.ErrNotFound) {
				s.Log.Error("looking for a sent referral", "id", requestID(c), "err", err)
			}
			return nil, nil
		}
		return &referral.Draft{ID: id, Reference: rc.Reference, Receipt: rc}, nil
	case errors.Is(err, secret.ErrOpen):
		// Sealed under another key (an instance with a different FAMILYHELP_SECRET_KEY) or
		// damaged: unreadable, so the person is told their answers went, as on expiry.
		s.Log.Error("draft cannot be opened", "id", requestID(c))
		return nil, nil
	}
	return d, err
}

// lostDraft reports whether the person had a draft that has gone (expired or unreadable).
func lostDraft(c *fiber.Ctx, d *referral.Draft) bool {
	return d == nil && c.Cookies(draftCookie) != ""
}

// toStart sends a person without a draft to the start page, saying so if theirs expired.
func toStart(c *fiber.Ctx, d *referral.Draft) error {
	if lostDraft(c, d) {
		return c.Redirect("/refer?expired=1", fiber.StatusSeeOther)
	}
	return c.Redirect("/refer", fiber.StatusSeeOther)
}

func (s *Server) setDraftCookie(c *fiber.Ctx, id string) {
	// A session cookie: it goes when the browser closes, and the draft expires on the server
	// an hour after its last change whatever the browser does.
	c.Cookie(&fiber.Cookie{Name: draftCookie, Value: id, Path: "/refer", Secure: s.secure(c),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
}

func (s *Server) clearDraftCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: draftCookie, Value: "", Path: "/refer", Secure: s.secure(c),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Unix(0, 0)})
}

func (s *Server) journeyBase(c *fiber.Ctx, title string) views.Base {
	b := s.base(c, title)
	b.NoIndex = true
	return b
}

func (s *Server) referStart(c *fiber.Ctx) error {
	p := views.ReferStart{Base: s.journeyBase(c, views.JourneyTitle), CSRF: csrfToken(c), Council: s.council()}
	if id := c.Query("service"); id != "" && len(id) <= 100 {
		if svc, err := s.Directory.Get(c.UserContext(), id); err == nil {
			p.ServiceID, p.ServiceName = svc.ID, svc.Name
		}
	}
	if d, err := s.draft(c); err == nil && d != nil && d.Reference == "" {
		p.Resume = "yes"
	}
	if c.Query("expired") != "" {
		p.Notice = "Your answers are no longer here: we delete them after an hour to keep them safe, and they can also be lost when our system restarts. Please start again."
	}
	return render(c, views.ReferStartPage(p))
}

func (s *Server) council() string {
	if s.Routing == nil {
		return "the council's"
	}
	return s.Routing.Council
}

// referBegin starts (or resumes) a draft and goes to the first question.
func (s *Server) referBegin(c *fiber.Ctx) error {
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	if d == nil || d.Reference != "" {
		d = s.Referrals.NewDraft()
	}
	if id := c.FormValue("service"); id != "" && len(id) <= 100 {
		if svc, err := s.Directory.Get(c.UserContext(), id); err == nil {
			d.Referral.ServiceID = svc.ID
		}
	}
	if err := s.Referrals.SaveDraft(c.UserContext(), d); err != nil {
		return err
	}
	s.setDraftCookie(c, d.ID)
	next := referral.StepWho
	if d.Referral.Asker != "" {
		if step, gap := referral.Incomplete(&d.Referral, time.Now()); gap {
			next = step
		} else {
			return c.Redirect("/refer/check", fiber.StatusSeeOther)
		}
	}
	return c.Redirect("/refer/"+string(next), fiber.StatusSeeOther)
}

func (s *Server) referQuestion(c *fiber.Ctx) error {
	step := referral.Step(c.Params("step"))
	if !knownStep(step) {
		return fiber.ErrNotFound
	}
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	switch {
	case d == nil:
		return toStart(c, d)
	case d.Reference != "":
		return c.Redirect("/refer/done", fiber.StatusSeeOther)
	case !stepApplies(&d.Referral, step):
		return c.Redirect("/refer/"+string(referral.StepWho), fiber.StatusSeeOther)
	}
	return s.renderStep(c, step, d, referral.FormFor(&d.Referral, step), nil, "")
}

func stepApplies(r *referral.Referral, step referral.Step) bool {
	for _, st := range referral.Steps(r) {
		if st == step {
			return true
		}
	}
	return false
}

func (s *Server) referAnswer(c *fiber.Ctx) error {
	step := referral.Step(c.Params("step"))
	if !knownStep(step) {
		return fiber.ErrNotFound
	}
	return s.answer(c, step)
}

// answer takes a question page's answers: checked, then saved and on to the next page, or
// shown again with what to change. Nothing typed is ever dropped silently.
func (s *Server) answer(c *fiber.Ctx, step referral.Step) error {
	if c.Request().PostArgs().Len() > maxFields {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "too many fields")
	}
	ctx := c.UserContext()
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	notice := ""
	switch {
	case d == nil:
		if lostDraft(c, d) {
			notice = noticeExpired
		}
		d = s.Referrals.NewDraft()
	case d.Reference != "":
		// Sent already (the back button): the answers are in the referral, not here.
		return c.Redirect("/refer/done", fiber.StatusSeeOther)
	}
	form := parseStep(c, step, &d.Referral)
	if failed, _ := c.Locals(csrfFailedKey).(bool); failed {
		return s.renderStep(c, step, d, form, nil, noticeTimedOut)
	}
	if c.FormValue("action") == "add" {
		// "Add another": the page again with what was typed and an empty row to fill.
		return s.renderStep(c, step, d, form, nil, notice)
	}
	if !stepApplies(&d.Referral, step) && notice == "" {
		return c.Redirect("/refer/"+string(referral.StepWho), fiber.StatusSeeOther)
	}
	if errs := form.Check(time.Now()); len(errs) > 0 {
		return s.renderStep(c, step, d, form, errs, notice)
	}
	if !stepApplies(&d.Referral, step) {
		// A lost draft, and this page only applies to a professional: keep nothing that
		// would make the referral say so before "Who is asking" is answered again.
		return c.Redirect("/refer/"+string(referral.StepWho)+"?expired=1", fiber.StatusSeeOther)
	}
	form.Apply(&d.Referral)
	if err := s.Referrals.SaveDraft(ctx, d); err != nil {
		s.Log.Error("save draft", "id", requestID(c), "err", err)
		c.Status(fiber.StatusServiceUnavailable)
		return s.renderStep(c, step, d, form, nil, noticeNotSaved)
	}
	s.setDraftCookie(c, d.ID)
	change := c.Query("change") != ""
	switch {
	case notice != "":
		// The person lost earlier pages: take them to the first page still to answer.
		next, _ := referral.Incomplete(&d.Referral, time.Now())
		return c.Redirect("/refer/"+string(next)+"?expired=1", fiber.StatusSeeOther)
	case step == referral.StepDanger && d.Referral.Danger == "yes":
		return c.Redirect("/refer/urgent"+changeQuery(change), fiber.StatusSeeOther)
	}
	next := referral.After(&d.Referral, step)
	if change || next == "" {
		return c.Redirect("/refer/check", fiber.StatusSeeOther)
	}
	return c.Redirect("/refer/"+string(next), fiber.StatusSeeOther)
}

func changeQuery(change bool) string {
	if change {
		return "?change=1"
	}
	return ""
}

const noticeNotSaved = "Sorry, we could not save your answers just now. They are still on this page: select Continue to try again."

// parseStep reads a question page's posted answers into its form.
func parseStep(c *fiber.Ctx, step referral.Step, r *referral.Referral) referral.Form {
	v := func(name string) string { return c.FormValue(name) }
	multi := func(name string) []string {
		var out []string
		for _, b := range c.Request().PostArgs().PeekMulti(name) {
			out = append(out, string(b))
		}
		return out
	}
	switch step {
	case referral.StepWho:
		return &referral.WhoForm{Asker: v("asker"), Relationship: v("relationship")}
	case referral.StepProfessional:
		return &referral.ProfessionalForm{Name: v("name"), Organisation: v("organisation"), Role: v("role"),
			Email: v("email"), Phone: v("phone"), FamilyAgreed: v("family-agreed"),
			NoConsentReason: v("no-consent-reason"), ChildProtection: v("child-protection")}
	case referral.StepDanger:
		return &referral.DangerForm{Danger: v("danger")}
	case referral.StepNeeds:
		return &referral.NeedsForm{Needs: multi("needs"), Story: normaliseNewlines(v("story"))}
	case referral.StepAdult:
		return &referral.AdultForm{Name: v("adult-name"), CallMe: v("call-me")}
	case referral.StepChildren:
		f := &referral.ChildrenForm{}
		for i := 0; i < referral.MaxRows+1; i++ {
			f.Children = append(f.Children, referral.ChildRow{
				Name: v(referral.ChildField(i, "name")), Age: v(referral.ChildField(i, "age")),
				Born: referral.DateInput{Day: v(referral.ChildField(i, "born-day")), Month: v(referral.ChildField(i, "born-month")),
					Year: v(referral.ChildField(i, "born-year"))},
				Expected: v(referral.ChildField(i, "expected")),
			})
		}
		f.Children = trimRows(f.Children, func(r referral.ChildRow) bool { return r == referral.ChildRow{} })
		return f
	case referral.StepHome:
		return &referral.HomeForm{Postcode: v("postcode"), Address: normaliseNewlines(v("address")),
			Household: normaliseNewlines(v("household")), Languages: v("languages"), Interpreter: v("interpreter"),
			Accessibility: normaliseNewlines(v("accessibility"))}
	case referral.StepNetwork:
		f := &referral.NetworkForm{Nobody: v("nobody")}
		for i := 0; i < referral.MaxRows+1; i++ {
			f.People = append(f.People, referral.SupporterRow{Name: v(referral.PersonField(i, "name")),
				Relationship: v(referral.PersonField(i, "relationship")), MayContact: v(referral.PersonField(i, "may-contact"))})
		}
		f.People = trimRows(f.People, func(r referral.SupporterRow) bool { return r == referral.SupporterRow{} })
		return f
	case referral.StepContact:
		f := &referral.ContactForm{Phone: v("phone"), Email: v("email"), Address: normaliseNewlines(v("contact-address")),
			SafeTimes: v("safe-times"), SayWhoWeAre: v("say-who-we-are"), Confirmation: v("confirmation")}
		for _, m := range multi("safe") {
			if m == "they" {
				f.TheyWillContact = "yes"
			} else {
				f.Safe = append(f.Safe, m)
			}
		}
		return f
	case referral.StepConsent:
		f := &referral.ConsentForm{Consent: v("consent")}
		f.ForAsker(r.Asker)
		return f
	}
	return nil
}

// trimRows drops empty rows from the end, so the page shows what was typed and one more.
func trimRows[T any](rows []T, empty func(T) bool) []T {
	for len(rows) > 0 && empty(rows[len(rows)-1]) {
		rows = rows[:len(rows)-1]
	}
	return rows
}

// normaliseNewlines makes a textarea's line breaks "\n": browsers send "\r\n", which would
// count twice against a character limit the page counts once. A lone "\r" (never sent by a
// browser) is a line break too, as a browser reads it when the page shows it again: kept, it
// would turn into "\n" the next time the form is saved, a change nobody made.
func normaliseNewlines(s string) string { return newlines.Replace(s) }

var newlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// renderStep shows a question page with the given answers and problems.
func (s *Server) renderStep(c *fiber.Ctx, step referral.Step, d *referral.Draft, form referral.Form, errs referral.Errors, notice string) error {
	if notice == "" && c.Query("expired") != "" {
		notice = noticeExpired
	}
	q := views.Question{Base: s.journeyBase(c, views.JourneyTitle), Step: step, CSRF: csrfToken(c),
		Notice: notice, Change: c.Query("change") != "", Asker: d.Referral.Asker}
	q.Base.BackLink = s.backLink(d, step)
	if q.Change {
		q.Base.BackLink = "/refer/check"
	}
	for _, e := range errs {
		q.Errors = append(q.Errors, views.FieldError{Field: errorTarget(step, e.Field), Message: e.Message})
	}
	q.Base.HasErrors = len(errs) > 0
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	switch f := form.(type) {
	case *referral.WhoForm:
		return render(c, views.WhoQuestion(views.WhoPage{Question: q, Form: f}))
	case *referral.ProfessionalForm:
		return render(c, views.ProfessionalQuestion(views.ProfessionalPage{Question: q, Form: f}))
	case *referral.DangerForm:
		return render(c, views.DangerQuestion(views.DangerPage{Question: q, Form: f}))
	case *referral.NeedsForm:
		return render(c, views.NeedsQuestion(views.NeedsPage{Question: q, Form: f}))
	case *referral.AdultForm:
		return render(c, views.AdultQuestion(views.AdultPage{Question: q, Form: f}))
	case *referral.ChildrenForm:
		// What was typed, and one empty row to add another.
		return render(c, views.ChildrenQuestion(views.ChildrenPage{Question: q, Rows: withSpareRow(f.Children)}))
	case *referral.HomeForm:
		return render(c, views.HomeQuestion(views.HomePageForm{Question: q, Form: f}))
	case *referral.NetworkForm:
		return render(c, views.NetworkQuestion(views.NetworkPage{Question: q, Rows: withSpareRow(f.People), Nobody: f.Nobody == "yes"}))
	case *referral.ContactForm:
		return render(c, views.ContactQuestion(views.ContactPage{Question: q, Form: f}))
	case *referral.ConsentForm:
		p := views.ConsentPage{Question: q, Form: f}
		if d.Referral.Professional != nil {
			p.FamilyAgreed = d.Referral.Professional.FamilyAgreed
		}
		return render(c, views.ConsentQuestion(p))
	}
	return fiber.ErrNotFound
}

// withSpareRow is the rows typed and, while there is room for another, an empty one. A row
// past the limit (only a hand-made post has one) is shown with its problem, not dropped: its
// error links to it, and what was typed in it is not lost without a word.
func withSpareRow[T any](rows []T) []T {
	if len(rows) >= referral.MaxRows {
		return rows
	}
	var empty T
	return append(slices.Clone(rows), empty)
}

// errorTarget is the id an error summary link goes to: date inputs' first box.
func errorTarget(step referral.Step, field string) string {
	if step == referral.StepChildren && strings.HasSuffix(field, "-born") {
		return field + "-day"
	}
	return field
}

// backLink is the page before step, or the start page.
func (s *Server) backLink(d *referral.Draft, step referral.Step) string {
	prev := "/refer"
	for _, st := range referral.Steps(&d.Referral) {
		if st == step {
			break
		}
		prev = "/refer/" + string(st)
	}
	return prev
}

func (s *Server) referUrgent(c *fiber.Ctx) error {
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	change := c.Query("change") != ""
	next := "/refer"
	switch {
	case d != nil && change:
		next = "/refer/check"
	case d != nil:
		next = "/refer/" + string(referral.After(&d.Referral, referral.StepDanger))
	}
	b := s.journeyBase(c, views.JourneyTitle)
	b.BackLink = "/refer/danger" + changeQuery(change)
	return render(c, views.UrgentAdvice(views.UrgentPage{Base: b, Next: next}))
}

// completeDraft loads a draft that is ready to check and send. Otherwise it answers with where
// the person should be instead, and d is nil.
func (s *Server) completeDraft(c *fiber.Ctx) (d *referral.Draft, err error) {
	if d, err = s.draft(c); err != nil {
		return nil, err
	}
	switch {
	case d == nil:
		return nil, toStart(c, d)
	case d.Reference != "":
		return nil, c.Redirect("/refer/done", fiber.StatusSeeOther)
	}
	if step, gap := referral.Incomplete(&d.Referral, time.Now()); gap {
		// A change can make a new page apply (a professional's details); answering it
		// comes back to the check page.
		return nil, c.Redirect("/refer/"+string(step)+"?change=1", fiber.StatusSeeOther)
	}
	return d, nil
}

func (s *Server) referCheck(c *fiber.Ctx) error {
	d, err := s.completeDraft(c)
	if d == nil || err != nil {
		return err
	}
	notice := ""
	if failed, _ := c.Locals(csrfFailedKey).(bool); failed {
		notice = "This page timed out, to keep your answers safe. Your answers are still here: check them and select Send request again."
	}
	return s.renderCheck(c, d, notice)
}

func (s *Server) renderCheck(c *fiber.Ctx, d *referral.Draft, notice string) error {
	b := s.journeyBase(c, views.CheckTitle)
	steps := referral.Steps(&d.Referral)
	b.BackLink = "/refer/" + string(steps[len(steps)-1])
	return render(c, views.CheckAnswers(views.CheckPage{Base: b, CSRF: csrfToken(c), Sections: CheckSections(&d.Referral, time.Now()), Notice: notice}))
}

// referSubmit sends the referral: once, however often the button is pressed.
func (s *Server) referSubmit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d, err := s.completeDraft(c)
	if d == nil || err != nil {
		return err
	}
	// A filled honeypot or a journey quicker than any person is a script. It is told no more
	// than a person would need, and the answers stay.
	if c.FormValue("website") != "" || time.Since(d.Started) < s.MinFillTime {
		s.Log.Info("referral refused as automated", "id", requestID(c))
		c.Status(fiber.StatusUnprocessableEntity)
		return s.renderCheck(c, d, noticeTooFast)
	}
	if limited, err := s.limited(c, d); limited || err != nil {
		return err
	}
	done, err := s.Referrals.Submit(ctx, d)
	if err != nil {
		return err
	}
	s.setDraftCookie(c, done.ID)
	return c.Redirect("/refer/done", fiber.StatusSeeOther)
}

// limited applies the submission limits and, when one is reached, shows the page that says so,
// with 999 and the helplines; the answers stay in the draft.
func (s *Server) limited(c *fiber.Ctx, d *referral.Draft) (bool, error) {
	keys := []limitKey{{SubmitPerIP, s.addressKey(c)}}
	for _, k := range contactKeys(&d.Referral) {
		keys = append(keys, limitKey{SubmitPerContact, ratelimit.HashKey(s.LimitSecret, k)})
	}
	if over, retry := s.overLimit(c, keys...); over {
		return true, s.renderLimited(c, retry, "/refer/check")
	}
	return false, nil
}

// addressKey is what a client's address is counted under: a keyed hash of it, so that
// neither Redis nor this process's memory holds the addresses of the families who use the site.
func (s *Server) addressKey(c *fiber.Ctx) string {
	return ratelimit.HashKey(s.LimitSecret, "address:"+s.clientIP(c))
}

// limitKey is one rate limit to apply: a rule and what it counts (always a hash).
type limitKey struct {
	rule ratelimit.Rule
	key  string
}

// overLimit applies limits in order and says whether one is reached, and when to try again.
// A limiter error lets the request through: the limiter falls back to memory by itself, so an
// error is a bug, and nobody is turned away for it.
func (s *Server) overLimit(c *fiber.Ctx, keys ...limitKey) (bool, time.Duration) {
	if s.Limiter == nil {
		return false, 0
	}
	for _, k := range keys {
		dec, err := s.Limiter.Allow(c.UserContext(), k.rule, k.key)
		if err != nil {
			s.Log.Error("rate limit", "id", requestID(c), "rule", k.rule.Name, "err", err)
			continue
		}
		if !dec.Allowed {
			s.Log.Info("rate limited", "id", requestID(c), "rule", k.rule.Name)
			return true, dec.RetryAfter
		}
	}
	return false, 0
}

// contactKeys are the contact details a referral gives, normalised, for the per-contact limit.
func contactKeys(r *referral.Referral) []string {
	var out []string
	if r.Contact.Phone != "" {
		out = append(out, "phone:"+r.Contact.Phone)
	}
	if r.Contact.Email != "" {
		out = append(out, "email:"+strings.ToLower(r.Contact.Email))
	}
	return out
}

func (s *Server) renderLimited(c *fiber.Ctx, retry time.Duration, back string) error {
	secs := int(math.Ceil(retry.Seconds()))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
	c.Status(fiber.StatusTooManyRequests)
	return render(c, views.Limited(views.LimitedPage{Base: s.journeyBase(c, "Please wait"), RetryAfter: retryText(retry), Back: back}))
}

// retryText says when to try again in words: "in 1 minute", "in 3 hours".
func retryText(d time.Duration) string {
	switch {
	case d <= time.Minute:
		return "in a minute"
	case d < time.Hour:
		n := int(math.Ceil(d.Minutes()))
		return "in " + strconv.Itoa(n) + " minutes"
	case d < 2*time.Hour:
		return "in about an hour"
	case d < 24*time.Hour:
		return "in " + strconv.Itoa(int(math.Ceil(d.Hours()))) + " hours"
	}
	return "tomorrow"
}

func (s *Server) referDone(c *fiber.Ctx) error {
	d, err := s.draft(c)
	if err != nil {
		return err
	}
	if d == nil || d.Receipt == nil {
		return c.Redirect("/refer", fiber.StatusSeeOther)
	}
	r := d.Receipt
	return render(c, views.Done(views.DonePage{Base: s.journeyBase(c, views.DoneTitle), CSRF: csrfToken(c), Reference: r.Reference,
		TeamName: r.TeamName, TeamPhone: r.TeamPhone, TeamHours: r.TeamHours, Urgent: r.Urgent,
		TheyWillContact: r.TheyWillContact, OutsideArea: r.OutsideArea, OtherCouncil: r.OtherCouncil, EmailConfirm: r.EmailConfirm}))
}

// referFinish forgets the sent referral on this device.
func (s *Server) referFinish(c *fiber.Ctx) error {
	if id := c.Cookies(draftCookie); id != "" {
		if err := s.Referrals.DiscardDraft(c.UserContext(), id); err != nil {
			return err
		}
	}
	s.clearDraftCookie(c)
	return c.Redirect("/", fiber.StatusSeeOther)
}

// referDiscard deletes what the person typed, at their request.
func (s *Server) referDiscard(c *fiber.Ctx) error {
	return s.referFinish(c)
}

// limitSearch applies the per-connection search limit. A limited family still sees 999 and the
// helplines on the page that says so.
func (s *Server) limitSearch(c *fiber.Ctx) error {
	if over, retry := s.overLimit(c, limitKey{SearchPerIP, s.addressKey(c)}); over {
		return s.renderLimited(c, retry, "")
	}
	return c.Next()
}
