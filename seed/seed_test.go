package seed_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"familyhelp/directory"
	"familyhelp/postcode"
	"familyhelp/seed"
)

func TestHelplines(t *testing.T) {
	hs, err := seed.Helplines()
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 17 {
		t.Fatalf("%d helplines, want the 17 in national-helplines.csv", len(hs))
	}
	byName := map[string]*directory.Service{}
	for _, h := range hs {
		byName[h.Name] = h
		if !h.National || !h.Free || len(h.Phones) == 0 || len(h.Needs) == 0 || h.Status != directory.Active {
			t.Errorf("%s: %+v", h.Name, h)
		}
		if h.Sample {
			t.Errorf("%s is real, not sample data", h.Name)
		}
	}
	if s := byName["Samaritans"]; s == nil || s.Phones[0].Number != "116 123" {
		t.Errorf("Samaritans: %+v", s)
	}
	if s := byName["Shout"]; s == nil || s.Phones[0].Type != "text" || s.Phones[0].Number != "85258" {
		t.Errorf("Shout should be a text number 85258: %+v", s)
	}
}

func TestSampleServicesAreRealisticAndSpread(t *testing.T) {
	ss, err := seed.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) < 80 {
		t.Fatalf("%d sample services, want at least 80", len(ss))
	}
	ids := map[string]bool{}
	perNeed := map[directory.Need]int{}
	modes := map[directory.Delivery]int{}
	var babies, teens, allAges, notFree int
	for _, s := range ss {
		if ids[s.ID] {
			t.Errorf("duplicate id %s", s.ID)
		}
		ids[s.ID] = true
		if !s.Sample || s.Name == "" || s.Summary == "" || s.Description == "" || s.LastReviewed.IsZero() {
			t.Errorf("%s is missing something: %+v", s.ID, s)
		}
		for _, n := range s.Needs {
			if !directory.ValidNeed(string(n)) {
				t.Errorf("%s: unknown need %q", s.ID, n)
			}
			perNeed[n]++
		}
		for _, m := range s.Delivery {
			modes[m]++
		}
		if s.Has(directory.InPerson) != (len(s.Locations) > 0) {
			t.Errorf("%s: in person is %v but it has %d locations", s.ID, s.Has(directory.InPerson), len(s.Locations))
		}
		for _, l := range s.Locations {
			place, err := postcode.Lookup(l.Postcode)
			if err != nil {
				t.Errorf("%s: postcode %q: %v", s.ID, l.Postcode, err)
				continue
			}
			if !strings.HasPrefix(place.Postcode, "WV") && !strings.HasPrefix(place.Postcode, "WS") {
				t.Errorf("%s: %s is outside Wolverhampton and Walsall", s.ID, l.Postcode)
			}
			if math.Abs(place.Lat-l.Latitude) > 1e-4 || math.Abs(place.Lng-l.Longitude) > 1e-4 {
				t.Errorf("%s: %s is at %v,%v, the data says %v,%v", s.ID, l.Postcode, l.Latitude, l.Longitude, place.Lat, place.Lng)
			}
		}
		for _, p := range s.Phones {
			if d := strings.ReplaceAll(p.Number, " ", ""); !strings.HasPrefix(d, "01632960") && !strings.HasPrefix(d, "07700900") {
				t.Errorf("%s: %s is not in a drama range, so it could ring a real person", s.ID, p.Number)
			}
		}
		switch {
		case s.MaxAge <= 1:
			babies++
		case s.MinAge >= 11 && s.MaxAge <= 25:
			teens++
		case s.MinAge == 0 && s.MaxAge >= directory.MaxAgeLimit:
			allAges++
		}
		if !s.Free {
			notFree++
		}
	}
	for _, n := range directory.Needs {
		if perNeed[n.Slug] < 8 {
			t.Errorf("%s: %d services, want at least 8", n.Slug, perNeed[n.Slug])
		}
	}
	for _, m := range directory.Deliveries {
		if modes[m] < 10 {
			t.Errorf("%s: %d services, want at least 10", m, modes[m])
		}
	}
	if babies == 0 || teens == 0 || allAges == 0 || notFree == 0 {
		t.Errorf("spread: %d for babies, %d for teenagers, %d for all ages, %d not free", babies, teens, allAges, notFree)
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	a, b := seed.Synthetic(10000), seed.Synthetic(10000)
	if len(a) != 10000 || !reflect.DeepEqual(a, b) {
		t.Fatal("synthetic services differ between runs")
	}
	ids := map[string]bool{}
	needs := map[directory.Need]bool{}
	for _, s := range a {
		ids[s.ID] = true
		for _, n := range s.Needs {
			needs[n] = true
		}
	}
	if len(ids) != 10000 || len(needs) != len(directory.Needs) {
		t.Errorf("%d distinct ids, %d needs covered", len(ids), len(needs))
	}
}
