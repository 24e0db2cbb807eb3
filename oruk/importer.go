package oruk

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"familyhelp/directory"
	"familyhelp/postcode"
)

// The in* types read a service as other systems write it: every field optional, numbers
// that may be missing, and the HSDS fields the UK profile leaves out.
type inService struct {
	ID                     string          `json:"id"`
	OrganizationID         string          `json:"organization_id"`
	Name                   string          `json:"name"`
	Description            string          `json:"description"`
	URL                    string          `json:"url"`
	Email                  string          `json:"email"`
	Status                 string          `json:"status"`
	Fees                   string          `json:"fees"`
	FeesDescription        string          `json:"fees_description"`
	EligibilityDescription string          `json:"eligibility_description"`
	ApplicationProcess     string          `json:"application_process"`
	MinimumAge             *float64        `json:"minimum_age"`
	MaximumAge             *float64        `json:"maximum_age"`
	AssuredDate            string          `json:"assured_date"`
	LastModified           string          `json:"last_modified"`
	Organization           *inOrganization `json:"organization"`
	ServiceAtLocations     []inSAL         `json:"service_at_locations"`
	Contacts               []inContact     `json:"contacts"`
	Phones                 []inPhone       `json:"phones"`
	Schedules              []inSchedule    `json:"schedules"`
	ServiceAreas           []inArea        `json:"service_areas"`
	CostOptions            []inCost        `json:"cost_options"`
	Languages              []inLanguage    `json:"languages"`
	Attributes             []inAttribute   `json:"attributes"`
	FamilyHelp             *Extension      `json:"familyhelp"`
}

type inOrganization struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Email       string `json:"email"`
	Website     string `json:"website"`
}

type inSAL struct {
	ID         string       `json:"id"`
	LocationID string       `json:"location_id"`
	Location   *inLocation  `json:"location"`
	Schedules  []inSchedule `json:"schedules"`
}

type inLocation struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	LocationType  string            `json:"location_type"`
	Latitude      *float64          `json:"latitude"`
	Longitude     *float64          `json:"longitude"`
	Addresses     []inAddress       `json:"addresses"`
	Accessibility []inAccessibility `json:"accessibility"`
}

type inAddress struct {
	Address1    string `json:"address_1"`
	Address2    string `json:"address_2"`
	City        string `json:"city"`
	PostalCode  string `json:"postal_code"`
	Country     string `json:"country"`
	AddressType string `json:"address_type"`
}

type inAccessibility struct {
	Description string `json:"description"`
	Details     string `json:"details"`
}

type inContact struct {
	Name   string    `json:"name"`
	Title  string    `json:"title"`
	Email  string    `json:"email"`
	Phones []inPhone `json:"phones"`
}

type inPhone struct {
	Number      string `json:"number"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

type inSchedule struct {
	ID                  string `json:"id"`
	ServiceAtLocationID string `json:"service_at_location_id"`
	LocationID          string `json:"location_id"`
	Freq                string `json:"freq"`
	Byday               string `json:"byday"`
	OpensAt             string `json:"opens_at"`
	ClosesAt            string `json:"closes_at"`
	Description         string `json:"description"`
}

type inArea struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	ExtentType  string `json:"extent_type"`
}

type inCost struct {
	Option            string   `json:"option"`
	Amount            *float64 `json:"amount"`
	AmountDescription string   `json:"amount_description"`
}

type inLanguage struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

type inAttribute struct {
	TaxonomyTermID string  `json:"taxonomy_term_id"`
	TaxonomyTerm   *inTerm `json:"taxonomy_term"`
}

type inTerm struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	Term string `json:"term"`
}

// Outcome is what an import did with one record.
type Outcome string

// What an import can do with a record.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Skipped   Outcome = "skipped"
)

// RecordReport says what happened to one record and why.
type RecordReport struct {
	Where   string
	ID      string // the record's Open Referral id, when it had one
	Name    string
	Outcome Outcome
	// Problems are why a record was skipped; Warnings what was left out of one imported.
	Problems []string
	Warnings []string
	// ServiceID is our id of the service created or updated.
	ServiceID string
}

// Report is what an import did, record by record.
type Report struct {
	Records                              []RecordReport
	Created, Updated, Unchanged, Skipped int
}

func (r *Report) add(rr RecordReport) {
	r.Records = append(r.Records, rr)
	switch rr.Outcome {
	case Created:
		r.Created++
	case Updated:
		r.Updated++
	case Unchanged:
		r.Unchanged++
	case Skipped:
		r.Skipped++
	}
}

// Summary is the report's totals in a sentence.
func (r *Report) Summary() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d skipped", r.Created, r.Updated, r.Unchanged, r.Skipped)
}

// ImportTarget is where imported services go: the Directory, so every saved service reaches
// the search index through the index queue.
type ImportTarget interface {
	EachService(ctx context.Context, fn func(*directory.Service) error) error
	// Save adds or replaces services, all or none.
	Save(ctx context.Context, services ...*directory.Service) error
}

// Importer brings Open Referral services into the directory. Each service is saved in a
// transaction of its own, so a bad record never half-writes one and never stops the rest;
// a record that matches what is stored is not saved again, so importing the same feed twice
// changes nothing.
type Importer struct {
	Target ImportTarget
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// Import checks and saves each record, and reports what it did.
func (im *Importer) Import(ctx context.Context, recs []Record) (*Report, error) {
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	// The directory is small: one read tells which services and organisations exist, by
	// their Open Referral ids.
	byUUID := map[string]*directory.Service{}
	orgs := map[string]directory.Organisation{}
	ourIDs := map[string]bool{}
	if err := im.Target.EachService(ctx, func(s *directory.Service) error {
		byUUID[ServiceID(s.ID)] = s
		orgs[OrganizationID(s.Organisation.ID)] = s.Organisation
		ourIDs[s.ID] = true
		return nil
	}); err != nil {
		return nil, fmt.Errorf("import: read the directory: %w", err)
	}
	rep := &Report{}
	seen := map[string]string{}
	for _, rec := range recs {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("import: %w", err)
		}
		rr := RecordReport{Where: rec.Where}
		in, err := decode(rec)
		if err != nil {
			rr.Outcome, rr.Problems = Skipped, []string{err.Error()}
			rep.add(rr)
			continue
		}
		rr.ID, rr.Name = strings.ToLower(strings.TrimSpace(in.ID)), strings.TrimSpace(in.Name)
		if first, ok := seen[rr.ID]; ok && rr.ID != "" {
			rr.Outcome, rr.Problems = Skipped, []string{"the same id as " + first + ": a feed lists each service once"}
			rep.add(rr)
			continue
		}
		seen[rr.ID] = rec.Where
		svc, problems, warnings := convert(in, byUUID[rr.ID], orgs, ourIDs)
		if len(problems) > 0 {
			// What would have been left out of it matters only once it can be imported.
			rr.Outcome, rr.Problems = Skipped, problems
			rep.add(rr)
			continue
		}
		rr.Warnings = warnings
		old := byUUID[rr.ID]
		if old != nil {
			keepOurs(old, svc)
		}
		switch {
		case old == nil:
			rr.Outcome = Created
		case same(old, svc, in.LastModified == ""):
			rr.Outcome, rr.ServiceID = Unchanged, old.ID
			rep.add(rr)
			continue
		default:
			rr.Outcome = Updated
		}
		if in.LastModified == "" {
			svc.UpdatedAt = now().UTC()
		}
		if err := im.Target.Save(ctx, svc); err != nil {
			if ctx.Err() != nil {
				return rep, fmt.Errorf("import: %w", ctx.Err())
			}
			rr.Outcome, rr.Problems = Skipped, []string{"it could not be saved: " + err.Error()}
			rep.add(rr)
			continue
		}
		rr.ServiceID = svc.ID
		byUUID[rr.ID] = svc
		orgs[OrganizationID(svc.Organisation.ID)] = svc.Organisation
		ourIDs[svc.ID] = true
		rep.add(rr)
	}
	return rep, nil
}

// keepOurs gives an imported service what the stored one has that the feed cannot carry
// exactly: our ids of its places, and times finer than the feed writes them.
func keepOurs(old, svc *directory.Service) {
	for i, l := range svc.Locations {
		for _, o := range old.Locations {
			if LocationID(old.ID, o.ID) == l.ID {
				svc.Locations[i].ID = o.ID
			}
		}
	}
	if svc.UpdatedAt.Equal(old.UpdatedAt.Truncate(time.Second)) {
		svc.UpdatedAt = old.UpdatedAt
	}
	if y, m, d := old.LastReviewed.UTC().Date(); svc.LastReviewed.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		svc.LastReviewed = old.LastReviewed
	}
}

// same reports whether an imported service is the one stored; without a last_modified in the
// feed, the time we saved it is not the feed's to change.
func same(old, svc *directory.Service, keepTime bool) bool {
	c := *svc
	if keepTime {
		c.UpdatedAt = old.UpdatedAt
	}
	a, err1 := json.Marshal(old)
	b, err2 := json.Marshal(&c)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

func decode(rec Record) (*inService, error) {
	var in inService
	if len(bytes.TrimSpace(rec.Raw)) == 0 || bytes.TrimSpace(rec.Raw)[0] != '{' {
		return nil, errors.New("it is not an object with a service's fields")
	}
	if err := json.Unmarshal(rec.Raw, &in); err != nil {
		return nil, jsonProblem(err)
	}
	if in.Organization == nil && rec.Org != nil {
		in.Organization = rec.Org
	}
	return &in, nil
}

// convert turns a record into a listing, with the problems that stop it and the warnings
// about what was left out. old is the service stored under the record's id, if any.
func convert(in *inService, old *directory.Service, orgs map[string]directory.Organisation, ourIDs map[string]bool) (*directory.Service, []string, []string) {
	var problems, warnings []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	warn := func(format string, a ...any) { warnings = append(warnings, fmt.Sprintf(format, a...)) }
	text := func(field, v string, required bool, limit int, multiline bool) string {
		v = strings.TrimSpace(v)
		switch {
		case v == "" && required:
			bad("%s is missing", field)
		case !directory.IsText(v, multiline):
			bad("%s holds control characters or hidden direction marks", field)
		case utf8.RuneCountInString(v) > limit:
			bad("%s is longer than %d characters", field, limit)
		}
		return v
	}

	id := strings.ToLower(strings.TrimSpace(in.ID))
	if !IsUUID(id) {
		if id == "" {
			bad("id is missing")
		} else {
			bad("id %q is not a UUID", in.ID)
		}
	}
	s := &directory.Service{}
	s.Name = text("name", in.Name, true, 150, false)
	s.Description = text("description", in.Description, false, 5000, true)
	s.Eligibility = text("eligibility_description", in.EligibilityDescription, false, 1000, true)
	s.HowToRefer = text("application_process", in.ApplicationProcess, false, 1000, true)
	switch st := directory.Status(strings.ToLower(strings.TrimSpace(in.Status))); {
	case in.Status == "":
		bad("status is missing: it should be active, inactive, defunct or temporarily closed")
	case directory.ValidStatus(st):
		s.Status = st
	default:
		bad("status %q is not one of active, inactive, defunct or temporarily closed", in.Status)
	}
	if w := strings.TrimSpace(in.URL); w != "" {
		if directory.ValidWebsite(w) {
			s.Website = w
		} else {
			bad("url %q is not a web address starting with https://", w)
		}
	}
	if e := strings.TrimSpace(in.Email); e != "" {
		if directory.ValidEmail(e) {
			s.Email = e
		} else {
			bad("email %q is not an email address", e)
		}
	}

	// Ages: the youngest and the oldest; none above means no upper limit.
	s.MaxAge = directory.MaxAgeLimit
	if a := in.MinimumAge; a != nil {
		if *a < 0 || *a >= directory.MaxAgeLimit || *a != math.Trunc(*a) {
			bad("minimum_age %v is not a whole number of years from 0 to %d", *a, directory.MaxAgeLimit-1)
		} else {
			s.MinAge = int(*a)
		}
	}
	if a := in.MaximumAge; a != nil && *a < directory.MaxAgeLimit {
		if *a < 0 || *a != math.Trunc(*a) {
			bad("maximum_age %v is not a whole number of years", *a)
		} else {
			s.MaxAge = int(*a)
		}
	}
	if s.MaxAge < s.MinAge {
		bad("maximum_age %d is below minimum_age %d", s.MaxAge, s.MinAge)
	}
	if d := strings.TrimSpace(in.AssuredDate); d != "" {
		t, err := parseDate(d)
		if err != nil {
			bad("assured_date %q is not a date like 2025-03-31", d)
		}
		s.LastReviewed = t
	}
	if d := strings.TrimSpace(in.LastModified); d != "" {
		t, err := parseDate(d)
		if err != nil {
			bad("last_modified %q is not a date and time like 2025-03-31T09:30:00Z", d)
		}
		s.UpdatedAt = t.Truncate(time.Second)
	}

	// The organisation, nested or named by id.
	o := in.Organization
	orgID := strings.ToLower(strings.TrimSpace(cmp.Or(in.OrganizationID, func() string {
		if o != nil {
			return o.ID
		}
		return ""
	}())))
	switch {
	case o != nil && strings.TrimSpace(o.Name) != "":
		oid := strings.ToLower(strings.TrimSpace(cmp.Or(o.ID, orgID)))
		if !IsUUID(oid) {
			bad("organization id %q is not a UUID", o.ID)
		}
		s.Organisation = directory.Organisation{ID: oid,
			Name:        text("organization name", o.Name, true, 150, false),
			Description: text("organization description", o.Description, false, 5000, true)}
		if s.Organisation.Description == s.Organisation.Name {
			// Our export writes the name where the profile needs a description and we have none.
			s.Organisation.Description = ""
		}
		if w := strings.TrimSpace(o.Website); w != "" {
			if directory.ValidWebsite(w) {
				s.Organisation.Website = w
			} else {
				warn("the organisation's website %q is not a web address, so it was left out", w)
			}
		}
		if e := strings.TrimSpace(o.Email); e != "" {
			if directory.ValidEmail(e) {
				s.Organisation.Email = e
			} else {
				warn("the organisation's email %q is not an email address, so it was left out", e)
			}
		}
	case orgID != "":
		known, ok := orgs[orgID]
		if !ok {
			bad("organization_id %s is neither in the file nor in the directory", orgID)
		}
		s.Organisation = known
	default:
		bad("the organisation is missing: give organization, or organization_id of one already here")
	}

	// Our ids: the service's stored id when it is here already; the id our own export
	// carries, when it gives this same UUID; otherwise the UUID itself.
	ext := in.FamilyHelp
	switch {
	case old != nil:
		s.ID = old.ID
	case ext != nil && ext.ID != "" && ServiceID(ext.ID) == id && !ourIDs[ext.ID]:
		s.ID = ext.ID
	default:
		s.ID = id
	}
	if ext != nil && ext.OrganisationID != "" && OrganizationID(ext.OrganisationID) == s.Organisation.ID {
		s.Organisation.ID = ext.OrganisationID
	} else if known, ok := orgs[s.Organisation.ID]; ok {
		s.Organisation.ID = known.ID
	}

	// Places, each with its opening times.
	salSchedules := map[string][]inSchedule{}
	for _, sc := range in.Schedules {
		if k := strings.ToLower(cmp.Or(sc.ServiceAtLocationID, sc.LocationID)); k != "" {
			salSchedules[k] = append(salSchedules[k], sc)
		}
	}
	for i, sal := range in.ServiceAtLocations {
		n := strconv.Itoa(i + 1)
		l := sal.Location
		if l == nil {
			warn("place %s has no location, so it was left out", n)
			continue
		}
		label := "place " + n
		if l.Name != "" {
			label = fmt.Sprintf("place %q", strings.TrimSpace(l.Name))
		}
		if t := strings.ToLower(l.LocationType); t == "virtual" {
			continue // an online place: the service's website says where
		}
		loc, why := place(l)
		if why != "" {
			warn("%s was left out: %s", label, why)
			continue
		}
		scheds := sal.Schedules
		for _, k := range []string{strings.ToLower(sal.ID), strings.ToLower(l.ID)} {
			if k != "" && len(scheds) == 0 {
				scheds = salSchedules[k]
			}
		}
		loc.Schedules = weekly(scheds, label, warn)
		s.Locations = append(s.Locations, loc)
	}
	var remote []inSchedule
	for _, sc := range in.Schedules {
		if sc.ServiceAtLocationID == "" && sc.LocationID == "" {
			remote = append(remote, sc)
		}
	}
	s.Schedules = weekly(remote, "the service", warn)

	// Phones, contacts and languages.
	for _, p := range in.Phones {
		if ph, ok := phone(p, warn); ok {
			s.Phones = append(s.Phones, ph)
		}
	}
	for i, c := range in.Contacts {
		ct := directory.Contact{Name: strings.TrimSpace(c.Name), Title: strings.TrimSpace(c.Title)}
		if ct.Name == "" && ct.Title == "" {
			warn("contact %d has no name or job title, so it was left out", i+1)
			continue
		}
		if e := strings.TrimSpace(c.Email); e != "" {
			if directory.ValidEmail(e) {
				ct.Email = e
			} else {
				warn("contact %d's email %q is not an email address, so it was left out", i+1, e)
			}
		}
		for _, p := range c.Phones {
			if ph, ok := phone(p, warn); ok && ct.Phone == "" {
				ct.Phone = ph.Number
			}
		}
		s.Contacts = append(s.Contacts, ct)
	}
	for _, l := range in.Languages {
		name := strings.TrimSpace(l.Name)
		if name == "" {
			name = languageName(l.Code)
		}
		if name != "" && !slices.Contains(s.Languages, name) {
			s.Languages = append(s.Languages, name)
		}
	}

	// Where it is offered, and what it costs.
	for _, a := range in.ServiceAreas {
		if strings.EqualFold(a.ExtentType, "national") {
			s.National = true
			s.AreaDescription = strings.TrimSpace(cmp.Or(a.Description, a.Name))
			break
		}
		if s.AreaDescription == "" && utf8.RuneCountInString(strings.TrimSpace(a.Name)) <= 150 {
			s.AreaDescription = strings.TrimSpace(a.Name)
		}
	}
	cost(s, in)

	// Needs and DfE categories, from the taxonomy terms.
	var unknown []string
	derivedNeeds := false
	for _, a := range in.Attributes {
		t := inTerm{ID: a.TaxonomyTermID}
		if a.TaxonomyTerm != nil {
			t = *a.TaxonomyTerm
			t.ID = cmp.Or(t.ID, a.TaxonomyTermID)
		}
		need, category := mapTerm(t)
		switch {
		case need != "":
			if !slices.Contains(s.Needs, need) {
				s.Needs = append(s.Needs, need)
			}
		case category != "":
			if !slices.Contains(s.Categories, category) {
				s.Categories = append(s.Categories, category)
			}
		default:
			unknown = append(unknown, cmp.Or(t.Name, t.Term, t.Code, t.ID))
		}
	}
	// A feed that classifies by DfE categories alone still tells the needs they mean.
	for _, c := range s.Categories {
		if len(s.Needs) > 0 && !derivedNeeds {
			break
		}
		derivedNeeds = true
		for _, n := range directory.Needs {
			if slices.Contains(n.Categories, c) && !slices.Contains(s.Needs, n.Slug) {
				s.Needs = append(s.Needs, n.Slug)
			}
		}
	}
	if len(s.Categories) == 0 {
		// The categories its needs mean, as an editor's listing gets them and as our export
		// and API publish them anyway: without them a search for a category's words misses
		// it, and our own export of it would read back as a change.
		s.Categories = directory.CategoriesFor(s.Needs)
	}
	if len(unknown) > 0 {
		warn("taxonomy terms that are neither our needs nor DfE service categories were left out: %s", strings.Join(unknown, ", "))
	}
	if len(s.Needs) == 0 {
		warn("no taxonomy term says which need it helps with, so families will find it by its words only; an editor can add its needs")
	}

	// What HSDS has no place for: from our own export, or the nearest we can tell.
	if ext != nil {
		s.Summary = text("familyhelp summary", ext.Summary, false, 300, false)
		s.SelfReferral, s.Sample = ext.SelfReferral, ext.Sample
		s.OpeningNotes = text("familyhelp opening_notes", ext.OpeningNotes, false, 500, true)
		s.Accessibility = text("familyhelp accessibility", ext.Accessibility, false, 1000, true)
		for _, d := range ext.Delivery {
			if directory.ValidDelivery(d) {
				s.Delivery = append(s.Delivery, directory.Delivery(d))
			}
		}
	}
	if s.Summary == "" {
		s.Summary = firstSentence(cmp.Or(s.Description, s.Name), 300)
	}
	s.Description = cmp.Or(s.Description, s.Summary)
	if len(s.Delivery) == 0 {
		if len(s.Locations) > 0 {
			s.Delivery = append(s.Delivery, directory.InPerson)
		}
		if len(s.Phones) > 0 || slices.ContainsFunc(s.Contacts, func(c directory.Contact) bool { return c.Phone != "" }) {
			s.Delivery = append(s.Delivery, directory.Phone)
		}
		if s.Website != "" || s.Email != "" {
			s.Delivery = append(s.Delivery, directory.Online)
		}
	}
	if len(s.Delivery) == 0 && len(problems) == 0 {
		bad("there is no way to reach it: no place we could find, phone number, website or email")
	}
	return s, problems, warnings
}

// place turns a location into one of our places, or says why it cannot be one.
func place(l *inLocation) (directory.Location, string) {
	loc := directory.Location{ID: strings.ToLower(strings.TrimSpace(l.ID)), Name: strings.TrimSpace(l.Name)}
	if !IsUUID(loc.ID) {
		return loc, fmt.Sprintf("its id %q is not a UUID", l.ID)
	}
	var addr *inAddress
	for i, a := range l.Addresses {
		if addr == nil || strings.EqualFold(a.AddressType, "physical") && !strings.EqualFold(addr.AddressType, "physical") {
			addr = &l.Addresses[i]
		}
	}
	if addr == nil {
		return loc, "it has no address"
	}
	if c := strings.ToUpper(strings.TrimSpace(addr.Country)); c != "" && c != "GB" && c != "UK" {
		return loc, fmt.Sprintf("it is not in the United Kingdom (country %q)", addr.Country)
	}
	pc, err := postcode.Normalise(addr.PostalCode)
	if err != nil {
		return loc, fmt.Sprintf("%q is not a UK postcode", addr.PostalCode)
	}
	loc.Postcode = pc
	parts := []string{}
	for _, p := range []string{addr.Address1, addr.Address2} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	loc.Address, loc.Town = strings.Join(parts, ", "), strings.TrimSpace(addr.City)
	if loc.Address == "" || loc.Town == "" {
		return loc, "its address has no street or no town"
	}
	if !directory.IsText(loc.Address, false) || !directory.IsText(loc.Town, false) || !directory.IsText(loc.Name, false) {
		return loc, "its address holds control characters or hidden direction marks"
	}
	for _, a := range l.Accessibility {
		if d := strings.TrimSpace(cmp.Or(a.Description, a.Details)); d != "" && directory.IsText(d, false) {
			loc.Accessibility = append(loc.Accessibility, d)
		}
	}
	switch {
	case l.Latitude != nil && l.Longitude != nil && ukLatLng(*l.Latitude, *l.Longitude):
		loc.Latitude, loc.Longitude = *l.Latitude, *l.Longitude
	default:
		// No usable coordinates: where the postcode is.
		p, err := postcode.Lookup(pc)
		if err != nil {
			return loc, fmt.Sprintf("it has no latitude and longitude in the UK, and the postcode %s could not be found", pc)
		}
		loc.Latitude, loc.Longitude = p.Lat, p.Lng
	}
	return loc, ""
}

func ukLatLng(lat, lng float64) bool { return lat >= 49 && lat <= 61 && lng >= -9 && lng <= 2.5 }

// weekly keeps the weekly opening times of schedules; other kinds are reported.
func weekly(in []inSchedule, what string, warn func(string, ...any)) []directory.Schedule {
	var out []directory.Schedule
	for _, sc := range in {
		if f := strings.ToUpper(strings.TrimSpace(sc.Freq)); f != "" && f != "WEEKLY" {
			warn("an opening time of %s repeats %s, not weekly, so it was left out", what, strings.ToLower(f))
			continue
		}
		opens, ok1 := ParseClock(sc.OpensAt)
		closes, ok2 := ParseClock(sc.ClosesAt)
		if !ok1 || !ok2 || closes <= opens {
			warn("an opening time of %s has no clear opening and closing time (%q to %q), so it was left out", what, sc.OpensAt, sc.ClosesAt)
			continue
		}
		desc := strings.TrimSpace(sc.Description)
		if !directory.IsText(desc, false) || utf8.RuneCountInString(desc) > 200 {
			desc = ""
		}
		for _, code := range strings.Split(sc.Byday, ",") {
			d, ok := ParseDay(strings.TrimLeft(strings.TrimSpace(code), "+-0123456789"))
			if !ok {
				warn("an opening time of %s has no day we can read (%q), so it was left out", what, sc.Byday)
				break
			}
			out = append(out, directory.Schedule{Weekday: d, Opens: opens, Closes: closes, Description: desc})
		}
	}
	return out
}

func phone(p inPhone, warn func(string, ...any)) (directory.PhoneNumber, bool) {
	// Some spreadsheets wrap numbers in quotes to keep the leading zero.
	n := strings.TrimSpace(strings.Trim(strings.TrimSpace(p.Number), `"'`))
	if !directory.ValidPhone(n) {
		warn("the phone number %q is not a phone number, so it was left out", p.Number)
		return directory.PhoneNumber{}, false
	}
	typ := strings.ToLower(strings.TrimSpace(p.Type))
	switch typ {
	case "", "voice", "cell", "mobile":
		typ = "voice"
	case "text", "sms":
		typ = "text"
	case "textphone", "tty", "minicom":
		typ = "textphone"
	default:
		warn("the %s number %s was left out: we list numbers to call or text", typ, n)
		return directory.PhoneNumber{}, false
	}
	desc := strings.TrimSpace(p.Description)
	if !directory.IsText(desc, false) || utf8.RuneCountInString(desc) > 200 {
		desc = ""
	}
	return directory.PhoneNumber{Number: n, Type: typ, Description: desc}, true
}

// cost reads the cost options: free when one is free, otherwise what they say it costs.
func cost(s *directory.Service, in *inService) {
	var parts []string
	for _, c := range in.CostOptions {
		option := strings.TrimSpace(c.Option)
		if strings.EqualFold(option, "free") || c.Amount != nil && *c.Amount == 0 && c.AmountDescription == "" {
			s.Free = true
			return
		}
		if strings.EqualFold(option, "cost") && c.Amount == nil && strings.TrimSpace(c.AmountDescription) == unknownCost {
			continue // our own export's words for a cost nobody gave
		}
		var b strings.Builder
		if option != "" && !strings.EqualFold(option, "cost") {
			b.WriteString(option + ": ")
		}
		if c.Amount != nil {
			b.WriteString("£" + strconv.FormatFloat(*c.Amount, 'f', -1, 64) + " ")
		}
		b.WriteString(strings.TrimSpace(c.AmountDescription))
		if p := strings.TrimSpace(b.String()); p != "" {
			parts = append(parts, strings.TrimSuffix(p, ":"))
		}
	}
	if len(parts) == 0 {
		if f := strings.TrimSpace(cmp.Or(in.FeesDescription, in.Fees)); f != "" {
			parts = append(parts, f)
		}
	}
	if c := strings.Join(parts, "; "); utf8.RuneCountInString(c) <= 200 && directory.IsText(c, false) {
		s.Cost = c
	}
}

// mapTerm finds the need or DfE category a taxonomy term means: by our term ids, then by
// name, so a council's DfE categories map whatever ids their system gave them.
func mapTerm(t inTerm) (directory.Need, string) {
	if ours, ok := Term(strings.ToLower(t.ID)); ok {
		if ours.TaxonomyID == NeedsTaxonomy.ID {
			return directory.Need(ours.Code), ""
		}
		return "", ours.Name
	}
	for _, name := range []string{t.Name, t.Term, t.Code} {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		for _, n := range directory.Needs {
			if strings.EqualFold(name, n.Label) || strings.EqualFold(name, string(n.Slug)) {
				return n.Slug, ""
			}
		}
		for _, c := range Taxonomies[1].TaxonomyTerms {
			if strings.EqualFold(name, c.Name) || strings.EqualFold(name, c.Code) {
				return "", c.Name
			}
		}
	}
	return "", ""
}

func languageName(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	best := ""
	for name, c := range languageCodes {
		if c == code && (best == "" || name < best) {
			best = name
		}
	}
	if best == "" {
		return ""
	}
	return strings.ToUpper(best[:1]) + best[1:]
}

func firstSentence(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)[:limit-1]
		s = strings.TrimSpace(string(r)) + "…"
	}
	return s
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a date")
}
