package views

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// The results page is the busiest page. html/template calls its escapers by reflection, which
// costs about half a microsecond a value; a page of results and filters has hundreds. These
// fragments are written here instead, every value escaped with html.EscapeString, and the
// page template places them.

// escape is html.EscapeString with a fast path: most text has nothing to escape.
func escape(s string) string {
	if !strings.ContainsAny(s, `<>&'"`) {
		return s
	}
	return html.EscapeString(s)
}

// Result is one search result with its facts already in words.
type Result struct {
	ID, Name, Organisation, Summary string
	Sample, National                bool
	Distance, Town                  string
	Ways, CostAndAges               string
}

// Option is one checkbox in a filter.
type Option struct {
	Value, Label string
	Checked      bool
}

func resultsHTML(results []Result) template.HTML {
	var b strings.Builder
	b.Grow(600 * len(results))
	e := escape
	b.WriteString(`<ol class="fh-results" aria-labelledby="results-heading">`)
	for _, r := range results {
		b.WriteString(`<li class="fh-result"><h3 class="govuk-heading-s fh-result__title"><a class="govuk-link" href="/services/`)
		b.WriteString(e(r.ID))
		b.WriteString(`">`)
		b.WriteString(e(r.Name))
		b.WriteString(`</a>`)
		if r.Sample {
			b.WriteString(` <strong class="govuk-tag govuk-tag--grey fh-sample-tag">Sample</strong>`)
		}
		b.WriteString(`</h3><p class="govuk-body-s fh-result__org">`)
		b.WriteString(e(r.Organisation))
		b.WriteString(`</p><p class="govuk-body fh-result__summary">`)
		b.WriteString(e(r.Summary))
		b.WriteString(`</p><ul class="govuk-list govuk-body-s fh-result__facts">`)
		if r.Distance != "" {
			b.WriteString(`<li class="fh-result__distance"><strong>`)
			b.WriteString(e(r.Distance))
			b.WriteString(`</strong>`)
			if r.Town != "" {
				b.WriteString(", ")
				b.WriteString(e(r.Town))
			}
			b.WriteString(`</li>`)
		}
		if r.National {
			b.WriteString(`<li>National helpline</li>`)
		}
		b.WriteString(`<li>`)
		b.WriteString(e(r.Ways))
		b.WriteString(`</li><li>`)
		b.WriteString(e(r.CostAndAges))
		b.WriteString(`</li></ul></li>`)
	}
	b.WriteString(`</ol>`)
	return template.HTML(b.String())
}

// checkboxesHTML writes GOV.UK small checkboxes; ids are name-value, so values must be slugs.
func checkboxesHTML(name string, opts []Option) template.HTML {
	var b strings.Builder
	b.Grow(400 * len(opts))
	e := escape
	b.WriteString(`<div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes">`)
	for _, o := range opts {
		id := e(name + "-" + o.Value)
		b.WriteString(`<div class="govuk-checkboxes__item"><input class="govuk-checkboxes__input" id="`)
		b.WriteString(id)
		b.WriteString(`" name="`)
		b.WriteString(e(name))
		b.WriteString(`" type="checkbox" value="`)
		b.WriteString(e(o.Value))
		b.WriteString(`"`)
		if o.Checked {
			b.WriteString(` checked`)
		}
		b.WriteString(`><label class="govuk-label govuk-checkboxes__label" for="`)
		b.WriteString(id)
		b.WriteString(`">`)
		b.WriteString(e(o.Label))
		b.WriteString(`</label></div>`)
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

// Pagination is the GOV.UK pagination for a list of pages.
type Pagination struct {
	Prev, Next string // URLs, empty on the first and last page
	Items      []PageLink
}

// PageLink is one numbered page, or a gap.
type PageLink struct {
	Number   int
	URL      string
	Current  bool
	Ellipsis bool
}

const (
	prevArrow = `<svg class="govuk-pagination__icon govuk-pagination__icon--prev" xmlns="http://www.w3.org/2000/svg" height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m6.5938-0.0078125-6.7266 6.7266 6.7441 6.4062 1.377-1.449-4.1856-3.9768h12.896v-2h-12.984l4.2931-4.293-1.414-1.414z"></path></svg>`
	nextArrow = `<svg class="govuk-pagination__icon govuk-pagination__icon--next" xmlns="http://www.w3.org/2000/svg" height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m8.107-0.0078125-1.4136 1.414 4.2926 4.293h-12.986v2h12.896l-4.1855 3.9766 1.377 1.4492 6.7441-6.4062-6.7246-6.7266z"></path></svg>`
)

func paginationHTML(p Pagination) template.HTML {
	if len(p.Items) == 0 {
		return ""
	}
	var b strings.Builder
	e := escape
	b.WriteString(`<nav class="govuk-pagination" aria-label="Results pages">`)
	if p.Prev != "" {
		b.WriteString(`<div class="govuk-pagination__prev"><a class="govuk-link govuk-pagination__link" href="`)
		b.WriteString(e(p.Prev))
		b.WriteString(`" rel="prev">` + prevArrow + `<span class="govuk-pagination__link-title">Previous<span class="govuk-visually-hidden"> page</span></span></a></div>`)
	}
	b.WriteString(`<ul class="govuk-pagination__list">`)
	for _, it := range p.Items {
		if it.Ellipsis {
			b.WriteString(`<li class="govuk-pagination__item govuk-pagination__item--ellipses">&ctdot;</li>`)
			continue
		}
		n := strconv.Itoa(it.Number)
		if it.Current {
			b.WriteString(`<li class="govuk-pagination__item govuk-pagination__item--current">`)
		} else {
			b.WriteString(`<li class="govuk-pagination__item">`)
		}
		b.WriteString(`<a class="govuk-link govuk-pagination__link" href="`)
		b.WriteString(e(it.URL))
		b.WriteString(`" aria-label="Page ` + n + `"`)
		if it.Current {
			b.WriteString(` aria-current="page"`)
		}
		b.WriteString(`>` + n + `</a></li>`)
	}
	b.WriteString(`</ul>`)
	if p.Next != "" {
		b.WriteString(`<div class="govuk-pagination__next"><a class="govuk-link govuk-pagination__link" href="`)
		b.WriteString(e(p.Next))
		b.WriteString(`" rel="next"><span class="govuk-pagination__link-title">Next<span class="govuk-visually-hidden"> page</span></span>` + nextArrow + `</a></div>`)
	}
	b.WriteString(`</nav>`)
	return template.HTML(b.String())
}

// Chip is an active filter with a link that removes it.
type Chip struct{ Label, RemoveURL string }

func chipsHTML(chips []Chip) template.HTML {
	if len(chips) == 0 {
		return ""
	}
	var b strings.Builder
	e := escape
	b.WriteString(`<p class="govuk-body-s">Showing: `)
	for i, c := range chips {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e(c.Label))
		b.WriteString(` (<a class="govuk-link" href="`)
		b.WriteString(e(c.RemoveURL))
		b.WriteString(`">remove<span class="govuk-visually-hidden"> `)
		b.WriteString(e(c.Label))
		b.WriteString(`</span></a>)`)
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}
