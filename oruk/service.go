package oruk

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"familyhelp/directory"
)

// An id that is already a UUID is kept as it is: it came from Open Referral data we imported,
// and consumers know the record by it. Any other id is ours, and its UUID is derived from it.

// ServiceID is the UUID of the service with our id id.
func ServiceID(id string) string { return uuidOr(id, "service") }

// OrganizationID is the UUID of the organisation with our id id.
func OrganizationID(id string) string { return uuidOr(id, "organization") }

// LocationID is the UUID of a service's place.
func LocationID(svc, loc string) string { return uuidOr(loc, "location", svc) }

// ServiceAtLocationID is the UUID of a service at one of its places.
func ServiceAtLocationID(svc, loc string) string {
	return ID("service_at_location", ServiceID(svc), LocationID(svc, loc))
}

func uuidOr(id, kind string, parent ...string) string {
	if IsUUID(id) {
		return strings.ToLower(id)
	}
	return ID(kind, append(parent, id)...)
}

// IsUUID reports whether s is a UUID in its usual written form.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'):
			return false
		}
	}
	return true
}

// unknownCost is what a cost option says of a service that is not free and whose cost we do
// not know. The import reads it back as no cost given, not as the cost.
const unknownCost = "There may be a cost"

// days are RFC 5545 BYDAY codes, by time.Weekday.
var days = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

// languageCodes are ISO 639-1 codes for the languages our listings name most.
var languageCodes = map[string]string{"english": "en", "welsh": "cy", "urdu": "ur", "punjabi": "pa",
	"polish": "pl", "bengali": "bn", "arabic": "ar", "romanian": "ro", "gujarati": "gu",
	"somali": "so", "french": "fr", "spanish": "es", "portuguese": "pt", "hindi": "hi",
	"british sign language": "bfi", "bsl": "bfi", "kurdish": "ku", "pashto": "ps", "farsi": "fa",
	"tigrinya": "ti", "ukrainian": "uk", "chinese": "zh", "mandarin": "zh", "cantonese": "yue"}

func organization(o directory.Organisation) Organization {
	desc := o.Description
	if desc == "" {
		desc = o.Name // the profile requires a description; the name is the honest fallback
	}
	return Organization{ID: OrganizationID(o.ID), Name: o.Name, Description: desc, Email: o.Email, Website: o.Website}
}

// Summary maps a service to its list item.
func Summary(s *directory.Service) ServiceSummary {
	org := organization(s.Organisation)
	out := ServiceSummary{ID: ServiceID(s.ID), OrganizationID: org.ID, Name: s.Name, Description: s.Description,
		URL: s.Website, Email: s.Email, Status: string(s.Status), MinimumAge: s.MinAge, MaximumAge: s.MaxAge,
		Organization: &org}
	if out.Description == "" {
		out.Description = s.Summary
	}
	if !s.Free {
		out.Fees = s.Cost
	}
	if !s.LastReviewed.IsZero() {
		out.AssuredDate = s.LastReviewed.UTC().Format(time.DateOnly)
	}
	if !s.UpdatedAt.IsZero() {
		out.LastModified = s.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// Categories are the DfE categories a service is in: its own, or those its needs mean.
func Categories(s *directory.Service) []string {
	if len(s.Categories) > 0 {
		return s.Categories
	}
	return directory.CategoriesFor(s.Needs)
}

// TermIDs lists the ids of every taxonomy term a service is linked to.
func TermIDs(s *directory.Service) []string {
	var out []string
	for _, n := range s.Needs {
		out = append(out, NeedTermID(n))
	}
	for _, c := range Categories(s) {
		if _, ok := Term(CategoryTermID(c)); ok {
			out = append(out, CategoryTermID(c))
		}
	}
	return out
}

func schedule(svcID, salID string, key string, n int, sc directory.Schedule, attending string) Schedule {
	return Schedule{ID: ID("schedule", key, strconv.Itoa(n)), ServiceID: svcID, ServiceAtLocationID: salID,
		Freq: "WEEKLY", Interval: 1, Byday: days[sc.Weekday%7], OpensAt: sc.Opens, ClosesAt: sc.Closes,
		Description: sc.Description, AttendingType: attending}
}

// Nested objects' ids are derived from the UUIDs of their service and place, not from our ids,
// so a service exported and imported elsewhere keeps every id.
func locations(s *directory.Service, svcID string) ([]ServiceAtLocation, []Schedule) {
	sals := []ServiceAtLocation{}
	var scheds []Schedule
	for _, l := range s.Locations {
		salID := ServiceAtLocationID(s.ID, l.ID)
		locID := LocationID(s.ID, l.ID)
		loc := Location{ID: locID, LocationType: "physical", Name: l.Name, Latitude: l.Latitude, Longitude: l.Longitude,
			Addresses: []Address{{ID: ID("address", svcID, locID), LocationID: locID, Address1: l.Address, City: l.Town,
				StateProvince: "", PostalCode: l.Postcode, Country: "GB", AddressType: "physical"}},
			Accessibility: []Accessibility{}}
		for i, a := range l.Accessibility {
			loc.Accessibility = append(loc.Accessibility, Accessibility{ID: ID("accessibility", svcID, locID, strconv.Itoa(i)),
				LocationID: locID, Description: a})
		}
		sal := ServiceAtLocation{ID: salID, ServiceID: svcID, LocationID: locID, Location: loc}
		for i, sc := range l.Schedules {
			m := schedule(svcID, salID, svcID+"\x00"+locID, i, sc, "in person")
			sal.Schedules = append(sal.Schedules, m)
			scheds = append(scheds, m)
		}
		sals = append(sals, sal)
	}
	return sals, scheds
}

// Locations maps a service's places to service_at_location objects.
func Locations(s *directory.Service) []ServiceAtLocation {
	sals, _ := locations(s, ServiceID(s.ID))
	return sals
}

// Map maps a service to ORUK 3.0, fully nested. Every id is derived from ours, so mapping the
// same service again gives the same ids.
func Map(s *directory.Service) *Service {
	svcID := ServiceID(s.ID)
	out := &Service{ServiceSummary: Summary(s), Contacts: []Contact{}, Phones: []Phone{}, Schedules: []Schedule{},
		ServiceAreas: []ServiceArea{}, CostOptions: []CostOption{}, Languages: []Language{}, Attributes: []Attribute{},
		EligibilityDescription: s.Eligibility, ApplicationProcess: s.HowToRefer, FamilyHelp: extension(s)}
	var scheds []Schedule
	out.ServiceAtLocations, scheds = locations(s, svcID)
	for i, p := range s.Phones {
		out.Phones = append(out.Phones, Phone{ID: ID("phone", svcID, strconv.Itoa(i)), ServiceID: svcID, Number: p.Number,
			Type: cmp.Or(p.Type, "voice"), Description: p.Description})
	}
	for i, c := range s.Contacts {
		ct := Contact{ID: ID("contact", svcID, strconv.Itoa(i)), ServiceID: svcID, Name: c.Name, Title: c.Title, Email: c.Email, Phones: []Phone{}}
		if c.Phone != "" {
			ct.Phones = append(ct.Phones, Phone{ID: ID("contact_phone", svcID, strconv.Itoa(i)), ContactID: ct.ID, Number: c.Phone, Type: "voice"})
		}
		out.Contacts = append(out.Contacts, ct)
	}
	for i, sc := range s.Schedules {
		out.Schedules = append(out.Schedules, schedule(svcID, "", svcID, i, sc, "remote"))
	}
	out.Schedules = append(out.Schedules, scheds...)
	switch {
	case s.National:
		out.ServiceAreas = append(out.ServiceAreas, ServiceArea{ID: ID("service_area", svcID), ServiceID: svcID,
			Name: "England", Description: cmp.Or(s.AreaDescription, "Available wherever you live"), ExtentType: "national"})
	case s.AreaDescription != "":
		out.ServiceAreas = append(out.ServiceAreas, ServiceArea{ID: ID("service_area", svcID), ServiceID: svcID,
			Name: s.AreaDescription})
	}
	if s.Free {
		zero := 0.0
		out.CostOptions = append(out.CostOptions, CostOption{ID: ID("cost_option", svcID), ServiceID: svcID, Option: "Free", Amount: &zero})
	} else {
		out.CostOptions = append(out.CostOptions, CostOption{ID: ID("cost_option", svcID), ServiceID: svcID, Option: "Cost",
			AmountDescription: cmp.Or(s.Cost, unknownCost)})
	}
	for _, l := range s.Languages {
		out.Languages = append(out.Languages, Language{ID: ID("language", svcID, l), ServiceID: svcID, Name: l,
			Code: languageCodes[strings.ToLower(strings.TrimSpace(l))]})
	}
	for _, tid := range TermIDs(s) {
		t, ok := Term(tid)
		if !ok {
			continue
		}
		out.Attributes = append(out.Attributes, Attribute{ID: ID("attribute", svcID, tid), LinkID: svcID, LinkType: "service",
			LinkEntity: "service", TaxonomyTermID: tid, TaxonomyTerm: t})
	}
	return out
}

// extension holds what a listing has beyond HSDS, so that our own export imports whole.
func extension(s *directory.Service) *Extension {
	e := &Extension{ID: s.ID, OrganisationID: s.Organisation.ID, Summary: s.Summary, SelfReferral: s.SelfReferral,
		OpeningNotes: s.OpeningNotes, Accessibility: s.Accessibility, Sample: s.Sample, Delivery: []string{}}
	for _, d := range s.Delivery {
		e.Delivery = append(e.Delivery, string(d))
	}
	return e
}

// HasTerm reports whether a service is linked to a taxonomy term.
func HasTerm(s *directory.Service, termID string) bool { return slices.Contains(TermIDs(s), termID) }

// InTaxonomy reports whether a service has any term of a taxonomy.
func InTaxonomy(s *directory.Service, taxonomyID string) bool {
	for _, tid := range TermIDs(s) {
		if t, ok := Term(tid); ok && t.TaxonomyID == taxonomyID {
			return true
		}
	}
	return false
}
