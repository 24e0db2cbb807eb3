package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"familyhelp/search/bleveindex"
)

// `familyhelp reconcile` repairs an index that lost a service and gained one the database
// does not list, says so, and then finds nothing to repair.
func TestReconcileCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FAMILYHELP_DATA_DIR", dir)
	for _, k := range []string{"DATABASE_URL", "MEILI_URL", "REDIS_URL", "SMTP_URL", "FAMILYHELP_ROUTING", "FAMILYHELP_SECRET_KEY"} {
		t.Setenv(k, "")
	}
	if _, err := runCmd(t, "seed"); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "reconcile"); err != nil || !strings.Contains(out, "0 missing, 0 extra, 0 out of date; 0 repaired") {
		t.Fatalf("reconcile after seeding: %q, %v; want nothing to repair", out, err)
	}

	ctx := context.Background()
	ix, err := bleveindex.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	prints, err := ix.Fingerprints(ctx)
	if err != nil || len(prints) == 0 {
		t.Fatalf("the seeded index holds %d services (%v)", len(prints), err)
	}
	for id := range prints {
		if err := ix.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		break
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	if out, err := runCmd(t, "reconcile"); err != nil || !strings.Contains(out, "1 missing, 0 extra, 0 out of date; 1 repaired") {
		t.Errorf("reconcile with a service missing from the index: %q, %v", out, err)
	}
	if out, err := runCmd(t, "reconcile"); err != nil || !strings.Contains(out, "0 missing, 0 extra, 0 out of date; 0 repaired") {
		t.Errorf("reconcile after repairing: %q, %v", out, err)
	}
	if out, err := runCmd(t, "help"); err != nil || !strings.Contains(out, "reconcile") {
		t.Errorf("help does not list reconcile: %q", out)
	}
}
