package referral

import "slices"

// Status is where a referral is in a team's work.
type Status string

// The statuses, in the order work goes.
const (
	StatusNew          Status = "new"
	StatusAcknowledged Status = "acknowledged"
	StatusContacted    Status = "contacted"
	StatusClosed       Status = "closed"
)

// Statuses lists them in order.
var Statuses = []Status{StatusNew, StatusAcknowledged, StatusContacted, StatusClosed}

// Label is how a status is written for people.
func (s Status) Label() string {
	switch s {
	case StatusNew:
		return "New"
	case StatusAcknowledged:
		return "Acknowledged"
	case StatusContacted:
		return "Contacted"
	case StatusClosed:
		return "Closed"
	}
	return string(s)
}

// Outcomes say how a closed referral ended.
var Outcomes = []string{
	"Family Help support given",
	"Passed to another service",
	"Passed to children's social care",
	"Family did not want support",
	"Could not make safe contact",
	"Not for Family Help",
}

// CanMove reports whether a referral may go from one status to another: forward only, and
// never out of closed. Skipping ahead is fine (a family reached on the first call).
func CanMove(from, to Status) bool {
	i, j := slices.Index(Statuses, from), slices.Index(Statuses, to)
	return i >= 0 && j > i && from != StatusClosed
}

// RoutedTo reports whether a referral went to a team, as owner or joining team.
func (r Record) RoutedTo(team string) bool {
	return team != "" && (r.TeamID == team || slices.Contains(r.AlsoTeams, team))
}
