package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"familyhelp/directory"
)

var (
	_ directory.IndexQueue = (*DB)(nil)
	_ directory.ChangeLog  = (*DB)(nil)
)

// queueIndex records, inside the transaction that changes them, that the index must catch up
// with these services. A service already waiting keeps its one row: its version moves on, so a
// worker applying an older state cannot finish it, and it is due at once, because a fresh
// change deserves a fresh try even while earlier failures are backing off. Each change is also
// written to the change log, which every instance can follow.
func queueIndex(ctx context.Context, tx *sql.Tx, now time.Time, ids ...string) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO index_queue (service_id, queued_at, next_attempt_at)
		VALUES ($1, $2, $2)
		ON CONFLICT (service_id) DO UPDATE SET version = index_queue.version + 1,
			queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at`)
	if err != nil {
		return fmt.Errorf("queue index update: %w", err)
	}
	defer stmt.Close()
	// Last in the transaction, so that a change's number is taken as close as can be to its
	// commit: a follower waits for a missing number only as long as that gap lasts.
	logged, err := tx.PrepareContext(ctx, `INSERT INTO service_changes (service_id, changed_at) VALUES ($1, $2)`)
	if err != nil {
		return fmt.Errorf("log service change: %w", err)
	}
	defer logged.Close()
	at := now.UTC().Format(stampFormat)
	for _, id := range ids {
		if _, err := stmt.ExecContext(ctx, id, at); err != nil {
			return fmt.Errorf("queue index update for %s: %w", id, err)
		}
	}
	for _, id := range ids {
		if _, err := logged.ExecContext(ctx, id, at); err != nil {
			return fmt.Errorf("log change to %s: %w", id, err)
		}
	}
	return nil
}

// Changes returns up to max changes numbered above after, in number order.
func (s *DB) Changes(ctx context.Context, after int64, max int) ([]directory.Change, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, service_id, changed_at FROM service_changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, max)
	if err != nil {
		return nil, fmt.Errorf("read service changes: %w", err)
	}
	defer rows.Close()
	var out []directory.Change
	for rows.Next() {
		var c directory.Change
		var at string
		if err := rows.Scan(&c.Seq, &c.ServiceID, &at); err != nil {
			return nil, fmt.Errorf("read service changes: %w", err)
		}
		c.At, _ = time.Parse(stampFormat, at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read service changes: %w", err)
	}
	return out, nil
}

// LastChangeBefore returns the highest number of a change written before t, or 0.
func (s *DB) LastChangeBefore(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM service_changes WHERE changed_at < $1`,
		t.UTC().Format(stampFormat)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("read service changes: %w", err)
	}
	return seq, nil
}

// PruneChanges deletes the changes written before t.
func (s *DB) PruneChanges(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM service_changes WHERE changed_at < $1`, before.UTC().Format(stampFormat))
	if err != nil {
		return 0, fmt.Errorf("prune service changes: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ClaimIndexJobs leases up to max due, unleased index jobs until now+lease. One UPDATE …
// RETURNING picks and leases them; skipLocked says why no two workers, in this process or
// another instance, get the same one.
func (s *DB) ClaimIndexJobs(ctx context.Context, now time.Time, lease time.Duration, max int, serviceIDs ...string) ([]directory.IndexJob, error) {
	at := now.UTC().Format(stampFormat)
	args := []any{now.Add(lease).UTC().Format(stampFormat), at, max}
	only := ""
	if len(serviceIDs) > 0 {
		var marks string
		args, marks = appendArgs(args, serviceIDs)
		only = ` AND service_id IN (` + marks + `)`
	}
	rows, err := s.db.QueryContext(ctx, `UPDATE index_queue SET leased_until = $1, claims = claims + 1
		WHERE id IN (SELECT id FROM index_queue WHERE next_attempt_at <= $2 AND leased_until <= $2`+only+`
			ORDER BY next_attempt_at, id LIMIT $3`+s.skipLocked()+`)
		RETURNING id, service_id, attempts, version, claims`, args...)
	if err != nil {
		return nil, fmt.Errorf("claim index jobs: %w", err)
	}
	defer rows.Close()
	var out []directory.IndexJob
	for rows.Next() {
		var j directory.IndexJob
		if err := rows.Scan(&j.ID, &j.ServiceID, &j.Attempts, &j.Version, &j.Claim); err != nil {
			return nil, fmt.Errorf("claim index jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim index jobs: %w", err)
	}
	return out, nil
}

// FinishIndexJobs deletes applied jobs that this claim still holds at the version it claimed;
// one queued again since is released instead, still due, for the next worker to apply what the
// service is now.
func (s *DB) FinishIndexJobs(ctx context.Context, jobs []directory.IndexJob) error {
	if len(jobs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish index jobs: %w", err)
	}
	defer tx.Rollback()
	done, err := tx.PrepareContext(ctx, `DELETE FROM index_queue WHERE id = $1 AND version = $2 AND claims = $3`)
	if err != nil {
		return fmt.Errorf("finish index jobs: %w", err)
	}
	defer done.Close()
	release, err := tx.PrepareContext(ctx, `UPDATE index_queue SET leased_until = '' WHERE id = $1 AND claims = $2`)
	if err != nil {
		return fmt.Errorf("finish index jobs: %w", err)
	}
	defer release.Close()
	for _, j := range jobs {
		res, err := done.ExecContext(ctx, j.ID, j.Version, j.Claim)
		if err != nil {
			return fmt.Errorf("finish index job %d: %w", j.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("finish index job %d: %w", j.ID, err)
		} else if n == 1 {
			continue
		}
		if _, err := release.ExecContext(ctx, j.ID, j.Claim); err != nil {
			return fmt.Errorf("finish index job %d: %w", j.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish index jobs: %w", err)
	}
	return nil
}

// LeasedIndexJobs returns those of serviceIDs whose jobs someone holds at now.
func (s *DB) LeasedIndexJobs(ctx context.Context, now time.Time, serviceIDs ...string) ([]string, error) {
	if len(serviceIDs) == 0 {
		return nil, nil
	}
	args, marks := appendArgs([]any{now.UTC().Format(stampFormat)}, serviceIDs)
	rows, err := s.db.QueryContext(ctx, `SELECT service_id FROM index_queue
		WHERE leased_until > $1 AND service_id IN (`+marks+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list leased index jobs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list leased index jobs: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list leased index jobs: %w", err)
	}
	return out, nil
}

// RetryIndexJob records a failed attempt and releases the job until next, if this claim still
// holds it.
func (s *DB) RetryIndexJob(ctx context.Context, job directory.IndexJob, attempts int, next time.Time, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE index_queue SET attempts = $1, next_attempt_at = $2, leased_until = '',
		last_error = $3 WHERE id = $4 AND claims = $5`,
		attempts, next.UTC().Format(stampFormat), reason, job.ID, job.Claim)
	if err != nil {
		return fmt.Errorf("retry index job %d: %w", job.ID, err)
	}
	return nil
}

// appendArgs appends ids to args and returns their placeholders, "$4,$5,…".
func appendArgs(args []any, ids []string) ([]any, string) {
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	return args, strings.Join(marks, ",")
}
