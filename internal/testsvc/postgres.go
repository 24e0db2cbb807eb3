package testsvc

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable that points the tests at another PostgreSQL server: the URL
// of a role that may create databases, with a database to connect to first.
const PostgresEnv = "FAMILYHELP_TEST_POSTGRES"

// DefaultPostgresURL is the PostgreSQL that scripts/ensure-services starts, which trusts
// connections from loopback.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresServerURL returns the URL of the PostgreSQL server shared by the tests:
// FAMILYHELP_TEST_POSTGRES when set, otherwise DefaultPostgresURL, if it answers. Tests must
// not use the database it names: PostgresDB gives each its own.
func PostgresServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" {
		u = DefaultPostgresURL
	}
	conn, err := connectPostgres(u)
	if err != nil {
		Unavailable(t, "no PostgreSQL: %v", err)
	}
	conn.Close(context.Background())
	return u
}

// PostgresDB creates an empty database on the test server for this test alone, and returns
// its URL. The database is dropped when the test ends, even if a connection to it is still
// open, so tests share nothing and leave nothing behind.
func PostgresDB(t testing.TB) string {
	t.Helper()
	server := PostgresServerURL(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	// Quoted identifiers keep their case, and a name of at most 63 bytes is not cut short.
	name := "fhtest_" + strings.ToLower(UniqueName(t))
	ident := pgx.Identifier{name}.Sanitize()
	if err := execPostgres(server, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE ends connections a test left open (PostgreSQL 13 or later).
		if err := execPostgres(server, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func connectPostgres(serverURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	cfg.ConnectTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return conn, nil
}

// execPostgres runs one statement on its own connection: CREATE and DROP DATABASE cannot run
// inside a transaction, nor on a connection to the database they drop.
func execPostgres(serverURL, statement string) error {
	conn, err := connectPostgres(serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = conn.Exec(ctx, statement)
	return err
}
