package referral

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Step is one question page of the journey, by its URL slug.
type Step string

// The journey's question pages.
const (
	StepWho          Step = "who"
	StepProfessional Step = "professional"
	StepDanger       Step = "danger"
	StepNeeds        Step = "needs"
	StepAdult        Step = "adult"
	StepChildren     Step = "children"
	StepHome         Step = "home"
	StepNetwork      Step = "network"
	StepContact      Step = "contact"
	StepConsent      Step = "consent"
)

// Steps lists the question pages this referral goes through, in order: the professional's
// details only for a professional. The danger question comes early, so that 999 is shown
// before anyone spends time on the rest.
func Steps(r *Referral) []Step {
	steps := []Step{StepWho}
	if r.Asker == AskerProfessional {
		steps = append(steps, StepProfessional)
	}
	return append(steps, StepDanger, StepNeeds, StepAdult, StepChildren, StepHome, StepNetwork, StepContact, StepConsent)
}

// After is the page that follows step, or "" after the last.
func After(r *Referral, step Step) Step {
	steps := Steps(r)
	if i := slices.Index(steps, step); i >= 0 && i+1 < len(steps) {
		return steps[i+1]
	}
	return ""
}

// Form is one page's answers: read from what was posted, checked, and written into the
// referral.
type Form interface {
	Check(today time.Time) Errors
	Apply(r *Referral)
}

// FormFor returns the answers a referral already holds for a step, to show on its page.
func FormFor(r *Referral, step Step) Form {
	switch step {
	case StepWho:
		return &WhoForm{Asker: string(r.Asker), Relationship: r.Relationship}
	case StepProfessional:
		f := &ProfessionalForm{}
		if p := r.Professional; p != nil {
			f.Name, f.Organisation, f.Role, f.Email, f.Phone = p.Name, p.Organisation, p.Role, p.Email, p.Phone
			f.FamilyAgreed, f.NoConsentReason, f.ChildProtection = p.FamilyAgreed, p.NoConsentReason, yes(p.ChildProtection)
		}
		return f
	case StepDanger:
		return &DangerForm{Danger: r.Danger}
	case StepNeeds:
		f := &NeedsForm{Story: r.Story}
		for _, n := range r.Needs {
			f.Needs = append(f.Needs, string(n))
		}
		return f
	case StepAdult:
		return &AdultForm{Name: r.Adult.Name, CallMe: r.Adult.CallMe}
	case StepChildren:
		f := &ChildrenForm{}
		for _, c := range r.Children {
			row := ChildRow{Name: c.Name, Expected: yes(c.Expected)}
			if c.Age != nil {
				row.Age = strconv.Itoa(*c.Age)
			}
			if c.DateOfBirth != nil {
				row.Born = DateInput{Day: strconv.Itoa(c.DateOfBirth.Day()), Month: strconv.Itoa(int(c.DateOfBirth.Month())), Year: strconv.Itoa(c.DateOfBirth.Year())}
			}
			f.Children = append(f.Children, row)
		}
		return f
	case StepHome:
		return &HomeForm{Postcode: r.Postcode, Address: r.Address, Household: r.Household,
			Languages: r.Languages, Interpreter: r.Interpreter, Accessibility: r.Accessibility}
	case StepNetwork:
		f := &NetworkForm{Nobody: yes(r.NoNetwork)}
		for _, s := range r.Network {
			f.People = append(f.People, SupporterRow(s))
		}
		return f
	case StepContact:
		c := r.Contact
		f := &ContactForm{TheyWillContact: yes(c.TheyWillContact), Phone: c.Phone, Email: c.Email, Address: c.Address,
			SafeTimes: c.SafeTimes, SayWhoWeAre: c.SayWhoWeAre, Confirmation: yes(c.Confirmation)}
		for _, m := range c.Safe {
			f.Safe = append(f.Safe, string(m))
		}
		return f
	case StepConsent:
		return &ConsentForm{Consent: yes(r.Consent), asker: r.Asker}
	}
	return nil
}

// Incomplete returns the first step whose answers are missing or no longer pass, so that a
// referral is never submitted with a gap (a changed answer can make a later page apply).
func Incomplete(r *Referral, today time.Time) (Step, bool) {
	for _, s := range Steps(r) {
		if len(FormFor(r, s).Check(today)) > 0 {
			return s, true
		}
	}
	return "", false
}

// yes is how a checkbox posts when ticked.
func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func tidy(s string) string { return strings.TrimSpace(s) }

// WhoForm asks who is asking.
type WhoForm struct {
	Asker        string `form:"asker" validate:"required,oneof=self someone professional"`
	Relationship string `form:"relationship" validate:"required_if=Asker someone,max=100,text"`
}

var whoMessages = map[string]string{
	"asker":                    "Select who is asking for help",
	"relationship.required_if": "Enter how you know the family",
	"relationship.max":         "How you know the family must be 100 characters or fewer",
	"relationship.text":        "How you know the family must only include letters, numbers and punctuation",
}

// Check implements Form.
func (f *WhoForm) Check(time.Time) Errors { return check(f, whoMessages) }

// Apply implements Form. Changing from a professional drops the professional's details.
func (f *WhoForm) Apply(r *Referral) {
	if r.Asker != Asker(f.Asker) {
		r.Consent = false // who agrees to what has changed: they confirm again
	}
	r.Asker = Asker(f.Asker)
	r.Relationship = ""
	if r.Asker == AskerSomeone {
		r.Relationship = tidy(f.Relationship)
	}
	if r.Asker != AskerProfessional {
		r.Professional = nil
	}
}

// ProfessionalForm asks a professional who they are and whether the family agreed.
type ProfessionalForm struct {
	Name            string `form:"name" validate:"required,max=100,text"`
	Organisation    string `form:"organisation" validate:"required,max=150,text"`
	Role            string `form:"role" validate:"required,max=100,text"`
	Email           string `form:"email" validate:"required,max=254,email"`
	Phone           string `form:"phone" validate:"required,ukphone"`
	FamilyAgreed    string `form:"family-agreed" validate:"required,oneof=yes no"`
	NoConsentReason string `form:"no-consent-reason" validate:"required_if=FamilyAgreed no,max=1000,text"`
	ChildProtection string `form:"child-protection" validate:"omitempty,eq=yes"`
}

var professionalMessages = map[string]string{
	"name.required":                 "Enter your name",
	"name":                          "Your name must be 100 characters or fewer, using letters, numbers and punctuation",
	"organisation.required":         "Enter the name of your organisation",
	"organisation":                  "Your organisation must be 150 characters or fewer, using letters, numbers and punctuation",
	"role.required":                 "Enter your role",
	"role":                          "Your role must be 100 characters or fewer, using letters, numbers and punctuation",
	"email.required":                "Enter your work email address",
	"email":                         "Enter an email address in the correct format, like name@example.org",
	"phone.required":                "Enter your work phone number",
	"phone":                         "Enter a UK phone number, like 01902 000000 or 07700 900000",
	"family-agreed":                 "Select whether the family agreed to this referral",
	"no-consent-reason.required_if": "Tell us why the family has not agreed",
	"no-consent-reason.max":         "Why the family has not agreed must be 1,000 characters or fewer",
	"no-consent-reason":             "Why the family has not agreed must only include letters, numbers and punctuation",
	"child-protection":              "Select whether you are worried a child is at risk of significant harm",
}

// Check implements Form.
func (f *ProfessionalForm) Check(time.Time) Errors { return check(f, professionalMessages) }

// Apply implements Form.
func (f *ProfessionalForm) Apply(r *Referral) {
	phone, _ := NormalisePhone(f.Phone)
	p := &Professional{Name: tidy(f.Name), Organisation: tidy(f.Organisation), Role: tidy(f.Role),
		Email: strings.ToLower(tidy(f.Email)), Phone: phone, FamilyAgreed: f.FamilyAgreed,
		// A child protection concern stands whether or not the family agreed.
		ChildProtection: f.ChildProtection == "yes"}
	if f.FamilyAgreed == "no" {
		p.NoConsentReason = tidy(f.NoConsentReason)
	}
	// What the person confirms on the consent page depends on the family's agreement: a
	// change means confirming again.
	if r.Professional == nil || r.Professional.FamilyAgreed != p.FamilyAgreed {
		r.Consent = false
	}
	r.Professional = p
}

// DangerForm asks whether anyone is in immediate danger.
type DangerForm struct {
	Danger string `form:"danger" validate:"required,oneof=yes no"`
}

var dangerMessages = map[string]string{"danger": "Select yes if anyone is in danger right now"}

// Check implements Form.
func (f *DangerForm) Check(time.Time) Errors { return check(f, dangerMessages) }

// Apply implements Form.
func (f *DangerForm) Apply(r *Referral) { r.Danger = f.Danger }

// StoryLimit is how long "in your own words" may be, in characters.
const StoryLimit = 2000

// NeedsForm asks what is going on.
type NeedsForm struct {
	Needs []string `form:"needs" validate:"min=1,max=7,dive,oneof=domestic-abuse addiction mental-health parenting money housing other"`
	Story string   `form:"story" validate:"required,max=2000,text"`
}

var needsMessages = map[string]string{
	"needs":          "Select what you need help with",
	"story.required": "Tell us what is happening, in a few words",
	"story.max":      "What is happening must be 2,000 characters or fewer",
	"story.text":     "What is happening must only include letters, numbers and punctuation",
}

// Check implements Form.
func (f *NeedsForm) Check(time.Time) Errors { return check(f, needsMessages) }

// Apply implements Form.
func (f *NeedsForm) Apply(r *Referral) {
	r.Needs = nil
	for _, c := range NeedChoices { // in the form's order, each once
		if slices.Contains(f.Needs, string(c.Need)) {
			r.Needs = append(r.Needs, c.Need)
		}
	}
	r.Story = tidy(f.Story)
}

// AdultForm asks about the parent or carer.
type AdultForm struct {
	Name   string `form:"adult-name" validate:"required,max=100,text"`
	CallMe string `form:"call-me" validate:"max=100,text"`
}

var adultMessages = map[string]string{
	"adult-name.required": "Enter the parent or carer's name",
	"adult-name":          "The name must be 100 characters or fewer, using letters, numbers and punctuation",
	"call-me":             "What to call them must be 100 characters or fewer, using letters, numbers and punctuation",
}

// Check implements Form.
func (f *AdultForm) Check(time.Time) Errors { return check(f, adultMessages) }

// Apply implements Form.
func (f *AdultForm) Apply(r *Referral) { r.Adult = Adult{Name: tidy(f.Name), CallMe: tidy(f.CallMe)} }

// MaxRows bounds the children and the people in the network one referral can list.
const MaxRows = 10

// MaxAge is the oldest a child or young person can be: Family Help works with young people
// up to 25 with special educational needs or leaving care.
const MaxAge = 25

// ChildRow is one child as typed.
type ChildRow struct {
	Name     string
	Age      string
	Born     DateInput
	Expected string // "yes" for a baby on the way
}

func (c ChildRow) empty() bool {
	return tidy(c.Name) == "" && tidy(c.Age) == "" && c.Born.Empty() && c.Expected == ""
}

// ChildrenForm lists the children. Rows left blank are ignored.
type ChildrenForm struct {
	Children []ChildRow
}

// ChildField names a field of the i-th child row: "child-0-name".
func ChildField(i int, part string) string { return "child-" + strconv.Itoa(i) + "-" + part }

// Check implements Form. The rules differ by what was typed in each row (an age, or a date of
// birth, or a baby on the way), so they are written out here rather than as tags.
func (f *ChildrenForm) Check(today time.Time) Errors {
	var errs Errors
	used := 0
	for i, c := range f.Children {
		if c.empty() {
			continue
		}
		used++
		if i >= MaxRows {
			errs = errs.add(ChildField(i, "name"), "You can add up to 10 children; tell us about the others in your own words")
			continue
		}
		name := tidy(c.Name)
		switch {
		case name == "" && c.Expected != "yes": // a baby on the way may not have a name yet
			errs = errs.add(ChildField(i, "name"), "Enter the child's first name or initials")
		case len([]rune(name)) > 50 || !IsText(name):
			errs = errs.add(ChildField(i, "name"), "The child's name must be 50 characters or fewer, using letters, numbers and punctuation")
		}
		if c.Expected == "yes" {
			if tidy(c.Age) != "" || !c.Born.Empty() {
				errs = errs.add(ChildField(i, "age"), "For a baby on the way, leave the age and date of birth empty")
			}
			continue
		}
		switch {
		case tidy(c.Age) == "" && c.Born.Empty():
			errs = errs.add(ChildField(i, "age"), "Enter the child's age or date of birth")
		case tidy(c.Age) != "":
			if n, err := strconv.Atoi(tidy(c.Age)); err != nil || n < 0 || n > MaxAge {
				errs = errs.add(ChildField(i, "age"), "Enter an age from 0 to 25, in years")
			}
		}
		if !c.Born.Empty() {
			born, problem := c.Born.Parse(today)
			switch problem {
			case dateMissingPart:
				errs = errs.add(ChildField(i, "born"), "The date of birth must include a day, month and year")
			case dateNotReal:
				errs = errs.add(ChildField(i, "born"), "The date of birth must be a real date, like 27 3 2019")
			case dateInFuture:
				errs = errs.add(ChildField(i, "born"), "The date of birth must be today or in the past")
			default:
				if age, _ := (Child{DateOfBirth: &born}).AgeOn(today); age > MaxAge {
					errs = errs.add(ChildField(i, "born"), "Family Help is for children and young people up to 25")
				}
			}
		}
	}
	if used == 0 {
		errs = errs.add(ChildField(0, "name"), "Tell us about at least one child, or a baby on the way")
	}
	return errs
}

// Apply implements Form; call it only when Check found nothing.
func (f *ChildrenForm) Apply(r *Referral) {
	r.Children = nil
	for _, c := range f.Children {
		if c.empty() {
			continue
		}
		child := Child{Name: tidy(c.Name), Expected: c.Expected == "yes"}
		if !child.Expected {
			if n, err := strconv.Atoi(tidy(c.Age)); err == nil {
				child.Age = &n
			}
			if born, problem := c.Born.Parse(time.Now()); problem == dateOK {
				child.DateOfBirth = &born
			}
		}
		r.Children = append(r.Children, child)
	}
}

// HomeForm asks where the family lives and what would help us talk with them.
type HomeForm struct {
	Postcode      string `form:"postcode" validate:"required,ukpostcode"`
	Address       string `form:"address" validate:"max=300,text"`
	Household     string `form:"household" validate:"max=500,text"`
	Languages     string `form:"languages" validate:"max=200,text"`
	Interpreter   string `form:"interpreter" validate:"omitempty,oneof=yes no"`
	Accessibility string `form:"accessibility" validate:"max=500,text"`
}

var homeMessages = map[string]string{
	"postcode.required":   "Enter the family's postcode",
	"postcode":            "Enter a real postcode, like WV1 1AA",
	"address.max":         "The address must be 300 characters or fewer",
	"address":             "The address must only include letters, numbers and punctuation",
	"household.max":       "Who else lives there must be 500 characters or fewer",
	"household":           "Who else lives there must only include letters, numbers and punctuation",
	"languages.max":       "Languages must be 200 characters or fewer",
	"languages":           "Languages must only include letters, numbers and punctuation",
	"interpreter":         "Select whether an interpreter is needed",
	"accessibility.max":   "Accessibility needs must be 500 characters or fewer",
	"accessibility":       "Accessibility needs must only include letters, numbers and punctuation",
	"postcode.ukpostcode": "Enter a real postcode, like WV1 1AA",
}

// Check implements Form.
func (f *HomeForm) Check(time.Time) Errors { return check(f, homeMessages) }

// Apply implements Form.
func (f *HomeForm) Apply(r *Referral) {
	r.Postcode, _ = postcodeNormalise(f.Postcode)
	r.Address, r.Household, r.Languages = tidy(f.Address), tidy(f.Household), tidy(f.Languages)
	r.Interpreter, r.Accessibility = f.Interpreter, tidy(f.Accessibility)
}

// SupporterRow is one person in the family's network as typed.
type SupporterRow struct {
	Name         string
	Relationship string
	MayContact   string
}

func (s SupporterRow) empty() bool {
	return tidy(s.Name) == "" && tidy(s.Relationship) == "" && s.MayContact == ""
}

// PersonField names a field of the i-th network row: "person-0-name".
func PersonField(i int, part string) string { return "person-" + strconv.Itoa(i) + "-" + part }

// NetworkForm asks who in the family's network could help.
type NetworkForm struct {
	People []SupporterRow
	Nobody string // "yes": there is nobody to ask
}

// Check implements Form.
func (f *NetworkForm) Check(time.Time) Errors {
	var errs Errors
	used := 0
	for i, p := range f.People {
		if p.empty() {
			continue
		}
		used++
		if i >= MaxRows {
			errs = errs.add(PersonField(i, "name"), "You can add up to 10 people")
			continue
		}
		if name := tidy(p.Name); name == "" {
			errs = errs.add(PersonField(i, "name"), "Enter their name")
		} else if len([]rune(name)) > 100 || !IsText(name) {
			errs = errs.add(PersonField(i, "name"), "Their name must be 100 characters or fewer, using letters, numbers and punctuation")
		}
		if rel := tidy(p.Relationship); rel == "" {
			errs = errs.add(PersonField(i, "relationship"), "Enter how they know the family, like grandparent or neighbour")
		} else if len([]rune(rel)) > 100 || !IsText(rel) {
			errs = errs.add(PersonField(i, "relationship"), "How they know the family must be 100 characters or fewer, using letters, numbers and punctuation")
		}
		if p.MayContact != "yes" && p.MayContact != "no" {
			errs = errs.add(PersonField(i, "may-contact"), "Select whether we may contact them")
		}
	}
	switch {
	case used == 0 && f.Nobody != "yes":
		errs = errs.add("nobody", "Add someone who could help, or select that there is nobody")
	case used > 0 && f.Nobody == "yes":
		errs = errs.add("nobody", "Either add people who could help, or select that there is nobody, not both")
	}
	return errs
}

// Apply implements Form.
func (f *NetworkForm) Apply(r *Referral) {
	r.Network, r.NoNetwork = nil, f.Nobody == "yes"
	for _, p := range f.People {
		if !p.empty() {
			r.Network = append(r.Network, Supporter{Name: tidy(p.Name), Relationship: tidy(p.Relationship), MayContact: p.MayContact})
		}
	}
}

// ContactForm asks how and when it is safe to get in touch.
type ContactForm struct {
	Safe            []string `form:"safe" validate:"max=5,dive,oneof=call text voicemail email letter"`
	TheyWillContact string   `form:"they-will-contact" validate:"omitempty,eq=yes"`
	Phone           string   `form:"phone"`
	Email           string   `form:"email"`
	Address         string   `form:"contact-address"`
	SafeTimes       string   `form:"safe-times" validate:"max=200,text"`
	SayWhoWeAre     string   `form:"say-who-we-are"`
	Confirmation    string   `form:"confirmation" validate:"omitempty,eq=yes"`
}

// Check implements Form. Which details are needed depends on which ways were marked safe.
func (f *ContactForm) Check(time.Time) Errors {
	errs := check(f, map[string]string{
		"safe":              "Select the ways it is safe to contact you",
		"safe-times":        "Safe times must be 200 characters or fewer, using letters, numbers and punctuation",
		"they-will-contact": "Select whether you will contact us",
		"confirmation":      "Select whether you would like a confirmation email",
	})
	safe := func(m Method) bool { return slices.Contains(f.Safe, string(m)) }
	willCall := f.TheyWillContact == "yes"
	switch {
	case len(f.Safe) == 0 && !willCall:
		errs = errs.add("safe", "Select at least one safe way to contact you, or that you will contact us")
	case len(f.Safe) > 0 && willCall:
		errs = errs.add("safe", "Select safe ways to contact you, or that you will contact us, not both")
	}
	if safe(ByCall) || safe(ByText) || safe(ByVoicemail) {
		switch _, ok := NormalisePhone(f.Phone); {
		case tidy(f.Phone) == "":
			errs = errs.add("phone", "Enter a safe phone number")
		case !ok:
			errs = errs.add("phone", "Enter a UK phone number, like 01902 000000 or 07700 900000")
		case safe(ByText) && !validateVar(f.Phone, "ukmobile"):
			errs = errs.add("phone", "Enter a mobile number for text messages, like 07700 900000")
		}
	}
	if safe(ByEmail) || f.Confirmation == "yes" {
		switch {
		case tidy(f.Email) == "":
			errs = errs.add("email", "Enter a safe email address")
		case len(f.Email) > 254 || !validateVar(tidy(f.Email), "email"):
			errs = errs.add("email", "Enter an email address in the correct format, like name@example.org")
		}
	}
	if safe(ByLetter) {
		switch a := tidy(f.Address); {
		case a == "":
			errs = errs.add("contact-address", "Enter a safe address for letters")
		case len([]rune(a)) > 300 || !IsText(a):
			errs = errs.add("contact-address", "The address must be 300 characters or fewer, using letters, numbers and punctuation")
		}
	}
	if !willCall && f.SayWhoWeAre != "yes" && f.SayWhoWeAre != "no" {
		errs = errs.add("say-who-we-are", "Select whether we can say we are from Family Help")
	}
	switch {
	case f.Confirmation == "yes" && !safe(ByEmail):
		errs = errs.add("confirmation", "We can only send a confirmation email if email is a safe way to contact you")
	case f.Confirmation == "yes" && f.SayWhoWeAre != "yes":
		// The email comes from Family Help's address, which says who we are.
		errs = errs.add("confirmation", "A confirmation email comes from Family Help: only ask for one if we can say who we are")
	}
	return errs
}

func validateVar(v, tag string) bool { return validate.Var(v, tag) == nil }

// Apply implements Form. Details for ways not marked safe are not kept: nobody should be
// called on a number they did not mark safe.
func (f *ContactForm) Apply(r *Referral) {
	c := Contact{TheyWillContact: f.TheyWillContact == "yes", SafeTimes: tidy(f.SafeTimes), SayWhoWeAre: f.SayWhoWeAre}
	for _, m := range Methods {
		if slices.Contains(f.Safe, string(m.Method)) {
			c.Safe = append(c.Safe, m.Method)
		}
	}
	if c.IsSafe(ByCall) || c.IsSafe(ByText) || c.IsSafe(ByVoicemail) {
		c.Phone, _ = NormalisePhone(f.Phone)
	}
	if c.IsSafe(ByEmail) {
		c.Email = strings.ToLower(tidy(f.Email))
		c.Confirmation = f.Confirmation == "yes"
	}
	if c.IsSafe(ByLetter) {
		c.Address = tidy(f.Address)
	}
	if c.TheyWillContact {
		c.SayWhoWeAre = ""
	}
	r.Contact = c
}

// ConsentForm asks for the explicit agreement that lets us share what we were told.
type ConsentForm struct {
	Consent string `form:"consent"`
	asker   Asker
}

// ForAsker sets whose consent the page asks for, which changes its words and message.
func (f *ConsentForm) ForAsker(a Asker) { f.asker = a }

// Check implements Form.
func (f *ConsentForm) Check(time.Time) Errors {
	if f.Consent == "yes" {
		return nil
	}
	msg := "Select that you agree, so that we can share what you have told us with the team that can help"
	switch f.asker {
	case AskerSomeone:
		msg = "Confirm that the family knows you are asking for help for them and agrees"
	case AskerProfessional:
		msg = "Confirm what you have told us about the family's agreement"
	}
	return Errors{{Field: "consent", Message: msg}}
}

// Apply implements Form.
func (f *ConsentForm) Apply(r *Referral) { r.Consent = f.Consent == "yes" }
