package views

import (
	"strconv"

	"familyhelp/referral"
)

// Journey titles are neutral: a tab or a browser history entry must not tell anyone looking
// over a shoulder that this person asked for help.
const (
	JourneyTitle = "Contact form"
	CheckTitle   = "Contact form: check your answers"
	DoneTitle    = "Contact form: sent"
)

// Question is what every question page of the journey carries.
type Question struct {
	Base Base
	// Step is the page's slug, for the form's action.
	Step   referral.Step
	CSRF   string
	Errors []FieldError
	// Notice says what happened when a draft expired or a page timed out, and that what could
	// be kept was kept.
	Notice string
	// Change is set when the page was opened from "Check your answers": Continue goes back
	// there.
	Change bool
	// Asker changes some words ("your children", "the children").
	Asker referral.Asker
}

// Err is the message for one field, or "".
func (q Question) Err(field string) string {
	for _, e := range q.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// Action is where the page's form posts.
func (q Question) Action() string {
	a := "/refer/" + string(q.Step)
	if q.Change {
		a += "?change=1"
	}
	return a
}

// self is true when the parent or carer is the one asking.
func (q Question) self() bool { return q.Asker == referral.AskerSelf || q.Asker == "" }

// ReferStart is the start page.
type ReferStart struct {
	Base        Base
	CSRF        string
	ServiceID   string
	ServiceName string
	Council     string
	// Resume is set when the person has answers in progress.
	Resume string
	// Notice says their earlier answers were deleted.
	Notice string
}

// WhoPage asks who is asking.
type WhoPage struct {
	Question
	Form *referral.WhoForm
}

// ProfessionalPage asks a professional about themselves and the family's agreement.
type ProfessionalPage struct {
	Question
	Form *referral.ProfessionalForm
}

// DangerPage asks whether anyone is in immediate danger.
type DangerPage struct {
	Question
	Form *referral.DangerForm
}

// UrgentPage tells a person in danger to call 999, and lets them go on.
type UrgentPage struct {
	Base Base
	Next string
}

// NeedsPage asks what is going on.
type NeedsPage struct {
	Question
	Form *referral.NeedsForm
}

// AdultPage asks about the parent or carer.
type AdultPage struct {
	Question
	Form *referral.AdultForm
}

// ChildrenPage lists the children, with one empty row to add another.
type ChildrenPage struct {
	Question
	Rows []referral.ChildRow
}

// HomePageForm asks where the family lives.
type HomePageForm struct {
	Question
	Form *referral.HomeForm
}

// NetworkPage asks who could help.
type NetworkPage struct {
	Question
	Rows   []referral.SupporterRow
	Nobody bool
}

// ContactPage asks how to get in touch safely.
type ContactPage struct {
	Question
	Form *referral.ContactForm
}

// ConsentPage asks for agreement to share.
type ConsentPage struct {
	Question
	Form *referral.ConsentForm
	// FamilyAgreed is the professional's answer, which changes what they confirm.
	FamilyAgreed string
}

// CheckRow is one answer on the check page, with the page to change it on.
type CheckRow struct {
	Key, Value string
	// Lines are shown one per line when Value is empty.
	Lines  []string
	Change referral.Step
}

// CheckSection is a titled group of answers.
type CheckSection struct {
	Title string
	Rows  []CheckRow
}

// CheckPage shows every answer before sending.
type CheckPage struct {
	Base     Base
	CSRF     string
	Sections []CheckSection
	Errors   []FieldError
	Notice   string
}

// DonePage confirms a referral was sent.
type DonePage struct {
	Base      Base
	CSRF      string
	Reference string
	TeamName  string
	TeamPhone string
	TeamHours string
	Urgent    bool
	// TheyWillContact: show the team's number for them to call.
	TheyWillContact bool
	OutsideArea     bool
	OtherCouncil    string
	EmailConfirm    bool
}

// LimitedPage is shown when someone has sent too many requests for now.
type LimitedPage struct {
	Base       Base
	RetryAfter string // "in 10 minutes"
	// Back is the page to return to, where the answers still are.
	Back string
}

// ChildLegend is "Child 1", "Child 2"…
func ChildLegend(i int) string { return "Child " + strconv.Itoa(i+1) }

// PersonLegend is "Person 1", "Person 2"…
func PersonLegend(i int) string { return "Person " + strconv.Itoa(i+1) }

func checked(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// Input is a GOV.UK text input.
type Input struct {
	ID, Label, Hint, Value, Error string
	// LabelClass sizes the label: "govuk-label--m", or "" for body size.
	LabelClass   string
	Type         string // "text" unless set
	Autocomplete string
	InputMode    string
	Width        string // "govuk-input--width-10"…
	Spellcheck   bool
	MaxLength    int
}

func (in Input) inputType() string {
	if in.Type == "" {
		return "text"
	}
	return in.Type
}

func describedBy(id, hint, err string) string {
	var s string
	if hint != "" {
		s = id + "-hint"
	}
	if err != "" {
		if s != "" {
			s += " "
		}
		s += id + "-error"
	}
	return s
}

// Area is a GOV.UK textarea, with a character count when Limit is set.
type Area struct {
	ID, Label, Hint, Value, Error string
	LabelClass                    string
	Rows                          int
	Limit                         int
}

// Choice is one radio or checkbox.
type Choice struct {
	Value, Label, Hint string
	Checked            bool
	// Exclusive unticks the others when ticked ("None of these"), with JavaScript.
	Exclusive bool
}

// Choices is a GOV.UK radios or checkboxes question.
type Choices struct {
	Name, Legend, Hint, Error string
	// LegendClass sizes the legend; LegendIsHeading makes it the page's h1.
	LegendClass     string
	LegendIsHeading bool
	Items           []Choice
	Inline          bool
	Small           bool
}

// itemID is the id of a choice: the first carries the question's name, so the error summary's
// link lands on it.
func (c Choices) itemID(i int) string {
	if i == 0 {
		return c.Name
	}
	return c.Name + "-" + c.Items[i].Value
}

// YesNo is a yes or no question's choices.
func YesNo(value string) []Choice {
	return []Choice{{Value: "yes", Label: "Yes", Checked: value == "yes"}, {Value: "no", Label: "No", Checked: value == "no"}}
}
