// Package store keeps the directory, referrals, staff accounts and the shared state of every
// instance in a relational database: SQLite (modernc.org/sqlite, pure Go) in the data directory
// by default, or PostgreSQL (pgx) when DATABASE_URL names one. Both engines run the same SQL
// text wherever they can; the few places that differ ask DB.dialect. The database is the source
// of truth; the search index is derived from it. Migrations are embedded, one set per engine,
// and run when the store opens.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"familyhelp/directory"
)

//go:embed migrations
var migrations embed.FS

// dialect is the database engine behind a DB.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

// DB is the directory's database.
type DB struct {
	db      *sql.DB
	dialect dialect
}

var _ directory.Store = (*DB)(nil)

// SQLiteFile is the name of the SQLite database in the data directory.
const SQLiteFile = "familyhelp.db"

// Open opens the database the configuration names: PostgreSQL when databaseURL is a
// postgres:// or postgresql:// URL, otherwise (databaseURL empty) SQLite in dataDir.
func Open(ctx context.Context, dataDir, databaseURL string) (*DB, error) {
	if databaseURL == "" {
		return OpenSQLite(ctx, filepath.Join(dataDir, SQLiteFile))
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		// The URL may hold a password: say only that it did not parse.
		return nil, errors.New("open database: DATABASE_URL is not a URL")
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return OpenPostgres(ctx, databaseURL)
	}
	return nil, fmt.Errorf("open database: DATABASE_URL scheme %q is not postgres:// (leave it empty for SQLite)", u.Scheme)
}

// OpenSQLite opens (creating if need be) the SQLite database at path and migrates it.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// WAL lets the many readers go on while one writer writes; busy_timeout makes a second
	// writer wait rather than fail.
	// The path is escaped as a URI path: a "#" or "?" in a folder's name would otherwise end
	// the file name there, and SQLite would open another file without the settings.
	dsn := (&url.URL{Scheme: "file", Path: path}).String() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	// database/sql keeps two idle connections by default, so under load it opens and closes
	// connections all the time, and a new SQLite connection runs the pragmas and parses the
	// schema again: at 20 people sending referrals at once that was a fifth of the server's
	// CPU (make bench). An idle connection costs only its page cache, given back after a while.
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := migrate(ctx, db, goose.DialectSQLite3, "migrations/sqlite"); err != nil {
		db.Close()
		return nil, err
	}
	return &DB{db: db, dialect: sqlite}, nil
}

// OpenPostgres connects to the PostgreSQL database at databaseURL
// (postgres://user:pass@host/db?…) and migrates it. Several instances may open the same
// database at once: the migrations take a lock in the database, so they run once.
func OpenPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// database/sql keeps only two idle connections by default, so a busy instance would
	// connect and disconnect all the time; PostgreSQL pays a process per connection.
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := migrate(ctx, db, goose.DialectPostgres, "migrations/postgres"); err != nil {
		db.Close()
		return nil, err
	}
	return &DB{db: db, dialect: postgres}, nil
}

func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var opts []goose.ProviderOption
	if dialect == goose.DialectPostgres {
		// Instances that start together would otherwise all apply the same migration. Retry
		// every second for up to five minutes rather than goose's default of every five.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// skipLocked ends the subquery that picks queue rows to lease. SQLite has one writer at a time
// and its UPDATE takes the write lock before it reads, so two workers cannot pick the same row.
// PostgreSQL runs concurrent UPDATEs side by side: without row locks both would pick the same
// rows, and the second, after waiting for the first, would lease them again. SKIP LOCKED makes
// each worker pass over the rows another is taking instead of queueing behind it.
func (s *DB) skipLocked() string {
	if s.dialect == postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping checks that the database answers, for /readyz.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

const timeFormat = time.RFC3339Nano

// SaveServices adds or replaces services and their organisations, and queues their index jobs,
// all in one transaction.
func (s *DB) SaveServices(ctx context.Context, services ...*directory.Service) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save services: %w", err)
	}
	defer tx.Rollback()
	org, err := tx.PrepareContext(ctx, `INSERT INTO organisations (id, name, description, website, email)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description,
			website = excluded.website, email = excluded.email`)
	if err != nil {
		return fmt.Errorf("save services: %w", err)
	}
	defer org.Close()
	svc, err := tx.PrepareContext(ctx, `INSERT INTO services
		(id, organisation_id, name, status, national, sample, last_reviewed, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET organisation_id = excluded.organisation_id, name = excluded.name,
			status = excluded.status, national = excluded.national, sample = excluded.sample,
			last_reviewed = excluded.last_reviewed, updated_at = excluded.updated_at, data = excluded.data`)
	if err != nil {
		return fmt.Errorf("save services: %w", err)
	}
	defer svc.Close()
	now := time.Now().UTC()
	ids := make([]string, 0, len(services))
	for _, sv := range services {
		if sv.ID == "" || sv.Organisation.ID == "" {
			return fmt.Errorf("save services: a service and its organisation need ids")
		}
		if sv.UpdatedAt.IsZero() {
			sv.UpdatedAt = now
		}
		o := sv.Organisation
		if _, err := org.ExecContext(ctx, o.ID, o.Name, o.Description, o.Website, o.Email); err != nil {
			return fmt.Errorf("save organisation %s: %w", o.ID, err)
		}
		data, err := json.Marshal(sv)
		if err != nil {
			return fmt.Errorf("save service %s: %w", sv.ID, err)
		}
		if _, err := svc.ExecContext(ctx, sv.ID, o.ID, sv.Name, string(sv.Status), sv.National, sv.Sample,
			sv.LastReviewed.UTC().Format(timeFormat), sv.UpdatedAt.UTC().Format(timeFormat), string(data)); err != nil {
			return fmt.Errorf("save service %s: %w", sv.ID, err)
		}
		ids = append(ids, sv.ID)
	}
	if err := queueIndex(ctx, tx, now, ids...); err != nil {
		return fmt.Errorf("save services: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save services: %w", err)
	}
	return nil
}

// GetService returns one service, or directory.ErrNotFound.
func (s *DB) GetService(ctx context.Context, id string) (*directory.Service, error) {
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT data FROM services WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, directory.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get service: %w", err)
	}
	return decode(data)
}

// Services returns the services with the given ids, in the same order; ids that do not exist
// are left out.
func (s *DB) Services(ctx context.Context, ids []string) ([]*directory.Service, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i] = id
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, data FROM services WHERE id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("get services: %w", err)
	}
	defer rows.Close()
	byID := make(map[string]*directory.Service, len(ids))
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("get services: %w", err)
		}
		sv, err := decode(data)
		if err != nil {
			return nil, err
		}
		byID[id] = sv
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get services: %w", err)
	}
	out := make([]*directory.Service, 0, len(ids))
	for _, id := range ids {
		if sv, ok := byID[id]; ok {
			out = append(out, sv)
		}
	}
	return out, nil
}

// EachService calls fn for every service, in name order, until fn returns an error.
func (s *DB) EachService(ctx context.Context, fn func(*directory.Service) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM services ORDER BY name, id`)
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return fmt.Errorf("list services: %w", err)
		}
		sv, err := decode(data)
		if err != nil {
			return err
		}
		if err := fn(sv); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	return nil
}

// DeleteService removes a service and queues its index job in one transaction; a missing one
// is directory.ErrNotFound.
func (s *DB) DeleteService(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM services WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return directory.ErrNotFound
	}
	if err := queueIndex(ctx, tx, time.Now(), id); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete service: %w", err)
	}
	return nil
}

// CountServices returns how many services there are.
func (s *DB) CountServices(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count services: %w", err)
	}
	return n, nil
}

// Setting returns a stored setting, or "" if it was never set.
func (s *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a setting.
func (s *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}

func decode(data string) (*directory.Service, error) {
	var sv directory.Service
	if err := json.Unmarshal([]byte(data), &sv); err != nil {
		return nil, fmt.Errorf("decode service: %w", err)
	}
	return &sv, nil
}
