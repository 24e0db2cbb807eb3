package referral

import (
	"strings"
	"testing"
)

// want is a page's expected problems: field → message (a substring of it).
type want map[string]string

func checkCase(t *testing.T, f Form, w want) {
	t.Helper()
	errs := f.Check(today)
	for field, msg := range w {
		got := errs.For(field)
		if got == "" || !strings.Contains(got, msg) {
			t.Errorf("%s: message %q, want one containing %q (all: %v)", field, got, msg, errs)
		}
	}
	for _, e := range errs {
		if _, ok := w[e.Field]; !ok {
			t.Errorf("unexpected problem with %s: %q", e.Field, e.Message)
		}
		if e.Message == "Check this answer" {
			t.Errorf("%s has no message of its own", e.Field)
		}
	}
}

func TestWhoForm(t *testing.T) {
	cases := []struct {
		name string
		f    WhoForm
		w    want
	}{
		{"nothing chosen", WhoForm{}, want{"asker": "Select who is asking"}},
		{"made-up choice", WhoForm{Asker: "robot"}, want{"asker": "Select who is asking"}},
		{"self", WhoForm{Asker: "self"}, want{}},
		{"someone needs the relationship", WhoForm{Asker: "someone"}, want{"relationship": "how you know the family"}},
		{"someone with relationship", WhoForm{Asker: "someone", Relationship: "Aunt"}, want{}},
		{"relationship too long", WhoForm{Asker: "someone", Relationship: strings.Repeat("a", 101)}, want{"relationship": "100 characters or fewer"}},
		{"control characters", WhoForm{Asker: "someone", Relationship: "aunt\x00\x1b[31m"}, want{"relationship": "letters, numbers and punctuation"}},
		{"invalid UTF-8", WhoForm{Asker: "someone", Relationship: "aunt\xff"}, want{"relationship": "letters, numbers and punctuation"}},
		{"professional", WhoForm{Asker: "professional"}, want{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, &c.f, c.w) })
	}
}

func TestProfessionalForm(t *testing.T) {
	ok := ProfessionalForm{Name: "Sam Jones", Organisation: "Park School", Role: "Designated safeguarding lead",
		Email: "sam@park.example.org", Phone: "01902 000000", FamilyAgreed: "yes"}
	with := func(change func(f *ProfessionalForm)) ProfessionalForm {
		f := ok
		change(&f)
		return f
	}
	cases := []struct {
		name string
		f    ProfessionalForm
		w    want
	}{
		{"complete", ok, want{}},
		{"empty", ProfessionalForm{}, want{"name": "Enter your name", "organisation": "Enter the name of your organisation",
			"role": "Enter your role", "email": "Enter your work email", "phone": "Enter your work phone", "family-agreed": "Select whether the family agreed"}},
		{"bad email", with(func(f *ProfessionalForm) { f.Email = "sam at school" }), want{"email": "correct format"}},
		{"bad phone", with(func(f *ProfessionalForm) { f.Phone = "12345" }), want{"phone": "UK phone number"}},
		{"foreign phone", with(func(f *ProfessionalForm) { f.Phone = "+33 1 23 45 67 89" }), want{"phone": "UK phone number"}},
		{"no consent needs a reason", with(func(f *ProfessionalForm) { f.FamilyAgreed = "no" }), want{"no-consent-reason": "Tell us why"}},
		{"no consent with reason and concern", with(func(f *ProfessionalForm) {
			f.FamilyAgreed, f.NoConsentReason, f.ChildProtection = "no", "Telling them could put the child at risk", "yes"
		}), want{}},
		{"reason too long", with(func(f *ProfessionalForm) { f.FamilyAgreed, f.NoConsentReason = "no", strings.Repeat("x", 1001) }), want{"no-consent-reason": "1,000 characters"}},
		{"made-up concern value", with(func(f *ProfessionalForm) { f.ChildProtection = "maybe" }), want{"child-protection": "Select whether"}},
		{"name too long", with(func(f *ProfessionalForm) { f.Name = strings.Repeat("n", 101) }), want{"name": "100 characters"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, &c.f, c.w) })
	}
	var r Referral
	f := with(func(f *ProfessionalForm) { f.Phone, f.Email = "+44 (0)1902 000000", " Sam@Park.Example.org " })
	f.Apply(&r)
	if r.Professional.Phone != "01902000000" || r.Professional.Email != "sam@park.example.org" {
		t.Errorf("applied %+v: want the phone and email normalised", r.Professional)
	}
}

func TestDangerAndNeedsForms(t *testing.T) {
	checkCase(t, &DangerForm{}, want{"danger": "Select yes if anyone is in danger"})
	checkCase(t, &DangerForm{Danger: "perhaps"}, want{"danger": "Select yes if anyone is in danger"})
	checkCase(t, &DangerForm{Danger: "yes"}, want{})

	checkCase(t, &NeedsForm{}, want{"needs": "Select what you need help with", "story": "Tell us what is happening"})
	checkCase(t, &NeedsForm{Needs: []string{"money", "gardening"}, Story: "x"}, want{"needs": "Select what you need help with"})
	checkCase(t, &NeedsForm{Needs: []string{"money"}, Story: strings.Repeat("é", StoryLimit)}, want{})
	checkCase(t, &NeedsForm{Needs: []string{"money"}, Story: strings.Repeat("é", StoryLimit+1)}, want{"story": "2,000 characters"})
	// A right-to-left override would make the story read differently from what was stored.
	checkCase(t, &NeedsForm{Needs: []string{"money"}, Story: "help\u202e"}, want{"story": "letters, numbers and punctuation"})
	checkCase(t, &NeedsForm{Needs: []string{"money"}, Story: "مرحبا, I need help"}, want{})
	checkCase(t, &NeedsForm{Needs: []string{"money"}, Story: "bell\a"}, want{"story": "letters, numbers and punctuation"})

	// Scripts and SQL are text like any other: kept as typed, and escaped wherever shown.
	f := &NeedsForm{Needs: []string{"other", "money", "money"}, Story: " <script>alert(1)</script>'; DROP TABLE referrals;-- "}
	checkCase(t, f, want{})
	var r Referral
	f.Apply(&r)
	if len(r.Needs) != 2 || r.Needs[0] != NeedMoney || r.Story != "<script>alert(1)</script>'; DROP TABLE referrals;--" {
		t.Errorf("applied needs %v story %q", r.Needs, r.Story)
	}
}

func TestAdultForm(t *testing.T) {
	checkCase(t, &AdultForm{}, want{"adult-name": "Enter the parent or carer's name"})
	checkCase(t, &AdultForm{Name: "Alex", CallMe: strings.Repeat("x", 101)}, want{"call-me": "100 characters"})
	checkCase(t, &AdultForm{Name: "Alex"}, want{})
}

func TestChildrenForm(t *testing.T) {
	cases := []struct {
		name string
		rows []ChildRow
		w    want
	}{
		{"none", nil, want{"child-0-name": "at least one child"}},
		{"blank rows only", []ChildRow{{}, {}}, want{"child-0-name": "at least one child"}},
		{"age", []ChildRow{{Name: "A", Age: "7"}}, want{}},
		{"blank first row is ignored", []ChildRow{{}, {Name: "B", Age: "3"}}, want{}},
		{"no name", []ChildRow{{Age: "7"}}, want{"child-0-name": "first name or initials"}},
		{"no age", []ChildRow{{Name: "A"}}, want{"child-0-age": "age or date of birth"}},
		{"age 26", []ChildRow{{Name: "A", Age: "26"}}, want{"child-0-age": "from 0 to 25"}},
		{"age -1", []ChildRow{{Name: "A", Age: "-1"}}, want{"child-0-age": "from 0 to 25"}},
		{"age in words", []ChildRow{{Name: "A", Age: "seven"}}, want{"child-0-age": "from 0 to 25"}},
		{"date of birth", []ChildRow{{Name: "A", Born: DateInput{"27", "3", "2019"}}}, want{}},
		{"born today", []ChildRow{{Name: "A", Born: DateInput{"24", "11", "2026"}}}, want{}},
		{"born tomorrow", []ChildRow{{Name: "A", Born: DateInput{"25", "11", "2026"}}}, want{"child-0-born": "today or in the past"}},
		{"31 February", []ChildRow{{Name: "A", Born: DateInput{"31", "2", "2020"}}}, want{"child-0-born": "real date"}},
		{"two-digit year", []ChildRow{{Name: "A", Born: DateInput{"1", "2", "20"}}}, want{"child-0-born": "real date"}},
		{"missing month", []ChildRow{{Name: "A", Born: DateInput{"1", "", "2020"}}}, want{"child-0-born": "day, month and year"}},
		{"older than 25", []ChildRow{{Name: "A", Born: DateInput{"1", "1", "1990"}}}, want{"child-0-born": "up to 25"}},
		{"baby on the way", []ChildRow{{Name: "Baby", Expected: "yes"}}, want{}},
		{"baby on the way without a name yet", []ChildRow{{Expected: "yes"}}, want{}},
		{"baby on the way with an age", []ChildRow{{Name: "Baby", Expected: "yes", Age: "1"}}, want{"child-0-age": "leave the age"}},
		{"second row wrong", []ChildRow{{Name: "A", Age: "4"}, {Name: "B", Age: "40"}}, want{"child-1-age": "from 0 to 25"}},
		{"eleven children", append(make([]ChildRow, 10), ChildRow{Name: "K", Age: "1"}), want{"child-10-name": "up to 10 children"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, &ChildrenForm{Children: c.rows}, c.w) })
	}
	var r Referral
	(&ChildrenForm{Children: []ChildRow{{}, {Name: " Mo ", Born: DateInput{"27", "3", "2019"}}, {Name: "Baby", Expected: "yes"}}}).Apply(&r)
	if len(r.Children) != 2 || r.Children[0].Name != "Mo" || r.Children[0].DateOfBirth == nil || !r.Children[1].Expected {
		t.Errorf("applied children %+v", r.Children)
	}
	if age, ok := r.Children[0].AgeOn(today); !ok || age != 7 {
		t.Errorf("Mo, born 27 March 2019, is %d on %s; want 7", age, today.Format("2 Jan 2006"))
	}
}

func TestHomeForm(t *testing.T) {
	checkCase(t, &HomeForm{}, want{"postcode": "Enter the family's postcode"})
	checkCase(t, &HomeForm{Postcode: "WV1"}, want{"postcode": "real postcode"})
	checkCase(t, &HomeForm{Postcode: "ZZ99 9ZZ9"}, want{"postcode": "real postcode"})
	checkCase(t, &HomeForm{Postcode: "wv11aa", Interpreter: "maybe"}, want{"interpreter": "Select whether an interpreter"})
	checkCase(t, &HomeForm{Postcode: "wv11aa", Household: strings.Repeat("x", 501)}, want{"household": "500 characters"})
	f := &HomeForm{Postcode: " wv1  1aa ", Interpreter: "yes", Languages: "Polish"}
	checkCase(t, f, want{})
	var r Referral
	f.Apply(&r)
	if r.Postcode != "WV1 1AA" {
		t.Errorf("postcode stored as %q, want WV1 1AA", r.Postcode)
	}
}

func TestNetworkForm(t *testing.T) {
	checkCase(t, &NetworkForm{}, want{"nobody": "or select that there is nobody"})
	checkCase(t, &NetworkForm{Nobody: "yes"}, want{})
	checkCase(t, &NetworkForm{Nobody: "yes", People: []SupporterRow{{Name: "Gran", Relationship: "Grandmother", MayContact: "yes"}}}, want{"nobody": "not both"})
	checkCase(t, &NetworkForm{People: []SupporterRow{{Name: "Gran"}}}, want{"person-0-relationship": "how they know the family", "person-0-may-contact": "may contact"})
	checkCase(t, &NetworkForm{People: []SupporterRow{{Relationship: "Neighbour", MayContact: "no"}}}, want{"person-0-name": "Enter their name"})
	checkCase(t, &NetworkForm{People: []SupporterRow{{Name: "Gran", Relationship: "Grandmother", MayContact: "no"}}}, want{})
}

func TestContactForm(t *testing.T) {
	cases := []struct {
		name string
		f    ContactForm
		w    want
	}{
		{"nothing", ContactForm{}, want{"safe": "at least one safe way", "say-who-we-are": "say we are from Family Help"}},
		{"they will contact us", ContactForm{TheyWillContact: "yes"}, want{}},
		{"both", ContactForm{TheyWillContact: "yes", Safe: []string{"call"}, Phone: "07700 900000"}, want{"safe": "not both"}},
		{"call needs a number", ContactForm{Safe: []string{"call"}, SayWhoWeAre: "no"}, want{"phone": "Enter a safe phone number"}},
		{"call with a landline", ContactForm{Safe: []string{"call", "voicemail"}, Phone: "01902 000000", SayWhoWeAre: "no"}, want{}},
		{"text needs a mobile", ContactForm{Safe: []string{"text"}, Phone: "01902 000000", SayWhoWeAre: "yes"}, want{"phone": "mobile number"}},
		{"text with +44 mobile", ContactForm{Safe: []string{"text"}, Phone: "+44 7700 900000", SayWhoWeAre: "yes"}, want{}},
		{"email needs an address", ContactForm{Safe: []string{"email"}, SayWhoWeAre: "yes"}, want{"email": "Enter a safe email"}},
		{"bad email", ContactForm{Safe: []string{"email"}, Email: "me@", SayWhoWeAre: "yes"}, want{"email": "correct format"}},
		{"confirmation needs email marked safe", ContactForm{Safe: []string{"call"}, Phone: "07700 900000", Email: "a@example.org", Confirmation: "yes", SayWhoWeAre: "yes"}, want{"confirmation": "only send a confirmation email if email is a safe way"}},
		{"confirmation when we may not say who we are", ContactForm{Safe: []string{"email"}, Email: "a@example.org", Confirmation: "yes", SayWhoWeAre: "no"}, want{"confirmation": "only ask for one if we can say who we are"}},
		{"confirmation", ContactForm{Safe: []string{"email"}, Email: "a@example.org", Confirmation: "yes", SayWhoWeAre: "yes"}, want{}},
		{"letter needs an address", ContactForm{Safe: []string{"letter"}, SayWhoWeAre: "no"}, want{"contact-address": "safe address"}},
		{"made-up method", ContactForm{Safe: []string{"pigeon"}, SayWhoWeAre: "no"}, want{"safe": "Select the ways"}},
		{"safe times too long", ContactForm{TheyWillContact: "yes", SafeTimes: strings.Repeat("x", 201)}, want{"safe-times": "200 characters"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkCase(t, &c.f, c.w) })
	}
	// Details for ways not marked safe are dropped.
	var r Referral
	(&ContactForm{Safe: []string{"text"}, Phone: "07700 900000", Email: "a@example.org", Address: "1 High St", SayWhoWeAre: "no"}).Apply(&r)
	if r.Contact.Email != "" || r.Contact.Address != "" || r.Contact.Phone != "07700900000" {
		t.Errorf("applied contact %+v: want only the safe phone kept", r.Contact)
	}
}

func TestConsentForm(t *testing.T) {
	for asker, msg := range map[Asker]string{AskerSelf: "Select that you agree", AskerSomeone: "family knows", AskerProfessional: "family's agreement"} {
		f := &ConsentForm{}
		f.ForAsker(asker)
		checkCase(t, f, want{"consent": msg})
		f.Consent = "yes"
		checkCase(t, f, want{})
	}
}

func TestNormalisePhone(t *testing.T) {
	good := map[string]string{
		"01902 000000": "01902000000", "(01902) 000-000": "01902000000", "+44 7700 900000": "07700900000",
		"0044 7700 900000": "07700900000", "+44 (0)121 496 0000": "01214960000", "0800 123 456": "0800123456",
		"016977 3456": "0169773456", "07700.900.000": "07700900000",
	}
	for in, want := range good {
		if got, ok := NormalisePhone(in); !ok || got != want {
			t.Errorf("NormalisePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "12345", "07700 90000", "077009000000", "+33 1 23 45 67 89", "0900 000000", "07700 900000 ext 2", "7700900000", "07700+900000", strings.Repeat("0", 41)} {
		if got, ok := NormalisePhone(bad); ok {
			t.Errorf("NormalisePhone(%q) = %q, want rejected", bad, got)
		}
	}
}

func TestIncompleteFindsTheFirstGap(t *testing.T) {
	r := &Referral{Asker: AskerSelf, Danger: "no", Needs: []Need{NeedMoney}, Story: "Bills", Adult: Adult{Name: "Alex"},
		Children: []Child{{Name: "A", Expected: true}}, Postcode: "WV1 1AA", NoNetwork: true,
		Contact: Contact{TheyWillContact: true}, Consent: true}
	if s, gap := Incomplete(r, today); gap {
		t.Fatalf("a complete referral has a gap at %s", s)
	}
	// Becoming a professional adds a page that has not been answered.
	r.Asker = AskerProfessional
	if s, gap := Incomplete(r, today); !gap || s != StepProfessional {
		t.Errorf("gap at %q (%v), want the professional's details", s, gap)
	}
	if After(r, StepWho) != StepProfessional || After(&Referral{Asker: AskerSelf}, StepWho) != StepDanger || After(r, StepConsent) != "" {
		t.Error("After does not follow the journey")
	}
}

// A change to who is asking, or to the family's agreement, changes what the consent page asks
// them to confirm: it must be confirmed again.
func TestConsentIsAskedAgainAfterAChange(t *testing.T) {
	r := &Referral{Asker: AskerSelf, Consent: true}
	(&WhoForm{Asker: "self"}).Apply(r)
	if !r.Consent {
		t.Error("the same answer again dropped the consent")
	}
	(&WhoForm{Asker: "someone", Relationship: "Aunt"}).Apply(r)
	if r.Consent {
		t.Error("changing from a parent to a relative kept the parent's consent")
	}
	r.Asker, r.Consent = AskerProfessional, true
	f := ProfessionalForm{Name: "Sam", Organisation: "School", Role: "Teacher", Email: "s@example.org", Phone: "01902 000000", FamilyAgreed: "yes"}
	f.Apply(r)
	r.Consent = true
	f.FamilyAgreed, f.NoConsentReason = "no", "Telling them could put the child at risk"
	f.Apply(r)
	if r.Consent {
		t.Error("the family's agreement changed from yes to no and the confirmation was kept")
	}
}

// A professional's child protection concern goes to the front door whatever the family said.
func TestChildProtectionStandsWithAgreement(t *testing.T) {
	r := &Referral{Asker: AskerProfessional, Danger: "no", Postcode: "WV1 1AA", Needs: []Need{NeedParenting}}
	f := ProfessionalForm{Name: "Sam", Organisation: "School", Role: "Teacher", Email: "s@example.org", Phone: "01902 000000",
		FamilyAgreed: "yes", ChildProtection: "yes"}
	f.Apply(r)
	if !r.Urgent() {
		t.Fatal("a child protection concern with the family's agreement is not urgent")
	}
	if d := SampleConfig().Route(r, today); d.Team.Kind != KindFrontDoor {
		t.Errorf("went to %s, want the front door", d.Team.ID)
	}
}
