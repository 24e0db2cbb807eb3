package oruk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// This file reads Open Referral JSON as other systems publish it: one service, a list of
// them, a page of an API answer, an organisation with its services, or services at locations.
// Each service is kept as it came, to be checked on its own: one broken record must not stop
// the rest.

// Record is one service read from a feed, not yet checked.
type Record struct {
	// Where says where in the feed the record was, for the report: "record 3", "page 2,
	// record 7", "services.csv row 4".
	Where string
	Raw   json.RawMessage
	// Org is the organisation the feed gave the record beside it (an organisation's
	// services, or the organizations table), for records that carry only its id.
	Org *inOrganization
}

// ErrNotServices is a feed that holds something other than services.
var ErrNotServices = errors.New("not services")

// ReadJSON reads the services in an Open Referral JSON document. A page answer also returns
// its page fields, so that a caller reading a URL can follow the pages.
func ReadJSON(data []byte) ([]Record, *PageInfo, error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		return nil, nil, errors.New("the file is empty")
	}
	switch data[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, nil, jsonProblem(err)
		}
		return records(items, ""), nil, nil
	case '{':
	default:
		return nil, nil, errors.New("the file is not JSON: it should start with { or [")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, jsonProblem(err)
	}
	if contents, ok := top["contents"]; ok {
		var page PageInfo
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, nil, fmt.Errorf("the page fields are not right: %w", jsonProblem(err))
		}
		var items []json.RawMessage
		if err := json.Unmarshal(contents, &items); err != nil {
			return nil, nil, fmt.Errorf("contents: %w", jsonProblem(err))
		}
		prefix := ""
		if page.PageNumber > 1 {
			prefix = "page " + strconv.Itoa(page.PageNumber) + ", "
		}
		var out []Record
		for i, it := range items {
			recs, err := readObject(it, prefix+"record "+strconv.Itoa(i+1))
			if err != nil {
				return nil, nil, err
			}
			out = append(out, recs...)
		}
		return out, &page, nil
	}
	recs, err := readObject(data, "record 1")
	return recs, nil, err
}

func records(items []json.RawMessage, prefix string) []Record {
	out := make([]Record, len(items))
	for i, it := range items {
		out[i] = Record{Where: prefix + "record " + strconv.Itoa(i+1), Raw: it}
	}
	return out
}

// readObject reads one object of a feed: a service, an organisation with services, or a
// service at a location (whose service is the record, with the place added to it).
func readObject(data json.RawMessage, where string) ([]Record, error) {
	var probe struct {
		Services json.RawMessage `json:"services"`
		Service  json.RawMessage `json:"service"`
		Location json.RawMessage `json:"location"`
		Version  string          `json:"version"`
		Terms    json.RawMessage `json:"taxonomy_terms"`
		Taxonomy *string         `json:"taxonomy"`
		Name     *string         `json:"name"`
		Status   *string         `json:"status"`
		OrgID    *string         `json:"organization_id"`
		Org      json.RawMessage `json:"organization"`
		LocType  *string         `json:"location_type"`
		Logo     *string         `json:"logo"`
		OrgIDs   json.RawMessage `json:"organization_identifiers"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		// Not an object: the record's own check says so.
		return []Record{{Where: where, Raw: data}}, nil
	}
	notService := probe.Status == nil && probe.OrgID == nil && probe.Org == nil
	switch {
	case probe.Version != "" && probe.Name == nil:
		return nil, fmt.Errorf("%w: this is an API's details (version %q); give the address of its services, such as …/api/services", ErrNotServices, probe.Version)
	case probe.Terms != nil || probe.Taxonomy != nil || probe.Version != "" && notService:
		return nil, fmt.Errorf("%w: this holds taxonomies or taxonomy terms; Family Help has its own, and maps services' terms to them when it imports services", ErrNotServices)
	case probe.Services != nil:
		var org inOrganization
		var items []json.RawMessage
		if err := json.Unmarshal(data, &org); err != nil {
			return nil, fmt.Errorf("%s: the organisation is not right: %w", where, jsonProblem(err))
		}
		if err := json.Unmarshal(probe.Services, &items); err != nil {
			return nil, fmt.Errorf("%s: services: %w", where, jsonProblem(err))
		}
		recs := records(items, where+", service ")
		for i := range recs {
			recs[i].Where = where + ", service " + strconv.Itoa(i+1)
			recs[i].Org = &org
		}
		return recs, nil
	case notService && probe.LocType != nil:
		return nil, fmt.Errorf("%w: %s is a location; import the services delivered there, which carry their locations", ErrNotServices, where)
	case notService && (probe.Logo != nil || probe.OrgIDs != nil):
		return nil, fmt.Errorf("%w: %s is an organisation without its services; import its services, or the organisation with its services (organization_full)", ErrNotServices, where)
	case probe.Service != nil && probe.Location != nil:
		// A service at a location: the service, at that place.
		var svc map[string]json.RawMessage
		if err := json.Unmarshal(probe.Service, &svc); err != nil {
			return []Record{{Where: where, Raw: probe.Service}}, nil
		}
		var sal map[string]json.RawMessage
		_ = json.Unmarshal(data, &sal)
		delete(sal, "service")
		list, _ := json.Marshal([]map[string]json.RawMessage{sal})
		svc["service_at_locations"] = list
		raw, _ := json.Marshal(svc)
		return []Record{{Where: where, Raw: raw}}, nil
	}
	return []Record{{Where: where, Raw: data}}, nil
}

// ReadFile reads an uploaded or named file: a zipped HSDS data package, or ORUK JSON.
func ReadFile(data []byte) ([]Record, error) {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return ReadZip(bytes.NewReader(data), int64(len(data)))
	}
	trimmed := bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	if len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' && bytes.Contains(bytes.SplitN(trimmed, []byte("\n"), 2)[0], []byte(",")) {
		return nil, errors.New("this is one CSV file; a data package needs its tables together: zip services.csv, organizations.csv, locations.csv and the rest into one file")
	}
	recs, _, err := ReadJSON(data)
	return recs, err
}

// PageInfo is the paging of an API answer.
type PageInfo struct {
	TotalItems int  `json:"total_items"`
	TotalPages int  `json:"total_pages"`
	PageNumber int  `json:"page_number"`
	LastPage   bool `json:"last_page"`
	Empty      bool `json:"empty"`
}

// MaxPages bounds how many pages of a feed are followed: a feed that never says it ended
// must not keep an import going for ever.
const MaxPages = 2000

// Fetch gets the body at a URL; the caller's adapter does the HTTP.
type Fetch func(ctx context.Context, url string) ([]byte, error)

// ReadURL reads the services at an Open Referral API address: an API's base (…/api/), its
// /services, or one service. It follows the pages, and fetches each listed service in full
// when the list gives only its summary, as ORUK lists do.
func ReadURL(ctx context.Context, address string, fetch Fetch) ([]Record, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a web address starting with https://", address)
	}
	body, err := fetch(ctx, u.String())
	if err != nil {
		return nil, err
	}
	var details struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &details) == nil && details.Version != "" {
		// The API's base: its services are under /services.
		u = u.JoinPath("services")
		if body, err = fetch(ctx, u.String()); err != nil {
			return nil, err
		}
	}
	var out []Record
	for n := 1; ; n++ {
		recs, page, err := ReadJSON(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.Redacted(), err)
		}
		for _, r := range recs {
			full, err := complete(ctx, u, r, fetch)
			if err != nil {
				return nil, err
			}
			out = append(out, full)
		}
		if page == nil || page.LastPage || page.Empty || len(recs) == 0 || n >= page.TotalPages {
			return out, nil
		}
		if n >= MaxPages {
			return nil, fmt.Errorf("the feed has more than %d pages; import it in parts", MaxPages)
		}
		q := u.Query()
		q.Set("page", strconv.Itoa(n+1))
		u.RawQuery = q.Encode()
		if body, err = fetch(ctx, u.String()); err != nil {
			return nil, err
		}
	}
}

// complete fetches a listed service in full when the list gave only its summary.
func complete(ctx context.Context, list *url.URL, r Record, fetch Fetch) (Record, error) {
	var probe struct {
		ID   string          `json:"id"`
		SALs json.RawMessage `json:"service_at_locations"`
	}
	if json.Unmarshal(r.Raw, &probe) != nil || probe.SALs != nil || !IsUUID(probe.ID) || !strings.HasSuffix(list.Path, "/services") {
		return r, nil
	}
	one := *list
	one.RawQuery = ""
	body, err := fetch(ctx, one.JoinPath(probe.ID).String())
	if err != nil {
		return Record{}, fmt.Errorf("%s (%s): %w", r.Where, probe.ID, err)
	}
	r.Raw = body
	return r, nil
}

// jsonProblem says where a JSON document is broken, in words.
func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("the JSON is broken near character %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Errorf("%s should be %s, not %s", typ.Field, kindName(typ.Type.Kind().String()), typ.Value)
		}
		return fmt.Errorf("expected %s, found %s", kindName(typ.Type.Kind().String()), typ.Value)
	}
	return err
}

func kindName(k string) string {
	switch k {
	case "string":
		return "text"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	case "ptr", "float64", "int", "int64":
		return "a number"
	case "bool":
		return "true or false"
	}
	return k
}
