package oruk

import (
	"slices"
	"strings"
	"time"

	"familyhelp/directory"
	"familyhelp/search"
)

// Catalogue is the active services as the API sees them, found by their UUIDs. It is built
// from a full read of the store: the directory is small, and a scan is always right.
type Catalogue struct {
	// Services are in the store's order (by name), so pages are stable.
	Services []*directory.Service
	byID     map[string]*directory.Service
}

// NewCatalogue keeps the active services of all; the API never shows anything else.
func NewCatalogue(all []*directory.Service) *Catalogue {
	c := &Catalogue{byID: map[string]*directory.Service{}}
	for _, s := range all {
		if s.Status != directory.Active {
			continue
		}
		c.Services = append(c.Services, s)
		c.byID[ServiceID(s.ID)] = s
	}
	return c
}

// Service finds an active service by its UUID.
func (c *Catalogue) Service(id string) (*directory.Service, bool) {
	s, ok := c.byID[strings.ToLower(id)]
	return s, ok
}

// Filter is what a consumer asked for; every set field must hold.
type Filter struct {
	Text           string
	TermID         string
	TaxonomyID     string
	OrganizationID string
	// MinAge keeps services whose minimum age is at least it; MaxAge those whose maximum
	// age is at most it, as the ORUK OpenAPI describes the parameters.
	MinAge, MaxAge *int
	ModifiedAfter  time.Time
	// Near orders by distance to the nearest location, services without one last; with
	// Within > 0 only services with a location within that many metres are kept.
	Near   *search.Point
	Within float64
	// Day, Opens and Closes keep services with one weekly opening that is on Day, opens at
	// or after Opens ("09:00") and closes at or before Closes; each is left out when unset.
	Day           *time.Weekday
	Opens, Closes string
}

// ParseDay reads a weekday as an RFC 5545 code (MO) or its English name (Monday, mon).
func ParseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if len(s) >= 2 && (s == strings.ToLower(days[d]) || s == name || len(s) >= 3 && strings.HasPrefix(name, s)) {
			return d, true
		}
	}
	return 0, false
}

// ParseClock reads a time of day, "9:30", "09:30" or "09:30:00", as "09:30".
func ParseClock(s string) (string, bool) {
	for _, layout := range []string{"15:04", "15:04:05", "3:04"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.Format("15:04"), true
		}
	}
	return "", false
}

// open reports whether one of the service's weekly openings fits the filter's day and times.
func (f Filter) open(s *directory.Service) bool {
	if f.Day == nil && f.Opens == "" && f.Closes == "" {
		return true
	}
	fits := func(sc directory.Schedule) bool {
		opens, _ := ParseClock(sc.Opens)
		closes, _ := ParseClock(sc.Closes)
		return (f.Day == nil || sc.Weekday == *f.Day) &&
			(f.Opens == "" || opens >= f.Opens) && (f.Closes == "" || closes != "" && closes <= f.Closes)
	}
	if slices.ContainsFunc(s.Schedules, fits) {
		return true
	}
	for _, l := range s.Locations {
		if slices.ContainsFunc(l.Schedules, fits) {
			return true
		}
	}
	return false
}

// Match is a service that matched, with its distance when Near was given.
type Match struct {
	Service     *directory.Service
	Distance    float64
	HasDistance bool
}

// Find returns the services that match f.
func (c *Catalogue) Find(f Filter) []Match {
	words := strings.Fields(strings.ToLower(f.Text))
	var out []Match
	for _, s := range c.Services {
		if !matches(s, f, words) {
			continue
		}
		m := Match{Service: s}
		if f.Near != nil && len(s.Locations) > 0 {
			_, m.Distance = s.Nearest(*f.Near)
			m.HasDistance = true
		}
		if f.Near != nil && f.Within > 0 && (!m.HasDistance || m.Distance > f.Within) {
			continue
		}
		out = append(out, m)
	}
	if f.Near != nil {
		slices.SortStableFunc(out, func(a, b Match) int {
			switch {
			case a.HasDistance && !b.HasDistance:
				return -1
			case !a.HasDistance && b.HasDistance:
				return 1
			case a.Distance < b.Distance:
				return -1
			case a.Distance > b.Distance:
				return 1
			}
			return 0
		})
	}
	return out
}

func matches(s *directory.Service, f Filter, words []string) bool {
	switch {
	case f.TermID != "" && !HasTerm(s, strings.ToLower(f.TermID)),
		f.TaxonomyID != "" && !InTaxonomy(s, strings.ToLower(f.TaxonomyID)),
		f.OrganizationID != "" && OrganizationID(s.Organisation.ID) != strings.ToLower(f.OrganizationID),
		f.MinAge != nil && s.MinAge < *f.MinAge,
		f.MaxAge != nil && s.MaxAge > *f.MaxAge,
		!f.ModifiedAfter.IsZero() && s.UpdatedAt.Before(f.ModifiedAfter),
		!f.open(s):
		return false
	}
	if len(words) == 0 {
		return true
	}
	text := strings.ToLower(strings.Join([]string{s.Name, s.Summary, s.Description, s.Organisation.Name,
		strings.Join(Categories(s), " ")}, " "))
	for _, n := range s.Needs {
		if info, ok := directory.NeedBySlug(string(n)); ok {
			text += " " + strings.ToLower(info.Label+" "+info.Terms)
		}
	}
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// Organizations lists the organisations that run active services, in first-seen order.
func (c *Catalogue) Organizations() []Organization {
	seen := map[string]bool{}
	var out []Organization
	for _, s := range c.Services {
		o := organization(s.Organisation)
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	return out
}
