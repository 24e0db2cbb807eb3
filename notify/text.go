package notify

import "strings"

// TeamNotification writes the email a Family Help team gets for a new referral. It carries
// only the reference, the urgency and a link: email leaves the council's systems and sits
// in mailboxes, so the referral itself stays behind the staff portal's sign-in and audit.
// staffURL is the absolute address of the referral's page in the staff portal.
func TeamNotification(reference string, urgent bool, staffURL string) (subject, text string) {
	subject = "New Family Help referral " + reference
	urgency := "Not marked urgent."
	if urgent {
		subject = "URGENT: " + subject
		urgency = "URGENT. Please look at it today."
	}
	var b strings.Builder
	b.WriteString("A new referral has been sent to your team.\n\n")
	b.WriteString("Reference: " + reference + "\n")
	b.WriteString("Urgency: " + urgency + "\n\n")
	b.WriteString("Open it in the staff portal (you will need to sign in):\n")
	b.WriteString(staffURL + "\n\n")
	b.WriteString("No personal details are sent by email. The referral can only be read in the staff portal.\n")
	return subject, b.String()
}

// FamilyConfirmation writes the email a family gets when they asked for a confirmation.
// Someone else may read their inbox, so neither the subject nor the body names the service,
// the kind of help or the word referral: it reads like any acknowledgement. teamName is
// shown so the family recognises who calls; it should be a neutral name. An empty teamName
// or teamPhone leaves that part out.
func FamilyConfirmation(reference, teamName, teamPhone string) (subject, text string) {
	subject = "Your message has been received"
	var b strings.Builder
	b.WriteString("Thank you. Your message has been received.\n\n")
	b.WriteString("Your reference is " + reference + ".\n\n")
	if teamName != "" {
		b.WriteString("Someone from " + teamName + " will be in touch soon.\n")
	} else {
		b.WriteString("Someone will be in touch soon.\n")
	}
	if teamPhone != "" {
		b.WriteString("If you would like to talk sooner, call " + teamPhone + " and give your reference.\n")
	}
	b.WriteString("\nYou do not need to reply to this email.\n")
	return subject, b.String()
}
