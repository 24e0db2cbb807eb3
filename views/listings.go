package views

import (
	"strconv"

	"familyhelp/directory"
	"familyhelp/referral"
)

// ListingLine is a listing in a staff table, its facts already in words.
type ListingLine struct {
	ID, Name, Organisation string
	Status                 directory.Status
	Due                    string
	Overdue                bool
	Reports                int
}

// ListingsList is the editors' list of listings, searched by name.
type ListingsList struct {
	Base StaffBase
	// Query and Statuses are the search as typed, to show it again.
	Query    string
	Statuses []Option
	Rows     []ListingLine
	// Total is how many matched; Rows may show fewer.
	Total int
	// QueueSize is how many listings need review.
	QueueSize int
}

// ListingEdit is the form to add or change a listing.
type ListingEdit struct {
	Base StaffBase
	// ID is empty for a new listing.
	ID      string
	Heading string
	Form    *directory.ListingForm
	// Version is when the listing was last saved, so a save over someone else's is refused.
	Version string
	// The rows to show: what was typed, then one empty row while there is room.
	Phones    []directory.PhoneRow
	Contacts  []directory.ContactRow
	Locations []directory.LocationRow
	// Categories are the DfE categories to choose from.
	Categories []string
	Published  bool
	// DueHint says when the review falls due if no date is set.
	DueHint string
}

// Action is where the form posts.
func (p ListingEdit) Action() string {
	if p.ID == "" {
		return "/staff/listings/new"
	}
	return "/staff/listings/" + p.ID + "/edit"
}

// Back is the page the form was opened from.
func (p ListingEdit) Back() string {
	if p.ID == "" {
		return "/staff/listings"
	}
	return "/staff/listings/" + p.ID
}

// StatusAction is a button that moves a listing to another status.
type StatusAction struct {
	To    directory.Status
	Label string
	// Warning marks an action that takes the listing off the public site.
	Warning bool
}

// ReportLine is a problem reported with a listing's public page.
type ReportLine struct {
	ID         int64
	Text       string
	At         string
	Open       bool
	ResolvedBy string
	ResolvedAt string
}

// ListingView is one listing's staff page.
type ListingView struct {
	Base        StaffBase
	Service     *directory.Service
	LastChecked string
	Due         string
	DueSet      bool
	Overdue     bool
	Updated     string
	Actions     []StatusAction
	Open        []ReportLine
	Resolved    []ReportLine
}

// Hidden is a value a form carries unseen, such as unsaved answers on the preview.
type Hidden struct{ Name, Value string }

// ListingPreview is a listing shown as its public page, for an editor.
type ListingPreview struct {
	Base    Base
	Service *directory.Service
	CSRF    string
	// Action is where the unsaved answers go back to; empty for a saved listing's preview.
	Action    string
	Hidden    []Hidden
	ID        string
	Published bool
}

// ListingQueue is the listings that need review.
type ListingQueue struct {
	Base     StaffBase
	Rows     []ListingLine
	Overdue  int
	Reported int
}

// HistoryLine is one change to a listing.
type HistoryLine struct{ When, Who, Action, Detail string }

// ListingHistory is a listing's audit trail.
type ListingHistory struct {
	Base    StaffBase
	ID      string
	Name    string
	Entries []HistoryLine
}

// ReportProblem is the public form to report a problem with a service's page.
type ReportProblem struct {
	Base        Base
	CSRF        string
	ServiceID   string
	ServiceName string
	Text        string
	Errors      []FieldError
	Notice      string
	Sent        bool
}

// Err is the message for one field, or "".
func (p ReportProblem) Err(field string) string {
	for _, e := range p.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// statusTag is the colour of a status's tag.
func statusTag(s directory.Status) string {
	switch s {
	case directory.Active:
		return "govuk-tag govuk-tag--green"
	case directory.TemporarilyClosed:
		return "govuk-tag govuk-tag--yellow"
	case directory.Defunct:
		return "govuk-tag govuk-tag--red"
	}
	return "govuk-tag govuk-tag--grey"
}

const categoriesHint = "The family hubs categories the DfE and other councils use. If you select none, the categories that match the needs are used."

func needOptions(f *directory.ListingForm) []Choice {
	var out []Choice
	for _, n := range directory.Needs {
		out = append(out, Choice{Value: string(n.Slug), Label: n.Label, Checked: checked(f.Needs, string(n.Slug))})
	}
	return out
}

func deliveryOptions(f *directory.ListingForm) []Choice {
	var out []Choice
	for _, d := range directory.Deliveries {
		out = append(out, Choice{Value: string(d), Label: d.Label(), Checked: checked(f.Delivery, string(d))})
	}
	return out
}

func phoneTypeOptions(selected string) []Choice {
	if selected == "" {
		selected = "voice"
	}
	var out []Choice
	for _, t := range directory.PhoneTypes {
		out = append(out, Choice{Value: t.Value, Label: t.Label, Checked: t.Value == selected})
	}
	return out
}

func nationalOption(f *directory.ListingForm) []Choice {
	return []Choice{{Value: "yes", Label: "This is a national service: families anywhere can use it", Checked: f.National == "yes"}}
}

func reviewDate(d directory.DateParts) referral.DateInput {
	return referral.DateInput{Day: d.Day, Month: d.Month, Year: d.Year}
}

func legend(what string, i int) string { return what + " " + strconv.Itoa(i+1) }

// CountText says how many of something there are: "1 listing", "3 listings".
func CountText(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ListingsTransfer is the page to import and export listings as Open Referral data.
type ListingsTransfer struct {
	Base StaffBase
	// FileError is what is wrong with the uploaded file, if anything.
	FileError string
	// Report is what an import just did; nil before one.
	Report *ImportReport
	// MaxMB is the largest file the form takes, in megabytes.
	MaxMB int
}

// ImportReport is an import's outcome, record by record.
type ImportReport struct {
	FileName                             string
	Created, Updated, Unchanged, Skipped int
	Records                              []ImportLine
}

// ImportLine is one record of an import.
type ImportLine struct {
	Where, Name, Outcome string
	// ListingID links to the listing created or updated.
	ListingID          string
	Problems, Warnings []string
}
