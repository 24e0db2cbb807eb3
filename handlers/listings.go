package handlers

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"familyhelp/directory"
	"familyhelp/ratelimit"
	"familyhelp/referral"
	"familyhelp/staff"
	"familyhelp/views"
)

// StaffListings is how editors keep the directory's listings (directory.Listings). Every
// change goes through the Directory, so it reaches the search index through its queue.
type StaffListings interface {
	Find(ctx context.Context, q directory.ListingQuery) ([]directory.ListingRow, int, error)
	Listing(ctx context.Context, id string) (*directory.Listing, error)
	Create(ctx context.Context, s *directory.Service, due time.Time) (string, error)
	Change(ctx context.Context, id string, version time.Time, change func(*directory.Service) error) (before, after *directory.Service, err error)
	SetReviewDue(ctx context.Context, id string, due time.Time) error
	MarkReviewed(ctx context.Context, id string) (*directory.Service, error)
	ReviewQueue(ctx context.Context, soon time.Duration) ([]directory.ListingRow, error)
	Report(ctx context.Context, serviceID, text string) (int64, error)
	ResolveReport(ctx context.Context, serviceID string, id int64, by string) error
}

// ListingHistory reads the audit trail of one thing. The staff store behind StaffAdmin has it;
// the history page asks StaffAdmin for it rather than widen the admin's interface.
type ListingHistory interface {
	AuditTrail(ctx context.Context, target string, limit int) ([]staff.Entry, error)
}

// ReportPerIP limits problem reports from one connection: generous enough for a library or a
// refuge sharing one address, too tight to flood the editors' queue.
var ReportPerIP = ratelimit.Rule{Name: "report-ip", Rate: 10, Period: time.Hour, Burst: 5}

const (
	// reviewSoon is how far ahead the review queue looks.
	reviewSoon = 30 * 24 * time.Hour
	// maxListingFields bounds a posted listing form: the full form has about 120 fields.
	maxListingFields = 400
	// listingsShown is the most listings one list page shows.
	listingsShown    = 100
	reportCSRFCookie = "fh_report_csrf"
	publicActor      = "Member of the public"
)

func (s *Server) listingRoutes(r fiber.Router) {
	if s.Listings == nil {
		return
	}
	l := r.Group("/listings", s.editorsOnly)
	l.Get("", s.listings)
	l.Get("/new", s.listingNew)
	l.Post("/new", s.listingSave)
	l.Get("/review", s.listingQueue)
	s.transferRoutes(l)
	l.Get("/:id", s.listing)
	l.Get("/:id/edit", s.listingEdit)
	l.Post("/:id/edit", s.listingSave)
	l.Get("/:id/preview", s.listingPreview)
	l.Get("/:id/history", s.listingHistory)
	l.Post("/:id/status", s.listingStatus)
	l.Post("/:id/reviewed", s.listingReviewed)
	l.Post("/:id/reports/:report/done", s.listingReportDone)
}

// reportRoutes serve the public "Report a problem with this page" form, with its own CSRF
// cookie on the services' path.
func (s *Server) reportRoutes(app *fiber.App) {
	csrf := s.csrfFor("/services", reportCSRFCookie, s.reportSend)
	app.Get("/services/:id/report", csrf, s.reportPage)
	app.Post("/services/:id/report", csrf, s.reportSend)
}

// editorsOnly turns everyone else away from every listings page, as if it did not exist.
func (s *Server) editorsOnly(c *fiber.Ctx) error {
	if err := notFoundUnless(staff.Can(staffAccount(c), staff.EditListings, "")); err != nil {
		return err
	}
	return c.Next()
}

func (s *Server) openListing(c *fiber.Ctx) (*directory.Listing, error) {
	id := c.Params("id")
	if !serviceID.MatchString(id) {
		return nil, fiber.ErrNotFound
	}
	l, err := s.Listings.Listing(c.UserContext(), id)
	if directory.IsNotFound(err) {
		return nil, fiber.ErrNotFound
	}
	return l, err
}

func (s *Server) audit(c *fiber.Ctx, action, target, detail string) {
	s.auditBy(c, staffAccount(c), action, target, detail)
}

func listingTarget(id string) string { return "service:" + id }

// dueText says when a review falls due; a listing never checked is due now.
func dueText(due time.Time) string {
	if due.IsZero() {
		return "Now (never checked)"
	}
	return due.Format("2 January 2006")
}

func overdue(due, now time.Time) bool { return due.IsZero() || due.Before(now) }

func listingLines(rows []directory.ListingRow, now time.Time) []views.ListingLine {
	out := make([]views.ListingLine, len(rows))
	for i, r := range rows {
		due := r.ReviewDue()
		out[i] = views.ListingLine{ID: r.ID, Name: r.Name, Organisation: r.Organisation, Status: r.Status,
			Due: dueText(due), Overdue: overdue(due, now), Reports: r.OpenReports}
	}
	return out
}

var listingStatuses = []directory.Status{directory.Active, directory.Inactive, directory.TemporarilyClosed, directory.Defunct}

func (s *Server) listings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q := cleanText(c.Query("q"), 100)
	status := directory.Status(c.Query("status"))
	if !directory.ValidStatus(status) {
		status = ""
	}
	rows, total, err := s.Listings.Find(ctx, directory.ListingQuery{Text: q, Status: status, Limit: listingsShown})
	if err != nil {
		return err
	}
	queue, err := s.Listings.ReviewQueue(ctx, reviewSoon)
	if err != nil {
		return err
	}
	p := views.ListingsList{Base: s.staffBase(c, "Listings", "listings"), Query: q, Total: total, QueueSize: len(queue),
		Rows: listingLines(rows, time.Now())}
	p.Statuses = append(p.Statuses, views.Option{Value: "", Label: "Any status", Checked: status == ""})
	for _, st := range listingStatuses {
		p.Statuses = append(p.Statuses, views.Option{Value: string(st), Label: directory.StatusLabel(st), Checked: st == status})
	}
	return render(c, views.ListingsPage(p))
}

func (s *Server) listingQueue(c *fiber.Ctx) error {
	rows, err := s.Listings.ReviewQueue(c.UserContext(), reviewSoon)
	if err != nil {
		return err
	}
	now := time.Now()
	p := views.ListingQueue{Base: s.staffBase(c, "Listings that need review", "listings"), Rows: listingLines(rows, now)}
	p.Base.Notice = doneNotice(c.Query("done"))
	for _, r := range rows {
		if overdue(r.ReviewDue(), now) {
			p.Overdue++
		}
		if r.OpenReports > 0 {
			p.Reported++
		}
	}
	return render(c, views.ListingQueuePage(p))
}

// doneNotices say what just happened, after a change sends the editor back to a page. The
// page is named by a fixed word in the address, never by text from it.
var doneNotices = map[string]string{
	"created":     "The listing is saved. It is not published: families cannot see it yet.",
	"saved":       "Your changes are saved.",
	"published":   "The listing is published: families can find it now.",
	"unpublished": "The listing is unpublished: families can no longer see it.",
	"closed":      "The listing is marked as temporarily closed: families cannot see it until you publish it again.",
	"archived":    "The listing is archived: families cannot see it.",
	"reviewed":    "The listing is marked as reviewed.",
	"dealt-with":  "The problem is marked as dealt with.",
}

func doneNotice(key string) string { return doneNotices[key] }

func (s *Server) listing(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	now := time.Now()
	svc := l.Service
	due := l.Row.ReviewDue()
	p := views.ListingView{Base: s.staffBase(c, svc.Name, "listings"), Service: svc, Due: dueText(due), DueSet: !l.Row.DueSet.IsZero(),
		Overdue: overdue(due, now), Updated: views.When(svc.UpdatedAt), LastChecked: "Never"}
	if !svc.LastReviewed.IsZero() {
		p.LastChecked = svc.LastReviewed.Format("2 January 2006")
	}
	p.Base.Notice = doneNotice(c.Query("done"))
	p.Actions = statusActions(svc.Status)
	for _, r := range l.Reports {
		line := views.ReportLine{ID: r.ID, Text: r.Text, At: views.When(r.At), Open: r.Open(), ResolvedBy: r.ResolvedBy, ResolvedAt: views.When(r.ResolvedAt)}
		if r.Open() {
			p.Open = append(p.Open, line)
		} else {
			p.Resolved = append(p.Resolved, line)
		}
	}
	return render(c, views.ListingPage(p))
}

// statusActions are the moves a listing in status st can make.
func statusActions(st directory.Status) []views.StatusAction {
	switch st {
	case directory.Active:
		return []views.StatusAction{{To: directory.Inactive, Label: "Unpublish", Warning: true},
			{To: directory.TemporarilyClosed, Label: "Mark as temporarily closed", Warning: true},
			{To: directory.Defunct, Label: "Archive", Warning: true}}
	case directory.TemporarilyClosed:
		return []views.StatusAction{{To: directory.Active, Label: "Reopen and publish"},
			{To: directory.Inactive, Label: "Unpublish", Warning: true}, {To: directory.Defunct, Label: "Archive", Warning: true}}
	case directory.Defunct:
		return []views.StatusAction{{To: directory.Inactive, Label: "Restore as unpublished"}}
	}
	return []views.StatusAction{{To: directory.Active, Label: "Publish"}, {To: directory.Defunct, Label: "Archive", Warning: true}}
}

func (s *Server) listingNew(c *fiber.Ctx) error {
	return s.renderListingForm(c, nil, &directory.ListingForm{}, "", nil, "")
}

func (s *Server) listingEdit(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	form := directory.FormFor(l.Service)
	form.SetReviewDue(l.Row.DueSet)
	return s.renderListingForm(c, l, form, versionOf(l.Service), nil, "")
}

func versionOf(s *directory.Service) string { return s.UpdatedAt.UTC().Format(time.RFC3339Nano) }

// renderListingForm shows the form with what was typed, one empty row to add another of each,
// and the problems to fix.
func (s *Server) renderListingForm(c *fiber.Ctx, l *directory.Listing, form *directory.ListingForm, version string, errs []directory.FormError, notice string) error {
	p := views.ListingEdit{Base: s.staffBase(c, "Add a listing", "listings"), Heading: "Add a listing", Form: form, Version: version,
		Categories: directory.AllCategories(),
		DueHint:    "Leave empty to review it " + strconv.Itoa(directory.ReviewEvery) + " months after it was last checked. For example, 27 3 2027"}
	if l != nil {
		p.ID, p.Published = l.Service.ID, l.Service.Status == directory.Active
		p.Base.Title, p.Heading = "Change a listing", "Change "+l.Service.Name
		for _, cat := range l.Service.Categories {
			if !slices.Contains(p.Categories, cat) {
				p.Categories = append(p.Categories, cat)
			}
		}
		if d := directory.ReviewDue(l.Service.LastReviewed, time.Time{}); !d.IsZero() {
			p.DueHint = "Leave empty to review it " + strconv.Itoa(directory.ReviewEvery) + " months after it was last checked, on " + d.Format("2 January 2006") + "."
		}
	}
	p.Phones = withEmptyRow(form.Phones)
	p.Contacts = withEmptyRow(form.Contacts)
	p.Locations = withEmptyRow(form.Locations)
	p.Base.Notice = notice
	for _, e := range errs {
		p.Base.Errors = append(p.Base.Errors, views.FieldError{Field: e.Field, Message: e.Message})
	}
	p.Base.HasErrors = len(errs) > 0
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return render(c, views.ListingEditPage(p))
}

func withEmptyRow[T any](rows []T) []T {
	var empty T
	out := append(slices.Clone(rows), empty)
	return out[:min(len(out), directory.MaxListingRows)]
}

// parseListingForm reads the posted form as typed.
func parseListingForm(c *fiber.Ctx) *directory.ListingForm {
	v := func(name string) string { return normaliseNewlines(c.FormValue(name)) }
	multi := func(name string) []string {
		var out []string
		for _, b := range c.Request().PostArgs().PeekMulti(name) {
			out = append(out, string(b))
		}
		return out
	}
	f := &directory.ListingForm{
		Organisation: v("organisation"), Name: v("name"), Summary: v("summary"), Description: v("description"),
		Needs: multi("needs"), Categories: multi("categories"), Delivery: multi("delivery"),
		MinAge: v("min-age"), MaxAge: v("max-age"), Eligibility: v("eligibility"), Area: v("area"),
		Free: v("free"), Cost: v("cost"), National: v("national"), Website: v("website"), Email: v("email"),
		Times: v("times"), OpeningNotes: v("opening-notes"), Languages: v("languages"), Accessibility: v("accessibility"),
		HowToRefer: v("how-to-refer"), SelfReferral: v("self-referral"),
		ReviewDue: directory.DateParts{Day: v("review-due-day"), Month: v("review-due-month"), Year: v("review-due-year")},
	}
	for i := range directory.MaxListingRows {
		f.Phones = append(f.Phones, directory.PhoneRow{Number: v(directory.PhoneField(i, "number")),
			Type: v(directory.PhoneField(i, "type")), Description: v(directory.PhoneField(i, "description"))})
		f.Contacts = append(f.Contacts, directory.ContactRow{Name: v(directory.ContactField(i, "name")), Title: v(directory.ContactField(i, "title")),
			Email: v(directory.ContactField(i, "email")), Phone: v(directory.ContactField(i, "phone"))})
		f.Locations = append(f.Locations, directory.LocationRow{ID: v(directory.LocationField(i, "id")), Name: v(directory.LocationField(i, "name")),
			Address: v(directory.LocationField(i, "address")), Town: v(directory.LocationField(i, "town")),
			Postcode: v(directory.LocationField(i, "postcode")), Accessibility: v(directory.LocationField(i, "accessibility")),
			Times: v(directory.LocationField(i, "times"))})
	}
	f.Compact()
	return f
}

// listingSave takes the listing form: "add another" and "go back and change" show it again,
// Preview shows the public page with the changes unsaved, and Save (or Save and publish)
// stores it once it passes the checks.
func (s *Server) listingSave(c *fiber.Ctx) error {
	var l *directory.Listing
	if c.Params("id") != "" {
		var err error
		if l, err = s.openListing(c); err != nil {
			return err
		}
	}
	if c.Request().PostArgs().Len() > maxListingFields {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "too many fields")
	}
	form := parseListingForm(c)
	version := c.FormValue("version")
	action := c.FormValue("action")
	switch action {
	case "add-phone", "add-contact", "add-location", "edit":
		return s.renderListingForm(c, l, form, version, nil, "")
	}
	now := time.Now()
	var old *directory.Service
	if l != nil {
		old = l.Service
	}
	if errs := form.Check(old, now); len(errs) > 0 {
		return s.renderListingForm(c, l, form, version, errs, "")
	}
	if action == "preview" {
		return s.renderUnsavedPreview(c, l, form)
	}
	publish := action == "publish"
	ctx := c.UserContext()
	if l == nil {
		svc := &directory.Service{Status: directory.Inactive, LastReviewed: now.UTC()}
		form.Apply(svc)
		if publish {
			svc.Status = directory.Active
		}
		id, err := s.Listings.Create(ctx, svc, form.Due())
		if err != nil {
			return err
		}
		s.audit(c, "created listing", listingTarget(id), "status: "+directory.StatusLabel(svc.Status))
		done := "created"
		if publish {
			done = "published"
		}
		return c.Redirect("/staff/listings/"+id+"?done="+done, fiber.StatusSeeOther)
	}
	id := l.Service.ID
	seen, _ := time.Parse(time.RFC3339Nano, version)
	before, after, err := s.Listings.Change(ctx, id, seen, func(svc *directory.Service) error {
		form.Apply(svc)
		if publish {
			svc.Status = directory.Active
		}
		return nil
	})
	if errors.Is(err, directory.ErrChanged) {
		// Shown again with what they typed; saving again replaces the other change, which the
		// history page shows.
		return s.renderListingForm(c, l, form, versionOf(before), nil,
			"Someone else changed this listing after you opened it. Check the history of changes, then save again to replace their changes with yours.")
	}
	if err != nil {
		return err
	}
	changes := directory.Changes(before, after)
	if due := form.Due(); !due.Equal(l.Row.DueSet) {
		if err := s.Listings.SetReviewDue(ctx, id, due); err != nil {
			return err
		}
		changes = append(changes, "review due: "+dueSetText(l.Row.DueSet)+" → "+dueSetText(due))
	}
	detail := strings.Join(changes, "; ")
	if detail == "" {
		detail = "nothing changed"
	}
	s.audit(c, "changed listing", listingTarget(id), detail)
	done := "saved"
	if publish && before.Status != directory.Active {
		done = "published"
	}
	return c.Redirect("/staff/listings/"+id+"?done="+done, fiber.StatusSeeOther)
}

func dueSetText(d time.Time) string {
	if d.IsZero() {
		return "usual"
	}
	return d.Format("2 January 2006")
}

// renderUnsavedPreview shows the listing as families would see it with the typed changes, and
// carries those changes unseen in a form, to save them or go back to them.
func (s *Server) renderUnsavedPreview(c *fiber.Ctx, l *directory.Listing, form *directory.ListingForm) error {
	svc := &directory.Service{Status: directory.Inactive, LastReviewed: time.Now().UTC()}
	if l != nil {
		svc = l.Service
	}
	form.Apply(svc)
	p := views.ListingPreview{Base: s.base(c, "Preview"), Service: svc, CSRF: csrfToken(c), Action: c.Path(),
		Published: svc.Status == directory.Active, ID: svc.ID}
	p.Base.NoIndex = true
	for k, v := range c.Request().PostArgs().All() {
		if name := string(k); name != "_csrf" && name != "action" {
			p.Hidden = append(p.Hidden, views.Hidden{Name: name, Value: string(v)})
		}
	}
	return render(c, views.ListingPreviewPage(p))
}

func (s *Server) listingPreview(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	p := views.ListingPreview{Base: s.base(c, "Preview"), Service: l.Service, ID: l.Service.ID, Published: l.Service.Status == directory.Active}
	p.Base.NoIndex = true
	return render(c, views.ListingPreviewPage(p))
}

// statusDone names what a move to a status did, for the audit trail and the notice.
var statusDone = map[directory.Status]struct{ action, done string }{
	directory.Active:            {"published listing", "published"},
	directory.Inactive:          {"unpublished listing", "unpublished"},
	directory.TemporarilyClosed: {"marked listing temporarily closed", "closed"},
	directory.Defunct:           {"archived listing", "archived"},
}

func (s *Server) listingStatus(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	to := directory.Status(c.FormValue("status"))
	if !directory.ValidStatus(to) {
		return fiber.ErrBadRequest
	}
	before, after, err := s.Listings.Change(c.UserContext(), l.Service.ID, time.Time{}, func(svc *directory.Service) error {
		svc.Status = to
		return nil
	})
	if err != nil {
		return err
	}
	what := statusDone[to]
	s.audit(c, what.action, listingTarget(after.ID), directory.StatusLabel(before.Status)+" → "+directory.StatusLabel(after.Status))
	return c.Redirect("/staff/listings/"+after.ID+"?done="+what.done, fiber.StatusSeeOther)
}

func (s *Server) listingReviewed(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	svc, err := s.Listings.MarkReviewed(c.UserContext(), l.Service.ID)
	if err != nil {
		return err
	}
	s.audit(c, "marked listing as reviewed", listingTarget(svc.ID), "next review due "+dueText(directory.ReviewDue(svc.LastReviewed, time.Time{})))
	if c.FormValue("from") == "queue" {
		return c.Redirect("/staff/listings/review?done=reviewed", fiber.StatusSeeOther)
	}
	return c.Redirect("/staff/listings/"+svc.ID+"?done=reviewed", fiber.StatusSeeOther)
}

func (s *Server) listingReportDone(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	rid, err := strconv.ParseInt(c.Params("report"), 10, 64)
	if err != nil || rid <= 0 {
		return fiber.ErrNotFound
	}
	err = s.Listings.ResolveReport(c.UserContext(), l.Service.ID, rid, staffAccount(c).Name)
	if directory.IsNotFound(err) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.audit(c, "dealt with a reported problem", listingTarget(l.Service.ID), "report "+strconv.FormatInt(rid, 10))
	return c.Redirect("/staff/listings/"+l.Service.ID+"?done=dealt-with#problems", fiber.StatusSeeOther)
}

func (s *Server) listingHistory(c *fiber.Ctx) error {
	l, err := s.openListing(c)
	if err != nil {
		return err
	}
	trail, ok := s.StaffAdmin.(ListingHistory)
	if !ok {
		return errors.New("listing history: the staff store keeps no audit trail")
	}
	entries, err := trail.AuditTrail(c.UserContext(), listingTarget(l.Service.ID), 500)
	if err != nil {
		return err
	}
	p := views.ListingHistory{Base: s.staffBase(c, "History of changes", "listings"), ID: l.Service.ID, Name: l.Service.Name}
	for _, e := range entries {
		p.Entries = append(p.Entries, views.HistoryLine{When: views.When(e.At), Who: e.Actor, Action: e.Action, Detail: e.Detail})
	}
	return render(c, views.ListingHistoryPage(p))
}

// The public form to report a problem with a service's page.

const reportTimedOut = "This page timed out. Check what you wrote and select Send report again."

func (s *Server) reportBase(c *fiber.Ctx, id string) views.Base {
	b := s.base(c, "Report a problem with a page")
	b.NoIndex, b.BackLink = true, "/services/"+id
	return b
}

func (s *Server) reportService(c *fiber.Ctx) (*directory.Service, error) {
	id := c.Params("id")
	if !serviceID.MatchString(id) {
		return nil, fiber.ErrNotFound
	}
	return s.Directory.Get(c.UserContext(), id)
}

func (s *Server) reportPage(c *fiber.Ctx) error {
	svc, err := s.reportService(c)
	if err != nil {
		return err
	}
	p := views.ReportProblem{Base: s.reportBase(c, svc.ID), CSRF: csrfToken(c), ServiceID: svc.ID, ServiceName: svc.Name,
		Sent: c.Query("sent") != ""}
	return render(c, views.ReportProblemPage(p))
}

func (s *Server) reportSend(c *fiber.Ctx) error {
	svc, err := s.reportService(c)
	if err != nil {
		return err
	}
	text := normaliseNewlines(c.FormValue("problem"))
	p := views.ReportProblem{Base: s.reportBase(c, svc.ID), CSRF: csrfToken(c), ServiceID: svc.ID, ServiceName: svc.Name, Text: text}
	if failed, _ := c.Locals(csrfFailedKey).(bool); failed {
		p.Notice = reportTimedOut
		c.Status(fiber.StatusForbidden)
		return render(c, views.ReportProblemPage(p))
	}
	trimmed := strings.TrimSpace(text)
	var problem string
	switch {
	case trimmed == "":
		problem = "Enter what is wrong with the page"
	case utf8.RuneCountInString(trimmed) > directory.MaxReport:
		problem = "Write 1,000 characters or fewer" // directory.MaxReport
	case !referral.IsText(trimmed):
		problem = "Remove the special characters from what you wrote"
	}
	if problem == "" {
		if limited, retry := s.reportLimited(c); limited {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(retry.Seconds()))))
			problem = "We have had a lot of reports from this connection. Try again " + retryText(retry)
			c.Status(fiber.StatusTooManyRequests)
		}
	} else {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	if problem != "" {
		p.Errors, p.Base.HasErrors = []views.FieldError{{Field: "problem", Message: problem}}, true
		return render(c, views.ReportProblemPage(p))
	}
	rid, err := s.Listings.Report(c.UserContext(), svc.ID, trimmed)
	if err != nil {
		return err
	}
	if s.StaffAdmin != nil {
		s.audit(c, "problem reported", listingTarget(svc.ID), "report "+strconv.FormatInt(rid, 10))
	}
	return c.Redirect("/services/"+url.PathEscape(svc.ID)+"/report?sent=1", fiber.StatusSeeOther)
}

// reportLimited applies the per-connection limit. A limiter error never blocks a report.
func (s *Server) reportLimited(c *fiber.Ctx) (bool, time.Duration) {
	return s.overLimit(c, limitKey{ReportPerIP, s.addressKey(c)})
}

// listingFormPath matches the listing form's posts: "/staff/listings/new" and
// "/staff/listings/ID/edit".
var listingFormPath = regexp.MustCompile(`^/staff/listings/(?:new|([A-Za-z0-9._-]{1,100})/edit)$`)

// listingFormTimedOut shows a listing form whose token had expired again, with what the
// editor typed and a fresh token, and saves nothing: the editor checks it and saves again. It
// runs before the portal's own checks, so it makes them itself.
// resumeEditor finds the editor behind a request whose form's token failed, before the
// session middleware has run: only an editor with a full session gets their form back.
func (s *Server) resumeEditor(c *fiber.Ctx) bool {
	if s.Listings == nil {
		return false
	}
	a, sess, err := s.StaffPortal.Resume(c.UserContext(), c.Cookies(staffCookie))
	if err != nil || !sess.Verified || !staff.Can(a, staff.EditListings, "") {
		return false
	}
	c.Locals(staffAccountKey, a)
	c.Locals(staffSessionKey, sess)
	return true
}

func (s *Server) listingFormTimedOut(c *fiber.Ctx, id string) error {
	if !s.resumeEditor(c) {
		return fiber.ErrForbidden
	}
	var l *directory.Listing
	if id != "" {
		var err error
		if l, err = s.Listings.Listing(c.UserContext(), id); err != nil {
			return fiber.ErrForbidden
		}
	}
	return s.renderListingForm(c, l, parseListingForm(c), c.FormValue("version"), nil,
		"This page timed out. Nothing was saved, but what you typed is below: check it and save again.")
}
