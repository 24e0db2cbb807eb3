package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Session limits: a portal left open on a desk signs itself out.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

// LinkLifetime is how long a one-time link to set a password works.
const LinkLifetime = 72 * time.Hour

// Session is a signed-in browser. Only a hash of its token is stored.
type Session struct {
	IDHash    string
	AccountID string
	Created   time.Time
	LastSeen  time.Time
	// Verified is true once any second factor the account needs has been given.
	Verified bool
}

// Expired reports whether the session has run out, idle or in all.
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.LastSeen) >= IdleTimeout || now.Sub(s.Created) >= AbsoluteTimeout
}

// Entry is one line of the audit trail: who did what to which thing. Detail never holds what
// a family told us.
type Entry struct {
	At        time.Time
	AccountID string
	Actor     string // the account's name when written, kept if the account goes
	Action    string
	Target    string // "referral:FH-…", "account:…", "service:…"
	Detail    string
}

// Store keeps accounts, links, sessions and the audit trail.
type Store interface {
	AccountByEmail(ctx context.Context, email string) (*Account, error)
	AccountByID(ctx context.Context, id string) (*Account, error)
	Accounts(ctx context.Context) ([]*Account, error)
	// CreateAccount fails with ErrEmailTaken for an email already used.
	CreateAccount(ctx context.Context, a *Account) error
	UpdateAccount(ctx context.Context, a *Account) error

	PutLink(ctx context.Context, hash, accountID string, expires time.Time) error
	// TakeLink uses a link up: it answers once, before it expires, then never again.
	TakeLink(ctx context.Context, hash string, now time.Time) (accountID string, err error)

	Audit(ctx context.Context, e Entry) error
	AuditTrail(ctx context.Context, target string, limit int) ([]Entry, error)
	// UseTOTPStep records the time step of an accepted code, and reports false if a code of
	// that step or a later one was used already: each code signs in once.
	UseTOTPStep(ctx context.Context, accountID string, step int64) (bool, error)
}

// SessionStore keeps sessions: the database by default, Redis when configured, so that every
// instance behind a load balancer knows every session.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// Session returns ErrNotFound for a session that does not exist (or has run out).
	Session(ctx context.Context, idHash string) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteAccountSessions(ctx context.Context, accountID string) error
}

// ErrEmailTaken is an email another account already has.
var ErrEmailTaken = errors.New("an account with that email already exists")

// ErrLogin is every failed sign-in, whatever failed: the person is told only that the details
// are wrong, so the page never says which emails have accounts.
var ErrLogin = errors.New("sign-in failed")

// Sealer seals the second factor's secret (secret.Box).
type Sealer interface {
	Seal(plaintext, associated []byte) []byte
	Open(sealed, associated []byte) ([]byte, error)
}

// Portal is the staff accounts service.
type Portal struct {
	Store    Store
	Sessions SessionStore
	Sealer   Sealer
	// Issuer names the site in authenticator apps.
	Issuer string
	Now    func() time.Time
}

func (p *Portal) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// NormaliseEmail is how emails are compared and stored.
func NormaliseEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is what the store keeps of a session token or link.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewAccount checks and creates an account without a password, and returns a one-time link
// token for the person to set one.
func (p *Portal) NewAccount(ctx context.Context, email, name string, role Role, team string) (*Account, string, error) {
	email = NormaliseEmail(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return nil, "", Problem("Enter an email address in the correct format, like name@example.org")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, "", Problem("Enter a name of 100 characters or fewer")
	}
	if !ValidRole(role) {
		return nil, "", Problem("Choose a role")
	}
	if role.HasTeam() != (team != "") {
		return nil, "", Problem("Team members and managers need a team; other roles have none")
	}
	a := &Account{ID: randomToken()[:22], Email: email, Name: name, Role: role, TeamID: team, CreatedAt: p.now()}
	if err := p.Store.CreateAccount(ctx, a); err != nil {
		return nil, "", err
	}
	link, err := p.NewLink(ctx, a.ID)
	return a, link, err
}

// NewLink makes a one-time link token for an account to set its password.
func (p *Portal) NewLink(ctx context.Context, accountID string) (string, error) {
	token := randomToken()
	if err := p.Store.PutLink(ctx, HashToken(token), accountID, p.now().Add(LinkLifetime)); err != nil {
		return "", fmt.Errorf("new link: %w", err)
	}
	return token, nil
}

// SetPassword uses a one-time link to set an account's password, and signs out every
// session the account had.
func (p *Portal) SetPassword(ctx context.Context, linkToken, password string) (*Account, error) {
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	id, err := p.Store.TakeLink(ctx, HashToken(linkToken), p.now())
	if err != nil {
		return nil, err
	}
	a, err := p.Store.AccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	a.PasswordHash = HashPassword(password)
	if err := p.Store.UpdateAccount(ctx, a); err != nil {
		return nil, err
	}
	if err := p.Sessions.DeleteAccountSessions(ctx, a.ID); err != nil {
		return nil, err
	}
	return a, p.Store.Audit(ctx, Entry{At: p.now(), AccountID: a.ID, Actor: a.Name, Action: "set password", Target: "account:" + a.ID})
}

// CheckLogin returns the account for an email and password, or ErrLogin.
func (p *Portal) CheckLogin(ctx context.Context, email, password string) (*Account, error) {
	a, err := p.Store.AccountByEmail(ctx, NormaliseEmail(email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	hash := ""
	if a != nil {
		hash = a.PasswordHash
	}
	if !VerifyPassword(hash, password) || a == nil || a.Disabled {
		return nil, ErrLogin
	}
	return a, nil
}

// NeedsSecondFactor reports whether a sign-in must also give a code: the account has one, or
// an admin requires one of everyone (then the account must set one up before anything else).
func NeedsSecondFactor(a *Account, requiredForAll bool) bool {
	return a.TOTPEnabled || requiredForAll
}

// StartSession begins a new session (a new token at every sign-in, so a token planted before
// sign-in is worthless) and returns its token for the cookie.
func (p *Portal) StartSession(ctx context.Context, a *Account, verified bool) (string, error) {
	token := randomToken()
	now := p.now()
	s := &Session{IDHash: HashToken(token), AccountID: a.ID, Created: now, LastSeen: now, Verified: verified}
	if err := p.Sessions.CreateSession(ctx, s); err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	return token, nil
}

// Resume finds the session for a cookie token and its account, and marks it used now. An
// expired session is ended and not found.
func (p *Portal) Resume(ctx context.Context, token string) (*Account, *Session, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ErrNotFound
	}
	s, err := p.Sessions.Session(ctx, HashToken(token))
	if err != nil {
		return nil, nil, err
	}
	now := p.now()
	if s.Expired(now) {
		_ = p.Sessions.DeleteSession(ctx, s.IDHash)
		return nil, nil, ErrNotFound
	}
	a, err := p.Store.AccountByID(ctx, s.AccountID)
	if err != nil {
		return nil, nil, err
	}
	if a.Disabled {
		return nil, nil, ErrNotFound
	}
	// Writing on every page would be a write per click; a minute's slack costs nothing.
	if now.Sub(s.LastSeen) > time.Minute {
		s.LastSeen = now
		if err := p.Sessions.UpdateSession(ctx, s); err != nil {
			return nil, nil, err
		}
	}
	return a, s, nil
}

// EndSession signs a session out on the server.
func (p *Portal) EndSession(ctx context.Context, token string) error {
	return p.Sessions.DeleteSession(ctx, HashToken(token))
}

// Verify replaces a session that has passed its second factor with a new, verified one, and
// returns the new token: a token seen before the code was given is worth nothing after.
func (p *Portal) Verify(ctx context.Context, s *Session) (string, error) {
	if err := p.Sessions.DeleteSession(ctx, s.IDHash); err != nil {
		return "", err
	}
	token := randomToken()
	now := p.now()
	n := &Session{IDHash: HashToken(token), AccountID: s.AccountID, Created: s.Created, LastSeen: now, Verified: true}
	if err := p.Sessions.CreateSession(ctx, n); err != nil {
		return "", fmt.Errorf("verify session: %w", err)
	}
	return token, nil
}

// ErrTOTPOn is an attempt to set up two-step sign-in on an account that has it: replacing it
// is not something a password alone may do.
var ErrTOTPOn = errors.New("two-step sign-in is already on")

// PendingTOTP returns the second-factor secret being set up for an account, making one the
// first time. Asking again gives the same secret, so a page loaded twice does not break a code
// already scanned.
func (p *Portal) PendingTOTP(ctx context.Context, a *Account) (*otp.Key, error) {
	if a.TOTPEnabled {
		return nil, ErrTOTPOn
	}
	if len(a.TOTPSealed) > 0 {
		if secret, err := p.Sealer.Open(a.TOTPSealed, []byte("totp:"+a.ID)); err == nil {
			return otp.NewKeyFromURL("otpauth://totp/" + p.Issuer + ":" + a.Email + "?secret=" + string(secret) + "&issuer=" + p.Issuer)
		}
	}
	return p.NewTOTP(ctx, a)
}

// NewTOTP makes a second-factor secret for an account, sealed on the account but not enabled
// until a code from it is confirmed.
func (p *Portal) NewTOTP(ctx context.Context, a *Account) (*otp.Key, error) {
	if a.TOTPEnabled {
		return nil, ErrTOTPOn
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: p.Issuer, AccountName: a.Email})
	if err != nil {
		return nil, fmt.Errorf("new second factor: %w", err)
	}
	a.TOTPSealed = p.Sealer.Seal([]byte(key.Secret()), []byte("totp:"+a.ID))
	a.TOTPEnabled = false
	if err := p.Store.UpdateAccount(ctx, a); err != nil {
		return nil, err
	}
	return key, nil
}

// CheckCode checks a six-digit code against the account's secret (enabled or being set up).
// A code is accepted once: using it again, or an older one, fails.
func (p *Portal) CheckCode(ctx context.Context, a *Account, code string) bool {
	if len(a.TOTPSealed) == 0 {
		return false
	}
	secret, err := p.Sealer.Open(a.TOTPSealed, []byte("totp:"+a.ID))
	if err != nil {
		return false
	}
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	now := p.now()
	step := now.Unix() / 30
	// One step either side, for a phone's clock a little out.
	for _, s := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(s*30, 0),
			totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		first, err := p.Store.UseTOTPStep(ctx, a.ID, s)
		return err == nil && first
	}
	return false
}

// EnableTOTP turns the second factor on once a code from it checks.
func (p *Portal) EnableTOTP(ctx context.Context, a *Account, code string) error {
	if a.TOTPEnabled {
		return ErrTOTPOn
	}
	if !p.CheckCode(ctx, a, code) {
		return Problem("The code is not right: enter the 6 digits your app shows now")
	}
	a.TOTPEnabled = true
	if err := p.Store.UpdateAccount(ctx, a); err != nil {
		return err
	}
	return p.Store.Audit(ctx, Entry{At: p.now(), AccountID: a.ID, Actor: a.Name, Action: "turned on two-step sign-in", Target: "account:" + a.ID})
}

// SetDisabled turns an account off (or back on), ending its sessions, on an admin's word.
func (p *Portal) SetDisabled(ctx context.Context, admin *Account, id string, disabled bool) error {
	if admin.ID == id {
		return Problem("You cannot turn off your own account")
	}
	a, err := p.Store.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	a.Disabled = disabled
	if err := p.Store.UpdateAccount(ctx, a); err != nil {
		return err
	}
	if err := p.Sessions.DeleteAccountSessions(ctx, a.ID); err != nil {
		return err
	}
	action := "turned on account"
	if disabled {
		action = "turned off account"
	}
	return p.Store.Audit(ctx, Entry{At: p.now(), AccountID: admin.ID, Actor: admin.Name, Action: action, Target: "account:" + a.ID})
}

// ResetTOTP removes an account's second factor (a lost phone), ending its sessions: the
// person sets it up again at their next sign-in if it is required.
func (p *Portal) ResetTOTP(ctx context.Context, admin *Account, id string) error {
	a, err := p.Store.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	a.TOTPSealed, a.TOTPEnabled = nil, false
	if err := p.Store.UpdateAccount(ctx, a); err != nil {
		return err
	}
	if err := p.Sessions.DeleteAccountSessions(ctx, a.ID); err != nil {
		return err
	}
	return p.Store.Audit(ctx, Entry{At: p.now(), AccountID: admin.ID, Actor: admin.Name, Action: "reset two-step sign-in", Target: "account:" + a.ID})
}

// ResetPassword gives an account a new one-time link to set its password, ending its sessions.
func (p *Portal) ResetPassword(ctx context.Context, admin *Account, id string) (string, error) {
	a, err := p.Store.AccountByID(ctx, id)
	if err != nil {
		return "", err
	}
	if err := p.Sessions.DeleteAccountSessions(ctx, a.ID); err != nil {
		return "", err
	}
	link, err := p.NewLink(ctx, a.ID)
	if err != nil {
		return "", err
	}
	return link, p.Store.Audit(ctx, Entry{At: p.now(), AccountID: admin.ID, Actor: admin.Name, Action: "made a new password link", Target: "account:" + a.ID})
}
