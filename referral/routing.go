package referral

import (
	_ "embed"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"familyhelp/postcode"
)

// Team kinds.
const (
	KindLocality   = "locality"   // a local multi-disciplinary Family Help team
	KindSpecialist = "specialist" // joins the locality team when a need calls for it
	KindFrontDoor  = "front-door" // MASH: child protection, danger, and anything outside the area
)

// Team is a team that receives referrals.
type Team struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name"`
	Kind    string `yaml:"kind" json:"kind"`
	Mailbox string `yaml:"mailbox" json:"mailbox"`
	// Phone and Hours are shown to a family who will contact the team themselves.
	Phone string `yaml:"phone" json:"phone"`
	Hours string `yaml:"hours" json:"hours"`
	// Covers lists postcode districts ("WV10") and sectors ("WV1 4"); the most specific match
	// decides which locality team a postcode belongs to.
	Covers []string `yaml:"covers" json:"-"`
	// Needs are the needs that bring a specialist team in.
	Needs []Need `yaml:"needs" json:"-"`
	// MinAge and MaxAge bound the children a specialist team works with; unset is any age.
	MinAge *int `yaml:"min_age" json:"-"`
	MaxAge *int `yaml:"max_age" json:"-"`
}

// Neighbour is another council, so a family outside our area can be told who covers them.
type Neighbour struct {
	Council string   `yaml:"council"`
	Covers  []string `yaml:"covers"` // postcode areas ("DY"), districts or sectors
}

// Config is a council's teams and routing rules, read from YAML.
type Config struct {
	Council    string      `yaml:"council"`
	Teams      []Team      `yaml:"teams"`
	Neighbours []Neighbour `yaml:"neighbours"`
}

// Decision is where a referral goes and why.
type Decision struct {
	// Team is the team that owns the referral; Also are the teams that join it.
	Team   Team   `json:"team"`
	Also   []Team `json:"also,omitempty"`
	Urgent bool   `json:"urgent"`
	// Reasons say, in order, why each part of the decision was made.
	Reasons []string `json:"reasons"`
	// OutsideArea is set when the postcode is not in the council's area; OtherCouncil names
	// the council that covers it, when known.
	OutsideArea  bool   `json:"outside_area,omitempty"`
	OtherCouncil string `json:"other_council,omitempty"`
}

// TeamIDs lists the owning team first, then the teams that join it.
func (d Decision) TeamIDs() []string {
	ids := []string{d.Team.ID}
	for _, t := range d.Also {
		ids = append(ids, t.ID)
	}
	return ids
}

// ParseConfig reads and checks a routing configuration.
func ParseConfig(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true) // a misspelt key is a mistake, not a default
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("routing config: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("routing config: %w", err)
	}
	return &c, nil
}

func (c *Config) check() error {
	var errs []error
	if strings.TrimSpace(c.Council) == "" {
		errs = append(errs, errors.New("council: a name is required"))
	}
	ids := map[string]bool{}
	frontDoors := 0
	for i, t := range c.Teams {
		where := fmt.Sprintf("teams[%d] (%s)", i, t.ID)
		if t.ID == "" || t.Name == "" {
			errs = append(errs, fmt.Errorf("%s: id and name are required", where))
		}
		if strings.Trim(t.ID, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			// Ids are matched in the database and shown in URLs: plain words only.
			errs = append(errs, fmt.Errorf("%s: an id may only hold lower-case letters, digits and hyphens", where))
		}
		if ids[t.ID] {
			errs = append(errs, fmt.Errorf("%s: id used twice", where))
		}
		ids[t.ID] = true
		if a, err := mail.ParseAddress(t.Mailbox); err != nil || a.Name != "" {
			errs = append(errs, fmt.Errorf("%s: mailbox %q is not an email address", where, t.Mailbox))
		}
		switch t.Kind {
		case KindFrontDoor:
			frontDoors++
		case KindLocality:
			if len(t.Covers) == 0 {
				errs = append(errs, fmt.Errorf("%s: a locality team must cover some postcodes", where))
			}
		case KindSpecialist:
			if len(t.Needs) == 0 {
				errs = append(errs, fmt.Errorf("%s: a specialist team must name the needs it takes", where))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q is not locality, specialist or front-door", where, t.Kind))
		}
		for _, p := range t.Covers {
			if _, ok := prefix(p); !ok {
				errs = append(errs, fmt.Errorf("%s: covers %q is not a postcode district or sector", where, p))
			}
		}
		for _, n := range t.Needs {
			if !slices.ContainsFunc(NeedChoices, func(c NeedChoice) bool { return c.Need == n }) {
				errs = append(errs, fmt.Errorf("%s: need %q is not one the form offers", where, n))
			}
		}
	}
	if frontDoors != 1 {
		errs = append(errs, fmt.Errorf("exactly one front-door team is required, found %d", frontDoors))
	}
	return errors.Join(errs...)
}

// prefix normalises a district ("wv10") or sector ("WV1 4") for matching: upper case with one
// space. A bare postcode area ("DY") is allowed for neighbours.
func prefix(s string) (string, bool) {
	s = strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	if s == "" {
		return "", false
	}
	if p, err := postcode.Parse(s); err == nil && !p.Full {
		return p.Text, true
	}
	if len(s) <= 2 && strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) < 0 {
		return s, true
	}
	return "", false
}

// match says how specifically cover matches a postcode: 3 for its sector, 2 for its district,
// 1 for its area, 0 for no match.
func match(cover string, pc postcode.Postcode) int {
	c, ok := prefix(cover)
	if !ok {
		return 0
	}
	switch c {
	case pc.Sector:
		return 3
	case pc.Outward:
		return 2
	case areaOf(pc.Outward):
		return 1
	}
	return 0
}

// areaOf is the letters a postcode district starts with: "WV" of "WV10".
func areaOf(outward string) string {
	i := strings.IndexFunc(outward, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return outward
	}
	return outward[:i]
}

// best returns the cover list's most specific match for a postcode.
func best(covers []string, pc postcode.Postcode) int {
	n := 0
	for _, c := range covers {
		n = max(n, match(c, pc))
	}
	return n
}

// FrontDoor is the front-door team.
func (c *Config) FrontDoor() Team {
	for _, t := range c.Teams {
		if t.Kind == KindFrontDoor {
			return t
		}
	}
	return Team{}
}

// TeamByID finds a team.
func (c *Config) TeamByID(id string) (Team, bool) {
	for _, t := range c.Teams {
		if t.ID == id {
			return t, true
		}
	}
	return Team{}, false
}

// Reasons a decision records. They are shown to staff, and say nothing a family told us beyond
// which rule applied.
const (
	ReasonDanger          = "Someone is in immediate danger: sent to the front door as urgent"
	ReasonChildProtection = "A professional raised a child protection concern: sent to the front door as urgent"
	ReasonOutsideArea     = "The postcode is outside our area: sent to the front door"
	ReasonLocality        = "The postcode is in the area of the %s"
	ReasonSpecialist      = "The %s joins because of the needs named"
)

// Route decides where a referral goes. The rules, in order: immediate danger, or a
// professional's child protection concern, goes to the front door, urgent; a postcode outside
// the council's area goes to the front door; otherwise the locality team for the postcode,
// joined by each specialist team whose needs (and ages, where it has them) the referral
// matches. The front door never goes without a reason, and neither does any team.
func (c *Config) Route(r *Referral, today time.Time) Decision {
	d := Decision{Urgent: r.Urgent()}
	pc, pcErr := postcode.Parse(r.Postcode)
	locality, score := Team{}, 0
	if pcErr == nil && pc.Full {
		for _, t := range c.Teams {
			if t.Kind != KindLocality {
				continue
			}
			if s := best(t.Covers, pc); s > score { // first listed wins a tie
				locality, score = t, s
			}
		}
	}
	switch {
	case r.Danger == "yes":
		d.Team = c.FrontDoor()
		d.Reasons = append(d.Reasons, ReasonDanger)
	case r.Professional != nil && r.Professional.ChildProtection:
		d.Team = c.FrontDoor()
		d.Reasons = append(d.Reasons, ReasonChildProtection)
	case score == 0:
		d.Team = c.FrontDoor()
		d.Reasons = append(d.Reasons, ReasonOutsideArea)
	default:
		d.Team = locality
		d.Reasons = append(d.Reasons, fmt.Sprintf(ReasonLocality, locality.Name))
	}
	if score == 0 {
		d.OutsideArea = true
		if d.Reasons[0] != ReasonOutsideArea {
			d.Reasons = append(d.Reasons, ReasonOutsideArea)
		}
		if pcErr == nil {
			d.OtherCouncil = c.neighbour(pc)
		}
	} else if d.Team.Kind == KindFrontDoor {
		// The locality team will work with the family once the front door has acted.
		d.Also = append(d.Also, locality)
		d.Reasons = append(d.Reasons, fmt.Sprintf(ReasonLocality, locality.Name))
	}
	if score > 0 {
		for _, t := range c.Teams {
			// A specialist team that lists no postcodes works across the whole area.
			covered := len(t.Covers) == 0 || best(t.Covers, pc) > 0
			if t.Kind == KindSpecialist && covered && takes(t, r, today) {
				d.Also = append(d.Also, t)
				d.Reasons = append(d.Reasons, fmt.Sprintf(ReasonSpecialist, t.Name))
			}
		}
	}
	return d
}

// takes reports whether a specialist team is called for: one of its needs was named and, if
// it works with some ages only, a child is of those ages (a baby on the way counts as 0).
func takes(t Team, r *Referral, today time.Time) bool {
	if !slices.ContainsFunc(t.Needs, func(n Need) bool { return slices.Contains(r.Needs, n) }) {
		return false
	}
	if t.MinAge == nil && t.MaxAge == nil {
		return true
	}
	lo, hi := 0, MaxAge
	if t.MinAge != nil {
		lo = *t.MinAge
	}
	if t.MaxAge != nil {
		hi = *t.MaxAge
	}
	for _, ch := range r.Children {
		age, ok := ch.AgeOn(today)
		if ch.Expected {
			age, ok = 0, true
		}
		if ok && age >= lo && age <= hi {
			return true
		}
	}
	return false
}

// neighbour names the council covering a postcode outside our area, when the configuration
// knows it: the most specific match wins.
func (c *Config) neighbour(pc postcode.Postcode) string {
	name, score := "", 0
	for _, n := range c.Neighbours {
		if s := best(n.Covers, pc); s > score {
			name, score = n.Council, s
		}
	}
	return name
}

//go:embed sample-routing.yaml
var sampleRouting []byte

// SampleConfig is the sample routing for the Wolverhampton and Walsall area, used when no
// configuration file is given.
func SampleConfig() *Config {
	c, err := ParseConfig(sampleRouting)
	if err != nil {
		panic(err) // the embedded sample is checked by the tests
	}
	return c
}
