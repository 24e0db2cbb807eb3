package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"familyhelp/postcode"
)

// This file is the editors' side of the directory: listings of any status, the edit form and
// its checks, the review cycle, and problems the public report with a service's page.

// ReviewEvery is how often a listing is checked with the service: its review falls due this
// long after it was last checked, unless an editor set another date.
const ReviewEvery = 6 // months

// MaxListingRows bounds the phone numbers, contacts and places one listing can have.
const MaxListingRows = 5

// MaxReport is the longest problem report, in characters.
const MaxReport = 1000

// ErrChanged is a save refused because someone else saved the listing after the editor
// opened it: saving would silently undo their change.
var ErrChanged = errors.New("the listing was changed by someone else")

// ReviewDue is when a listing's review falls due: the date an editor set, or ReviewEvery
// months after it was last checked. A listing never checked is due at once (the zero time).
func ReviewDue(lastReviewed, set time.Time) time.Time {
	switch {
	case !set.IsZero():
		return set
	case lastReviewed.IsZero():
		return time.Time{}
	}
	return lastReviewed.AddDate(0, ReviewEvery, 0)
}

// ListingRow is a listing in a staff list: enough to find it and see whether it needs work.
type ListingRow struct {
	ID, Name, Organisation string
	Status                 Status
	LastReviewed           time.Time
	// DueSet is the review date an editor chose; zero means the usual interval.
	DueSet      time.Time
	OpenReports int
}

// ReviewDue is when the listing's review falls due.
func (r ListingRow) ReviewDue() time.Time { return ReviewDue(r.LastReviewed, r.DueSet) }

// ListingQuery finds listings by name, of any status.
type ListingQuery struct {
	// Text is matched, ignoring case, anywhere in the name.
	Text string
	// Status keeps only listings with this status; empty for all.
	Status Status
	Limit  int
}

// Report is a problem someone reported with a service's public page. It says what is wrong
// with the listing, and nothing about who sent it.
type Report struct {
	ID         int64
	ServiceID  string
	Text       string
	At         time.Time
	ResolvedAt time.Time
	ResolvedBy string
}

// Open reports whether nobody has dealt with the report yet.
func (r Report) Open() bool { return r.ResolvedAt.IsZero() }

// ListingStore is what editing listings needs of the store beyond Store.
type ListingStore interface {
	// FindListings returns the listings that match, by name, and how many matched in all.
	FindListings(ctx context.Context, q ListingQuery) ([]ListingRow, int, error)
	// ReviewRows returns every listing that is not archived, for the review queue.
	ReviewRows(ctx context.Context) ([]ListingRow, error)
	// ListingRow returns one listing's row, or ErrNotFound.
	ListingRow(ctx context.Context, id string) (ListingRow, error)
	// SetReviewDue sets the date a listing's review falls due; the zero time means the usual
	// interval after it was last checked.
	SetReviewDue(ctx context.Context, id string, due time.Time) error
	// Organisation returns an organisation, or ErrNotFound.
	Organisation(ctx context.Context, id string) (Organisation, error)
	// AddReport stores a report and returns its id.
	AddReport(ctx context.Context, r Report) (int64, error)
	// Reports lists a listing's reports, open ones first, newest first.
	Reports(ctx context.Context, serviceID string) ([]Report, error)
	// ResolveReport marks a report dealt with; a report that is not the listing's is
	// ErrNotFound, and one already dealt with stays as it was.
	ResolveReport(ctx context.Context, serviceID string, id int64, by string, at time.Time) error
}

// Listings is how editors keep the directory true. Every change is saved through the
// Directory, so it reaches the search index through the index queue.
type Listings struct {
	Directory *Directory
	Store     ListingStore
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

func (l *Listings) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Listing is one listing as an editor sees it.
type Listing struct {
	// Service is read from the store, not shared: the caller may change it.
	Service *Service
	Row     ListingRow
	Reports []Report
}

// Find lists listings by name.
func (l *Listings) Find(ctx context.Context, q ListingQuery) ([]ListingRow, int, error) {
	rows, total, err := l.Store.FindListings(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("find listings: %w", err)
	}
	return rows, total, nil
}

// Listing returns a listing of any status, or ErrNotFound.
func (l *Listings) Listing(ctx context.Context, id string) (*Listing, error) {
	s, err := l.Directory.Store.GetService(ctx, id)
	if err != nil {
		return nil, err
	}
	row, err := l.Store.ListingRow(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("open listing: %w", err)
	}
	reports, err := l.Store.Reports(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("open listing: %w", err)
	}
	return &Listing{Service: s, Row: row, Reports: reports}, nil
}

// Create saves a new listing, with a new id, and returns the id.
func (l *Listings) Create(ctx context.Context, s *Service, due time.Time) (string, error) {
	s.ID = NewListingID(s.Name)
	if err := l.organisation(ctx, s); err != nil {
		return "", err
	}
	s.UpdatedAt = l.now()
	if err := l.Directory.Save(ctx, s); err != nil {
		return "", fmt.Errorf("create listing: %w", err)
	}
	if err := l.Store.SetReviewDue(ctx, s.ID, due); err != nil {
		return "", fmt.Errorf("create listing: %w", err)
	}
	return s.ID, nil
}

// Change reads a listing, lets change alter it, and saves it. With a version (the UpdatedAt
// the editor's page was built from), a listing saved by someone else since is not changed:
// ErrChanged. It returns the listing before and after.
func (l *Listings) Change(ctx context.Context, id string, version time.Time, change func(*Service) error) (before, after *Service, err error) {
	before, err = l.Directory.Store.GetService(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !version.IsZero() && !before.UpdatedAt.Equal(version) {
		return before, nil, ErrChanged
	}
	after, err = l.Directory.Store.GetService(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := change(after); err != nil {
		return before, nil, err
	}
	after.ID = id
	if err := l.organisation(ctx, after); err != nil {
		return before, nil, err
	}
	after.UpdatedAt = l.now()
	if err := l.Directory.Save(ctx, after); err != nil {
		return before, nil, fmt.Errorf("change listing: %w", err)
	}
	return before, after, nil
}

// SetReviewDue sets when a listing's review falls due; zero means the usual interval.
func (l *Listings) SetReviewDue(ctx context.Context, id string, due time.Time) error {
	if err := l.Store.SetReviewDue(ctx, id, due); err != nil {
		return fmt.Errorf("set review date: %w", err)
	}
	return nil
}

// MarkReviewed records that an editor checked the listing with the service now: the public
// page says so ("Last checked"), and the next review falls due after the usual interval.
func (l *Listings) MarkReviewed(ctx context.Context, id string) (*Service, error) {
	now := l.now()
	_, after, err := l.Change(ctx, id, time.Time{}, func(s *Service) error {
		s.LastReviewed = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := l.SetReviewDue(ctx, id, time.Time{}); err != nil {
		return nil, err
	}
	return after, nil
}

// ReviewQueue lists the listings that need an editor: those whose review is overdue or due
// within soon, and those with problems reported. Overdue listings come first, the most
// overdue at the top; then those with problems reported; then those due soon.
func (l *Listings) ReviewQueue(ctx context.Context, soon time.Duration) ([]ListingRow, error) {
	rows, err := l.Store.ReviewRows(ctx)
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	now := l.now()
	horizon := now.Add(soon)
	var out []ListingRow
	for _, r := range rows {
		if r.OpenReports > 0 || r.ReviewDue().Before(horizon) {
			out = append(out, r)
		}
	}
	group := func(r ListingRow) int {
		switch {
		case r.ReviewDue().Before(now):
			return 0
		case r.OpenReports > 0:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(a, b ListingRow) int {
		if c := group(a) - group(b); c != 0 {
			return c
		}
		if c := a.ReviewDue().Compare(b.ReviewDue()); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Report stores a problem someone reported with a published service's page.
func (l *Listings) Report(ctx context.Context, serviceID, text string) (int64, error) {
	s, err := l.Directory.Store.GetService(ctx, serviceID)
	if err != nil {
		return 0, err
	}
	if s.Status != Active {
		return 0, ErrNotFound
	}
	id, err := l.Store.AddReport(ctx, Report{ServiceID: serviceID, Text: text, At: l.now()})
	if err != nil {
		return 0, fmt.Errorf("report a problem: %w", err)
	}
	return id, nil
}

// ResolveReport marks a report dealt with.
func (l *Listings) ResolveReport(ctx context.Context, serviceID string, id int64, by string) error {
	return l.Store.ResolveReport(ctx, serviceID, id, by, l.now())
}

// organisation gives a service whose organisation was typed by name an id: an organisation
// already known by that name keeps its other details, otherwise a new one is made.
func (l *Listings) organisation(ctx context.Context, s *Service) error {
	if s.Organisation.ID != "" {
		return nil
	}
	name := s.Organisation.Name
	id := "org-" + slug(name, 60)
	if id == "org-" {
		id = NewListingID("org")
	}
	o, err := l.Store.Organisation(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		o = Organisation{ID: id}
	case err != nil:
		return fmt.Errorf("find organisation: %w", err)
	}
	o.Name = name
	s.Organisation = o
	return nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug turns a name into the start of an id: "Men's Advice Line" → "mens-advice-line".
func slug(s string, limit int) string {
	s = strings.ReplaceAll(strings.ToLower(s), "'", "")
	s = strings.Trim(nonSlug.ReplaceAllString(s, "-"), "-")
	if len(s) > limit {
		s = strings.TrimRight(s[:limit], "-")
	}
	return s
}

// NewListingID makes an id for a new listing from its name, with a random end so two
// services of the same name never share one.
func NewListingID(name string) string {
	const letters = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	base := slug(name, 60)
	if base == "" {
		base = "service"
	}
	return base + "-" + string(b[:])
}

// AllCategories are the DfE family hubs service categories an editor can choose from: every
// category a need maps to, in the order of the needs.
func AllCategories() []string {
	var out []string
	for _, n := range Needs {
		for _, c := range n.Categories {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// StatusLabel is how a status is written for editors.
func StatusLabel(s Status) string {
	switch s {
	case Active:
		return "Published"
	case Inactive:
		return "Unpublished"
	case TemporarilyClosed:
		return "Temporarily closed"
	case Defunct:
		return "Archived"
	}
	return string(s)
}

// ValidStatus reports whether s is a status a listing can have.
func ValidStatus(s Status) bool {
	return s == Active || s == Inactive || s == TemporarilyClosed || s == Defunct
}

// PhoneRow is a phone number as typed into the form.
type PhoneRow struct{ Number, Type, Description string }

// ContactRow is a contact as typed into the form.
type ContactRow struct{ Name, Title, Email, Phone string }

// LocationRow is a place as typed into the form. ID is the location's id when it already
// existed, so that it keeps it.
type LocationRow struct{ ID, Name, Address, Town, Postcode, Accessibility, Times string }

// DateParts is a date as typed into three boxes.
type DateParts struct{ Day, Month, Year string }

// ListingForm is a listing as an editor typed it: every value a string, so whatever was typed
// can be shown again with what to change.
type ListingForm struct {
	Organisation, Name, Summary, Description string
	Needs, Categories, Delivery              []string
	MinAge, MaxAge                           string
	Eligibility, Area                        string
	Free, Cost                               string
	National                                 string // "yes" when ticked
	Website, Email                           string
	Phones                                   []PhoneRow
	Contacts                                 []ContactRow
	Locations                                []LocationRow
	Times, OpeningNotes                      string
	Languages, Accessibility                 string
	HowToRefer, SelfReferral                 string
	ReviewDue                                DateParts
}

// FormError is one answer on the listing form that needs changing: the field's name (also its
// id, for the error summary's link) and what to do.
type FormError struct {
	Field, Message string
}

// Field names of the rows on the form.
func PhoneField(i int, part string) string    { return "phone-" + strconv.Itoa(i) + "-" + part }
func ContactField(i int, part string) string  { return "contact-" + strconv.Itoa(i) + "-" + part }
func LocationField(i int, part string) string { return "location-" + strconv.Itoa(i) + "-" + part }

// PhoneTypes are the kinds of number, as stored (HSDS phone type).
var PhoneTypes = []PhoneType{{"voice", "Call"}, {"text", "Text"}, {"textphone", "Textphone"}}

// PhoneType is a kind of phone number: its stored value and how the form says it.
type PhoneType struct{ Value, Label string }

// FormFor is the form filled in with a listing as it is.
func FormFor(s *Service) *ListingForm {
	f := &ListingForm{
		Organisation: s.Organisation.Name, Name: s.Name, Summary: s.Summary, Description: s.Description,
		MinAge: strconv.Itoa(s.MinAge), Eligibility: s.Eligibility, Area: s.AreaDescription,
		Cost: s.Cost, Website: s.Website, Email: s.Email, Times: ScheduleLines(s.Schedules),
		OpeningNotes: s.OpeningNotes, Languages: strings.Join(s.Languages, ", "),
		Accessibility: s.Accessibility, HowToRefer: s.HowToRefer,
		Categories: slices.Clone(s.Categories),
	}
	if s.MaxAge < MaxAgeLimit {
		f.MaxAge = strconv.Itoa(s.MaxAge)
	}
	for _, n := range s.Needs {
		f.Needs = append(f.Needs, string(n))
	}
	for _, d := range s.Delivery {
		f.Delivery = append(f.Delivery, string(d))
	}
	f.Free = yesNo(s.Free)
	f.SelfReferral = yesNo(s.SelfReferral)
	if s.National {
		f.National = "yes"
	}
	for _, p := range s.Phones {
		f.Phones = append(f.Phones, PhoneRow(p))
	}
	for _, c := range s.Contacts {
		f.Contacts = append(f.Contacts, ContactRow(c))
	}
	for _, l := range s.Locations {
		f.Locations = append(f.Locations, LocationRow{ID: l.ID, Name: l.Name, Address: l.Address, Town: l.Town,
			Postcode: l.Postcode, Accessibility: strings.Join(l.Accessibility, ", "), Times: ScheduleLines(l.Schedules)})
	}
	return f
}

// SetReviewDue fills in the review date boxes with a date an editor set before.
func (f *ListingForm) SetReviewDue(due time.Time) {
	if due.IsZero() {
		f.ReviewDue = DateParts{}
		return
	}
	f.ReviewDue = DateParts{Day: strconv.Itoa(due.Day()), Month: strconv.Itoa(int(due.Month())), Year: strconv.Itoa(due.Year())}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Compact drops the rows left empty, so the form shows what was typed and then one empty row.
func (f *ListingForm) Compact() {
	f.Phones = slices.DeleteFunc(f.Phones, func(r PhoneRow) bool { return blank(r.Number, r.Description) })
	f.Contacts = slices.DeleteFunc(f.Contacts, func(r ContactRow) bool { return blank(r.Name, r.Title, r.Email, r.Phone) })
	f.Locations = slices.DeleteFunc(f.Locations, func(r LocationRow) bool {
		return blank(r.Name, r.Address, r.Town, r.Postcode, r.Accessibility, r.Times)
	})
	f.Phones = f.Phones[:min(len(f.Phones), MaxListingRows)]
	f.Contacts = f.Contacts[:min(len(f.Contacts), MaxListingRows)]
	f.Locations = f.Locations[:min(len(f.Locations), MaxListingRows)]
}

func blank(xs ...string) bool {
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			return false
		}
	}
	return true
}

// checker collects a form's problems, one per field, in the order of the form.
type checker struct{ errs []FormError }

func (c *checker) add(field, message string) {
	if !slices.ContainsFunc(c.errs, func(e FormError) bool { return e.Field == field }) {
		c.errs = append(c.errs, FormError{field, message})
	}
}

// text checks a typed value: required or not, at most limit characters, and text a person
// could have typed (on one line unless multiline).
func (c *checker) text(field, value, what string, required bool, limit int, multiline bool) {
	v := strings.TrimSpace(value)
	switch {
	case v == "" && required:
		c.add(field, "Enter "+what)
	case !IsText(v, multiline):
		c.add(field, capitalise(what)+" must not contain special characters")
	case utf8.RuneCountInString(v) > limit:
		c.add(field, capitalise(what)+" must be "+strconv.Itoa(limit)+" characters or fewer")
	}
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// IsText is the rule referral.IsText applies to what families type: valid UTF-8 without
// control characters, separators, byte order marks or bidirectional overrides, which could
// make a listing read differently on the page from what was stored. A one-line field takes no
// line breaks either.
func IsText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' ||
			(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return false
		}
	}
	return true
}

var phoneChars = regexp.MustCompile(`^\+?[0-9 ()-]+$`)

// ValidPhone takes numbers as services publish them: "0808 2000 247", "116 123", "+44 1632 960000".
func ValidPhone(s string) bool {
	if !phoneChars.MatchString(s) {
		return false
	}
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n >= 3 && n <= 15
}

// ValidEmail takes an address on its own, as a listing shows it: no display name or brackets.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254 && !strings.ContainsAny(s, "<>\" ")
}

// ValidWebsite takes http and https addresses with a host.
func ValidWebsite(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(s, " <>\"") && len(s) <= 300
}

// Check returns what must change before the form can be saved. old is the listing as it is
// (nil for a new one): categories it already has stay allowed. now is for the review date.
func (f *ListingForm) Check(old *Service, now time.Time) []FormError {
	c := &checker{}
	c.text("organisation", f.Organisation, "the organisation that runs the service", true, 150, false)
	c.text("name", f.Name, "the name of the service", true, 150, false)
	c.text("summary", f.Summary, "a summary", true, 300, false)
	c.text("description", f.Description, "a description of what the service offers", true, 5000, true)
	if len(f.Needs) == 0 {
		c.add("needs", "Select at least one need the service helps with")
	}
	for _, n := range f.Needs {
		if !ValidNeed(n) {
			c.add("needs", "Select needs from the list")
		}
	}
	known := AllCategories()
	if old != nil {
		known = append(known, old.Categories...)
	}
	for _, cat := range f.Categories {
		if !slices.Contains(known, cat) {
			c.add("categories", "Select categories from the list")
		}
	}
	minAge, minErr := strconv.Atoi(strings.TrimSpace(f.MinAge))
	switch {
	case strings.TrimSpace(f.MinAge) == "":
		c.add("min-age", "Enter the youngest age the service is for. Use 0 if there is no lower limit")
	case minErr != nil || minAge < 0 || minAge >= MaxAgeLimit:
		c.add("min-age", "Enter the youngest age as a whole number from 0 to 98, like 5")
	}
	if m := strings.TrimSpace(f.MaxAge); m != "" {
		maxAge, err := strconv.Atoi(m)
		switch {
		case err != nil || maxAge < 0 || maxAge > MaxAgeLimit:
			c.add("max-age", "Enter the oldest age as a whole number from 0 to 99, like 18, or leave it empty")
		case minErr == nil && maxAge < minAge:
			c.add("max-age", "The oldest age must be the same as or more than the youngest age")
		}
	}
	c.text("eligibility", f.Eligibility, "who can use the service", false, 1000, true)
	c.text("area", f.Area, "the area the service covers", false, 150, false)
	if f.Free != "yes" && f.Free != "no" {
		c.add("free", "Select whether the service is free")
	}
	c.text("cost", f.Cost, "what it costs", false, 200, false)
	if len(f.Delivery) == 0 {
		c.add("delivery", "Select at least one way people get help from the service")
	}
	for _, d := range f.Delivery {
		if !ValidDelivery(d) {
			c.add("delivery", "Select ways from the list")
		}
	}
	if w := strings.TrimSpace(f.Website); w != "" && !ValidWebsite(w) {
		c.add("website", "Enter the website's full address, starting with https://")
	}
	if e := strings.TrimSpace(f.Email); e != "" && !ValidEmail(e) {
		c.add("email", "Enter an email address in the correct format, like name@example.org")
	}
	for i, p := range f.Phones {
		field := PhoneField(i, "number")
		switch n := strings.TrimSpace(p.Number); {
		case n == "":
			c.add(field, "Enter phone number "+strconv.Itoa(i+1)+", or clear its description")
		case !ValidPhone(n):
			c.add(field, "Enter phone number "+strconv.Itoa(i+1)+" using only digits, spaces and brackets, like 01632 960000")
		}
		if !slices.ContainsFunc(PhoneTypes, func(t PhoneType) bool { return t.Value == p.Type }) && p.Type != "" {
			c.add(PhoneField(i, "type"), "Select what kind of number phone number "+strconv.Itoa(i+1)+" is")
		}
		c.text(PhoneField(i, "description"), p.Description, "the note for phone number "+strconv.Itoa(i+1), false, 200, false)
	}
	for i, ct := range f.Contacts {
		n := strconv.Itoa(i + 1)
		if blank(ct.Name, ct.Title) {
			c.add(ContactField(i, "name"), "Enter a name or a job title for contact "+n)
		}
		c.text(ContactField(i, "name"), ct.Name, "the name of contact "+n, false, 100, false)
		c.text(ContactField(i, "title"), ct.Title, "the job title of contact "+n, false, 100, false)
		if e := strings.TrimSpace(ct.Email); e != "" && !ValidEmail(e) {
			c.add(ContactField(i, "email"), "Enter an email address for contact "+n+" in the correct format, like name@example.org")
		}
		if p := strings.TrimSpace(ct.Phone); p != "" && !ValidPhone(p) {
			c.add(ContactField(i, "phone"), "Enter a phone number for contact "+n+" using only digits, spaces and brackets")
		}
	}
	for i, l := range f.Locations {
		n := strconv.Itoa(i + 1)
		c.text(LocationField(i, "name"), l.Name, "the name of place "+n, false, 150, false)
		c.text(LocationField(i, "address"), l.Address, "the street address of place "+n, true, 200, false)
		c.text(LocationField(i, "town"), l.Town, "the town of place "+n, true, 100, false)
		field := LocationField(i, "postcode")
		if strings.TrimSpace(l.Postcode) == "" {
			c.add(field, "Enter the postcode of place "+n)
		} else if _, err := postcode.Normalise(l.Postcode); err != nil {
			c.add(field, "Enter a real postcode for place "+n+", like WV1 1AA")
		} else if _, err := postcode.Lookup(l.Postcode); err != nil {
			c.add(field, "We could not find the postcode of place "+n+". Check it and try again")
		}
		c.text(LocationField(i, "accessibility"), l.Accessibility, "the access information for place "+n, false, 500, false)
		if _, err := ParseSchedules(l.Times); err != nil {
			c.add(LocationField(i, "times"), "Opening times of place "+n+": "+err.Error())
		}
	}
	if _, err := ParseSchedules(f.Times); err != nil {
		c.add("times", "Opening times: "+err.Error())
	}
	c.text("opening-notes", f.OpeningNotes, "the note about opening times", false, 500, true)
	c.text("languages", f.Languages, "the languages", false, 300, false)
	c.text("accessibility", f.Accessibility, "the accessibility information", false, 1000, true)
	c.text("how-to-refer", f.HowToRefer, "how to get a referral", false, 1000, true)
	if f.SelfReferral != "yes" && f.SelfReferral != "no" {
		c.add("self-referral", "Select whether people can contact the service themselves")
	}
	if !blank(f.ReviewDue.Day, f.ReviewDue.Month, f.ReviewDue.Year) {
		d, ok := f.reviewDate()
		switch {
		case !ok:
			c.add("review-due", "Enter the review date as a real date, like 27 3 2027, or leave it empty")
		case d.Before(dateOf(now)):
			c.add("review-due", "The review date must be today or in the future")
		case d.After(now.AddDate(2, 0, 0)):
			c.add("review-due", "The review date must be within 2 years")
		}
	}
	return c.errs
}

func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (f *ListingForm) reviewDate() (time.Time, bool) {
	d, err1 := strconv.Atoi(strings.TrimSpace(f.ReviewDue.Day))
	m, err2 := strconv.Atoi(strings.TrimSpace(f.ReviewDue.Month))
	y, err3 := strconv.Atoi(strings.TrimSpace(f.ReviewDue.Year))
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 || d < 1 || y < 2000 || y > 9999 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 31 April
	}
	return t, true
}

// Due is the review date the editor set, or zero for the usual interval. Call it on a form
// that passed Check.
func (f *ListingForm) Due() time.Time {
	d, _ := f.reviewDate()
	return d
}

// Apply writes a form that passed Check into s. Places whose postcode changed are located
// again; the others keep where they were.
func (f *ListingForm) Apply(s *Service) {
	t := strings.TrimSpace
	if t(f.Organisation) != s.Organisation.Name {
		// Another organisation: Listings finds it by name, or makes it.
		s.Organisation = Organisation{Name: t(f.Organisation)}
	}
	s.Name, s.Summary, s.Description = t(f.Name), t(f.Summary), t(f.Description)
	s.Needs = nil
	for _, n := range f.Needs {
		if !slices.Contains(s.Needs, Need(n)) {
			s.Needs = append(s.Needs, Need(n))
		}
	}
	s.Categories = nil
	for _, c := range f.Categories {
		if !slices.Contains(s.Categories, c) {
			s.Categories = append(s.Categories, c)
		}
	}
	if len(s.Categories) == 0 {
		s.Categories = CategoriesFor(s.Needs)
	}
	s.MinAge, _ = strconv.Atoi(t(f.MinAge))
	s.MaxAge = MaxAgeLimit
	if m := t(f.MaxAge); m != "" {
		s.MaxAge, _ = strconv.Atoi(m)
	}
	s.Eligibility, s.AreaDescription = t(f.Eligibility), t(f.Area)
	s.Free, s.Cost = f.Free == "yes", t(f.Cost)
	s.Delivery = nil
	for _, d := range Deliveries {
		if slices.Contains(f.Delivery, string(d)) {
			s.Delivery = append(s.Delivery, d)
		}
	}
	s.National = f.National == "yes"
	s.Website, s.Email = t(f.Website), t(f.Email)
	s.Phones = nil
	for _, p := range f.Phones {
		typ := p.Type
		if typ == "" {
			typ = "voice"
		}
		s.Phones = append(s.Phones, PhoneNumber{Number: t(p.Number), Type: typ, Description: t(p.Description)})
	}
	s.Contacts = nil
	for _, c := range f.Contacts {
		s.Contacts = append(s.Contacts, Contact{Name: t(c.Name), Title: t(c.Title), Email: t(c.Email), Phone: t(c.Phone)})
	}
	old := s.Locations
	s.Locations = nil
	for _, r := range f.Locations {
		pc, _ := postcode.Normalise(r.Postcode)
		l := Location{ID: r.ID, Name: t(r.Name), Address: t(r.Address), Town: t(r.Town), Postcode: pc,
			Accessibility: splitList(r.Accessibility)}
		l.Schedules, _ = ParseSchedules(r.Times)
		// A row keeps its place's id only if the place is this listing's and no other row
		// has taken it; anything else is a new place.
		i := slices.IndexFunc(old, func(o Location) bool { return o.ID == r.ID && r.ID != "" })
		if i < 0 || slices.ContainsFunc(s.Locations, func(x Location) bool { return x.ID == r.ID }) {
			i, l.ID = -1, NewListingID(s.ID+"-at-"+l.Town)
		}
		if i >= 0 && old[i].Postcode == pc {
			l.Latitude, l.Longitude = old[i].Latitude, old[i].Longitude
		} else if place, err := postcode.Lookup(pc); err == nil {
			l.Latitude, l.Longitude = place.Lat, place.Lng
		}
		s.Locations = append(s.Locations, l)
	}
	s.Schedules, _ = ParseSchedules(f.Times)
	s.OpeningNotes = t(f.OpeningNotes)
	s.Languages = splitList(f.Languages)
	s.Accessibility, s.HowToRefer = t(f.Accessibility), t(f.HowToRefer)
	s.SelfReferral = f.SelfReferral == "yes"
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

var scheduleLine = regexp.MustCompile(`^(?i)([a-z]+)\s+(\d{1,2})[:.](\d{2})\s*(?:-|–|to)\s*(\d{1,2})[:.](\d{2})(?:\s+(.+))?$`)

// ParseSchedules reads opening times written one day a line, like "Monday 09:00-17:00", with
// an optional note after the times: "Tuesday 09:30-12:00 drop-in".
func ParseSchedules(text string) ([]Schedule, error) {
	var out []Schedule
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := scheduleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("write line %d as a day and times, like Monday 09:00-17:00", n+1)
		}
		day, ok := weekday(m[1])
		if !ok {
			return nil, fmt.Errorf("line %d does not start with a day of the week, like Monday", n+1)
		}
		opens, ok1 := clock(m[2], m[3])
		closes, ok2 := clock(m[4], m[5])
		if !ok1 || !ok2 || closes <= opens {
			return nil, fmt.Errorf("line %d needs real times, the closing time after the opening time, like 09:00-17:00", n+1)
		}
		note := strings.TrimSpace(m[6])
		if !IsText(note, false) || utf8.RuneCountInString(note) > 100 {
			return nil, fmt.Errorf("the note on line %d must be 100 characters or fewer, without special characters", n+1)
		}
		out = append(out, Schedule{Weekday: day, Opens: opens, Closes: closes, Description: note})
		if len(out) > 21 {
			return nil, errors.New("enter at most 21 lines")
		}
	}
	return out, nil
}

func weekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || (len(s) >= 3 && strings.HasPrefix(name, s)) {
			return d, true
		}
	}
	return 0, false
}

func clock(h, m string) (string, bool) {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d", hh, mm), true
}

// ScheduleLines writes opening times the way ParseSchedules reads them.
func ScheduleLines(ss []Schedule) string {
	lines := make([]string, 0, len(ss))
	for _, s := range ss {
		l := s.Weekday.String() + " " + s.Opens + "-" + s.Closes
		if s.Description != "" {
			l += " " + s.Description
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// Changes names the fields that differ between two versions of a listing, for the audit
// trail. Short facts that say nothing about anyone are written old → new; the rest are named
// only, since descriptions and contacts can be long or name people.
func Changes(before, after *Service) []string {
	var out []string
	named := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	shown := func(name, old, new string) {
		if old != new {
			out = append(out, name+": "+old+" → "+new)
		}
	}
	named("organisation", before.Organisation.Name == after.Organisation.Name)
	named("name", before.Name == after.Name)
	named("summary", before.Summary == after.Summary)
	named("description", before.Description == after.Description)
	named("needs", sameList(before.Needs, after.Needs))
	named("categories", sameList(before.Categories, after.Categories))
	shown("ages", AgeRangeText(before.MinAge, before.MaxAge), AgeRangeText(after.MinAge, after.MaxAge))
	named("who can use it", before.Eligibility == after.Eligibility)
	named("area", before.AreaDescription == after.AreaDescription)
	shown("free", yesNo(before.Free), yesNo(after.Free))
	named("cost", before.Cost == after.Cost)
	shown("ways to get help", deliveryText(before.Delivery), deliveryText(after.Delivery))
	shown("national", yesNo(before.National), yesNo(after.National))
	named("website", before.Website == after.Website)
	named("email", before.Email == after.Email)
	named("phone numbers", sameList(before.Phones, after.Phones))
	named("contacts", sameList(before.Contacts, after.Contacts))
	named("places", sameList(before.Locations, after.Locations))
	named("opening times", sameList(before.Schedules, after.Schedules))
	named("opening notes", before.OpeningNotes == after.OpeningNotes)
	named("languages", sameList(before.Languages, after.Languages))
	named("accessibility", before.Accessibility == after.Accessibility)
	named("how to refer", before.HowToRefer == after.HowToRefer)
	shown("self-referral", yesNo(before.SelfReferral), yesNo(after.SelfReferral))
	shown("status", StatusLabel(before.Status), StatusLabel(after.Status))
	named("last checked", before.LastReviewed.Equal(after.LastReviewed))
	return out
}

// sameList compares two lists, an empty one and a missing one being the same.
func sameList[T any](a, b []T) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func deliveryText(ds []Delivery) string {
	if len(ds) == 0 {
		return "none"
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	return strings.Join(out, ", ")
}
