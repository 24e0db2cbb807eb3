package oruk

// The types below follow the ORUK 3.0 compiled schemas (schema/compiled/*.json). Fields HSDS
// 3.0 has and the UK profile leaves out (phones, language names) are served as well: the
// schemas allow extra properties and consumers of plain HSDS read them.

// Page is one page of a list endpoint.
type Page[T any] struct {
	TotalItems int  `json:"total_items"`
	TotalPages int  `json:"total_pages"`
	PageNumber int  `json:"page_number"`
	Size       int  `json:"size"`
	FirstPage  bool `json:"first_page"`
	LastPage   bool `json:"last_page"`
	Empty      bool `json:"empty"`
	Contents   []T  `json:"contents"`
}

// NewPage cuts page number (from 1) of perPage items out of all.
func NewPage[T any](all []T, number, perPage int) Page[T] {
	total := len(all)
	pages := (total + perPage - 1) / perPage
	p := Page[T]{TotalItems: total, TotalPages: pages, PageNumber: number, Contents: []T{}}
	if start := (number - 1) * perPage; start < total {
		p.Contents = all[start:min(start+perPage, total)]
	}
	p.Size = len(p.Contents)
	p.Empty = p.Size == 0
	p.FirstPage = number == 1
	p.LastPage = number >= pages
	return p
}

// Organization runs services.
type Organization struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Email       string `json:"email,omitempty"`
	Website     string `json:"website,omitempty"`
	URI         string `json:"uri,omitempty"`
}

// OrganizationFull is an organization with its services (GET /organizations/{id}).
type OrganizationFull struct {
	Organization
	Services []ServiceSummary `json:"services"`
}

// ServiceSummary is a service's one-to-one fields and its organization: a list item.
type ServiceSummary struct {
	ID             string        `json:"id"`
	OrganizationID string        `json:"organization_id"`
	Name           string        `json:"name"`
	Description    string        `json:"description"`
	URL            string        `json:"url,omitempty"`
	Email          string        `json:"email,omitempty"`
	Status         string        `json:"status"`
	Fees           string        `json:"fees,omitempty"`
	MinimumAge     int           `json:"minimum_age"`
	MaximumAge     int           `json:"maximum_age"`
	AssuredDate    string        `json:"assured_date,omitempty"`
	LastModified   string        `json:"last_modified,omitempty"`
	Organization   *Organization `json:"organization,omitempty"`
}

// Service is a service fully nested (GET /services/{id}).
type Service struct {
	ServiceSummary
	ServiceAtLocations []ServiceAtLocation `json:"service_at_locations"`
	Contacts           []Contact           `json:"contacts"`
	Phones             []Phone             `json:"phones"`
	Schedules          []Schedule          `json:"schedules"`
	ServiceAreas       []ServiceArea       `json:"service_areas"`
	CostOptions        []CostOption        `json:"cost_options"`
	Languages          []Language          `json:"languages"`
	Attributes         []Attribute         `json:"attributes"`
	// EligibilityDescription and ApplicationProcess are HSDS 3.0 service fields the UK
	// profile leaves out.
	EligibilityDescription string `json:"eligibility_description,omitempty"`
	ApplicationProcess     string `json:"application_process,omitempty"`
	// FamilyHelp is what a listing here has beyond HSDS. Other systems may ignore it; our own
	// import reads it, so an export moves between Family Help sites whole.
	FamilyHelp *Extension `json:"familyhelp,omitempty"`
}

// Extension is a listing's Family Help fields that HSDS has no place for.
type Extension struct {
	// ID and OrganisationID are our ids, which the service's web address is made of.
	ID             string   `json:"id,omitempty"`
	OrganisationID string   `json:"organisation_id,omitempty"`
	Summary        string   `json:"summary,omitempty"`
	Delivery       []string `json:"delivery"`
	SelfReferral   bool     `json:"self_referral"`
	OpeningNotes   string   `json:"opening_notes,omitempty"`
	Accessibility  string   `json:"accessibility,omitempty"`
	Sample         bool     `json:"sample,omitempty"`
}

// ServiceAtLocation is a service delivered at one place.
type ServiceAtLocation struct {
	ID         string     `json:"id"`
	ServiceID  string     `json:"service_id"`
	LocationID string     `json:"location_id"`
	Location   Location   `json:"location"`
	Schedules  []Schedule `json:"schedules,omitempty"`
	// Service is set in /service_at_locations answers, where the service is not the parent.
	Service *ServiceSummary `json:"service,omitempty"`
}

// Location is a place.
type Location struct {
	ID            string          `json:"id"`
	LocationType  string          `json:"location_type"`
	Name          string          `json:"name,omitempty"`
	Latitude      float64         `json:"latitude"`
	Longitude     float64         `json:"longitude"`
	Addresses     []Address       `json:"addresses"`
	Accessibility []Accessibility `json:"accessibility"`
}

// Address is a location's physical address.
type Address struct {
	ID            string `json:"id"`
	LocationID    string `json:"location_id"`
	Address1      string `json:"address_1"`
	City          string `json:"city"`
	Region        string `json:"region,omitempty"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	AddressType   string `json:"address_type"`
}

// Accessibility is one accessibility feature of a location.
type Accessibility struct {
	ID          string `json:"id"`
	LocationID  string `json:"location_id"`
	Description string `json:"description"`
}

// Contact is a named person or role.
type Contact struct {
	ID        string  `json:"id"`
	ServiceID string  `json:"service_id"`
	Name      string  `json:"name,omitempty"`
	Title     string  `json:"title,omitempty"`
	Email     string  `json:"email,omitempty"`
	Phones    []Phone `json:"phones"`
}

// Phone is a number to call or text.
type Phone struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id,omitempty"`
	ContactID   string `json:"contact_id,omitempty"`
	Number      string `json:"number"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
}

// Schedule is a weekly opening time, as an RFC 5545 rule (freq, byday).
type Schedule struct {
	ID                  string `json:"id"`
	ServiceID           string `json:"service_id,omitempty"`
	ServiceAtLocationID string `json:"service_at_location_id,omitempty"`
	Freq                string `json:"freq"`
	Interval            int    `json:"interval"`
	Byday               string `json:"byday"`
	OpensAt             string `json:"opens_at"`
	ClosesAt            string `json:"closes_at"`
	Description         string `json:"description,omitempty"`
	AttendingType       string `json:"attending_type,omitempty"`
	Notes               string `json:"notes,omitempty"`
}

// ServiceArea says where a service is available.
type ServiceArea struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ExtentType  string `json:"extent_type,omitempty"`
}

// CostOption is what a service costs.
type CostOption struct {
	ID                string   `json:"id"`
	ServiceID         string   `json:"service_id"`
	Option            string   `json:"option"`
	Amount            *float64 `json:"amount,omitempty"`
	AmountDescription string   `json:"amount_description,omitempty"`
}

// Language is a language the service is offered in.
type Language struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id"`
	Name      string `json:"name"`
	Code      string `json:"code,omitempty"`
}

// Attribute links a service to a taxonomy term.
type Attribute struct {
	ID             string       `json:"id"`
	LinkID         string       `json:"link_id"`
	LinkType       string       `json:"link_type"`
	LinkEntity     string       `json:"link_entity"`
	TaxonomyTermID string       `json:"taxonomy_term_id"`
	TaxonomyTerm   TaxonomyTerm `json:"taxonomy_term"`
}

// Taxonomy is a classification scheme.
type Taxonomy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URI         string `json:"uri,omitempty"`
	Version     string `json:"version,omitempty"`
}

// TaxonomyFull is a taxonomy with its terms.
type TaxonomyFull struct {
	Taxonomy
	TaxonomyTerms []TaxonomyTerm `json:"taxonomy_terms"`
}

// TaxonomyTerm is one term of a taxonomy.
type TaxonomyTerm struct {
	ID          string `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	ParentID    string `json:"parent_id,omitempty"`
	Taxonomy    string `json:"taxonomy"`
	TaxonomyID  string `json:"taxonomy_id"`
}
