package views

import (
	"time"

	"familyhelp/referral"
	"familyhelp/staff"
)

// StaffBase is what every staff page carries.
type StaffBase struct {
	Title     string
	HasErrors bool
	// Account is the person signed in, or nil on the sign-in pages.
	Account *staff.Account
	CSRF    string
	// Nav marks the current section: "referrals", "outbox", "accounts".
	Nav    string
	Errors []FieldError
	Notice string
}

// PageTitle is the text of the <title> element.
func (b StaffBase) PageTitle() string {
	t := b.Title + " – Family Help staff"
	if b.HasErrors {
		return "Error: " + t
	}
	return t
}

// Err is the message for one field, or "".
func (b StaffBase) Err(field string) string {
	for _, e := range b.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

func (b StaffBase) can(a staff.Action) bool {
	if b.Account == nil {
		return false
	}
	team := b.Account.TeamID
	return staff.Can(b.Account, a, team)
}

// StaffLogin is the sign-in page.
type StaffLogin struct {
	Base  StaffBase
	Email string
}

// StaffCode asks for the second factor's code.
type StaffCode struct {
	Base StaffBase
}

// StaffEnrol sets up the second factor.
type StaffEnrol struct {
	Base   StaffBase
	Secret string
	QR     string // a data: URL of the QR code image
}

// StaffSetPassword sets a password from a one-time link.
type StaffSetPassword struct {
	Base  StaffBase
	Token string
}

// StaffHome is the portal's front page.
type StaffHome struct {
	Base     StaffBase
	TeamName string
}

// InboxRow is one referral in the inbox.
type InboxRow struct {
	Reference string
	Urgent    bool
	Status    string
	Received  string
	Needs     string
	Joined    bool // routed to this team as a joining team
}

// StaffInbox is a team's referrals.
type StaffInbox struct {
	Base     StaffBase
	TeamName string
	Rows     []InboxRow
	Status   string
	Need     string
	Statuses []Option
	Needs    []Option
}

// StaffReferral is one referral's page.
type StaffReferral struct {
	Base        StaffBase
	Record      referral.Record
	Referral    *referral.Referral
	Notes       []staff.Note
	TeamName    string
	CanTransfer bool
	// CanChangeStatus is for the owning team; a joining team reads and adds notes.
	CanChangeStatus bool
	Teams           []referral.Team
	NextStatus      []referral.Status
	Sections        []CheckSection
	Received        string
}

// StaffAccounts lists accounts, for an admin.
type StaffAccounts struct {
	Base       StaffBase
	Accounts   []*staff.Account
	Teams      []referral.Team
	RequireMFA bool
	Form       AccountForm
	// NewLink is shown once, after an account is created.
	NewLink string
}

// AccountForm is the new-account form.
type AccountForm struct {
	Email, Name, Role, Team string
}

// OutboxRow is a notification as staff see it.
type OutboxRow struct {
	Reference, Kind, Team, Created, State, LastError string
}

// StaffOutbox lists notifications.
type StaffOutbox struct {
	Base StaffBase
	Rows []OutboxRow
}

// When writes a time for staff, in UK time.
func When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(london).Format("2 January 2006, 3:04pm")
}

var london = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()
