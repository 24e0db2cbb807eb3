package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"familyhelp/referral"
)

var _ referral.Store = (*DB)(nil)

// CreateReferral stores a referral and its notifications, all or nothing; a second referral
// from the same draft returns the first.
//
// A draft sent again (a double click, the back button) or by two instances at once inserts
// nothing: the INSERT waits for the other transaction if it is still open, finds its row (ON
// CONFLICT) and the referral already made is returned. A clash on the reference is still an
// error: another draft has it, and the caller makes another.
//
// It is the last step of "Send request", so it makes as few round trips as it can. On
// PostgreSQL that is one statement, atomic by itself, in which the referral's INSERT feeds the
// notifications' INSERT: against a transaction of separate statements it halved the time per
// referral at 20 at once. SQLite cannot put an INSERT in a WITH, and has no network between
// statements, so there it is a transaction of two INSERTs.
func (s *DB) CreateReferral(ctx context.Context, rec referral.Record, out []referral.Outgoing) (referral.Record, bool, error) {
	created := rec.CreatedAt.UTC().Format(stampFormat)
	status := rec.Status
	if status == "" {
		status = referral.StatusNew
	}
	// $1 to $10; the notifications' values follow.
	args := []any{rec.Reference, rec.Key, rec.TeamID, strings.Join(rec.AlsoTeams, " "), rec.Urgent, created, rec.Sealed,
		string(status), joinNeeds(rec.Needs), created}
	var err error
	if s.dialect == postgres {
		err = s.insertReferralWith(ctx, args, out)
	} else {
		err = s.insertReferralTx(ctx, args, rec.Reference, created, out)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		existing, err := referralByKey(ctx, s.db, rec.Key)
		if err != nil {
			return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
		}
		return existing, false, nil
	case err != nil && isUniqueViolation(err):
		return referral.Record{}, false, referral.ErrReferenceTaken
	case err != nil:
		return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
	}
	return rec, true, nil
}

// insertReferral is the referral's INSERT; it returns no row when the draft has one already.
const insertReferral = `INSERT INTO referrals (reference, draft_key, team_id, also_teams, urgent, created_at, sealed,
		status, needs, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
	ON CONFLICT (draft_key) DO NOTHING RETURNING reference`

// insertReferralWith stores the referral and its notifications in one PostgreSQL statement. It
// returns sql.ErrNoRows, having stored nothing, when the draft has a referral already.
func (s *DB) insertReferralWith(ctx context.Context, args []any, out []referral.Outgoing) error {
	var q strings.Builder
	q.WriteString(`WITH r AS (` + insertReferral + `)`)
	if len(out) > 0 {
		// Each notification's own values; its reference and times are the referral's. The
		// casts give the parameters types, which a bare VALUES list does not.
		q.WriteString(`, o AS (INSERT INTO outbox (key, reference, kind, team_id, sealed, created_at, next_attempt_at)
		SELECT v.key, r.reference, v.kind, v.team_id, v.sealed, $6, $6 FROM r, (VALUES `)
		for i, o := range out {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d::text, $%d::text, $%d::text, $%d::bytea)", n+1, n+2, n+3, n+4)
			args = append(args, o.Key, o.Kind, o.TeamID, o.Sealed)
		}
		q.WriteString(`) AS v (key, kind, team_id, sealed))`)
	}
	q.WriteString(` SELECT reference FROM r`)
	var inserted string
	return s.db.QueryRowContext(ctx, q.String(), args...).Scan(&inserted)
}

// insertReferralTx stores the referral and then its notifications in one INSERT, in a
// transaction. It returns sql.ErrNoRows, having stored nothing, when the draft has a referral
// already.
func (s *DB) insertReferralTx(ctx context.Context, args []any, reference, created string, out []referral.Outgoing) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var inserted string
	if err := tx.QueryRowContext(ctx, insertReferral, args...).Scan(&inserted); err != nil {
		return err
	}
	if len(out) > 0 {
		const cols = 7
		var q strings.Builder
		q.WriteString(`INSERT INTO outbox (key, reference, kind, team_id, sealed, created_at, next_attempt_at) VALUES `)
		vals := make([]any, 0, cols*len(out))
		for i, o := range out {
			if i > 0 {
				q.WriteString(", ")
			}
			n := i * cols
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
			vals = append(vals, o.Key, reference, o.Kind, o.TeamID, o.Sealed, created, created)
		}
		if _, err := tx.ExecContext(ctx, q.String(), vals...); err != nil {
			return fmt.Errorf("queue notifications: %w", err)
		}
	}
	return tx.Commit()
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const referralColumns = `reference, draft_key, team_id, also_teams, urgent, created_at, sealed, status, needs, outcome,
	updated_at, closed_at, purged_at`

func referralByKey(ctx context.Context, q queryer, key string) (referral.Record, error) {
	return scanReferral(q.QueryRowContext(ctx, `SELECT `+referralColumns+` FROM referrals WHERE draft_key = $1`, key))
}

// ReferralByKey returns the referral a draft became, by the draft's key.
func (s *DB) ReferralByKey(ctx context.Context, key string) (referral.Record, error) {
	return referralByKey(ctx, s.db, key)
}

// Referral returns a stored referral by its reference.
func (s *DB) Referral(ctx context.Context, reference string) (referral.Record, error) {
	return scanReferral(s.db.QueryRowContext(ctx, `SELECT `+referralColumns+` FROM referrals WHERE reference = $1`, reference))
}

func scanReferral(row interface{ Scan(...any) error }) (referral.Record, error) {
	var rec referral.Record
	var also, created, status, needs, updated, closed, purged string
	err := row.Scan(&rec.Reference, &rec.Key, &rec.TeamID, &also, &rec.Urgent, &created, &rec.Sealed,
		&status, &needs, &rec.Outcome, &updated, &closed, &purged)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, referral.ErrNotFound
	}
	if err != nil {
		return rec, fmt.Errorf("read referral: %w", err)
	}
	rec.AlsoTeams = strings.Fields(also)
	rec.Status = referral.Status(status)
	for _, n := range strings.Fields(needs) {
		rec.Needs = append(rec.Needs, referral.Need(n))
	}
	rec.Purged = purged != ""
	if rec.CreatedAt, err = time.Parse(stampFormat, created); err != nil {
		return rec, fmt.Errorf("read referral: %w", err)
	}
	rec.UpdatedAt, _ = time.Parse(stampFormat, updated)
	rec.ClosedAt, _ = time.Parse(stampFormat, closed)
	return rec, nil
}

func joinNeeds(needs []referral.Need) string {
	var b strings.Builder
	for i, n := range needs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(n))
	}
	return b.String()
}

// GetDraft returns a draft's sealed answers unless it has expired.
func (s *DB) GetDraft(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT sealed FROM drafts WHERE id = $1 AND expires_at > $2`,
		id, now.UTC().Format(stampFormat)).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get draft: %w", err)
	}
	return sealed, nil
}

// PutDraft stores a draft's sealed answers until expires.
func (s *DB) PutDraft(ctx context.Context, id string, sealed []byte, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO drafts (id, sealed, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`,
		id, sealed, expires.UTC().Format(stampFormat))
	if err != nil {
		return fmt.Errorf("save draft: %w", err)
	}
	return nil
}

// DeleteDraft removes a draft; a missing one is not an error.
func (s *DB) DeleteDraft(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM drafts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete draft: %w", err)
	}
	return nil
}

// PurgeDrafts deletes expired drafts and says how many went.
func (s *DB) PurgeDrafts(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM drafts WHERE expires_at <= $1`, now.UTC().Format(stampFormat))
	if err != nil {
		return 0, fmt.Errorf("purge drafts: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Pending is a notification the outbox holds.
type Pending struct {
	ID       int64
	Key      string
	Sealed   []byte
	Attempts int
}

// ClaimOutbox leases up to max notifications that are unsent, due and not leased by anyone
// else, until now+lease. One UPDATE … RETURNING picks and leases them; skipLocked says why no
// two workers, in this process or another instance, get the same one.
func (s *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Pending, error) {
	at := now.UTC().Format(stampFormat)
	rows, err := s.db.QueryContext(ctx, `UPDATE outbox SET leased_until = $1
		WHERE id IN (SELECT id FROM outbox WHERE sent_at = '' AND NOT gave_up AND next_attempt_at <= $2 AND leased_until <= $2
			ORDER BY next_attempt_at, id LIMIT $3`+s.skipLocked()+`)
		RETURNING id, key, sealed, attempts`, now.Add(lease).UTC().Format(stampFormat), at, max)
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.ID, &p.Key, &p.Sealed, &p.Attempts); err != nil {
			return nil, fmt.Errorf("claim notifications: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return out, nil
}

// MarkSent records that a notification was accepted by the mail server.
func (s *DB) MarkSent(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET sent_at = $1, leased_until = '', last_error = '' WHERE id = $2`,
		at.UTC().Format(stampFormat), id)
	if err != nil {
		return fmt.Errorf("mark notification %d sent: %w", id, err)
	}
	return nil
}

// MarkFailed records a failed attempt and when to try again; a zero next gives up.
func (s *DB) MarkFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	gaveUp := next.IsZero()
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = $1, next_attempt_at = $2, leased_until = '',
		gave_up = $3, last_error = $4 WHERE id = $5`, attempts, next.UTC().Format(stampFormat), gaveUp, reason, id)
	if err != nil {
		return fmt.Errorf("mark notification %d failed: %w", id, err)
	}
	return nil
}

// ReleaseOutbox hands back a claimed notification that was not tried: its lease ends, so any
// worker in any instance may claim it at once, and nothing else changes. Its attempts, when it
// is due and its last failure stay as they were, because no attempt was made. A notification
// sent or given up meanwhile is left alone.
//
// Call it only for a notification whose lease the caller still holds. The worker does: it
// releases what it claimed in the batch it is working through, and starts nothing once half
// the lease has gone.
func (s *DB) ReleaseOutbox(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET leased_until = '' WHERE id = $1 AND sent_at = '' AND NOT gave_up`, id)
	if err != nil {
		return fmt.Errorf("release notification %d: %w", id, err)
	}
	return nil
}

// OutboxDepth is the outbox's backlog: notifications neither sent nor given up, and when the
// oldest of them was queued (zero when there are none).
func (s *DB) OutboxDepth(ctx context.Context) (pending int, oldest time.Time, err error) {
	var first sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at = '' AND NOT gave_up`).
		Scan(&pending, &first)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count pending notifications: %w", err)
	}
	if first.Valid && first.String != "" {
		if oldest, err = time.Parse(stampFormat, first.String); err != nil {
			return 0, time.Time{}, fmt.Errorf("count pending notifications: %w", err)
		}
	}
	return pending, oldest, nil
}

// OutboxFor lists the notifications about referrals a team has now (as owner or joining
// team), newest first; an empty team lists every one.
func (s *DB) OutboxFor(ctx context.Context, team string, limit int) ([]referral.OutboxEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.reference, o.kind, o.team_id, o.created_at, o.attempts, o.sent_at, o.gave_up, o.last_error
		FROM outbox o JOIN referrals r ON r.reference = o.reference
		WHERE $1 = '' OR (o.team_id = $1 AND (r.team_id = $1 OR (' ' || r.also_teams || ' ') LIKE ('% ' || $1 || ' %')))
		ORDER BY o.id DESC LIMIT $2`, team, limit)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return scanOutbox(rows)
}

// Outbox lists notifications, newest first, for staff to see what is waiting.
func (s *DB) Outbox(ctx context.Context, limit int) ([]referral.OutboxEntry, error) {
	return s.OutboxFor(ctx, "", limit)
}

func scanOutbox(rows *sql.Rows) ([]referral.OutboxEntry, error) {
	defer rows.Close()
	var out []referral.OutboxEntry
	for rows.Next() {
		var e referral.OutboxEntry
		var created, sent string
		if err := rows.Scan(&e.Reference, &e.Kind, &e.TeamID, &created, &e.Attempts, &sent, &e.GaveUp, &e.LastError); err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		e.Created, _ = time.Parse(stampFormat, created)
		e.Sent = sent != ""
		out = append(out, e)
	}
	return out, rows.Err()
}

func isUniqueViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505" // unique_violation
	}
	// modernc's sqlite error text: "constraint failed: UNIQUE constraint failed: …" (2067), or
	// for a primary key "…PRIMARY KEY…" (1555).
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY")
}

// stampFormat writes times at a fixed width in UTC, so that comparing them as text in SQL
// (due, leased, expired) orders them as times. RFC 3339 with nanoseconds drops trailing zeros
// and would not.
const stampFormat = "2006-01-02T15:04:05.000000Z"
