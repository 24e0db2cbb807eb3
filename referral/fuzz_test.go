package referral

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"familyhelp/postcode"
)

// fuzzReferral builds a referral from a fuzzer's inputs: the postcode as typed, the answers
// that decide where it goes, and up to two children (an age below zero is no child).
func fuzzReferral(pc string, danger, childProtection bool, needs uint8, age1, age2 int8, expected bool) *Referral {
	r := &Referral{Postcode: pc, Danger: "no"}
	if danger {
		r.Danger = "yes"
	}
	if childProtection {
		r.Asker = AskerProfessional
		r.Professional = &Professional{FamilyAgreed: "no", ChildProtection: true}
	}
	for i, c := range NeedChoices {
		if needs&(1<<i) != 0 {
			r.Needs = append(r.Needs, c.Need)
		}
	}
	for _, a := range []int8{age1, age2} {
		if a >= 0 {
			n := int(a)
			r.Children = append(r.Children, Child{Name: "A", Age: &n})
		}
	}
	if expected {
		r.Children = append(r.Children, Child{Name: "Baby", Expected: true})
	}
	return r
}

// fuzzDay is a fixed day, so that a failure found on one day is found again on the next.
var fuzzDay = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// FuzzRoute sends referrals with any postcode, needs and children through the sample routing
// and a second configuration that uses sectors, areas and specialists bound to places and
// ages, and checks every decision against the rules Route documents.
func FuzzRoute(f *testing.F) {
	f.Add(uint8(0), "WV10 0AA", false, false, uint8(1<<4), int8(4), int8(-1), false)
	f.Add(uint8(0), "wv14 0aa", true, false, uint8(1<<0), int8(-1), int8(-1), false)
	f.Add(uint8(0), "WS3 1AA", false, true, uint8(1<<3), int8(15), int8(2), false)
	f.Add(uint8(0), "WV1 1AA", false, false, uint8(1<<1), int8(14), int8(2), false)
	f.Add(uint8(0), "B70 7AA", false, false, uint8(1<<4), int8(9), int8(-1), false)
	f.Add(uint8(0), "DY1 1AA", true, false, uint8(0), int8(-1), int8(-1), true)
	f.Add(uint8(0), "M1 1AE", false, false, uint8(1<<5), int8(0), int8(-1), false)
	f.Add(uint8(0), "WV1", false, false, uint8(1<<4), int8(3), int8(-1), false)
	f.Add(uint8(0), "not a postcode", false, false, uint8(1<<6), int8(3), int8(-1), false)
	f.Add(uint8(1), "WV1 4AA", false, false, uint8(1<<0|1<<1), int8(12), int8(-1), false)
	f.Add(uint8(1), "WV1 1AA", false, false, uint8(1<<2), int8(30), int8(-1), true)
	f.Add(uint8(1), "WS9 8AA", false, false, uint8(1<<1), int8(17), int8(-1), false)
	f.Add(uint8(1), "DY4 7AA", false, true, uint8(1<<2), int8(-1), int8(-1), false)
	configs := []*Config{SampleConfig(), mustConfig(f, testConfig)}
	f.Fuzz(func(t *testing.T, which uint8, pc string, danger, childProtection bool, needs uint8, age1, age2 int8, expected bool) {
		cfg := configs[int(which)%len(configs)]
		checkRoute(t, cfg, fuzzReferral(pc, danger, childProtection, needs, age1, age2, expected))
	})
}

// FuzzParseConfig reads any YAML as a routing configuration: it is either refused with an
// error or keeps every rule the check promises, and it routes referrals by the rules.
func FuzzParseConfig(f *testing.F) {
	f.Add(sampleRouting, "WV10 0AA", false, uint8(1<<0))
	f.Add([]byte(testConfig), "WV1 4AA", false, uint8(1<<1))
	f.Add([]byte(testConfig), "DY4 7AA", true, uint8(0))
	f.Add([]byte("council: A\nteams:\n  - {id: fd, name: F, kind: front-door, mailbox: a@example.org}\n"), "WV1 1AA", false, uint8(0))
	f.Add([]byte("council: A\nteams: []\n"), "WV1 1AA", false, uint8(0))
	f.Add([]byte("council: A\nteams:\n  - {id: fd, name: F, kind: front-door, mailbox: a@example.org}\n  - {id: fd, name: G, kind: locality, mailbox: b@example.org, covers: [wv1]}\n"), "WV1 1AA", false, uint8(0))
	f.Add([]byte("council: A\ncolour: blue\n"), "", false, uint8(0))
	f.Add([]byte("&a [*a]"), "", false, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, pc string, danger bool, needs uint8) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("ParseConfig returned a configuration with its error %v", err)
			}
			return
		}
		again, err := ParseConfig(data)
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("ParseConfig read the same bytes differently: %v", err)
		}
		checkConfig(t, cfg)
		for _, r := range []*Referral{
			fuzzReferral(pc, danger, false, needs, 5, 14, false),
			fuzzReferral(pc, false, true, needs, -1, -1, true),
		} {
			checkRoute(t, cfg, r)
		}
		// A postcode in each place a team covers, so the rules are checked where they bite.
		for _, tm := range cfg.Teams {
			for _, c := range tm.Covers {
				p, _ := prefix(c)
				switch {
				case len(p) <= 2:
					p += "1 1AA"
				case strings.Contains(p, " "):
					p += "AA"
				default:
					p += " 1AA"
				}
				checkRoute(t, cfg, fuzzReferral(p, false, false, needs, 5, -1, false))
			}
		}
	})
}

// testConfig exercises what the sample does not: a sector beating its district, a whole
// postcode area, teams listed so that ties are decided by order, and specialists bound to
// places and to ages.
const testConfig = `
council: Test council
teams:
  - {id: fd, name: Front door, kind: front-door, mailbox: fd@example.org}
  - {id: sector-team, name: Sector team, kind: locality, mailbox: s@example.org, covers: ["wv1 4", " WV1  5 "]}
  - {id: district-team, name: District team, kind: locality, mailbox: d@example.org, covers: [WV1, wv2]}
  - {id: tie-team, name: Tie team, kind: locality, mailbox: t@example.org, covers: [WV2, WS]}
  - {id: area-team, name: Area team, kind: locality, mailbox: a@example.org, covers: [WS, WV]}
  - {id: local-specialist, name: Local specialist, kind: specialist, mailbox: l@example.org, needs: [domestic-abuse], covers: [WV1]}
  - {id: teen-specialist, name: Teen specialist, kind: specialist, mailbox: y@example.org, needs: [addiction, mental-health], min_age: 11, max_age: 18}
  - {id: baby-specialist, name: Baby specialist, kind: specialist, mailbox: b@example.org, needs: [mental-health], max_age: 0}
neighbours:
  - {council: Sandwell, covers: [DY4, B70]}
  - {council: Dudley, covers: [DY]}
  - {council: Dudley again, covers: [DY]}
`

func mustConfig(tb testing.TB, yaml string) *Config {
	tb.Helper()
	c, err := ParseConfig([]byte(yaml))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// checkConfig checks what ParseConfig promises of a configuration it accepts.
func checkConfig(t *testing.T, c *Config) {
	t.Helper()
	ids := map[string]bool{}
	doors := 0
	for _, tm := range c.Teams {
		if tm.ID == "" || tm.Name == "" || ids[tm.ID] {
			t.Fatalf("team %q: missing or repeated id, or no name", tm.ID)
		}
		ids[tm.ID] = true
		switch tm.Kind {
		case KindFrontDoor:
			doors++
		case KindLocality:
			if len(tm.Covers) == 0 {
				t.Fatalf("locality team %q covers nothing", tm.ID)
			}
		case KindSpecialist:
			if len(tm.Needs) == 0 {
				t.Fatalf("specialist team %q takes no needs", tm.ID)
			}
		default:
			t.Fatalf("team %q: kind %q", tm.ID, tm.Kind)
		}
		for _, cv := range tm.Covers {
			if _, ok := prefix(cv); !ok {
				t.Fatalf("team %q covers %q, which is no district, sector or area", tm.ID, cv)
			}
		}
	}
	if doors != 1 || c.FrontDoor().Kind != KindFrontDoor {
		t.Fatalf("%d front doors", doors)
	}
}

// checkRoute routes r and checks the decision against the documented rules: the team is one
// of the configuration's, the front door exactly when there is danger, a child protection
// concern or no locality team for the postcode, otherwise the locality team that covers the
// postcode most closely (the first listed on a tie); the teams that join are the
// configuration's, each once; every team has its reason; and the same answers, however the
// postcode was typed, give the same decision without changing the referral.
func checkRoute(t *testing.T, cfg *Config, r *Referral) {
	t.Helper()
	before, _ := json.Marshal(r)
	d := cfg.Route(r, fuzzDay)
	if after, _ := json.Marshal(r); string(before) != string(after) {
		t.Fatalf("Route changed the referral: %s → %s", before, after)
	}
	if again := cfg.Route(r, fuzzDay); !reflect.DeepEqual(d, again) {
		t.Fatalf("Route is not deterministic:\n%+v\n%+v", d, again)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("the decision cannot be stored: %v", err)
	}
	own := func(tm Team) bool {
		got, ok := cfg.TeamByID(tm.ID)
		return ok && reflect.DeepEqual(got, tm)
	}
	if !own(d.Team) {
		t.Fatalf("Route(%q) chose team %+v, which is not in the configuration", r.Postcode, d.Team)
	}

	// The locality teams that cover the postcode, most closely first, in the order listed.
	pc, err := postcode.Parse(r.Postcode)
	full := err == nil && pc.Full
	var best Team
	bestScore := 0
	if full {
		for _, tm := range cfg.Teams {
			if s := bestMatch(tm.Covers, pc); tm.Kind == KindLocality && s > bestScore {
				best, bestScore = tm, s
			}
		}
	}
	urgent := r.Danger == "yes" || r.Professional != nil && r.Professional.ChildProtection
	if d.Urgent != urgent {
		t.Fatalf("urgent %v for danger %q and professional %+v", d.Urgent, r.Danger, r.Professional)
	}
	if d.OutsideArea != (bestScore == 0) {
		t.Fatalf("Route(%q): outside the area %v, but the best locality match scores %d", r.Postcode, d.OutsideArea, bestScore)
	}
	switch {
	case urgent || bestScore == 0:
		if d.Team.Kind != KindFrontDoor {
			t.Fatalf("Route(%q, urgent %v) went to %s, not the front door", r.Postcode, urgent, d.Team.ID)
		}
	case d.Team.ID != best.ID:
		t.Fatalf("Route(%q) went to %s; the closest locality team listed first is %s", r.Postcode, d.Team.ID, best.ID)
	}
	if bestScore > 0 && d.Team.Kind == KindFrontDoor && (len(d.Also) == 0 || d.Also[0].ID != best.ID) {
		t.Fatalf("Route(%q) went to the front door without the locality team %s joining", r.Postcode, best.ID)
	}

	// The teams that join: the configuration's own, each once, and only for a reason.
	seen := map[string]bool{d.Team.ID: true}
	for i, tm := range d.Also {
		if !own(tm) || seen[tm.ID] {
			t.Fatalf("Route(%q): team %q joins twice, or is not in the configuration", r.Postcode, tm.ID)
		}
		seen[tm.ID] = true
		switch {
		case tm.Kind == KindLocality && i == 0 && d.Team.Kind == KindFrontDoor:
		case tm.Kind == KindSpecialist && !d.OutsideArea && takes(tm, r, fuzzDay) &&
			(len(tm.Covers) == 0 || bestMatch(tm.Covers, pc) > 0) &&
			slices.ContainsFunc(tm.Needs, func(n Need) bool { return slices.Contains(r.Needs, n) }):
		default:
			t.Fatalf("Route(%q): team %s (%s) joined without a reason", r.Postcode, tm.ID, tm.Kind)
		}
	}
	if !d.OutsideArea {
		for _, tm := range cfg.Teams {
			if tm.Kind == KindSpecialist && takes(tm, r, fuzzDay) && (len(tm.Covers) == 0 || bestMatch(tm.Covers, pc) > 0) && !seen[tm.ID] {
				t.Fatalf("Route(%q): specialist %s takes this referral but did not join", r.Postcode, tm.ID)
			}
		}
	}
	if len(d.Reasons) < 1+len(d.Also) || slices.Contains(d.Reasons, "") {
		t.Fatalf("Route(%q): reasons %q for %d teams", r.Postcode, d.Reasons, 1+len(d.Also))
	}

	// The council outside the area is one the configuration names for the postcode.
	switch {
	case d.OtherCouncil == "":
	case !d.OutsideArea:
		t.Fatalf("Route(%q) names another council, %q, for a postcode in the area", r.Postcode, d.OtherCouncil)
	case !slices.ContainsFunc(cfg.Neighbours, func(n Neighbour) bool { return n.Council == d.OtherCouncil && bestMatch(n.Covers, pc) > 0 }):
		t.Fatalf("Route(%q) names %q, which does not cover it", r.Postcode, d.OtherCouncil)
	}

	// How the postcode was typed makes no difference.
	if full && r.Postcode != pc.Text {
		typed := *r
		typed.Postcode = pc.Text
		if other := cfg.Route(&typed, fuzzDay); !reflect.DeepEqual(d, other) {
			t.Fatalf("Route(%q) and Route(%q) differ:\n%+v\n%+v", r.Postcode, pc.Text, d, other)
		}
	}
}

// bestMatch is how closely a cover list matches a postcode, worked out apart from Route's
// own: 3 for the sector, 2 for the district, 1 for the area.
func bestMatch(covers []string, pc postcode.Postcode) int {
	n := 0
	for _, c := range covers {
		p, ok := prefix(c)
		switch {
		case !ok:
		case p == pc.Sector && pc.Sector != "":
			n = max(n, 3)
		case p == pc.Outward:
			n = max(n, 2)
		case len(p) <= 2 && p == pc.Outward[:len(pc.Outward)-len(trimLetters(pc.Outward))]:
			n = max(n, 1)
		}
	}
	return n
}

// trimLetters drops an outward code's leading letters: "10" of "WV10".
func trimLetters(outward string) string {
	for i := 0; i < len(outward); i++ {
		if outward[i] >= '0' && outward[i] <= '9' {
			return outward[i:]
		}
	}
	return ""
}
