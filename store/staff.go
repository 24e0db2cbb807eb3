package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"familyhelp/staff"
)

var _ staff.Store = (*DB)(nil)

const accountColumns = `id, email, name, role, team_id, password_hash, totp_sealed, totp_enabled, disabled, created_at`

func scanAccount(row interface{ Scan(...any) error }) (*staff.Account, error) {
	var a staff.Account
	var role, created string
	err := row.Scan(&a.ID, &a.Email, &a.Name, &role, &a.TeamID, &a.PasswordHash, &a.TOTPSealed, &a.TOTPEnabled, &a.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, staff.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	a.Role = staff.Role(role)
	a.CreatedAt, _ = time.Parse(stampFormat, created)
	return &a, nil
}

// AccountByEmail finds an account by its (normalised) email.
func (s *DB) AccountByEmail(ctx context.Context, email string) (*staff.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = $1`, email))
}

// AccountByID finds an account.
func (s *DB) AccountByID(ctx context.Context, id string) (*staff.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
}

// Accounts lists every account by name.
func (s *DB) Accounts(ctx context.Context) ([]*staff.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY name, email`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []*staff.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAccount adds an account.
func (s *DB) CreateAccount(ctx context.Context, a *staff.Account) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.Email, a.Name, string(a.Role), a.TeamID, a.PasswordHash, a.TOTPSealed, a.TOTPEnabled, a.Disabled,
		a.CreatedAt.UTC().Format(stampFormat))
	if err != nil && isUniqueViolation(err) {
		return staff.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// UpdateAccount saves an account's changes.
func (s *DB) UpdateAccount(ctx context.Context, a *staff.Account) error {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET email = $2, name = $3, role = $4, team_id = $5, password_hash = $6,
		totp_sealed = $7, totp_enabled = $8, disabled = $9 WHERE id = $1`,
		a.ID, a.Email, a.Name, string(a.Role), a.TeamID, a.PasswordHash, a.TOTPSealed, a.TOTPEnabled, a.Disabled)
	if err != nil {
		if isUniqueViolation(err) {
			return staff.ErrEmailTaken
		}
		return fmt.Errorf("update account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return staff.ErrNotFound
	}
	return nil
}

// UseTOTPStep records that a code of time step was used, unless one of that step or later
// already was: it reports whether this use is the first.
func (s *DB) UseTOTPStep(ctx context.Context, accountID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, accountID, step)
	if err != nil {
		return false, fmt.Errorf("use code: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// PutLink stores a one-time link's hash.
func (s *DB) PutLink(ctx context.Context, hash, accountID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO account_links (hash, account_id, expires_at) VALUES ($1, $2, $3)`,
		hash, accountID, expires.UTC().Format(stampFormat))
	if err != nil {
		return fmt.Errorf("save link: %w", err)
	}
	return nil
}

// TakeLink uses up a link: deleting it and reading it are one statement, so it works once.
func (s *DB) TakeLink(ctx context.Context, hash string, now time.Time) (string, error) {
	var id, expires string
	err := s.db.QueryRowContext(ctx, `DELETE FROM account_links WHERE hash = $1 RETURNING account_id, expires_at`, hash).Scan(&id, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", staff.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("use link: %w", err)
	}
	if expires <= now.UTC().Format(stampFormat) {
		return "", staff.ErrNotFound
	}
	return id, nil
}

// CreateSession stores a new session.
func (s *DB) CreateSession(ctx context.Context, x *staff.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO staff_sessions (id_hash, account_id, created_at, last_seen, verified) VALUES ($1, $2, $3, $4, $5)`,
		x.IDHash, x.AccountID, x.Created.UTC().Format(stampFormat), x.LastSeen.UTC().Format(stampFormat), x.Verified)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session finds a session by its token's hash.
func (s *DB) Session(ctx context.Context, idHash string) (*staff.Session, error) {
	var x staff.Session
	var created, seen string
	err := s.db.QueryRowContext(ctx, `SELECT id_hash, account_id, created_at, last_seen, verified FROM staff_sessions WHERE id_hash = $1`, idHash).
		Scan(&x.IDHash, &x.AccountID, &created, &seen, &x.Verified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, staff.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	x.Created, _ = time.Parse(stampFormat, created)
	x.LastSeen, _ = time.Parse(stampFormat, seen)
	return &x, nil
}

// UpdateSession saves when a session was last used and whether it passed its second factor.
func (s *DB) UpdateSession(ctx context.Context, x *staff.Session) error {
	_, err := s.db.ExecContext(ctx, `UPDATE staff_sessions SET last_seen = $2, verified = $3 WHERE id_hash = $1`,
		x.IDHash, x.LastSeen.UTC().Format(stampFormat), x.Verified)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return nil
}

// DeleteSession ends a session.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// DeleteAccountSessions ends every session of an account.
func (s *DB) DeleteAccountSessions(ctx context.Context, accountID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// PurgeSessions deletes sessions past their limits.
func (s *DB) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM staff_sessions WHERE last_seen <= $1 OR created_at <= $2`,
		now.Add(-staff.IdleTimeout).UTC().Format(stampFormat), now.Add(-staff.AbsoluteTimeout).UTC().Format(stampFormat))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Audit adds a line to the audit trail.
func (s *DB) Audit(ctx context.Context, e staff.Entry) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, account_id, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.At.UTC().Format(stampFormat), e.AccountID, e.Actor, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditTrail lists the newest entries about a target ("" for all).
func (s *DB) AuditTrail(ctx context.Context, target string, limit int) ([]staff.Entry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, account_id, actor, action, target, detail FROM audit
		WHERE $1 = '' OR target = $1 ORDER BY id DESC LIMIT $2`, target, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	defer rows.Close()
	var out []staff.Entry
	for rows.Next() {
		var e staff.Entry
		var at string
		if err := rows.Scan(&at, &e.AccountID, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit trail: %w", err)
		}
		e.At, _ = time.Parse(stampFormat, at)
		out = append(out, e)
	}
	return out, rows.Err()
}
