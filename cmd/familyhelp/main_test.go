package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return out.String(), err
}

func TestCommands(t *testing.T) {
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	for _, k := range []string{"DATABASE_URL", "MEILI_URL", "REDIS_URL", "SMTP_URL"} {
		t.Setenv(k, "")
	}

	out, err := runCmd(t, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "migrate", "seed", "--synthetic N", "reindex", "purge"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("help does not list %q", cmd)
		}
	}

	if out, err = runCmd(t, "migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("migrate: %q, %v", out, err)
	}
	if out, err = runCmd(t, "seed"); err != nil || !strings.Contains(out, "added 125 helplines and sample services") {
		t.Errorf("seed: %q, %v", out, err)
	}
	if out, err = runCmd(t, "seed", "--synthetic", "40"); err != nil || !strings.Contains(out, "added 40 synthetic services") || !strings.Contains(out, "indexed 165 services") {
		t.Errorf("seed --synthetic 40: %q, %v", out, err)
	}
	if out, err = runCmd(t, "reindex"); err != nil || !strings.Contains(out, "indexed 165 services") {
		t.Errorf("reindex: %q, %v", out, err)
	}
	if out, err = runCmd(t, "purge"); err != nil || !strings.Contains(out, "deleted 0 expired drafts") {
		t.Errorf("purge: %q, %v", out, err)
	}
	out, err = runCmd(t, "staff", "add", "--email", "Sam@Example.org", "--name", "Sam", "--role", "member", "--team", "ws-north")
	if err != nil || !strings.Contains(out, "created sam@example.org (Team member)") || !strings.Contains(out, "/staff/set-password?token=") {
		t.Errorf("staff add: %q, %v", out, err)
	}
	if _, err = runCmd(t, "staff", "add", "--email", "sam@example.org", "--name", "Sam again", "--role", "editor"); err == nil {
		t.Error("staff add with an email already used succeeded")
	}
	if _, err = runCmd(t, "staff", "add", "--email", "kim@example.org", "--name", "Kim", "--role", "member", "--team", "no-such-team"); err == nil {
		t.Error("staff add with a made-up team succeeded")
	}
	t.Setenv("FAMILYHELP_ROUTING", filepath.Join(t.TempDir(), "missing.yaml"))
	if _, err = runCmd(t, "migrate"); err == nil || !strings.Contains(err.Error(), "FAMILYHELP_ROUTING") {
		t.Errorf("a missing routing file: %v, want an error naming FAMILYHELP_ROUTING", err)
	}
	t.Setenv("FAMILYHELP_ROUTING", "")
	t.Setenv("FAMILYHELP_SECRET_KEY", "too-short")
	if _, err = runCmd(t, "migrate"); err == nil || !strings.Contains(err.Error(), "FAMILYHELP_SECRET_KEY") {
		t.Errorf("a bad secret key: %v, want an error naming FAMILYHELP_SECRET_KEY", err)
	}
	t.Setenv("FAMILYHELP_SECRET_KEY", "")

	var ue usageError
	if _, err = runCmd(t, "frobnicate"); !errors.As(err, &ue) {
		t.Errorf("unknown command: err = %v, want a usage error", err)
	}
	if _, err = runCmd(t, "seed", "--synthetic", "lots"); !errors.As(err, &ue) {
		t.Errorf("bad flag: err = %v, want a usage error", err)
	}
}

func TestUnsupportedDatabaseIsAnError(t *testing.T) {
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", "mysql://localhost/test")
	if _, err := runCmd(t, "migrate"); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("err = %v, want one that names DATABASE_URL", err)
	}
}

// Instances on one database must share a key: serve will not make one of its own.
func TestServeOnPostgresNeedsTheSecretKey(t *testing.T) {
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	t.Setenv("FAMILYHELP_SECRET_KEY", "")
	t.Setenv("DATABASE_URL", "postgres://familyhelp@127.0.0.1:1/none")
	_, err := runCmd(t, "serve")
	if err == nil || !strings.Contains(err.Error(), "FAMILYHELP_SECRET_KEY must be set") {
		t.Fatalf("err = %v, want one saying FAMILYHELP_SECRET_KEY must be set", err)
	}
	if _, statErr := os.Stat(filepath.Join(os.Getenv("FAMILYHELP_DATA_DIR"), "secret.key")); statErr == nil {
		t.Error("serve made a secret key of its own")
	}
}

// A fresh data directory gets the seeded directory and an index in step with it.
func TestPrepareSeedsAnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	cfg := configFromEnv()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := prepare(ctx, a, log); err != nil {
		t.Fatal(err)
	}
	n, _ := a.db.CountServices(ctx)
	indexed, _ := a.ix.Count(ctx)
	if n != 125 || indexed != 125 {
		t.Errorf("%d services, %d indexed; want 125 of each", n, indexed)
	}
	if mode, _ := a.db.Setting(ctx, "sample_mode"); mode != "on" {
		t.Errorf("sample mode = %q, want on", mode)
	}
}

func TestLogWriterDeliversEveryLine(t *testing.T) {
	var out safeBuffer
	w := newLogWriter(&out)
	for range 1000 {
		if _, err := w.Write([]byte("a line of the log\n")); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if got := strings.Count(out.String(), "\n"); got != 1000 {
		t.Errorf("%d lines reached the output, want 1000", got)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
