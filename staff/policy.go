package staff

// Action is something a staff member may try to do.
type Action string

// The actions the portal checks.
const (
	ViewReferrals    Action = "view-referrals"    // the inbox and a referral's page
	WorkReferral     Action = "work-referral"     // status and notes
	TransferReferral Action = "transfer-referral" // move to another team
	EditListings     Action = "edit-listings"
	ManageAccounts   Action = "manage-accounts"
	ManageSettings   Action = "manage-settings"
	ViewOutbox       Action = "view-outbox"
)

// Can is the whole access policy: whether account a may take action on something belonging to
// team (empty for things no team owns, such as listings). Handlers ask it and nothing else.
//
// A referral belongs to one team, and only that team's members and manager ever see it: not
// admins, not editors, not another team's manager.
func Can(a *Account, action Action, team string) bool {
	if a == nil || a.Disabled {
		return false
	}
	ownTeam := a.Role.HasTeam() && a.TeamID != "" && a.TeamID == team
	switch action {
	case ViewReferrals, WorkReferral:
		return ownTeam
	case TransferReferral:
		return ownTeam && a.Role == RoleManager
	case EditListings:
		return a.Role == RoleEditor || a.Role == RoleAdmin
	case ManageAccounts, ManageSettings:
		return a.Role == RoleAdmin
	case ViewOutbox:
		// Notifications waiting to be sent: a team sees its own, an admin all (without
		// their contents, which nobody sees).
		return a.Role == RoleAdmin || ownTeam
	}
	return false
}
