package handlers

import (
	"strconv"
	"strings"
	"time"

	"familyhelp/referral"
	"familyhelp/views"
)

// CheckSections lays out every answer for "Check your answers", each with the page to change it
// on. Answers left out are shown as "Not given" only where the question was asked of everyone.
func CheckSections(r *referral.Referral, today time.Time) []views.CheckSection {
	yesNo := func(v string) string {
		switch v {
		case "yes":
			return "Yes"
		case "no":
			return "No"
		}
		return "Not given"
	}
	orNot := func(v string) string {
		if strings.TrimSpace(v) == "" {
			return "Not given"
		}
		return v
	}
	lines := func(v string) []string {
		if strings.TrimSpace(v) == "" {
			return []string{"Not given"}
		}
		return strings.Split(v, "\n")
	}

	var who []views.CheckRow
	switch r.Asker {
	case referral.AskerSelf:
		who = append(who, views.CheckRow{Key: "Who is asking", Value: "A parent or carer, for their family", Change: referral.StepWho})
	case referral.AskerSomeone:
		who = append(who, views.CheckRow{Key: "Who is asking", Value: "A relative or friend: " + r.Relationship, Change: referral.StepWho})
	case referral.AskerProfessional:
		who = append(who, views.CheckRow{Key: "Who is asking", Value: "Someone who works with the family", Change: referral.StepWho})
		if p := r.Professional; p != nil {
			who = append(who,
				views.CheckRow{Key: "Your details", Lines: []string{p.Name, p.Role + ", " + p.Organisation, p.Email, p.Phone}, Change: referral.StepProfessional},
				views.CheckRow{Key: "The family agreed", Value: yesNo(p.FamilyAgreed), Change: referral.StepProfessional})
			if p.FamilyAgreed == "no" {
				who = append(who, views.CheckRow{Key: "Why not", Lines: lines(p.NoConsentReason), Change: referral.StepProfessional})
			}
			cp := "No"
			if p.ChildProtection {
				cp = "Yes: a child may be at risk of significant harm"
			}
			who = append(who, views.CheckRow{Key: "Child protection concern", Value: cp, Change: referral.StepProfessional})
		}
	}
	who = append(who, views.CheckRow{Key: "Anyone in immediate danger", Value: yesNo(r.Danger), Change: referral.StepDanger})

	var needs []string
	for _, n := range r.Needs {
		needs = append(needs, n.Label())
	}
	going := []views.CheckRow{
		{Key: "Help with", Lines: needs, Change: referral.StepNeeds},
		{Key: "In your own words", Lines: lines(r.Story), Change: referral.StepNeeds},
	}

	adult := r.Adult.Name
	if r.Adult.CallMe != "" {
		adult += " (call them " + r.Adult.CallMe + ")"
	}
	var children []string
	for _, ch := range r.Children {
		switch {
		case ch.Expected && ch.Name == "":
			children = append(children, "A baby on the way")
		case ch.Expected:
			children = append(children, ch.Name+": a baby on the way")
		case ch.DateOfBirth != nil:
			age, _ := ch.AgeOn(today)
			children = append(children, ch.Name+": born "+ch.DateOfBirth.Format("2 January 2006")+" (age "+strconv.Itoa(age)+")")
		case ch.Age != nil:
			children = append(children, ch.Name+": age "+strconv.Itoa(*ch.Age))
		}
	}
	family := []views.CheckRow{
		{Key: "Parent or carer", Value: adult, Change: referral.StepAdult},
		{Key: "Children", Lines: children, Change: referral.StepChildren},
		{Key: "Postcode", Value: r.Postcode, Change: referral.StepHome},
		{Key: "Address", Lines: lines(r.Address), Change: referral.StepHome},
		{Key: "Who else lives there", Lines: lines(r.Household), Change: referral.StepHome},
		{Key: "Languages", Value: orNot(r.Languages), Change: referral.StepHome},
		{Key: "Interpreter", Value: yesNo(r.Interpreter), Change: referral.StepHome},
		{Key: "Making it easier to talk", Lines: lines(r.Accessibility), Change: referral.StepHome},
	}

	var network []string
	for _, p := range r.Network {
		may := "we may contact them"
		if p.MayContact != "yes" {
			may = "do not contact them"
		}
		network = append(network, p.Name+" ("+p.Relationship+"): "+may)
	}
	if r.NoNetwork {
		network = []string{"There is nobody we could ask"}
	}

	var ways []string
	for _, m := range r.Contact.Safe {
		ways = append(ways, m.Label())
	}
	if r.Contact.TheyWillContact {
		ways = []string{"None: you will contact us"}
	}
	contact := []views.CheckRow{{Key: "Safe ways to contact you", Lines: ways, Change: referral.StepContact}}
	if r.Contact.Phone != "" {
		contact = append(contact, views.CheckRow{Key: "Safe phone number", Value: r.Contact.Phone, Change: referral.StepContact})
	}
	if r.Contact.Email != "" {
		contact = append(contact, views.CheckRow{Key: "Safe email address", Value: r.Contact.Email, Change: referral.StepContact})
	}
	if r.Contact.Address != "" {
		contact = append(contact, views.CheckRow{Key: "Safe address for letters", Lines: lines(r.Contact.Address), Change: referral.StepContact})
	}
	contact = append(contact, views.CheckRow{Key: "Safe times", Value: orNot(r.Contact.SafeTimes), Change: referral.StepContact})
	if !r.Contact.TheyWillContact {
		contact = append(contact, views.CheckRow{Key: "We can say we are from Family Help", Value: yesNo(r.Contact.SayWhoWeAre), Change: referral.StepContact})
	}
	if r.Contact.Confirmation {
		contact = append(contact, views.CheckRow{Key: "Confirmation email", Value: "Yes", Change: referral.StepContact})
	}

	agreement := "Yes"
	if !r.Consent {
		agreement = "Not given"
	}
	return []views.CheckSection{
		{Title: "About this request", Rows: who},
		{Title: "What is going on", Rows: going},
		{Title: "The family", Rows: family},
		{Title: "Family and friends who could help", Rows: []views.CheckRow{{Key: "People", Lines: network, Change: referral.StepNetwork}}},
		{Title: "Contacting you safely", Rows: contact},
		{Title: "Agreement", Rows: []views.CheckRow{{Key: "Agreed to share", Value: agreement, Change: referral.StepConsent}}},
	}
}
