// Package staff is the domain of the staff portal: accounts and their roles, the access policy
// that decides in one place what each role may do, passwords (argon2id, with a deny-list of
// common ones), one-time links, and sessions with their idle and absolute limits.
//
// It imports no HTTP and no driver: the store is an interface an adapter implements.
package staff

import (
	"errors"
	"time"
)

// Role is what a staff member does.
type Role string

// The roles.
const (
	RoleAdmin   Role = "admin"   // staff accounts and teams; no referrals
	RoleEditor  Role = "editor"  // the listings
	RoleMember  Role = "member"  // their own team's referrals
	RoleManager Role = "manager" // their own team's referrals, and moving them to another team
)

// Roles lists the roles in the order forms show them.
var Roles = []Role{RoleMember, RoleManager, RoleEditor, RoleAdmin}

// Label is how a role is written for people.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Administrator"
	case RoleEditor:
		return "Listings editor"
	case RoleMember:
		return "Team member"
	case RoleManager:
		return "Team manager"
	}
	return string(r)
}

// ValidRole reports whether r is a role.
func ValidRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// HasTeam reports whether the role belongs to a Family Help team.
func (r Role) HasTeam() bool { return r == RoleMember || r == RoleManager }

// Account is a staff member's account.
type Account struct {
	ID    string
	Email string
	Name  string
	Role  Role
	// TeamID is the team whose referrals a member or manager works.
	TeamID       string
	PasswordHash string
	// TOTPSealed is the second factor's secret, sealed; TOTPEnabled once it is confirmed.
	TOTPSealed  []byte
	TOTPEnabled bool
	Disabled    bool
	CreatedAt   time.Time
}

// ErrNotFound is an account, session, link or referral that does not exist, or that this
// account may not see: the two are never told apart.
var ErrNotFound = errors.New("not found")

// ErrForbidden is an action the account may not take on something it may see.
var ErrForbidden = errors.New("forbidden")
