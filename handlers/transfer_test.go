package handlers_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// upload posts a file from the import form, with the token of the page last seen.
func (b *browser) upload(target, filename string, data []byte) page {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if m := csrfRE.FindStringSubmatch(b.last.body); m != nil {
		_ = w.WriteField("_csrf", m[1])
	}
	if filename != "" {
		f, err := w.CreateFormFile("file", filename)
		if err != nil {
			b.t.Fatal(err)
		}
		_, _ = f.Write(data)
	}
	_ = w.Close()
	return b.send(http.MethodPost, target, body.Bytes(), w.FormDataContentType())
}

// TestEditorExportsAndImports downloads both exports from the portal, imports them into
// another site's portal, and checks the report, the audit trail, the errors for bad files,
// and that only editors can do any of it.
func TestEditorExportsAndImports(t *testing.T) {
	from := newListingSite(t)
	ed := from.signIn(t, "editor@example.org")
	if p := ed.get("/staff/listings/import"); p.status != http.StatusOK || !p.has("Import and export listings") {
		t.Fatalf("import page: %d", p.status)
	}
	jsonFile := ed.get("/staff/listings/export?format=oruk-json")
	if jsonFile.status != http.StatusOK || !strings.HasPrefix(jsonFile.header.Get("Content-Type"), "application/json") ||
		!strings.Contains(jsonFile.header.Get("Content-Disposition"), `attachment; filename="familyhelp-listings-`) {
		t.Fatalf("json export: %d %v", jsonFile.status, jsonFile.header)
	}
	if err := checkORUK(t, "service_list", []byte(jsonFile.body)); err != nil {
		t.Errorf("the JSON export is not ORUK 3.0: %v", err)
	}
	zipFile := ed.get("/staff/listings/export?format=csv")
	if zipFile.status != http.StatusOK || zipFile.header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(zipFile.body, "PK") {
		t.Fatalf("csv export: %d %v", zipFile.status, zipFile.header)
	}
	if p := ed.get("/staff/listings/export?format=xml"); p.status != http.StatusNotFound {
		t.Errorf("an unknown format: %d", p.status)
	}
	n := len(from.everything(t))

	var zippedJSON bytes.Buffer
	zj := zip.NewWriter(&zippedJSON)
	w, _ := zj.Create("directory.json")
	_, _ = w.Write([]byte(jsonFile.body))
	_ = zj.Close()
	for _, file := range []struct{ name, body string }{{"directory.json", jsonFile.body}, {"directory.zip", zipFile.body},
		{"directory-json.zip", zippedJSON.String()}} {
		to := newListingSite(t)
		for _, sv := range to.everything(t) {
			if err := to.dir.Delete(context.Background(), sv.ID); err != nil {
				t.Fatal(err)
			}
		}
		b := to.signIn(t, "editor@example.org")
		b.get("/staff/listings/import")
		p := b.upload("/staff/listings/import", file.name, []byte(file.body))
		if p.status != http.StatusOK || !p.has("Import finished") || !p.has(strconv.Itoa(n)+" added, 0 updated, 0 unchanged, 0 skipped") ||
			!p.has("What happened to each listing in "+file.name) {
			t.Fatalf("import %s: %d %s", file.name, p.status, p.title())
		}
		if len(to.everything(t)) != n {
			t.Errorf("%d listings after importing %d", len(to.everything(t)), n)
		}
		// Imported listings are found by families at once, and their history says where
		// they came from.
		if !to.found(t, "Drinkline", "national-drinkline") {
			t.Error("an imported listing is not found by search")
		}
		if h := b.get("/staff/listings/national-drinkline/history"); !h.has("listing imported") {
			t.Errorf("the history does not show the import")
		}
		p = b.upload("/staff/listings/import", file.name, []byte(file.body))
		if !p.has("0 added, 0 updated, " + strconv.Itoa(n) + " unchanged, 0 skipped") {
			t.Errorf("importing %s again: %s", file.name, p.title())
		}
	}

	// Files that cannot be imported say why, on the form, with nothing changed.
	b := from.signIn(t, "editor@example.org")
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	_, _ = zw.Create("readme.txt")
	_ = zw.Close()
	broken, _ := json.Marshal([]map[string]any{{"id": "8d3e2f9a-0b1c-4d4e-9f5a-6b7c8d9e0f1a", "name": "Half a listing", "status": "active"}})
	for _, tc := range []struct {
		name, body, want string
		status           int
	}{
		{"", "", "Choose a file to import", http.StatusUnprocessableEntity},
		{"notes.txt", "not json", "The file could not be read: the file is not JSON", http.StatusUnprocessableEntity},
		{"empty.zip", zipped.String(), "there is no services.csv with services in it", http.StatusUnprocessableEntity},
		{"taxonomy.json", `{"id":"5c4d79d7-cc55-470e-9f1f-8cad074e4892","name":"n","description":"d","version":"1"}`, "The file holds no services", http.StatusUnprocessableEntity},
		{"huge.json", "[" + strings.Repeat(" ", 2<<20) + "]", "The file must be smaller than 2 MB", http.StatusRequestEntityTooLarge},
	} {
		b.get("/staff/listings/import")
		p := b.upload("/staff/listings/import", tc.name, []byte(tc.body))
		if p.status != tc.status || !p.has(tc.want) || !p.has(`href="#file"`) || !strings.HasPrefix(p.title(), "Error:") {
			t.Errorf("%q: %d %q, want %d and %q", tc.name, p.status, p.title(), tc.status, tc.want)
		}
	}
	b.get("/staff/listings/import")
	p := b.upload("/staff/listings/import", "broken.json", broken)
	if !p.has("0 added, 0 updated, 0 unchanged, 1 skipped") || !p.has("Not imported because:") || !p.has("the organisation is missing") {
		t.Errorf("a broken record: %s", p.body[:min(len(p.body), 300)])
	}
	if len(from.everything(t)) != n {
		t.Error("a failed import changed the directory")
	}

	// Without a token nothing is imported; and only editors and admins see any of it.
	b.get("/staff/listings")
	b.last = page{} // forget the page's token
	if p := b.upload("/staff/listings/import", "broken.json", broken); p.status != http.StatusForbidden ||
		!p.has("The page timed out. Choose the file again") || p.has("Import finished") {
		t.Errorf("an upload without a token: %d %s", p.status, p.title())
	}
	for _, email := range []string{"member-a@example.org", "manager-a@example.org"} {
		m := from.signIn(t, email)
		for _, path := range []string{"/staff/listings/import", "/staff/listings/export?format=oruk-json", "/staff/listings/export?format=csv"} {
			if p := m.get(path); p.status != http.StatusNotFound {
				t.Errorf("%s: GET %s = %d", email, path, p.status)
			}
		}
		m.get("/staff")
		if p := m.upload("/staff/listings/import", "directory.json", []byte(jsonFile.body)); p.status != http.StatusNotFound {
			t.Errorf("%s: import = %d", email, p.status)
		}
	}
}
