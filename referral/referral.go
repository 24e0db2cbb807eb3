// Package referral is the domain of asking for help: what a family, a friend or a professional
// tells us (Referral), the rules its answers must keep (validation), where it goes (routing to
// the council's Family Help teams), its reference, and the Service that stores it sealed with
// its notifications in one step.
//
// It imports no HTTP, no driver and no engine: storage and sealing are interfaces that
// adapters implement.
package referral

import (
	"slices"
	"time"
)

// Asker is who is asking for help.
type Asker string

// Who can ask.
const (
	AskerSelf         Asker = "self"         // a parent or carer, for their own family
	AskerSomeone      Asker = "someone"      // a family member or friend, with the family's knowledge
	AskerProfessional Asker = "professional" // a school, GP surgery, charity, health visitor…
)

// Need is what the family needs help with. The slugs match the directory's needs where there
// is one, so a referral started from a search keeps its meaning.
type Need string

// The needs a referral can name.
const (
	NeedDomesticAbuse Need = "domestic-abuse"
	NeedAddiction     Need = "addiction"
	NeedMentalHealth  Need = "mental-health"
	NeedParenting     Need = "parenting"
	NeedMoney         Need = "money"
	NeedHousing       Need = "housing"
	NeedOther         Need = "other"
)

// NeedChoice is a need as the form offers it.
type NeedChoice struct {
	Need  Need
	Label string
}

// NeedChoices lists the needs in the order the form shows them.
var NeedChoices = []NeedChoice{
	{NeedDomesticAbuse, "Domestic abuse"},
	{NeedAddiction, "Drug or alcohol use"},
	{NeedMentalHealth, "Mental health"},
	{NeedParenting, "Parenting and family life"},
	{NeedMoney, "Money and debt"},
	{NeedHousing, "Housing"},
	{NeedOther, "Something else"},
}

// Label is how a need is written for people.
func (n Need) Label() string {
	for _, c := range NeedChoices {
		if c.Need == n {
			return c.Label
		}
	}
	return string(n)
}

// Method is a way we might get in touch.
type Method string

// The ways to get in touch, each of which the family marks safe or not.
const (
	ByCall      Method = "call"
	ByText      Method = "text"
	ByVoicemail Method = "voicemail"
	ByEmail     Method = "email"
	ByLetter    Method = "letter"
)

// MethodChoice is a contact method as the form offers it.
type MethodChoice struct {
	Method Method
	Label  string
}

// Methods lists the contact methods in the order the form shows them.
var Methods = []MethodChoice{
	{ByCall, "Phone call"},
	{ByText, "Text message"},
	{ByVoicemail, "Voicemail"},
	{ByEmail, "Email"},
	{ByLetter, "Letter"},
}

// Label is how a method is written for people.
func (m Method) Label() string {
	for _, c := range Methods {
		if c.Method == m {
			return c.Label
		}
	}
	return string(m)
}

// Professional is the person referring a family on its behalf.
type Professional struct {
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
	Role         string `json:"role"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	// FamilyAgreed is "yes" when the family agreed to the referral, "no" when it did not know
	// or agree; then NoConsentReason says why.
	FamilyAgreed    string `json:"family_agreed"`
	NoConsentReason string `json:"no_consent_reason,omitempty"`
	// ChildProtection is a professional's concern that a child is at risk of significant harm:
	// it goes to the front door (MASH), urgently.
	ChildProtection bool `json:"child_protection,omitempty"`
}

// Adult is the parent or carer we would contact.
type Adult struct {
	Name   string `json:"name"`
	CallMe string `json:"call_me,omitempty"` // what to call them, if not their name
}

// Child is a child or young person in the family, or a baby on the way.
type Child struct {
	Name        string     `json:"name"` // first name or initials
	Age         *int       `json:"age,omitempty"`
	DateOfBirth *time.Time `json:"date_of_birth,omitempty"`
	Expected    bool       `json:"expected,omitempty"` // a baby on the way
}

// AgeOn is the child's age in whole years on day, from the date of birth if given; ok is false
// for an expected baby or when neither is known.
func (c Child) AgeOn(day time.Time) (age int, ok bool) {
	switch {
	case c.Expected:
		return 0, false
	case c.DateOfBirth != nil:
		b := *c.DateOfBirth
		age = day.Year() - b.Year()
		if day.Month() < b.Month() || (day.Month() == b.Month() && day.Day() < b.Day()) {
			age--
		}
		return max(age, 0), true
	case c.Age != nil:
		return *c.Age, true
	}
	return 0, false
}

// Supporter is someone in the family's network who could help.
type Supporter struct {
	Name         string `json:"name"`
	Relationship string `json:"relationship"`
	MayContact   string `json:"may_contact"` // "yes" or "no"
}

// Contact says how, and when, it is safe to get in touch.
type Contact struct {
	// Safe lists the methods marked safe; every other method is unsafe.
	Safe []Method `json:"safe,omitempty"`
	// TheyWillContact is the family's choice to contact the team themselves rather than be
	// contacted: the confirmation then shows the team's number.
	TheyWillContact bool   `json:"they_will_contact,omitempty"`
	Phone           string `json:"phone,omitempty"`
	Email           string `json:"email,omitempty"`
	Address         string `json:"address,omitempty"` // for letters
	SafeTimes       string `json:"safe_times,omitempty"`
	// SayWhoWeAre is "yes" when we may say we are from Family Help, "no" when we must not.
	SayWhoWeAre string `json:"say_who_we_are"`
	// Confirmation asks for a confirmation email to Email, which must be marked safe.
	Confirmation bool `json:"confirmation,omitempty"`
}

// IsSafe reports whether m was marked safe.
func (c Contact) IsSafe(m Method) bool { return slices.Contains(c.Safe, m) }

// Referral is one request for help with everything the person told us. It is what is sealed
// and stored; only its Record (reference, team, urgency, dates) is kept in the clear.
type Referral struct {
	// ServiceID is the directory service the journey started from, if any.
	ServiceID string `json:"service_id,omitempty"`
	Asker     Asker  `json:"asker"`
	// Professional is set when Asker is AskerProfessional.
	Professional *Professional `json:"professional,omitempty"`
	// Relationship is how a family member or friend knows the family.
	Relationship string `json:"relationship,omitempty"`
	// Danger is "yes" when someone is in immediate danger, "no" when not.
	Danger string `json:"danger"`
	Needs  []Need `json:"needs"`
	Story  string `json:"story"` // in their own words

	Adult    Adult   `json:"adult"`
	Children []Child `json:"children,omitempty"`
	// Household is who else lives there.
	Household     string `json:"household,omitempty"`
	Postcode      string `json:"postcode"`
	Address       string `json:"address,omitempty"`
	Languages     string `json:"languages,omitempty"`
	Interpreter   string `json:"interpreter,omitempty"` // "yes" or "no"
	Accessibility string `json:"accessibility,omitempty"`

	Network []Supporter `json:"network,omitempty"`
	// NoNetwork is an answer of "there is nobody" rather than no answer.
	NoNetwork bool `json:"no_network,omitempty"`

	Contact Contact `json:"contact"`
	// Consent is the explicit yes of a parent or carer, or of the person asking for a family
	// that knows and agrees; a professional's part is Professional.FamilyAgreed.
	Consent bool `json:"consent"`

	// Decision is where it went and why, filled in when it is submitted.
	Decision *Decision `json:"decision,omitempty"`
}

// Urgent reports whether the answers alone make the referral urgent.
func (r *Referral) Urgent() bool {
	return r.Danger == "yes" || (r.Professional != nil && r.Professional.ChildProtection)
}
