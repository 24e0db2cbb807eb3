package referral

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func TestRouteTable(t *testing.T) {
	cfg := SampleConfig()
	age := func(n int) *int { return &n }
	kids := func(ages ...int) []Child {
		var out []Child
		for _, a := range ages {
			out = append(out, Child{Name: "A", Age: age(a)})
		}
		return out
	}
	cases := []struct {
		name         string
		r            Referral
		team         string
		also         []string
		urgent       bool
		outside      bool
		otherCouncil string
		reason       string // the first reason must contain this
	}{
		{"locality by district", Referral{Postcode: "WV10 0AA", Danger: "no", Needs: []Need{NeedMoney}, Children: kids(4)},
			"wv-north-east", nil, false, false, "", "Wolverhampton North East"},
		{"locality for Walsall's Willenhall district", Referral{Postcode: "WV13 1AA", Danger: "no", Needs: []Need{NeedHousing}},
			"ws-west", nil, false, false, "", "Walsall West"},
		{"specialist joins for its need", Referral{Postcode: "WS1 1AA", Danger: "no", Needs: []Need{NeedMoney, NeedDomesticAbuse}, Children: kids(3)},
			"ws-central", []string{"domestic-abuse"}, false, false, "", "Walsall Central"},
		{"age-bound specialist joins for a teenager", Referral{Postcode: "WV1 1AA", Danger: "no", Needs: []Need{NeedAddiction}, Children: kids(2, 14)},
			"wv-central", []string{"young-people-substance"}, false, false, "", "Wolverhampton Central"},
		{"age-bound specialist stays out for young children", Referral{Postcode: "WV1 1AA", Danger: "no", Needs: []Need{NeedAddiction}, Children: kids(2, 6)},
			"wv-central", nil, false, false, "", "Wolverhampton Central"},
		{"immediate danger goes to the front door, urgent, with the locality team", Referral{Postcode: "WV14 0AA", Danger: "yes", Needs: []Need{NeedDomesticAbuse}},
			"front-door", []string{"wv-south-east", "domestic-abuse"}, true, false, "", "immediate danger"},
		{"child protection concern goes to the front door, urgent", Referral{Postcode: "WS3 1AA", Danger: "no", Asker: AskerProfessional,
			Professional: &Professional{FamilyAgreed: "no", ChildProtection: true}, Needs: []Need{NeedParenting}},
			"front-door", []string{"ws-north"}, true, false, "", "child protection"},
		{"professional without consent but no child protection concern goes locally", Referral{Postcode: "WS3 1AA", Danger: "no", Asker: AskerProfessional,
			Professional: &Professional{FamilyAgreed: "no", NoConsentReason: "They could not be reached"}, Needs: []Need{NeedParenting}},
			"ws-north", nil, false, false, "", "Walsall North"},
		{"outside the area, neighbour known", Referral{Postcode: "DY1 1AA", Danger: "no", Needs: []Need{NeedMoney}},
			"front-door", nil, false, true, "Dudley Council", "outside our area"},
		{"outside the area, the more specific neighbour wins", Referral{Postcode: "B70 7AA", Danger: "no", Needs: []Need{NeedMoney}},
			"front-door", nil, false, true, "Sandwell Council", "outside our area"},
		{"outside the area, no neighbour known", Referral{Postcode: "M1 1AA", Danger: "no", Needs: []Need{NeedMoney}},
			"front-door", nil, false, true, "", "outside our area"},
		{"outside the area and in danger", Referral{Postcode: "M1 1AA", Danger: "yes", Needs: []Need{NeedMoney}},
			"front-door", nil, true, true, "", "immediate danger"},
		{"a baby on the way counts as age 0", Referral{Postcode: "WV6 0AA", Danger: "no", Needs: []Need{NeedParenting}, Children: []Child{{Name: "Baby", Expected: true}}},
			"wv-west", nil, false, false, "", "Wolverhampton West"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := cfg.Route(&c.r, today)
			if d.Team.ID != c.team {
				t.Errorf("team %s, want %s (reasons %q)", d.Team.ID, c.team, d.Reasons)
			}
			var also []string
			for _, a := range d.Also {
				also = append(also, a.ID)
			}
			if !slices.Equal(also, c.also) {
				t.Errorf("also %v, want %v", also, c.also)
			}
			if d.Urgent != c.urgent || d.OutsideArea != c.outside || d.OtherCouncil != c.otherCouncil {
				t.Errorf("urgent %v outside %v other %q; want %v %v %q", d.Urgent, d.OutsideArea, d.OtherCouncil, c.urgent, c.outside, c.otherCouncil)
			}
			if len(d.Reasons) < 1+len(d.Also) || !strings.Contains(d.Reasons[0], c.reason) {
				t.Errorf("reasons %q: want one per team, the first saying %q", d.Reasons, c.reason)
			}
			if d.Team.Mailbox == "" {
				t.Error("the team has no mailbox to tell")
			}
		})
	}
}

func TestSectorBeatsDistrict(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
council: Test
teams:
  - {id: fd, name: Front door, kind: front-door, mailbox: fd@example.org}
  - {id: district, name: District team, kind: locality, mailbox: d@example.org, covers: [WV1]}
  - {id: sector, name: Sector team, kind: locality, mailbox: s@example.org, covers: ["wv1 4"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for pc, want := range map[string]string{"WV1 4AA": "sector", "WV1 1AA": "district", "wv14ab": "sector"} {
		if got := cfg.Route(&Referral{Postcode: pc, Danger: "no"}, today).Team.ID; got != want {
			t.Errorf("%s went to %s, want %s", pc, got, want)
		}
	}
}

func TestConfigMistakesAreCaught(t *testing.T) {
	cases := map[string]string{
		"no front door": `
council: Test
teams:
  - {id: a, name: A, kind: locality, mailbox: a@example.org, covers: [WV1]}`,
		"misspelt key": `
council: Test
teams:
  - {id: fd, name: F, kind: front-door, mailbox: f@example.org, cover: [WV1]}`,
		"bad mailbox": `
council: Test
teams:
  - {id: fd, name: F, kind: front-door, mailbox: not-an-address}`,
		"bad postcode district": `
council: Test
teams:
  - {id: fd, name: F, kind: front-door, mailbox: f@example.org}
  - {id: a, name: A, kind: locality, mailbox: a@example.org, covers: [WV1 1AA]}`,
		"unknown need": `
council: Test
teams:
  - {id: fd, name: F, kind: front-door, mailbox: f@example.org}
  - {id: s, name: S, kind: specialist, mailbox: s@example.org, needs: [gardening]}`,
		"same id twice": `
council: Test
teams:
  - {id: fd, name: F, kind: front-door, mailbox: f@example.org}
  - {id: fd, name: A, kind: locality, mailbox: a@example.org, covers: [WV1]}`,
	}
	for name, yaml := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseConfig([]byte(yaml)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestReferences(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		ref := NewReference()
		if len(ref) != 12 || !strings.HasPrefix(ref, "FH-") || ref[7] != '-' || strings.ContainsAny(ref[3:], "01ILOU") {
			t.Fatalf("reference %q is not like FH-7K3M-Q9P2 without 0, 1, I, L, O or U", ref)
		}
		if seen[ref] {
			t.Fatalf("reference %q made twice in 2000", ref)
		}
		seen[ref] = true
		if got, ok := NormaliseReference(strings.ToLower(strings.ReplaceAll(ref, "-", " "))); !ok || got != ref {
			t.Fatalf("NormaliseReference(typed %q) = %q, %v", ref, got, ok)
		}
	}
	for _, bad := range []string{"", "FH-1234-5678", "FH-ABCD-EFG", "FH-ABCD-EFGHJ", "<script>", "FH-ABCD-EFGÖ"} {
		if got, ok := NormaliseReference(bad); ok {
			t.Errorf("NormaliseReference(%q) = %q, want rejected", bad, got)
		}
	}
}
