package oruk

import (
	"archive/zip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"familyhelp/directory"
)

// This file is HSDS 3.0 tabular data: a data package of CSV files, one per table, linked by
// ids, as councils keep directories in spreadsheets. We write the tables HSDS names, and read
// them by the names HSDS and the UK profile's examples use.

// tables are the HSDS tables we write, with their columns. Family Help's own fields are
// extra columns of services, prefixed familyhelp_.
var tables = []struct{ name, file string }{
	{"organization", "organizations.csv"},
	{"service", "services.csv"},
	{"service_at_location", "service_at_location.csv"},
	{"location", "locations.csv"},
	{"address", "addresses.csv"},
	{"accessibility", "accessibility.csv"},
	{"phone", "phones.csv"},
	{"contact", "contacts.csv"},
	{"schedule", "schedules.csv"},
	{"service_area", "service_areas.csv"},
	{"cost_option", "cost_options.csv"},
	{"language", "languages.csv"},
	{"attribute", "attributes.csv"},
	{"taxonomy", "taxonomies.csv"},
	{"taxonomy_term", "taxonomy_terms.csv"},
}

var columns = map[string][]string{
	"organization": {"id", "name", "description", "email", "website"},
	"service": {"id", "organization_id", "name", "description", "url", "email", "status", "fees", "eligibility_description",
		"application_process", "minimum_age", "maximum_age", "assured_date", "last_modified", "familyhelp_id",
		"familyhelp_organisation_id", "familyhelp_summary", "familyhelp_delivery", "familyhelp_self_referral",
		"familyhelp_opening_notes", "familyhelp_accessibility", "familyhelp_sample"},
	"service_at_location": {"id", "service_id", "location_id"},
	"location":            {"id", "location_type", "name", "latitude", "longitude"},
	"address":             {"id", "location_id", "address_1", "city", "state_province", "postal_code", "country", "address_type"},
	"accessibility":       {"id", "location_id", "description"},
	"phone":               {"id", "service_id", "contact_id", "number", "type", "description"},
	"contact":             {"id", "service_id", "name", "title", "email"},
	"schedule": {"id", "service_id", "service_at_location_id", "freq", "interval", "byday", "opens_at", "closes_at",
		"description", "attending_type"},
	"service_area":  {"id", "service_id", "name", "description", "extent_type"},
	"cost_option":   {"id", "service_id", "option", "amount", "amount_description"},
	"language":      {"id", "service_id", "name", "code"},
	"attribute":     {"id", "link_id", "link_type", "link_entity", "taxonomy_term_id"},
	"taxonomy":      {"id", "name", "description", "uri", "version"},
	"taxonomy_term": {"id", "code", "name", "description", "parent_id", "taxonomy", "taxonomy_id"},
}

// ExportJSON is every service, fully nested, as one page of an ORUK services answer: a
// document other systems read as they read our API, and our import reads whole.
func ExportJSON(services []*directory.Service) Page[*Service] {
	all := make([]*Service, len(services))
	for i, s := range services {
		all[i] = Map(s)
	}
	return NewPage(all, 1, max(1, len(all)))
}

// WriteCSV writes every service as an HSDS tabular data package, zipped: a datapackage.json
// and one CSV file per table.
func WriteCSV(w io.Writer, services []*directory.Service) error {
	rows := map[string][][]string{}
	add := func(table string, values ...string) { rows[table] = append(rows[table], values) }
	seenOrg := map[string]bool{}
	for _, s := range services {
		m := Map(s)
		if o := m.Organization; o != nil && !seenOrg[o.ID] {
			seenOrg[o.ID] = true
			add("organization", o.ID, o.Name, o.Description, o.Email, o.Website)
		}
		e := m.FamilyHelp
		add("service", m.ID, m.OrganizationID, m.Name, m.Description, m.URL, m.Email, m.Status, m.Fees,
			m.EligibilityDescription, m.ApplicationProcess, strconv.Itoa(m.MinimumAge), strconv.Itoa(m.MaximumAge),
			m.AssuredDate, m.LastModified, e.ID, e.OrganisationID, e.Summary, strings.Join(e.Delivery, ","),
			strconv.FormatBool(e.SelfReferral), e.OpeningNotes, e.Accessibility, strconv.FormatBool(e.Sample))
		for _, sal := range m.ServiceAtLocations {
			l := sal.Location
			add("service_at_location", sal.ID, m.ID, l.ID)
			add("location", l.ID, l.LocationType, l.Name, formatFloat(l.Latitude), formatFloat(l.Longitude))
			for _, a := range l.Addresses {
				add("address", a.ID, l.ID, a.Address1, a.City, a.StateProvince, a.PostalCode, a.Country, a.AddressType)
			}
			for _, a := range l.Accessibility {
				add("accessibility", a.ID, l.ID, a.Description)
			}
		}
		for _, p := range m.Phones {
			add("phone", p.ID, m.ID, "", p.Number, p.Type, p.Description)
		}
		for _, c := range m.Contacts {
			add("contact", c.ID, m.ID, c.Name, c.Title, c.Email)
			for _, p := range c.Phones {
				add("phone", p.ID, "", c.ID, p.Number, p.Type, p.Description)
			}
		}
		for _, sc := range m.Schedules {
			add("schedule", sc.ID, m.ID, sc.ServiceAtLocationID, sc.Freq, strconv.Itoa(sc.Interval), sc.Byday,
				sc.OpensAt, sc.ClosesAt, sc.Description, sc.AttendingType)
		}
		for _, a := range m.ServiceAreas {
			add("service_area", a.ID, m.ID, a.Name, a.Description, a.ExtentType)
		}
		for _, c := range m.CostOptions {
			amount := ""
			if c.Amount != nil {
				amount = formatFloat(*c.Amount)
			}
			add("cost_option", c.ID, m.ID, c.Option, amount, c.AmountDescription)
		}
		for _, l := range m.Languages {
			add("language", l.ID, m.ID, l.Name, l.Code)
		}
		for _, a := range m.Attributes {
			add("attribute", a.ID, a.LinkID, a.LinkType, a.LinkEntity, a.TaxonomyTermID)
		}
	}
	for _, tx := range Taxonomies {
		add("taxonomy", tx.ID, tx.Name, tx.Description, tx.URI, tx.Version)
		for _, t := range tx.TaxonomyTerms {
			add("taxonomy_term", t.ID, t.Code, t.Name, t.Description, t.ParentID, t.Taxonomy, t.TaxonomyID)
		}
	}

	zw := zip.NewWriter(w)
	type resource struct {
		Name    string `json:"name"`
		Path    string `json:"path"`
		Profile string `json:"profile"`
	}
	pkg := struct {
		Name      string     `json:"name"`
		Title     string     `json:"title"`
		Profile   string     `json:"profile"`
		Resources []resource `json:"resources"`
	}{Name: "familyhelp-directory", Title: "Family Help service directory (HSDS 3.0, Open Referral UK)", Profile: "tabular-data-package"}
	for _, t := range tables {
		pkg.Resources = append(pkg.Resources, resource{t.name, t.file, "tabular-data-resource"})
		f, err := zw.Create(t.file)
		if err != nil {
			return fmt.Errorf("write %s: %w", t.file, err)
		}
		cw := csv.NewWriter(f)
		_ = cw.Write(columns[t.name])
		_ = cw.WriteAll(rows[t.name])
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write %s: %w", t.file, err)
		}
	}
	f, err := zw.Create("datapackage.json")
	if err != nil {
		return fmt.Errorf("write datapackage.json: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pkg); err != nil {
		return fmt.Errorf("write datapackage.json: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write csv package: %w", err)
	}
	return nil
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// table is one CSV file read: its rows by column name, and each row's line number.
type table struct {
	file string
	rows []map[string]string
	line []int
}

// fileNames are the names a table goes by: HSDS's, then the UK profile examples'.
var fileNames = map[string][]string{
	"organization":        {"organizations.csv", "organization.csv"},
	"service":             {"services.csv", "service.csv"},
	"service_at_location": {"service_at_location.csv", "service_at_locations.csv"},
	"location":            {"locations.csv", "location.csv"},
	"address":             {"addresses.csv", "address.csv"},
	"accessibility":       {"accessibility.csv", "accessibilities.csv"},
	"phone":               {"phones.csv", "phone.csv"},
	"contact":             {"contacts.csv", "contact.csv"},
	"schedule":            {"schedules.csv", "schedule.csv"},
	"service_area":        {"service_areas.csv", "service_area.csv"},
	"cost_option":         {"cost_options.csv", "cost_option.csv"},
	"language":            {"languages.csv", "language.csv"},
	"attribute":           {"attributes.csv", "attribute.csv"},
	"taxonomy_term":       {"taxonomy_terms.csv", "taxonomy_term.csv"},
}

// MaxCSVBytes bounds one CSV file of a package, so a zip bomb cannot fill the memory.
const MaxCSVBytes = 64 << 20

// ReadZip reads a zipped HSDS data package, whose files may sit in one folder inside the
// zip, or one zipped ORUK JSON file.
func ReadZip(r io.ReaderAt, size int64) ([]Record, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, errors.New("the file is not a zip file of CSV files")
	}
	var fsys fs.FS = zr
	// A zipped JSON file: read it as JSON.
	var jsonFiles []*zip.File
	hasCSV := false
	for _, f := range zr.File {
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".json":
			if path.Base(f.Name) != "datapackage.json" {
				jsonFiles = append(jsonFiles, f)
			}
		case ".csv":
			hasCSV = true
		}
	}
	if !hasCSV && len(jsonFiles) == 1 {
		rc, err := jsonFiles[0].Open()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", jsonFiles[0].Name, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, MaxCSVBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", jsonFiles[0].Name, err)
		}
		if len(data) > MaxCSVBytes {
			return nil, fmt.Errorf("%s is larger than %d MB", jsonFiles[0].Name, MaxCSVBytes>>20)
		}
		recs, _, err := ReadJSON(data)
		return recs, err
	}
	// A package zipped with its folder: read inside the folder that has services.
	for _, f := range zr.File {
		if dir, base := path.Split(f.Name); dir != "" && slices.Contains(fileNames["service"], base) {
			if sub, err := fs.Sub(zr, strings.TrimSuffix(dir, "/")); err == nil {
				fsys = sub
			}
			break
		}
	}
	return ReadCSV(fsys)
}

// ReadCSV reads the services of an HSDS tabular data package, joining its tables into one
// record per row of services.csv.
func ReadCSV(fsys fs.FS) ([]Record, error) {
	names := map[string][]string{}
	for k, v := range fileNames {
		names[k] = v
	}
	// A datapackage.json, when there is one, says which file holds which table.
	if b, err := fs.ReadFile(fsys, "datapackage.json"); err == nil {
		var pkg struct {
			Resources []struct{ Name, Path string } `json:"resources"`
		}
		if json.Unmarshal(b, &pkg) == nil {
			for _, r := range pkg.Resources {
				if _, ok := names[r.Name]; ok && r.Path != "" && !strings.Contains(r.Path, "://") {
					names[r.Name] = append([]string{path.Clean(r.Path)}, names[r.Name]...)
				}
			}
		}
	}
	t := map[string]*table{}
	for name, files := range names {
		tb, err := readTable(fsys, files)
		if err != nil {
			return nil, err
		}
		t[name] = tb
	}
	if len(t["service"].rows) == 0 {
		return nil, errors.New("there is no services.csv with services in it")
	}

	by := func(table, key string) map[string][]map[string]string {
		out := map[string][]map[string]string{}
		for _, r := range t[table].rows {
			if k := strings.ToLower(r[key]); k != "" {
				out[k] = append(out[k], r)
			}
		}
		return out
	}
	orgs := by("organization", "id")
	locs := by("location", "id")
	addrs := by("address", "location_id")
	access := by("accessibility", "location_id")
	sals := by("service_at_location", "service_id")
	phonesBySvc, phonesByContact := map[string][]map[string]string{}, by("phone", "contact_id")
	for _, r := range t["phone"].rows {
		if r["contact_id"] == "" {
			if k := strings.ToLower(r["service_id"]); k != "" {
				phonesBySvc[k] = append(phonesBySvc[k], r)
			}
		}
	}
	contacts := by("contact", "service_id")
	scheds := by("schedule", "service_id")
	areas := by("service_area", "service_id")
	costs := by("cost_option", "service_id")
	langs := by("language", "service_id")
	attrs := by("attribute", "link_id")
	terms := by("taxonomy_term", "id")
	// Schedules named only by their service at location belong to that service.
	salService := map[string]string{}
	for _, r := range t["service_at_location"].rows {
		salService[strings.ToLower(r["id"])] = strings.ToLower(r["service_id"])
	}
	for _, r := range t["schedule"].rows {
		if r["service_id"] == "" {
			if svc := salService[strings.ToLower(r["service_at_location_id"])]; svc != "" {
				scheds[svc] = append(scheds[svc], r)
			}
		}
	}

	var out []Record
	for i, r := range t["service"].rows {
		id := strings.ToLower(r["id"])
		svc := object(r, "minimum_age", "maximum_age")
		if o := orgs[strings.ToLower(r["organization_id"])]; len(o) > 0 {
			svc["organization"] = object(o[0])
		}
		var sl []any
		for _, s := range sals[id] {
			sal := object(s)
			if l := locs[strings.ToLower(s["location_id"])]; len(l) > 0 {
				loc := object(l[0], "latitude", "longitude")
				loc["addresses"] = objects(addrs[strings.ToLower(s["location_id"])])
				loc["accessibility"] = objects(access[strings.ToLower(s["location_id"])])
				sal["location"] = loc
			}
			sl = append(sl, sal)
		}
		svc["service_at_locations"] = sl
		svc["phones"] = objects(phonesBySvc[id])
		var cs []any
		for _, c := range contacts[id] {
			ct := object(c)
			ct["phones"] = objects(phonesByContact[strings.ToLower(c["id"])])
			cs = append(cs, ct)
		}
		svc["contacts"] = cs
		svc["schedules"] = objects(scheds[id], "interval")
		svc["service_areas"] = objects(areas[id])
		svc["cost_options"] = objects(costs[id], "amount")
		svc["languages"] = objects(langs[id])
		var as []any
		for _, a := range attrs[id] {
			at := object(a)
			if tm := terms[strings.ToLower(a["taxonomy_term_id"])]; len(tm) > 0 {
				at["taxonomy_term"] = object(tm[0])
			}
			as = append(as, at)
		}
		svc["attributes"] = as
		if r["familyhelp_id"] != "" {
			delivery := []string{}
			for _, d := range strings.Split(r["familyhelp_delivery"], ",") {
				if d = strings.TrimSpace(d); d != "" {
					delivery = append(delivery, d)
				}
			}
			svc["familyhelp"] = map[string]any{"id": r["familyhelp_id"], "organisation_id": r["familyhelp_organisation_id"],
				"summary": r["familyhelp_summary"], "delivery": delivery, "self_referral": r["familyhelp_self_referral"] == "true",
				"opening_notes": r["familyhelp_opening_notes"], "accessibility": r["familyhelp_accessibility"],
				"sample": r["familyhelp_sample"] == "true"}
		}
		raw, err := json.Marshal(svc)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t["service"].file, err)
		}
		out = append(out, Record{Where: t["service"].file + " row " + strconv.Itoa(t["service"].line[i]), Raw: raw})
	}
	return out, nil
}

// object makes a JSON object of a row: empty cells are left out, and the numeric columns
// are numbers when they read as one (otherwise the record's check says what is wrong).
func object(r map[string]string, numeric ...string) map[string]any {
	out := map[string]any{}
	for k, v := range r {
		if v == "" || strings.HasPrefix(k, "familyhelp_") {
			continue
		}
		out[k] = v
		if slices.Contains(numeric, k) {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				out[k] = f
			}
		}
	}
	return out
}

func objects(rows []map[string]string, numeric ...string) []any {
	out := []any{}
	for _, r := range rows {
		out = append(out, object(r, numeric...))
	}
	return out
}

// readTable reads the first of files that exists; none is an empty table.
func readTable(fsys fs.FS, files []string) (*table, error) {
	for _, name := range files {
		f, err := fsys.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		defer f.Close()
		cr := csv.NewReader(io.LimitReader(f, MaxCSVBytes))
		cr.FieldsPerRecord = -1
		head, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return &table{file: name}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		for i := range head {
			head[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff")))
		}
		tb := &table{file: name}
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			line, _ := cr.FieldPos(0)
			row := map[string]string{}
			for i, v := range rec {
				if i < len(head) {
					row[head[i]] = strings.TrimSpace(v)
				}
			}
			tb.rows = append(tb.rows, row)
			tb.line = append(tb.line, line)
		}
		return tb, nil
	}
	return &table{file: files[0]}, nil
}
