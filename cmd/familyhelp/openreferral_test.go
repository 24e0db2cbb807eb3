package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"familyhelp/internal/testsvc"
)

// TestImportExportCommands moves a directory between two data folders with export and
// import, in both formats, and imports an API over HTTP.
func TestImportExportCommands(t *testing.T) {
	for _, k := range []string{"DATABASE_URL", "MEILI_URL", "REDIS_URL", "SMTP_URL", "FAMILYHELP_SECRET_KEY", "FAMILYHELP_ROUTING"} {
		t.Setenv(k, "")
	}
	if out, _ := runCmd(t, "help"); !strings.Contains(out, "import FILE|FOLDER|URL") || !strings.Contains(out, "export [--format oruk-json|csv]") {
		t.Errorf("help does not list import and export:\n%s", out)
	}
	from := t.TempDir()
	t.Setenv("FAMILYHELP_DATA_DIR", from)
	if _, err := runCmd(t, "seed"); err != nil {
		t.Fatal(err)
	}
	jsonOut, err := runCmd(t, "export")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		TotalItems int `json:"total_items"`
		Contents   []struct {
			ID string `json:"id"`
		} `json:"contents"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &page); err != nil || page.TotalItems != 125 || len(page.Contents) != 125 {
		t.Fatalf("export: %d services, %v", page.TotalItems, err)
	}
	files := t.TempDir()
	jsonFile, zipFile := filepath.Join(files, "directory.json"), filepath.Join(files, "directory.zip")
	if err := os.WriteFile(jsonFile, []byte(jsonOut), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "export", "--format", "csv", "--out", zipFile); err != nil || !strings.Contains(out, "exported 125 services") {
		t.Fatalf("export csv: %q %v", out, err)
	}
	if zipped, _ := os.ReadFile(zipFile); !bytes.HasPrefix(zipped, []byte("PK")) {
		t.Fatal("the csv export is not a zip")
	}
	var ue usageError
	if _, err := runCmd(t, "export", "--format", "xml"); !errors.As(err, &ue) {
		t.Errorf("export --format xml: %v", err)
	}

	for _, file := range []string{jsonFile, zipFile} {
		t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
		out, err := runCmd(t, "import", file)
		if err != nil || !strings.Contains(out, "125 created, 0 updated, 0 unchanged, 0 skipped") {
			t.Fatalf("import %s: %v\n%.2000s", filepath.Base(file), err, out)
		}
		out, err = runCmd(t, "import", file)
		if err != nil || !strings.Contains(out, "0 created, 0 updated, 125 unchanged, 0 skipped") {
			t.Errorf("import %s again: %v\n%.500s", filepath.Base(file), err, out)
		}
		again, err := runCmd(t, "export")
		if err != nil || again != jsonOut {
			t.Errorf("the export after importing %s differs from the first (%v)", filepath.Base(file), err)
		}
	}

	// A broken file: the good record goes in, the command fails and says which were skipped.
	broken := filepath.Join(files, "broken.json")
	var doc struct {
		Contents []map[string]any `json:"contents"`
	}
	_ = json.Unmarshal([]byte(jsonOut), &doc)
	doc.Contents[1]["status"] = "maybe"
	delete(doc.Contents[2], "name")
	b, _ := json.Marshal(doc.Contents[:3])
	if err := os.WriteFile(broken, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	out, err := runCmd(t, "import", broken)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 records were skipped") ||
		!strings.Contains(out, `problem: status "maybe" is not one of`) || !strings.Contains(out, "problem: name is missing") ||
		!strings.Contains(out, "1 created") {
		t.Errorf("broken import: %v\n%s", err, out)
	}

	// An API over HTTP, followed page by page.
	api := http.NewServeMux()
	api.HandleFunc("/api/services", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(jsonOut))
	})
	srv := httptest.NewServer(api)
	defer srv.Close()
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	if out, err := runCmd(t, "import", srv.URL+"/api/services"); err != nil || !strings.Contains(out, "125 created") {
		t.Errorf("import from a URL: %v\n%.500s", err, out)
	}
	if _, err := runCmd(t, "import", srv.URL+"/api/missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("import from a missing URL: %v", err)
	}
	if _, err := runCmd(t, "import"); !errors.As(err, &ue) {
		t.Errorf("import with no file: %v", err)
	}
}

// TestCommandsOnPostgres runs the commands against PostgreSQL, chosen by DATABASE_URL alone.
func TestCommandsOnPostgres(t *testing.T) {
	for _, k := range []string{"MEILI_URL", "REDIS_URL", "SMTP_URL", "FAMILYHELP_SECRET_KEY", "FAMILYHELP_ROUTING"} {
		t.Setenv(k, "")
	}
	t.Setenv("FAMILYHELP_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", testsvc.PostgresDB(t))
	if out, err := runCmd(t, "migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	if out, err := runCmd(t, "seed"); err != nil || !strings.Contains(out, "added 125 helplines and sample services") {
		t.Fatalf("seed: %q %v", out, err)
	}
	exported, err := runCmd(t, "export")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "directory.json")
	if err := os.WriteFile(file, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, "import", file); err != nil || !strings.Contains(out, "0 created, 0 updated, 125 unchanged, 0 skipped") {
		t.Errorf("import what is there: %v\n%.500s", err, out)
	}
	if out, err := runCmd(t, "purge"); err != nil || !strings.Contains(out, "deleted 0 expired drafts") {
		t.Errorf("purge: %q %v", out, err)
	}
	if out, err := runCmd(t, "reindex"); err != nil || !strings.Contains(out, "indexed 125 services") {
		t.Errorf("reindex: %q %v", out, err)
	}
}
