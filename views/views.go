// Package views holds the HTML templates (embedded) and the engine that renders them: one
// html/template set per page (layout + partials + that page), so pages never clash over a
// block name and rendering takes no lock.
package views

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"familyhelp/directory"
	"familyhelp/static"
)

//go:embed templates
var files embed.FS

// Base is what every page's data carries for the layout, as a field named Base (embedding
// it does that): the layout reads it as .Base, which costs less than finding promoted fields.
type Base struct {
	// Title is the page title without the site name. On sensitive pages it is neutral, since
	// it shows in browser history and tabs.
	Title string
	// HasErrors prefixes the title with "Error:", as GOV.UK pages do.
	HasErrors  bool
	SampleMode bool
	// NoIndex asks search engines not to index the page (search results).
	NoIndex bool
	Assets  Assets
}

// Assets are the tags that link the stylesheet, icon and script every page uses.
type Assets struct{ Head, Script template.HTML }

// SiteAssets are written once: in a template each URL would pass three escapers, by
// reflection, on every page. The paths are our own hashed file names.
var SiteAssets = Assets{
	Head: template.HTML(`<link rel="icon" href="` + static.Path("favicon.svg") + `" type="image/svg+xml">` +
		`<link rel="stylesheet" href="` + static.Path("app.css") + `">`),
	Script: template.HTML(`<script type="module" src="` + static.Path("app.js") + `"></script>`),
}

// Engine renders pages. It implements fiber.Views.
type Engine struct {
	pages map[string]*template.Template
}

// New parses every page.
func New() (*Engine, error) {
	e := &Engine{pages: map[string]*template.Template{}}
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html", p)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		e.pages[name] = t
	}
	return e, nil
}

// Load is part of fiber.Views; templates are parsed in New.
func (e *Engine) Load() error { return nil }

// Render writes the named page.
func (e *Engine) Render(w io.Writer, name string, data any, _ ...string) error {
	t, ok := e.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	return t.ExecuteTemplate(w, "layout", data)
}

var funcs = template.FuncMap{
	"tel":        telURL,
	"sms":        smsURL,
	"paragraphs": func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n\n") },
	"weekday":    func(d time.Weekday) string { return d.String() },
	"date":       func(t time.Time) string { return t.Format("2 January 2006") },
	"clock":      clock,
	"needs":      func() []directory.NeedInfo { return directory.Needs },
	"join":       strings.Join,
	"results":    resultsHTML,
	"checkboxes": checkboxesHTML,
	"pagination": paginationHTML,
	"chips":      chipsHTML,
	"searchForm": searchFormHTML,
	"add":        func(a, b int) int { return a + b },
	"stale": func(t time.Time) bool {
		return t.IsZero() || time.Since(t) > 183*24*time.Hour
	},
}

// telURL makes a tap-to-call link; html/template would refuse a tel: URL from a plain string.
func telURL(number string) template.URL {
	return template.URL("tel:" + dialable(number))
}

func smsURL(number string) template.URL {
	return template.URL("sms:" + dialable(number))
}

// dialable keeps only what a phone dials, so nothing else can reach the href.
func dialable(number string) string {
	var b strings.Builder
	for i, r := range number {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clock writes "09:00" as "9am" and "13:30" as "1:30pm", as GOV.UK style does.
func clock(hhmm string) string {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		return hhmm
	}
	switch {
	case t.Hour() == 12 && t.Minute() == 0:
		return "midday"
	case t.Hour() == 0 && t.Minute() == 0:
		return "midnight"
	case t.Minute() == 0:
		return strings.ToLower(t.Format("3PM"))
	}
	return strings.ToLower(t.Format("3:04PM"))
}

// FieldError is one problem with what a person entered, for the error summary and the field.
type FieldError struct {
	Field   string // the id of the input, for the summary's link
	Message string
}
