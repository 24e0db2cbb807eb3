package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"familyhelp/directory"
	"familyhelp/oruk"
	"familyhelp/postcode"
	"familyhelp/ratelimit"
	"familyhelp/search"
)

// APIPerIP limits Open Referral readers per address: generous, as other councils' systems
// page through the whole directory, but a loop calling us flat out is stopped.
var APIPerIP = ratelimit.Rule{Name: "api-ip", Rate: 600, Period: time.Minute, Burst: 120}

// API paging: the ORUK default of 50 and a cap that keeps one answer small.
const (
	apiPerPage    = 50
	apiMaxPerPage = 200
	// apiCatalogueTTL bounds how long another instance's change takes to reach our API; a
	// change through this instance's Directory shows at once (its Version changes).
	apiCatalogueTTL = 30 * time.Second
)

// serviceLister reads every service; directory.Directory does.
type serviceLister interface {
	EachService(ctx context.Context, fn func(*directory.Service) error) error
}

type apiCatalogue struct {
	cat     *oruk.Catalogue
	version uint64
	at      time.Time
}

// apiError is the JSON body of a failed API request; Parameter names the bad query parameter.
type apiError struct {
	Status    int    `json:"-"`
	Message   string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badParam(name, msg string) error {
	return &apiError{Status: fiber.StatusBadRequest, Message: msg, Parameter: name}
}

var errAPINotFound = &apiError{Status: fiber.StatusNotFound, Message: "not found"}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (s *Server) apiRoutes(app *fiber.App) {
	api := app.Group("/api", s.apiHeaders, s.limitAPI)
	api.Get("/", s.apiJSON(s.apiDetails))
	api.Get("/openapi.json", s.apiJSON(s.apiOpenAPI))
	api.Get("/services", s.apiJSON(s.apiServices))
	api.Get("/services/:id", s.apiJSON(s.apiService))
	api.Get("/taxonomies", s.apiJSON(s.apiTaxonomies))
	api.Get("/taxonomies/:id", s.apiJSON(s.apiTaxonomy))
	api.Get("/taxonomy_terms", s.apiJSON(s.apiTerms))
	api.Get("/taxonomy_terms/:id", s.apiJSON(s.apiTerm))
	api.Get("/organizations", s.apiJSON(s.apiOrganizations))
	api.Get("/organizations/:id", s.apiJSON(s.apiOrganization))
	api.Get("/service_at_locations", s.apiJSON(s.apiServiceAtLocations))
	api.Get("/service_at_locations/:id", s.apiJSON(s.apiServiceAtLocation))
	// Anything else under /api is a JSON 404, not the site's HTML page.
	api.Use(s.apiJSON(func(*fiber.Ctx) (any, error) { return nil, errAPINotFound }))
}

// apiHeaders runs after the site-wide no-store: the directory is public data, and other
// systems' browsers and caches may keep it briefly and read it from anywhere.
func (s *Server) apiHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.Next()
}

func (s *Server) limitAPI(c *fiber.Ctx) error {
	if over, retry := s.overLimit(c, limitKey{APIPerIP, s.addressKey(c)}); over {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(retry.Seconds()+0.5))))
		c.Set(fiber.HeaderCacheControl, "no-store")
		return s.writeAPIError(c, &apiError{Status: fiber.StatusTooManyRequests, Message: "too many requests"})
	}
	return c.Next()
}

// apiJSON writes what fn returns as JSON with an ETag, answering 304 when the consumer has it.
func (s *Server) apiJSON(fn func(*fiber.Ctx) (any, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := fn(c)
		if err != nil {
			return s.writeAPIError(c, err)
		}
		body, ok := v.([]byte)
		if !ok {
			if body, err = json.Marshal(v); err != nil {
				return s.writeAPIError(c, fmt.Errorf("encode api answer: %w", err))
			}
		}
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:16]) + `"`
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, etag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		return c.Send(body)
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func (s *Server) writeAPIError(c *fiber.Ctx, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.Log.Error("api request failed", "id", requestID(c), "path", safePath(c), "err", err)
		ae = &apiError{Status: fiber.StatusInternalServerError, Message: "internal error"}
	}
	if ae.Status >= 400 && ae.Status != fiber.StatusTooManyRequests {
		// An error is not the directory: nothing should keep it.
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return c.Status(ae.Status).JSON(ae)
}

func (s *Server) apiBase(c *fiber.Ctx) string {
	if s.BaseURL != "" {
		return strings.TrimSuffix(s.BaseURL, "/")
	}
	return c.BaseURL()
}

func (s *Server) apiDetails(c *fiber.Ctx) (any, error) {
	return map[string]string{"version": oruk.Version, "profile": oruk.Profile,
		"openapi_url": s.apiBase(c) + "/api/openapi.json"}, nil
}

func (s *Server) apiOpenAPI(c *fiber.Ctx) (any, error) {
	var doc map[string]any
	if err := json.Unmarshal(oruk.OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("read openapi document: %w", err)
	}
	doc["servers"] = []map[string]string{{"url": s.apiBase(c) + "/api"}}
	return doc, nil
}

// catalogue returns the active services, read again when they changed through our Directory
// or the last reading is older than apiCatalogueTTL.
func (s *Server) catalogue(ctx context.Context) (*oruk.Catalogue, error) {
	v := s.Directory.Version()
	if last := s.apiCat.Load(); last != nil && last.version == v && time.Since(last.at) < apiCatalogueTTL {
		return last.cat, nil
	}
	lister, ok := s.Directory.(serviceLister)
	if !ok {
		return nil, errors.New("api: the directory cannot list its services")
	}
	var all []*directory.Service
	if err := lister.EachService(ctx, func(sv *directory.Service) error {
		all = append(all, sv)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("api catalogue: %w", err)
	}
	cat := oruk.NewCatalogue(all)
	s.apiCat.Store(&apiCatalogue{cat: cat, version: v, at: time.Now()})
	return cat, nil
}

func paging(c *fiber.Ctx) (page, perPage int, err error) {
	page, perPage = 1, apiPerPage
	if v := c.Query("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, badParam("page", "page must be a whole number from 1")
		}
	}
	if v := c.Query("per_page"); v != "" {
		if perPage, err = strconv.Atoi(v); err != nil || perPage < 1 || perPage > apiMaxPerPage {
			return 0, 0, badParam("per_page", "per_page must be a whole number from 1 to "+strconv.Itoa(apiMaxPerPage))
		}
	}
	return page, perPage, nil
}

func uuidParam(c *fiber.Ctx, name string) (string, error) {
	v := c.Query(name)
	if v != "" && !uuidRE.MatchString(v) {
		return "", badParam(name, name+" must be a UUID")
	}
	return strings.ToLower(v), nil
}

func ageParam(c *fiber.Ctx, name string) (*int, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 150 || f != float64(int(f)) {
		return nil, badParam(name, name+" must be a whole number of years from 0 to 150")
	}
	n := int(f)
	return &n, nil
}

// filter reads the query parameters the list endpoints share.
func filter(c *fiber.Ctx) (oruk.Filter, error) {
	f := oruk.Filter{Text: strings.TrimSpace(c.Query("search"))}
	if len(f.Text) > 200 {
		return f, badParam("search", "search must be at most 200 characters")
	}
	var err error
	if f.TermID, err = uuidParam(c, "taxonomy_term_id"); err != nil {
		return f, err
	}
	if f.TaxonomyID, err = uuidParam(c, "taxonomy_id"); err != nil {
		return f, err
	}
	if f.OrganizationID, err = uuidParam(c, "organization_id"); err != nil {
		return f, err
	}
	if f.MinAge, err = ageParam(c, "minimum_age"); err != nil {
		return f, err
	}
	if f.MaxAge, err = ageParam(c, "maximum_age"); err != nil {
		return f, err
	}
	if v := c.Query("modified_after"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, v); err != nil {
				return f, badParam("modified_after", "modified_after must be a date (2006-01-02) or an RFC 3339 date-time")
			}
		}
		f.ModifiedAfter = t
	}
	if v := c.Query("day"); v != "" {
		d, ok := oruk.ParseDay(v)
		if !ok {
			return f, badParam("day", "day must be a day of the week, such as MO or Monday")
		}
		f.Day = &d
	}
	for _, p := range []struct {
		name string
		to   *string
	}{{"start_time", &f.Opens}, {"end_time", &f.Closes}} {
		if v := c.Query(p.name); v != "" {
			t, ok := oruk.ParseClock(v)
			if !ok {
				return f, badParam(p.name, p.name+" must be a time of day, such as 09:30")
			}
			*p.to = t
		}
	}
	if v := c.Query("postcode"); v != "" {
		place, err := postcode.Lookup(v)
		if err != nil {
			return f, badParam("postcode", "postcode is not a postcode we can locate")
		}
		f.Near = &search.Point{Lat: place.Lat, Lng: place.Lng}
	}
	if v := c.Query("proximity"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m <= 0 || m > 1e6 {
			return f, badParam("proximity", "proximity must be a distance in metres, more than 0")
		}
		if f.Near == nil {
			return f, badParam("proximity", "proximity needs a postcode")
		}
		f.Within = m
	}
	return f, nil
}

func (s *Server) apiServices(c *fiber.Ctx) (any, error) {
	page, perPage, err := paging(c)
	if err != nil {
		return nil, err
	}
	f, err := filter(c)
	if err != nil {
		return nil, err
	}
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	found := cat.Find(f)
	items := make([]oruk.ServiceSummary, len(found))
	for i, m := range found {
		items[i] = oruk.Summary(m.Service)
	}
	return oruk.NewPage(items, page, perPage), nil
}

func (s *Server) apiService(c *fiber.Ctx) (any, error) {
	if !uuidRE.MatchString(c.Params("id")) {
		return nil, errAPINotFound
	}
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	sv, ok := cat.Service(c.Params("id"))
	if !ok {
		return nil, errAPINotFound
	}
	return oruk.Map(sv), nil
}

func (s *Server) apiTaxonomies(c *fiber.Ctx) (any, error) {
	page, perPage, err := paging(c)
	if err != nil {
		return nil, err
	}
	var items []oruk.Taxonomy
	for _, t := range oruk.Taxonomies {
		items = append(items, t.Taxonomy)
	}
	return oruk.NewPage(items, page, perPage), nil
}

func (s *Server) apiTaxonomy(c *fiber.Ctx) (any, error) {
	id := strings.ToLower(c.Params("id"))
	for _, t := range oruk.Taxonomies {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, errAPINotFound
}

func (s *Server) apiTerms(c *fiber.Ctx) (any, error) {
	page, perPage, err := paging(c)
	if err != nil {
		return nil, err
	}
	txID, err := uuidParam(c, "taxonomy_id")
	if err != nil {
		return nil, err
	}
	words := strings.Fields(strings.ToLower(c.Query("search")))
	items := []oruk.TaxonomyTerm{}
	for _, t := range oruk.Terms() {
		if txID != "" && t.TaxonomyID != txID {
			continue
		}
		if !containsWords(strings.ToLower(t.Name+" "+t.Description+" "+t.Code), words) {
			continue
		}
		items = append(items, t)
	}
	return oruk.NewPage(items, page, perPage), nil
}

func containsWords(text string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

func (s *Server) apiTerm(c *fiber.Ctx) (any, error) {
	if t, ok := oruk.Term(strings.ToLower(c.Params("id"))); ok {
		return t, nil
	}
	return nil, errAPINotFound
}

func (s *Server) apiOrganizations(c *fiber.Ctx) (any, error) {
	page, perPage, err := paging(c)
	if err != nil {
		return nil, err
	}
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	words := strings.Fields(strings.ToLower(c.Query("search")))
	items := []oruk.Organization{}
	for _, o := range cat.Organizations() {
		if containsWords(strings.ToLower(o.Name+" "+o.Description), words) {
			items = append(items, o)
		}
	}
	return oruk.NewPage(items, page, perPage), nil
}

func (s *Server) apiOrganization(c *fiber.Ctx) (any, error) {
	id := strings.ToLower(c.Params("id"))
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	var out *oruk.OrganizationFull
	for _, o := range cat.Organizations() {
		if o.ID == id {
			out = &oruk.OrganizationFull{Organization: o, Services: []oruk.ServiceSummary{}}
		}
	}
	if out == nil {
		return nil, errAPINotFound
	}
	for _, m := range cat.Find(oruk.Filter{OrganizationID: id}) {
		out.Services = append(out.Services, oruk.Summary(m.Service))
	}
	return out, nil
}

func (s *Server) apiServiceAtLocations(c *fiber.Ctx) (any, error) {
	page, perPage, err := paging(c)
	if err != nil {
		return nil, err
	}
	f, err := filter(c)
	if err != nil {
		return nil, err
	}
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	items := []oruk.ServiceAtLocation{}
	for _, m := range cat.Find(f) {
		sum := oruk.Summary(m.Service)
		for i, sal := range oruk.Locations(m.Service) {
			if f.Near != nil && f.Within > 0 &&
				search.Distance(*f.Near, search.Point{Lat: m.Service.Locations[i].Latitude,
					Lng: m.Service.Locations[i].Longitude}) > f.Within {
				continue // this place is too far, even if another of the service's is near
			}
			sal.Service = &sum
			items = append(items, sal)
		}
	}
	return oruk.NewPage(items, page, perPage), nil
}

func (s *Server) apiServiceAtLocation(c *fiber.Ctx) (any, error) {
	id := strings.ToLower(c.Params("id"))
	cat, err := s.catalogue(c.UserContext())
	if err != nil {
		return nil, err
	}
	for _, sv := range cat.Services {
		for _, sal := range oruk.Locations(sv) {
			if sal.ID == id {
				sum := oruk.Summary(sv)
				sal.Service = &sum
				return sal, nil
			}
		}
	}
	return nil, errAPINotFound
}
