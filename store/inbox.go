package store

import (
	"context"
	"fmt"
	"time"

	"familyhelp/referral"
	"familyhelp/staff"
)

var _ staff.ReferralStore = (*DB)(nil)

// TeamReferrals lists the referrals routed to a team, urgent first, then oldest first, with an
// optional status and need. Closed ones are listed only when asked for by status.
func (s *DB) TeamReferrals(ctx context.Context, team string, f staff.InboxFilter) ([]referral.Record, error) {
	q := `SELECT ` + referralColumns + ` FROM referrals
		WHERE (team_id = $1 OR (' ' || also_teams || ' ') LIKE ('% ' || $1 || ' %'))
		AND (($2 = '' AND status != 'closed') OR status = $2)
		AND ($3 = '' OR (' ' || needs || ' ') LIKE ('% ' || $3 || ' %'))
		ORDER BY CASE WHEN status = 'closed' THEN 1 ELSE 0 END, urgent DESC, created_at ASC, reference
		LIMIT $4`
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	rows, err := s.db.QueryContext(ctx, q, team, string(f.Status), string(f.Need), limit)
	if err != nil {
		return nil, fmt.Errorf("list referrals: %w", err)
	}
	defer rows.Close()
	var out []referral.Record
	for rows.Next() {
		rec, err := scanReferral(rows)
		if err != nil {
			return nil, err
		}
		rec.Sealed = nil // the inbox never opens them
		out = append(out, rec)
	}
	return out, rows.Err()
}

// SetReferralStatus moves a referral on, if it is still in the status the caller saw.
func (s *DB) SetReferralStatus(ctx context.Context, reference string, from, to referral.Status, outcome string, at time.Time) error {
	stamp := at.UTC().Format(stampFormat)
	closed := ""
	if to == referral.StatusClosed {
		closed = stamp
	}
	res, err := s.db.ExecContext(ctx, `UPDATE referrals SET status = $3, outcome = $4, updated_at = $5, closed_at = $6
		WHERE reference = $1 AND status = $2`, reference, string(from), string(to), outcome, stamp, closed)
	if err != nil {
		return fmt.Errorf("update referral: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return staff.ErrConflict
	}
	return nil
}

// TransferReferral gives a referral to another team, which is told through the outbox, in one
// transaction. The referral starts again as new for that team.
func (s *DB) TransferReferral(ctx context.Context, reference, fromTeam, toTeam string, at time.Time, why staff.Note, out []referral.Outgoing) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("transfer referral: %w", err)
	}
	defer tx.Rollback()
	stamp := at.UTC().Format(stampFormat)
	res, err := tx.ExecContext(ctx, `UPDATE referrals SET team_id = $3, status = 'new', outcome = '', updated_at = $4, closed_at = ''
		WHERE reference = $1 AND team_id = $2 AND status != 'closed'`, reference, fromTeam, toTeam, stamp)
	if err != nil {
		return fmt.Errorf("transfer referral: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return staff.ErrConflict
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO referral_notes (reference, account_id, actor, kind, at, sealed) VALUES ($1, $2, $3, $4, $5, $6)`,
		reference, why.AccountID, why.Actor, why.Kind, why.At.UTC().Format(stampFormat), why.Sealed); err != nil {
		return fmt.Errorf("transfer referral: note: %w", err)
	}
	for _, o := range out {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (key, reference, kind, team_id, sealed, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.Key, reference, o.Kind, o.TeamID, o.Sealed, stamp, stamp); err != nil {
			return fmt.Errorf("transfer referral: queue notification: %w", err)
		}
	}
	return tx.Commit()
}

// AddNote stores a sealed note on a referral.
func (s *DB) AddNote(ctx context.Context, reference string, n staff.Note) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO referral_notes (reference, account_id, actor, kind, at, sealed) VALUES ($1, $2, $3, $4, $5, $6)`,
		reference, n.AccountID, n.Actor, n.Kind, n.At.UTC().Format(stampFormat), n.Sealed)
	if err != nil {
		return fmt.Errorf("add note: %w", err)
	}
	return nil
}

// Notes lists a referral's notes, oldest first.
func (s *DB) Notes(ctx context.Context, reference string) ([]staff.Note, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, account_id, actor, kind, at, sealed FROM referral_notes WHERE reference = $1 ORDER BY id`, reference)
	if err != nil {
		return nil, fmt.Errorf("read notes: %w", err)
	}
	defer rows.Close()
	var out []staff.Note
	for rows.Next() {
		var n staff.Note
		var at string
		if err := rows.Scan(&n.ID, &n.AccountID, &n.Actor, &n.Kind, &at, &n.Sealed); err != nil {
			return nil, fmt.Errorf("read notes: %w", err)
		}
		n.At, _ = time.Parse(stampFormat, at)
		out = append(out, n)
	}
	return out, rows.Err()
}

// emptyBlob replaces purged contents: SQLite's empty blob literal is a bit string to
// PostgreSQL, and a nil slice would be NULL, which the NOT NULL columns refuse.
var emptyBlob = []byte{}

// PurgeClosedReferrals deletes the contents and notes of referrals closed before cutoff, and
// the sealed copies of their notifications, keeping only the reference, teams and dates.
func (s *DB) PurgeClosedReferrals(ctx context.Context, cutoff, now time.Time) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("purge referrals: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE referrals SET sealed = $3, purged_at = $2, needs = '', outcome = ''
		WHERE status = 'closed' AND closed_at != '' AND closed_at <= $1 AND purged_at = '' RETURNING reference`,
		cutoff.UTC().Format(stampFormat), now.UTC().Format(stampFormat), emptyBlob)
	if err != nil {
		return nil, fmt.Errorf("purge referrals: %w", err)
	}
	var refs []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("purge referrals: %w", err)
		}
		refs = append(refs, r)
	}
	rows.Close()
	for _, r := range refs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM referral_notes WHERE reference = $1`, r); err != nil {
			return nil, fmt.Errorf("purge referrals: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sealed = $2 WHERE reference = $1`, r, emptyBlob); err != nil {
			return nil, fmt.Errorf("purge referrals: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("purge referrals: %w", err)
	}
	return refs, nil
}
