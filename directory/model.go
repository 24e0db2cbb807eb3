// Package directory is the domain of the public service directory: what a service is (shaped
// after Open Referral UK, HSDS 3.0 with the UK profile), the needs families search by, and the
// Directory that answers a family's search from the search index, falling back to the database.
//
// It imports no HTTP, no driver and no engine: the store and the search index are interfaces
// that adapters implement.
package directory

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a service, organisation or location does not exist.
var ErrNotFound = errors.New("not found")

// Delivery is how a service reaches people (HSDS service_at_location / attribute "delivery").
type Delivery string

// The ways a service can be delivered.
const (
	InPerson Delivery = "in-person"
	Phone    Delivery = "phone"
	Online   Delivery = "online"
)

// Deliveries lists every delivery mode in the order the filters show them.
var Deliveries = []Delivery{InPerson, Phone, Online}

// Label is how the delivery mode is written for people.
func (d Delivery) Label() string {
	switch d {
	case InPerson:
		return "In person"
	case Phone:
		return "By phone"
	case Online:
		return "Online"
	}
	return string(d)
}

// ValidDelivery reports whether s names a delivery mode.
func ValidDelivery(s string) bool {
	for _, d := range Deliveries {
		if string(d) == s {
			return true
		}
	}
	return false
}

// Status is the HSDS service status.
type Status string

// HSDS 3.0 service statuses.
const (
	Active            Status = "active"
	Inactive          Status = "inactive"
	Defunct           Status = "defunct"
	TemporarilyClosed Status = "temporarily closed"
)

// MaxAgeLimit is the upper end of the age scale: a MaxAge at or above it means "no upper limit".
const MaxAgeLimit = 99

// Organisation runs services (HSDS organization).
type Organisation struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Website     string `json:"website,omitempty"`
	Email       string `json:"email,omitempty"`
}

// PhoneNumber is a number people can call or text (HSDS phone).
type PhoneNumber struct {
	Number      string `json:"number"`
	Type        string `json:"type,omitempty"` // "voice" (default), "text", "textphone"
	Description string `json:"description,omitempty"`
}

// Contact is a named person or role at a service (HSDS contact).
type Contact struct {
	Name  string `json:"name,omitempty"`
	Title string `json:"title,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Schedule is a regular opening time (HSDS schedule, weekly rule).
type Schedule struct {
	Weekday     time.Weekday `json:"weekday"`
	Opens       string       `json:"opens"`  // "09:00"
	Closes      string       `json:"closes"` // "17:00"
	Description string       `json:"description,omitempty"`
}

// Location is a place where a service is delivered in person (HSDS location + address).
type Location struct {
	ID            string     `json:"id"`
	Name          string     `json:"name,omitempty"`
	Address       string     `json:"address"` // street lines, comma separated
	Town          string     `json:"town"`
	Postcode      string     `json:"postcode"`
	Latitude      float64    `json:"latitude"`
	Longitude     float64    `json:"longitude"`
	Accessibility []string   `json:"accessibility,omitempty"`
	Schedules     []Schedule `json:"schedules,omitempty"`
}

// Service is one thing a family can get help from (HSDS service).
type Service struct {
	ID           string       `json:"id"`
	Organisation Organisation `json:"organisation"`
	Name         string       `json:"name"`
	// Summary is one or two plain sentences shown in search results.
	Summary     string `json:"summary"`
	Description string `json:"description"`
	Status      Status `json:"status"`
	Needs       []Need `json:"needs"`
	// Categories are DfE family hubs ServiceCategory terms (taxonomy terms).
	Categories []string `json:"categories,omitempty"`
	// MinAge and MaxAge bound the ages of the children or young people it serves; a MaxAge of
	// MaxAgeLimit or more means no upper limit.
	MinAge      int        `json:"min_age"`
	MaxAge      int        `json:"max_age"`
	Eligibility string     `json:"eligibility,omitempty"`
	Free        bool       `json:"free"`
	Cost        string     `json:"cost,omitempty"`
	Delivery    []Delivery `json:"delivery"`
	// National services (helplines) are available wherever the family lives.
	National bool `json:"national,omitempty"`
	// Sample marks made-up demonstration data.
	Sample          bool          `json:"sample,omitempty"`
	Website         string        `json:"website,omitempty"`
	Email           string        `json:"email,omitempty"`
	Phones          []PhoneNumber `json:"phones,omitempty"`
	Contacts        []Contact     `json:"contacts,omitempty"`
	Locations       []Location    `json:"locations,omitempty"`
	Schedules       []Schedule    `json:"schedules,omitempty"` // when phone/online support is open
	OpeningNotes    string        `json:"opening_notes,omitempty"`
	Languages       []string      `json:"languages,omitempty"`
	Accessibility   string        `json:"accessibility,omitempty"`
	HowToRefer      string        `json:"how_to_refer,omitempty"`
	SelfReferral    bool          `json:"self_referral,omitempty"`
	LastReviewed    time.Time     `json:"last_reviewed"`
	UpdatedAt       time.Time     `json:"updated_at"`
	AreaDescription string        `json:"area,omitempty"` // who it covers, for example "Walsall borough"
}

// Has reports whether the service is delivered in mode d.
func (s *Service) Has(d Delivery) bool {
	for _, x := range s.Delivery {
		if x == d {
			return true
		}
	}
	return false
}

// Remote reports whether a family can use the service without going somewhere: national
// helplines and phone or online services.
func (s *Service) Remote() bool {
	return s.National || s.Has(Phone) || s.Has(Online)
}

// AgeText says in words which ages the service is for.
func (s *Service) AgeText() string {
	return AgeRangeText(s.MinAge, s.MaxAge)
}
