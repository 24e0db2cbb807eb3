package handlers

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"familyhelp/directory"
	"familyhelp/postcode"
	"familyhelp/search"
	"familyhelp/static"
	"familyhelp/views"
)

var staticLookup = static.Lookup

// searchForm is the search as the person typed it, kept so every page gives it back.
type searchForm struct {
	Q, Postcode, Age string
	Needs            []string
	Delivery         []string
	Free             bool
	PostcodeError    string
	AgeError         string
}

func options[T ~string](values []T, label func(T) string, checked []string) []views.Option {
	out := make([]views.Option, len(values))
	for i, v := range values {
		out[i] = views.Option{Value: string(v), Label: label(v), Checked: slices.Contains(checked, string(v))}
	}
	return out
}

func needSlugs() []directory.Need {
	out := make([]directory.Need, len(directory.Needs))
	for i, n := range directory.Needs {
		out[i] = n.Slug
	}
	return out
}

var allNeeds = needSlugs()

func resultViews(results []directory.Result) []views.Result {
	out := make([]views.Result, len(results))
	for i, r := range results {
		s := r.Service
		v := views.Result{ID: s.ID, Name: s.Name, Organisation: s.Organisation.Name, Summary: s.Summary,
			Sample: s.Sample, National: s.National}
		if r.HasDistance {
			v.Distance = r.DistanceText()
			if r.Nearest != nil {
				v.Town = r.Nearest.Town
			}
		}
		v.Ways = views.WaysText(s.Delivery)
		cost := "There may be a cost"
		if s.Free {
			cost = "Free"
		}
		v.CostAndAges = cost + " · " + s.AgeText()
		out[i] = v
	}
	return out
}

var needTiles = func() []views.NeedTile {
	out := make([]views.NeedTile, len(directory.Needs))
	for i, n := range directory.Needs {
		out[i] = views.NeedTile{Slug: string(n.Slug), Label: n.Label, Hint: n.Hint}
	}
	return out
}()

func (s *Server) home(c *fiber.Ctx) error {
	return render(c, views.HomePage(views.Home{Base: s.base(c, "Find help for your family"), Needs: needTiles}))
}

const (
	maxQueryRunes = 200
	maxChildAge   = 25
)

// cleanText keeps what a person typed but drops what no search needs: invalid UTF-8, control
// characters, and anything past a sane length.
func cleanText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit])
	}
	return s
}

// multi reads a repeated query parameter, keeping only known values, once each.
func multi(c *fiber.Ctx, key string, valid func(string) bool) []string {
	var out []string
	for _, v := range c.Context().QueryArgs().PeekMulti(key) {
		s := string(v)
		if valid(s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func readSearchForm(c *fiber.Ctx) searchForm {
	free := c.Query("free")
	return searchForm{
		Q:        cleanText(c.Query("q"), maxQueryRunes),
		Postcode: cleanText(c.Query("postcode"), 20),
		Age:      cleanText(c.Query("age"), 5),
		Needs:    multi(c, "need", directory.ValidNeed),
		Delivery: multi(c, "delivery", directory.ValidDelivery),
		Free:     free == "yes" || free == "true" || free == "1" || free == "on",
	}
}

// values writes the form back as a query string, for pagination and "remove filter" links.
func (f searchForm) values() url.Values {
	v := url.Values{}
	if f.Q != "" {
		v.Set("q", f.Q)
	}
	if f.Postcode != "" {
		v.Set("postcode", f.Postcode)
	}
	for _, n := range f.Needs {
		v.Add("need", n)
	}
	if f.Age != "" {
		v.Set("age", f.Age)
	}
	for _, d := range f.Delivery {
		v.Add("delivery", d)
	}
	if f.Free {
		v.Set("free", "yes")
	}
	return v
}

func searchURL(v url.Values) string {
	if len(v) == 0 {
		return "/search"
	}
	return "/search?" + v.Encode()
}

func (s *Server) search(c *fiber.Ctx) error {
	form := readSearchForm(c)
	p := views.Search{Base: s.base(c, "Search")}
	p.Base.NoIndex = true
	q := directory.Query{Text: form.Q, FreeOnly: form.Free}
	for _, n := range form.Needs {
		q.Needs = append(q.Needs, directory.Need(n))
	}
	for _, d := range form.Delivery {
		q.Delivery = append(q.Delivery, directory.Delivery(d))
	}
	if form.Postcode != "" {
		place, err := postcode.Lookup(form.Postcode)
		var perr postcode.Error
		switch {
		case errors.As(err, &perr):
			p.SearchForm.PostcodeError = string(perr)
			p.Errors = append(p.Errors, views.FieldError{Field: "postcode", Message: string(perr)})
		case err != nil:
			return err
		default:
			q.Near = &directory.Place{Label: place.Postcode, Point: search.Point{Lat: place.Lat, Lng: place.Lng}}
			p.Near = place.Postcode
		}
	}
	if form.Age != "" {
		age, err := strconv.Atoi(form.Age)
		if err != nil || age < 0 || age > maxChildAge {
			p.SearchForm.AgeError = "Enter an age from 0 to 25, like 4. Use 0 for a baby under 1"
			p.Errors = append(p.Errors, views.FieldError{Field: "age", Message: p.SearchForm.AgeError})
		} else {
			q.Age = &age
		}
	}
	f := &p.SearchForm
	f.Q, f.Postcode, f.Age, f.Free = form.Q, form.Postcode, form.Age, form.Free
	f.Compact, f.Filters = true, true
	// Open filters would push the results a screen down on a phone; the active ones are listed
	// above the results instead. Only a filter with a problem must be seen at once.
	f.FiltersOpen = f.AgeError != ""
	f.Needs = options(allNeeds, directory.Need.Label, form.Needs)
	f.Ways = options(directory.Deliveries, directory.Delivery.Label, form.Delivery)
	if len(p.Errors) > 0 {
		p.Base.HasErrors = true
		return render(c, views.SearchPage(p))
	}
	if n, err := strconv.Atoi(c.Query("page")); err == nil && n > 0 {
		q.Page = min(n, 10000)
	}

	res, err := s.Directory.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	if q.Page > res.Pages && res.Pages > 0 {
		// Past the last page (an old link, or a hand-edited URL): go to the last one.
		v := form.values()
		v.Set("page", strconv.Itoa(res.Pages))
		return c.Redirect(searchURL(v), fiber.StatusSeeOther)
	}
	p.Searched, p.FromDatabase = true, res.FromDatabase
	p.Results = resultViews(res.Results)
	switch res.Total {
	case 0:
		p.Heading = "No services found"
	case 1:
		p.Heading = "1 service"
	default:
		p.Heading = strconv.Itoa(res.Total) + " services"
	}
	if p.Near != "" {
		p.Heading += " near " + p.Near
	}
	p.Chips = chips(form)
	p.Pagination = paginate(form, res.Page, res.Pages)
	return render(c, views.SearchPage(p))
}

func chips(f searchForm) []views.Chip {
	var out []views.Chip
	add := func(label string, change func(*searchForm)) {
		g := f
		g.Needs = slices.Clone(f.Needs)
		g.Delivery = slices.Clone(f.Delivery)
		change(&g)
		out = append(out, views.Chip{Label: label, RemoveURL: searchURL(g.values())})
	}
	for _, n := range f.Needs {
		add(directory.Need(n).Label(), func(g *searchForm) {
			g.Needs = slices.DeleteFunc(g.Needs, func(x string) bool { return x == n })
		})
	}
	if f.Age != "" {
		add("age "+f.Age, func(g *searchForm) { g.Age = "" })
	}
	for _, d := range f.Delivery {
		add(strings.ToLower(directory.Delivery(d).Label()), func(g *searchForm) {
			g.Delivery = slices.DeleteFunc(g.Delivery, func(x string) bool { return x == d })
		})
	}
	if f.Free {
		add("free only", func(g *searchForm) { g.Free = false })
	}
	return out
}

// paginate shows the first, last, current and neighbouring pages, with gaps between.
func paginate(f searchForm, current, pages int) views.Pagination {
	if pages <= 1 {
		return views.Pagination{}
	}
	base := searchURL(f.values())
	sep := "&"
	if base == "/search" {
		sep = "?"
	}
	link := func(n int) string {
		if n == 1 {
			return base
		}
		return base + sep + "page=" + strconv.Itoa(n)
	}
	var p views.Pagination
	if current > 1 {
		p.Prev = link(current - 1)
	}
	if current < pages {
		p.Next = link(current + 1)
	}
	gap := false
	for n := 1; n <= pages; n++ {
		if n == 1 || n == pages || (n >= current-1 && n <= current+1) {
			p.Items = append(p.Items, views.PageLink{Number: n, URL: link(n), Current: n == current})
			gap = false
		} else if !gap {
			p.Items = append(p.Items, views.PageLink{Ellipsis: true})
			gap = true
		}
	}
	return p
}

var serviceID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (s *Server) service(c *fiber.Ctx) error {
	id := c.Params("id")
	if !serviceID.MatchString(id) {
		return fiber.ErrNotFound
	}
	svc, err := s.Directory.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	// A neutral title: a tab or history entry must not say "Domestic abuse outreach".
	b := s.base(c, "Service details")
	b.BackLink = "/search"
	return render(c, views.ServicePage(views.ServiceDetails{Base: b, Service: svc}))
}

func (s *Server) page(page func(views.Base) templ.Component, title string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return render(c, page(s.base(c, title)))
	}
}

func (s *Server) dataSources(c *fiber.Ctx) error {
	return render(c, views.DataSourcesPage(views.DataSources{
		Base:        s.base(c, "Where our data comes from"),
		Attribution: strings.Split(postcode.Attribution, "\n"),
	}))
}
