package staff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"familyhelp/referral"
)

// InboxFilter narrows a team's inbox.
type InboxFilter struct {
	Status referral.Status // "" for everything not closed
	Need   referral.Need
	Limit  int
}

// Note is something staff wrote on a referral, sealed; Text is filled in when opened.
type Note struct {
	ID        int64
	AccountID string
	Actor     string
	Kind      string // "note", "transfer", "status"
	At        time.Time
	Sealed    []byte
	Text      string
}

// ErrConflict is a change to a referral that someone else changed first.
var ErrConflict = errors.New("the referral was changed by someone else")

// ReferralStore is what the inbox needs of the database.
type ReferralStore interface {
	TeamReferrals(ctx context.Context, team string, f InboxFilter) ([]referral.Record, error)
	Referral(ctx context.Context, reference string) (referral.Record, error)
	SetReferralStatus(ctx context.Context, reference string, from, to referral.Status, outcome string, at time.Time) error
	// TransferReferral moves a referral, with the note saying why and the new team's
	// notification, in one transaction.
	TransferReferral(ctx context.Context, reference, fromTeam, toTeam string, at time.Time, why Note, out []referral.Outgoing) error
	AddNote(ctx context.Context, reference string, n Note) error
	Notes(ctx context.Context, reference string) ([]Note, error)
}

// Referrals opens and writes referrals' sealed parts (referral.Service).
type Referrals interface {
	OpenReferral(rec referral.Record) (*referral.Referral, error)
	TeamLetterFor(reference string, urgent bool, t referral.Team, kind string) (referral.Outgoing, error)
}

// Inbox is how staff work referrals. Every method takes the account acting and applies the
// policy itself, so no handler can forget to: a referral of another team is ErrNotFound, the
// same as one that does not exist.
type Inbox struct {
	Store     ReferralStore
	Referrals Referrals
	Notes     Sealer
	Audit     interface {
		Audit(ctx context.Context, e Entry) error
	}
	Routing *referral.Config
	Now     func() time.Time
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

// List is the account's team's inbox.
func (in *Inbox) List(ctx context.Context, a *Account, f InboxFilter) ([]referral.Record, error) {
	if !Can(a, ViewReferrals, a.TeamID) {
		return nil, ErrForbidden
	}
	return in.Store.TeamReferrals(ctx, a.TeamID, f)
}

// Opened is a referral as its page shows it.
type Opened struct {
	Record   referral.Record
	Referral *referral.Referral // nil once purged
	Notes    []Note
	// CanTransfer says whether this account may move it to another team.
	CanTransfer bool
	// CanChangeStatus is true for the team that owns it: a joining team reads and adds notes
	// but does not close another team's work.
	CanChangeStatus bool
}

// record finds a referral the account may act on, or ErrNotFound.
func (in *Inbox) record(ctx context.Context, a *Account, reference string, action Action) (referral.Record, error) {
	ref, ok := referral.NormaliseReference(reference)
	if !ok {
		return referral.Record{}, ErrNotFound
	}
	rec, err := in.Store.Referral(ctx, ref)
	if errors.Is(err, referral.ErrNotFound) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, err
	}
	team := a.TeamID
	if !rec.RoutedTo(team) || !Can(a, ViewReferrals, team) {
		return referral.Record{}, ErrNotFound // another team's: as if it did not exist
	}
	if action == TransferReferral && (rec.TeamID != team || !Can(a, TransferReferral, team)) {
		return referral.Record{}, ErrForbidden
	}
	if action != ViewReferrals && !Can(a, action, team) {
		return referral.Record{}, ErrForbidden
	}
	return rec, nil
}

// Open decrypts a referral for its page, and writes the view to the audit trail.
func (in *Inbox) Open(ctx context.Context, a *Account, reference string) (*Opened, error) {
	rec, err := in.record(ctx, a, reference, ViewReferrals)
	if err != nil {
		return nil, err
	}
	o := &Opened{Record: rec, CanTransfer: rec.TeamID == a.TeamID && Can(a, TransferReferral, a.TeamID),
		CanChangeStatus: rec.TeamID == a.TeamID && Can(a, WorkReferral, a.TeamID)}
	if !rec.Purged {
		if o.Referral, err = in.Referrals.OpenReferral(rec); err != nil {
			return nil, err
		}
	}
	notes, err := in.Store.Notes(ctx, rec.Reference)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		plain, err := in.Notes.Open(n.Sealed, noteAD(rec.Reference, n.At))
		if err != nil {
			return nil, fmt.Errorf("open note on %s: %w", rec.Reference, err)
		}
		n.Text, n.Sealed = string(plain), nil
		o.Notes = append(o.Notes, n)
	}
	if err := in.audit(ctx, a, "viewed referral", rec.Reference, ""); err != nil {
		return nil, err
	}
	return o, nil
}

// noteAD binds a note to its referral and time, at the microseconds the store keeps.
func noteAD(reference string, at time.Time) []byte {
	return []byte("note:" + reference + ":" + at.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

func (in *Inbox) audit(ctx context.Context, a *Account, action, reference, detail string) error {
	return in.Audit.Audit(ctx, Entry{At: in.now(), AccountID: a.ID, Actor: a.Name, Action: action, Target: "referral:" + reference, Detail: detail})
}

// MaxNote is how long a note may be, in characters.
const MaxNote = 5000

func checkNote(text string) (string, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		return "", Problem("Enter a note")
	case utf8.RuneCountInString(text) > MaxNote:
		return "", Problem("A note must be 5,000 characters or fewer")
	case !referral.IsText(text):
		return "", Problem("A note must only include letters, numbers and punctuation")
	}
	return text, nil
}

func (in *Inbox) note(ctx context.Context, a *Account, reference, kind, text string) error {
	at := in.now().Truncate(time.Microsecond)
	return in.Store.AddNote(ctx, reference, Note{AccountID: a.ID, Actor: a.Name, Kind: kind, At: at,
		Sealed: in.Notes.Seal([]byte(text), noteAD(reference, at))})
}

// AddNote adds a note, sealed.
func (in *Inbox) AddNote(ctx context.Context, a *Account, reference, text string) error {
	rec, err := in.record(ctx, a, reference, WorkReferral)
	if err != nil {
		return err
	}
	if rec.Status == referral.StatusClosed || rec.Purged {
		// A closed referral's record is finished; after the retention period it is deleted,
		// and a note added later would outlive that.
		return Problem("This referral is closed: notes can no longer be added")
	}
	if text, err = checkNote(text); err != nil {
		return err
	}
	if err := in.note(ctx, a, rec.Reference, "note", text); err != nil {
		return err
	}
	return in.audit(ctx, a, "added a note", rec.Reference, "")
}

// SetStatus moves a referral on; closing needs an outcome.
func (in *Inbox) SetStatus(ctx context.Context, a *Account, reference string, to referral.Status, outcome string) error {
	rec, err := in.record(ctx, a, reference, WorkReferral)
	if err != nil {
		return err
	}
	if rec.TeamID != a.TeamID {
		return ErrForbidden // a joining team does not move the owning team's work on
	}
	if !referral.CanMove(rec.Status, to) {
		return Problem("A referral can only move on, from " + rec.Status.Label() + " to a later status")
	}
	if to == referral.StatusClosed && !slices.Contains(referral.Outcomes, outcome) {
		return Problem("Choose the outcome")
	}
	if to != referral.StatusClosed {
		outcome = ""
	}
	if err := in.Store.SetReferralStatus(ctx, rec.Reference, rec.Status, to, outcome, in.now()); err != nil {
		return err
	}
	// The outcome stays out of the audit trail, which outlives the referral's contents.
	return in.audit(ctx, a, "changed status", rec.Reference, rec.Status.Label()+" to "+to.Label())
}

// Transfer gives a referral to another team, with the reason as a sealed note, and tells the
// new team.
func (in *Inbox) Transfer(ctx context.Context, a *Account, reference, toTeam, reason string) error {
	rec, err := in.record(ctx, a, reference, TransferReferral)
	if err != nil {
		return err
	}
	t, ok := in.Routing.TeamByID(toTeam)
	if !ok || toTeam == rec.TeamID {
		return Problem("Choose the team to send it to")
	}
	if reason, err = checkNote(reason); err != nil {
		return Problem("Enter why it is going to another team, in 5,000 characters or fewer")
	}
	letter, err := in.Referrals.TeamLetterFor(rec.Reference, rec.Urgent, t, "transfer")
	if err != nil {
		return err
	}
	at := in.now().Truncate(time.Microsecond)
	why := Note{AccountID: a.ID, Actor: a.Name, Kind: "transfer", At: at,
		Sealed: in.Notes.Seal([]byte("Sent to "+t.Name+": "+reason), noteAD(rec.Reference, at))}
	if err := in.Store.TransferReferral(ctx, rec.Reference, rec.TeamID, toTeam, at, why, []referral.Outgoing{letter}); err != nil {
		return err
	}
	return in.audit(ctx, a, "transferred referral", rec.Reference, rec.TeamID+" to "+toTeam)
}
