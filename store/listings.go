package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"familyhelp/directory"
)

var _ directory.ListingStore = (*DB)(nil)

// listingColumns are a listing row's columns, with its open reports counted.
const listingColumns = `s.id, s.name, COALESCE(o.name, ''), s.status, s.last_reviewed, s.review_due,
	(SELECT count(*) FROM listing_reports r WHERE r.service_id = s.id AND r.resolved_at = '')
	FROM services s LEFT JOIN organisations o ON o.id = s.organisation_id`

func scanListingRow(row interface{ Scan(...any) error }) (directory.ListingRow, error) {
	var r directory.ListingRow
	var status, reviewed, due string
	if err := row.Scan(&r.ID, &r.Name, &r.Organisation, &status, &reviewed, &due, &r.OpenReports); err != nil {
		return r, err
	}
	r.Status = directory.Status(status)
	r.LastReviewed, _ = time.Parse(timeFormat, reviewed)
	if due != "" {
		r.DueSet, _ = time.Parse(timeFormat, due)
	}
	return r, nil
}

func (s *DB) listingRows(ctx context.Context, query string, args ...any) ([]directory.ListingRow, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.ListingRow
	for rows.Next() {
		r, err := scanListingRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// likeEscaper makes typed text match itself in a LIKE pattern, % and _ included.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// FindListings lists services of any status whose name contains the text, ignoring case, by
// name, and says how many matched in all.
func (s *DB) FindListings(ctx context.Context, q directory.ListingQuery) ([]directory.ListingRow, int, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(strings.TrimSpace(q.Text))) + "%"
	where := ` WHERE lower(s.name) LIKE $1 ESCAPE '\' AND ($2 = '' OR s.status = $2)`
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.listingRows(ctx, `SELECT `+listingColumns+where+` ORDER BY s.name, s.id LIMIT $3`, pattern, string(q.Status), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("find listings: %w", err)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM services s`+where, pattern, string(q.Status)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("find listings: %w", err)
	}
	return rows, total, nil
}

// ReviewRows lists every listing that is not archived.
func (s *DB) ReviewRows(ctx context.Context) ([]directory.ListingRow, error) {
	rows, err := s.listingRows(ctx, `SELECT `+listingColumns+` WHERE s.status <> $1 ORDER BY s.name, s.id`, string(directory.Defunct))
	if err != nil {
		return nil, fmt.Errorf("review rows: %w", err)
	}
	return rows, nil
}

// ListingRow returns one listing's row, or directory.ErrNotFound.
func (s *DB) ListingRow(ctx context.Context, id string) (directory.ListingRow, error) {
	r, err := scanListingRow(s.db.QueryRowContext(ctx, `SELECT `+listingColumns+` WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, directory.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("listing row: %w", err)
	}
	return r, nil
}

// SetReviewDue sets the date a listing's review falls due; zero clears it.
func (s *DB) SetReviewDue(ctx context.Context, id string, due time.Time) error {
	v := ""
	if !due.IsZero() {
		v = due.UTC().Format(timeFormat)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE services SET review_due = $2 WHERE id = $1`, id, v)
	if err != nil {
		return fmt.Errorf("set review date: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return directory.ErrNotFound
	}
	return nil
}

// Organisation returns an organisation, or directory.ErrNotFound.
func (s *DB) Organisation(ctx context.Context, id string) (directory.Organisation, error) {
	var o directory.Organisation
	err := s.db.QueryRowContext(ctx, `SELECT id, name, description, website, email FROM organisations WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &o.Description, &o.Website, &o.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return o, directory.ErrNotFound
	}
	if err != nil {
		return o, fmt.Errorf("get organisation: %w", err)
	}
	return o, nil
}

// AddReport stores a problem reported with a service's page and returns its id.
func (s *DB) AddReport(ctx context.Context, r directory.Report) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO listing_reports (service_id, body, created_at) VALUES ($1, $2, $3) RETURNING id`,
		r.ServiceID, r.Text, r.At.UTC().Format(stampFormat)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("add report: %w", err)
	}
	return id, nil
}

// Reports lists a service's reports, open ones first, newest first.
func (s *DB) Reports(ctx context.Context, serviceID string) ([]directory.Report, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, service_id, body, created_at, resolved_at, resolved_by FROM listing_reports
		WHERE service_id = $1 ORDER BY resolved_at <> '', id DESC LIMIT 200`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	var out []directory.Report
	for rows.Next() {
		var r directory.Report
		var at, resolved string
		if err := rows.Scan(&r.ID, &r.ServiceID, &r.Text, &at, &resolved, &r.ResolvedBy); err != nil {
			return nil, fmt.Errorf("list reports: %w", err)
		}
		r.At, _ = time.Parse(stampFormat, at)
		if resolved != "" {
			r.ResolvedAt, _ = time.Parse(stampFormat, resolved)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return out, nil
}

// ResolveReport marks a report dealt with. A report of another service is
// directory.ErrNotFound; one already dealt with keeps who dealt with it and when.
func (s *DB) ResolveReport(ctx context.Context, serviceID string, id int64, by string, at time.Time) error {
	var resolved string
	err := s.db.QueryRowContext(ctx, `SELECT resolved_at FROM listing_reports WHERE id = $1 AND service_id = $2`, id, serviceID).Scan(&resolved)
	if errors.Is(err, sql.ErrNoRows) {
		return directory.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("resolve report: %w", err)
	}
	if resolved != "" {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `UPDATE listing_reports SET resolved_at = $3, resolved_by = $4
		WHERE id = $1 AND service_id = $2 AND resolved_at = ''`, id, serviceID, at.UTC().Format(stampFormat), by)
	if err != nil {
		return fmt.Errorf("resolve report: %w", err)
	}
	return nil
}

// PurgeReports deletes problem reports dealt with before cutoff: what the public wrote is not
// kept once an editor has acted on it and a while has passed.
func (s *DB) PurgeReports(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM listing_reports WHERE resolved_at != '' AND resolved_at <= $1`,
		cutoff.UTC().Format(stampFormat))
	if err != nil {
		return 0, fmt.Errorf("purge reports: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
