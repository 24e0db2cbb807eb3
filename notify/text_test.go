package notify

import (
	"strings"
	"testing"
)

func TestTeamNotification(t *testing.T) {
	const ref, link = "FH-7K3M-Q9P2", "https://familyhelp.example/staff/referrals/FH-7K3M-Q9P2"
	for _, urgent := range []bool{true, false} {
		subject, text := TeamNotification(ref, urgent, link)
		if subject != map[bool]string{true: "URGENT: ", false: ""}[urgent]+"New Family Help referral "+ref {
			t.Errorf("urgent=%v: subject %q", urgent, subject)
		}
		if got := strings.Contains(text, "URGENT"); got != urgent {
			t.Errorf("urgent=%v: body says URGENT = %v", urgent, got)
		}
		for _, want := range []string{"Reference: " + ref, link, "No personal details are sent by email"} {
			if !strings.Contains(text, want) {
				t.Errorf("urgent=%v: body lacks %q:\n%s", urgent, want, text)
			}
		}
		// Nothing but the fixed wording, the reference and the link.
		rest := strings.ReplaceAll(text, link, "")
		rest = strings.ReplaceAll(rest, ref, "")
		for _, bad := range []string{"@", "http", "FH-"} {
			if strings.Contains(rest, bad) {
				t.Errorf("urgent=%v: body has %q beyond the reference and link:\n%s", urgent, bad, text)
			}
		}
	}
}

func TestFamilyConfirmation(t *testing.T) {
	sensitive := []string{"abuse", "domestic", "violence", "referral", "social", "care", "safeguarding",
		"protection", "police", "council", "family help", "support", "help", "victim", "risk", "urgent"}

	subject, text := FamilyConfirmation("FH-7K3M-Q9P2", "the Wolverhampton North team", "01902 555 0100")
	for _, w := range sensitive {
		if strings.Contains(strings.ToLower(subject), w) {
			t.Errorf("subject %q says %q", subject, w)
		}
		if strings.Contains(strings.ToLower(text), w) {
			t.Errorf("body says %q:\n%s", w, text)
		}
	}
	for _, want := range []string{"FH-7K3M-Q9P2", "Someone from the Wolverhampton North team will be in touch", "01902 555 0100"} {
		if !strings.Contains(text, want) {
			t.Errorf("body lacks %q:\n%s", want, text)
		}
	}

	_, text = FamilyConfirmation("FH-7K3M-Q9P2", "", "")
	if !strings.Contains(text, "Someone will be in touch") || strings.Contains(text, "call") {
		t.Errorf("without team name or phone:\n%s", text)
	}
}
