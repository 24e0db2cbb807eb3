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

// CreateReferral stores a referral and its notifications in one transaction; a second
// referral from the same draft returns the first.
func (s *DB) CreateReferral(ctx context.Context, rec referral.Record, out []referral.Outgoing) (referral.Record, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
	}
	defer tx.Rollback()
	if existing, err := referralByKey(ctx, tx, rec.Key); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, referral.ErrNotFound) {
		return referral.Record{}, false, err
	}
	created := rec.CreatedAt.UTC().Format(stampFormat)
	status := rec.Status
	if status == "" {
		status = referral.StatusNew
	}
	// Two instances may send the same draft at once. The second INSERT waits for the first
	// transaction and then, rather than fail, inserts nothing, and the referral it made is
	// returned. A clash on the reference is still an error: another draft has it.
	var inserted string
	err = tx.QueryRowContext(ctx, `INSERT INTO referrals (reference, draft_key, team_id, also_teams, urgent, created_at, sealed,
			status, needs, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (draft_key) DO NOTHING RETURNING reference`,
		rec.Reference, rec.Key, rec.TeamID, strings.Join(rec.AlsoTeams, " "), rec.Urgent, created, rec.Sealed,
		string(status), joinNeeds(rec.Needs), created).Scan(&inserted)
	if errors.Is(err, sql.ErrNoRows) {
		existing, err := referralByKey(ctx, tx, rec.Key)
		if err != nil {
			return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
		}
		return existing, false, nil
	}
	if err != nil {
		if isUniqueViolation(err) {
			return referral.Record{}, false, referral.ErrReferenceTaken
		}
		return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
	}
	for _, o := range out {
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (key, reference, kind, team_id, sealed, created_at, next_attempt_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.Key, rec.Reference, o.Kind, o.TeamID, o.Sealed, created, created)
		if err != nil {
			return referral.Record{}, false, fmt.Errorf("create referral: queue notification: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return referral.Record{}, false, fmt.Errorf("create referral: %w", err)
	}
	return rec, true, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const referralColumns = `reference, draft_key, team_id, also_teams, urgent, created_at, sealed, status, needs, outcome,
	updated_at, closed_at, purged_at`

func referralByKey(ctx context.Context, q queryer, key string) (referral.Record, error) {
	return scanReferral(q.QueryRowContext(ctx, `SELECT `+referralColumns+` FROM referrals WHERE draft_key = $1`, key))
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
