package referral

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned for a draft or referral that does not exist, or a draft that has
// expired.
var ErrNotFound = errors.New("not found")

// Record is what is kept of a referral in the clear: enough to list, route and find it. All
// that the person told us is in Sealed.
type Record struct {
	Reference string
	// Key is a hash of the draft's id: submitting the same draft twice finds the first
	// referral.
	Key       string
	TeamID    string
	AlsoTeams []string
	Urgent    bool
	CreatedAt time.Time
	// Needs are kept in the clear for the inbox's filter: they say no more than the teams it
	// went to.
	Needs     []Need
	Status    Status
	Outcome   string
	UpdatedAt time.Time
	ClosedAt  time.Time
	// Purged is set once the contents were deleted under the retention rule.
	Purged bool
	Sealed []byte
}

// Outgoing is a notification to send, sealed: even a team mailbox's message is kept sealed
// beside a family's own confirmation, which holds their address.
type Outgoing struct {
	// Key identifies the message and is the associated data it is sealed with.
	Key    string
	Kind   string // KindTeam or KindFamily
	TeamID string // the team told, for a team notification
	Sealed []byte
}

// Notification kinds.
const (
	KindTeam   = "team"
	KindFamily = "family"
)

// OutboxEntry is a notification as staff see it: never its contents.
type OutboxEntry struct {
	Reference string
	Kind      string
	TeamID    string
	Created   time.Time
	Attempts  int
	Sent      bool
	GaveUp    bool
	LastError string
}

// Letter is the content of a notification before it is sealed.
type Letter struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Store keeps referrals, their notifications and drafts.
type Store interface {
	// CreateReferral stores a referral and its notifications in one transaction. When a
	// referral with the same Key exists it stores nothing and returns that one, with created
	// false; a Reference already taken is ErrReferenceTaken, and the caller makes another.
	CreateReferral(ctx context.Context, rec Record, out []Outgoing) (stored Record, created bool, err error)
	// ReferralByKey returns the referral a draft became, by the draft's Key, or ErrNotFound.
	ReferralByKey(ctx context.Context, key string) (Record, error)
	DraftStore
}

// DraftStore keeps drafts, already sealed, until they expire. GetDraft returns ErrNotFound for
// a draft that is missing or expired at now; deleting a missing draft is not an error.
type DraftStore interface {
	GetDraft(ctx context.Context, id string, now time.Time) ([]byte, error)
	PutDraft(ctx context.Context, id string, sealed []byte, expires time.Time) error
	DeleteDraft(ctx context.Context, id string) error
}

// ErrReferenceTaken is a reference that another referral already has.
var ErrReferenceTaken = errors.New("reference already taken")

// Sealer seals and opens data bound to a record (secret.Box implements it).
type Sealer interface {
	Seal(plaintext, associated []byte) []byte
	Open(sealed, associated []byte) ([]byte, error)
}

// Draft is a referral being written: the answers so far, kept on the server between pages.
// Once sent it keeps only the Receipt, for the confirmation page.
type Draft struct {
	ID        string    `json:"-"`
	Started   time.Time `json:"started"`
	Referral  Referral  `json:"referral"`
	Reference string    `json:"reference,omitempty"` // set once submitted
	Receipt   *Receipt  `json:"receipt,omitempty"`
}

// Receipt is what the confirmation page shows: no answer beyond the choices it depends on.
type Receipt struct {
	Reference       string `json:"reference"`
	TeamName        string `json:"team_name"`
	TeamPhone       string `json:"team_phone"`
	TeamHours       string `json:"team_hours"`
	Urgent          bool   `json:"urgent,omitempty"`
	TheyWillContact bool   `json:"they_will_contact,omitempty"`
	OutsideArea     bool   `json:"outside_area,omitempty"`
	OtherCouncil    string `json:"other_council,omitempty"`
	EmailConfirm    bool   `json:"email_confirm,omitempty"`
}

// draftKey is what a referral records of the draft it came from: a hash, because the draft id
// is the bearer value of the person's cookie.
func draftKey(id string) string {
	sum := sha256.Sum256([]byte("familyhelp draft " + id))
	return hex.EncodeToString(sum[:])
}

// DraftLifetime is how long a draft is kept after its last change. A family interrupted for
// longer starts again: their answers must not wait on a shared phone or in our database.
const DraftLifetime = time.Hour

// Service runs the journey's storage: drafts between pages, and submission.
type Service struct {
	Store Store
	// DraftStore, if set, keeps the drafts instead of Store: Redis, when there is one, so the
	// database is written once per referral rather than once per page.
	DraftStore DraftStore
	Drafts     Sealer // seals drafts
	Sealed     Sealer // seals referrals and notifications
	Routing    *Config
	// TeamLetter and FamilyLetter write notifications; StaffLink is the staff portal's page
	// for a referral.
	TeamLetter   func(reference string, urgent bool, link string) (subject, text string)
	FamilyLetter func(reference, teamName, teamPhone string) (subject, text string)
	StaffLink    func(reference string) string
	Now          func() time.Time
	// Submitted, if set, is called after a referral is stored: it wakes the outbox worker so
	// the team hears at once.
	Submitted func()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewDraft starts a draft; it is stored when first saved.
func (s *Service) NewDraft() *Draft {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &Draft{ID: hex.EncodeToString(b[:]), Started: s.now()}
}

// LoadDraft returns a draft that has not expired, or ErrNotFound.
func (s *Service) LoadDraft(ctx context.Context, id string) (*Draft, error) {
	if len(id) != 32 {
		return nil, ErrNotFound
	}
	sealed, err := s.drafts().GetDraft(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	plain, err := s.Drafts.Open(sealed, []byte("draft:"+id))
	if err != nil {
		return nil, fmt.Errorf("open draft: %w", err)
	}
	d := &Draft{ID: id}
	if err := json.Unmarshal(plain, d); err != nil {
		return nil, fmt.Errorf("read draft: %w", err)
	}
	return d, nil
}

// SaveDraft stores a draft sealed, and gives it another DraftLifetime.
func (s *Service) SaveDraft(ctx context.Context, d *Draft) error {
	plain, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("save draft: %w", err)
	}
	return s.drafts().PutDraft(ctx, d.ID, s.Drafts.Seal(plain, []byte("draft:"+d.ID)), s.now().Add(DraftLifetime))
}

// DiscardDraft deletes a draft, for a person who asks us to forget what they typed.
func (s *Service) DiscardDraft(ctx context.Context, id string) error {
	return s.drafts().DeleteDraft(ctx, id)
}

func (s *Service) drafts() DraftStore {
	if s.DraftStore != nil {
		return s.DraftStore
	}
	return s.Store
}

// ErrIncomplete is a draft with a question page still to answer.
type ErrIncomplete struct{ Step Step }

func (e ErrIncomplete) Error() string { return "referral incomplete at " + string(e.Step) }

// Submit routes the draft's referral and stores it sealed with its notifications, in one
// step. Submitting a draft again (a double click, a retry, the back button) returns the
// referral it made the first time.
func (s *Service) Submit(ctx context.Context, d *Draft) (*Draft, error) {
	if d.Reference != "" {
		return d, nil
	}
	now := s.now()
	if step, gap := Incomplete(&d.Referral, now); gap {
		return nil, ErrIncomplete{Step: step}
	}
	r := d.Referral
	decision := s.Routing.Route(&r, now)
	r.Decision = &decision
	for range 5 {
		rec := Record{Reference: NewReference(), Key: draftKey(d.ID), TeamID: decision.Team.ID,
			Urgent: decision.Urgent, CreatedAt: now, UpdatedAt: now, Needs: r.Needs, Status: StatusNew}
		for _, t := range decision.Also {
			rec.AlsoTeams = append(rec.AlsoTeams, t.ID)
		}
		plain, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("submit referral: %w", err)
		}
		rec.Sealed = s.Sealed.Seal(plain, []byte("referral:"+rec.Reference))
		out, err := s.letters(rec.Reference, &r)
		if err != nil {
			return nil, err
		}
		stored, _, err := s.Store.CreateReferral(ctx, rec, out)
		if errors.Is(err, ErrReferenceTaken) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("submit referral: %w", err)
		}
		if s.Submitted != nil {
			s.Submitted()
		}
		// From now on the draft only shows the confirmation, so it keeps nothing else: the
		// answers are in the sealed referral. Failing to save it loses nothing.
		d.Reference = stored.Reference
		d.Receipt = receiptFor(stored.Reference, &r)
		d.Referral = Referral{}
		_ = s.SaveDraft(ctx, d)
		return d, nil
	}
	return nil, errors.New("submit referral: no free reference after 5 tries")
}

// receiptFor is the confirmation page's part of a routed referral.
func receiptFor(reference string, r *Referral) *Receipt {
	decision := r.Decision
	return &Receipt{Reference: reference, TeamName: decision.Team.Name, TeamPhone: decision.Team.Phone,
		TeamHours: decision.Team.Hours, Urgent: decision.Urgent, TheyWillContact: r.Contact.TheyWillContact,
		OutsideArea: decision.OutsideArea, OtherCouncil: decision.OtherCouncil, EmailConfirm: r.Contact.Confirmation}
}

// SentReceipt finds the confirmation for a draft that was sent when the draft itself is gone
// (kept in Redis, and Redis restarted between "Send" and the confirmation page): the family
// must still be told their request arrived and given its reference. It answers only within
// DraftLifetime of sending, as the draft would have; otherwise ErrNotFound.
func (s *Service) SentReceipt(ctx context.Context, draftID string) (*Receipt, error) {
	rec, err := s.Store.ReferralByKey(ctx, draftKey(draftID))
	if err != nil {
		return nil, err
	}
	if s.now().Sub(rec.CreatedAt) > DraftLifetime {
		return nil, ErrNotFound
	}
	r, err := s.OpenReferral(rec)
	if err != nil {
		return nil, err
	}
	if r.Decision == nil {
		return nil, ErrNotFound // emptied by purge
	}
	return receiptFor(rec.Reference, r), nil
}

// letters are the notifications for a referral: each team it went to, and the family's own
// confirmation if they asked for one at an address they marked safe.
func (s *Service) letters(reference string, r *Referral) ([]Outgoing, error) {
	var out []Outgoing
	for _, t := range append([]Team{r.Decision.Team}, r.Decision.Also...) {
		subject, text := s.TeamLetter(reference, r.Decision.Urgent, s.StaffLink(reference))
		o, err := s.sealLetter(reference+"/"+KindTeam+"/"+t.ID, KindTeam, t.ID, Letter{To: t.Mailbox, Subject: subject, Text: text})
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if r.Contact.Confirmation && r.Contact.IsSafe(ByEmail) && r.Contact.Email != "" {
		// No team name: it would say what kind of help this is to anyone reading the inbox.
		subject, text := s.FamilyLetter(reference, "", r.Decision.Team.Phone)
		o, err := s.sealLetter(reference+"/"+KindFamily+"/", KindFamily, "", Letter{To: r.Contact.Email, Subject: subject, Text: text})
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// sealLetter seals a notification for the outbox under its key, which it is bound to.
func (s *Service) sealLetter(key, kind, teamID string, l Letter) (Outgoing, error) {
	plain, err := json.Marshal(l)
	if err != nil {
		return Outgoing{}, fmt.Errorf("seal notification: %w", err)
	}
	return Outgoing{Key: key, Kind: kind, TeamID: teamID, Sealed: s.Sealed.Seal(plain, []byte("outbox:"+key))}, nil
}

// TeamLetterFor seals the notification telling a team about a referral, for a transfer.
func (s *Service) TeamLetterFor(reference string, urgent bool, t Team, kind string) (Outgoing, error) {
	subject, text := s.TeamLetter(reference, urgent, s.StaffLink(reference))
	key := reference + "/" + kind + "/" + t.ID + "/" + s.now().Format("20060102T150405.000000")
	return s.sealLetter(key, KindTeam, t.ID, Letter{To: t.Mailbox, Subject: subject, Text: text})
}

// OpenLetter opens a sealed notification, for the worker that sends it.
func (s *Service) OpenLetter(key string, sealed []byte) (Letter, error) {
	var l Letter
	plain, err := s.Sealed.Open(sealed, []byte("outbox:"+key))
	if err != nil {
		return l, fmt.Errorf("open notification: %w", err)
	}
	err = json.Unmarshal(plain, &l)
	return l, err
}

// OpenReferral opens a stored referral's contents.
func (s *Service) OpenReferral(rec Record) (*Referral, error) {
	plain, err := s.Sealed.Open(rec.Sealed, []byte("referral:"+rec.Reference))
	if err != nil {
		return nil, fmt.Errorf("open referral %s: %w", rec.Reference, err)
	}
	var r Referral
	if err := json.Unmarshal(plain, &r); err != nil {
		return nil, fmt.Errorf("read referral %s: %w", rec.Reference, err)
	}
	return &r, nil
}
