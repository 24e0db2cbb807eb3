package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"familyhelp/directory"
)

// Whatever text reaches a page is written inert, however hostile.
func TestPagesEscapeEverything(t *testing.T) {
	evil := `<script>alert("x")</script>`
	var b strings.Builder
	page := SearchPage(Search{
		Base:       Base{Title: evil},
		SearchForm: SearchForm{Q: evil, Postcode: evil, Age: evil, Filters: true, PostcodeError: evil, Needs: []Option{{Value: "a", Label: evil}}},
		Errors:     []FieldError{{Field: "q", Message: evil}},
		Searched:   true, Heading: evil, Near: evil,
		Chips:      []Chip{{Label: evil, RemoveURL: "/search?q=" + evil}},
		Results:    []Result{{ID: "x", Name: evil, Organisation: evil, Summary: evil, Distance: evil, Town: evil, Ways: evil, CostAndAges: evil}},
		Pagination: Pagination{Next: "/search?q=" + evil, Items: []PageLink{{Number: 1, URL: "/search?q=" + evil, Current: true}}},
	})
	if err := page.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	svc := &directory.Service{ID: "x", Name: evil, Summary: evil, Description: evil, Website: "javascript:alert(1)",
		Phones: []directory.PhoneNumber{{Number: `01632 960000"><script>`}}, LastReviewed: time.Now()}
	if err := ServicePage(ServiceDetails{Service: svc}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>alert") {
		t.Error("a script tag reached the page")
	}
	if strings.Contains(out, `href="javascript:`) {
		t.Error("a javascript: link reached the page")
	}
	if !strings.Contains(out, `href="tel:01632960000"`) {
		t.Error("the phone link does not keep only the digits")
	}
}

func TestWordsForPeople(t *testing.T) {
	cases := []struct{ got, want string }{
		{ScheduleText(directory.Schedule{Weekday: time.Tuesday, Opens: "09:30", Closes: "12:00"}), "Tuesday, 9:30am to midday"},
		{ScheduleText(directory.Schedule{Weekday: time.Sunday, Opens: "00:00", Closes: "23:59", Description: "helpline"}), "Sunday, open all day (helpline)"},
		{ScheduleText(directory.Schedule{Weekday: time.Friday, Opens: "13:00", Closes: "16:45"}), "Friday, 1pm to 4:45pm"},
		{WaysText([]directory.Delivery{directory.InPerson, directory.Phone}), "In person, by phone"},
		{CostText(&directory.Service{Cost: "£2 a session"}), "£2 a session"},
		{Base{Title: "Search", HasErrors: true}.PageTitle(), "Error: Search – Family Help"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if s := ReviewedText(time.Now().AddDate(-1, 0, 0)); !strings.Contains(s, "may have changed") {
		t.Errorf("a year-old check does not warn: %q", s)
	}
}
