package views

import (
	"bytes"
	"html"
	"html/template"
	"strconv"
	"strings"
	"sync"
)

// The results page is the busiest page. html/template calls its escapers by reflection, which
// costs about half a microsecond a value; a page of results and filters has hundreds. These
// fragments are written here instead, every value escaped with html.EscapeString, and the
// page template places them.

// Fragments are built in pooled buffers, so building one allocates only its final string.
type builder struct{ bytes.Buffer }

var builders = sync.Pool{New: func() any { return new(builder) }}

// build runs write on a pooled buffer and returns what it wrote.
func build(write func(b *builder)) template.HTML {
	b := builders.Get().(*builder)
	b.Reset()
	write(b)
	h := template.HTML(b.String())
	if b.Cap() <= 64<<10 {
		builders.Put(b)
	}
	return h
}

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
	return build(func(b *builder) {
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
	})
}

// checkboxSets keeps each filter's checkboxes as written, by which boxes are ticked: there are
// few combinations, and the results page shows them on every search.
var checkboxSets sync.Map // checkboxKey → template.HTML

type checkboxKey struct {
	name, values, checked string
}

// checkboxesHTML writes GOV.UK small checkboxes; ids are name-value, so values must be slugs.
func checkboxesHTML(name string, opts []Option) template.HTML {
	var values, checked strings.Builder
	for _, o := range opts {
		values.WriteString(o.Value + "\x00" + o.Label + "\x00")
		if o.Checked {
			checked.WriteString(o.Value + "\x00")
		}
	}
	key := checkboxKey{name, values.String(), checked.String()}
	if h, ok := checkboxSets.Load(key); ok {
		return h.(template.HTML)
	}
	h := writeCheckboxes(name, opts)
	checkboxSets.Store(key, h)
	return h
}

func writeCheckboxes(name string, opts []Option) template.HTML {
	return build(func(b *builder) {
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
	})
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
	return build(func(b *builder) {
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
	})
}

// Chip is an active filter with a link that removes it.
type Chip struct{ Label, RemoveURL string }

func chipsHTML(chips []Chip) template.HTML {
	if len(chips) == 0 {
		return ""
	}
	return build(func(b *builder) {
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
	})
}

// SearchForm is the search box, with the filters on the results page.
type SearchForm struct {
	Q, Postcode, Age        string
	Free                    bool
	PostcodeError, AgeError string
	// Compact leaves out the hints, so results start on the first screen of a phone.
	Compact bool
	// Filters adds the filters, open when FiltersOpen.
	Filters     bool
	FiltersOpen bool
	Needs, Ways []Option
}

func errorMessage(b *builder, id, msg string) {
	b.WriteString(`<p id="` + id + `" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> `)
	b.WriteString(escape(msg))
	b.WriteString(`</p>`)
}

func searchFormHTML(f SearchForm) template.HTML {
	return build(func(b *builder) {
		e := escape
		b.WriteString(`<form action="/search" method="get" novalidate class="fh-search-form"><div class="govuk-form-group">` +
			`<label class="govuk-label govuk-label--s" for="q">What do you need help with?</label>`)
		if !f.Compact {
			b.WriteString(`<div id="q-hint" class="govuk-hint">For example, money worries, drinking, or my child&#39;s behaviour</div>`)
		}
		b.WriteString(`<input class="govuk-input" id="q" name="q" type="search" value="`)
		b.WriteString(e(f.Q))
		b.WriteString(`" maxlength="200"`)
		if !f.Compact {
			b.WriteString(` aria-describedby="q-hint"`)
		}
		b.WriteString(` autocomplete="off" spellcheck="true"></div>`)

		b.WriteString(`<div class="govuk-form-group`)
		if f.PostcodeError != "" {
			b.WriteString(` govuk-form-group--error`)
		}
		b.WriteString(`"><label class="govuk-label govuk-label--s" for="postcode">Postcode (optional)</label>`)
		var describedBy []string
		if !f.Compact {
			b.WriteString(`<div id="postcode-hint" class="govuk-hint">To find help near you</div>`)
			describedBy = append(describedBy, "postcode-hint")
		}
		inputClass := "govuk-input govuk-input--width-10"
		if f.PostcodeError != "" {
			errorMessage(b, "postcode-error", f.PostcodeError)
			describedBy = append(describedBy, "postcode-error")
			inputClass += " govuk-input--error"
		}
		b.WriteString(`<input class="` + inputClass + `" id="postcode" name="postcode" type="text" value="`)
		b.WriteString(e(f.Postcode))
		b.WriteString(`" maxlength="12" autocomplete="postal-code" spellcheck="false"`)
		if len(describedBy) > 0 {
			b.WriteString(` aria-describedby="` + strings.Join(describedBy, " ") + `"`)
		}
		b.WriteString(`></div>`)

		if f.Filters {
			b.WriteString(`<details class="govuk-details"`)
			if f.FiltersOpen {
				b.WriteString(` open`)
			}
			b.WriteString(`><summary class="govuk-details__summary"><span class="govuk-details__summary-text">Filter results</span></summary>` +
				`<div class="govuk-details__text fh-filters"><div class="govuk-form-group"><fieldset class="govuk-fieldset">` +
				`<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Help with</legend>`)
			b.WriteString(string(checkboxesHTML("need", f.Needs)))
			b.WriteString(`</fieldset></div><div class="govuk-form-group`)
			if f.AgeError != "" {
				b.WriteString(` govuk-form-group--error`)
			}
			b.WriteString(`"><label class="govuk-label govuk-label--s" for="age">Age of the child or young person</label>` +
				`<div id="age-hint" class="govuk-hint">In years, from 0 to 25. Use 0 for a baby under 1.</div>`)
			ageClass, ageDescribed := "govuk-input govuk-input--width-2", "age-hint"
			if f.AgeError != "" {
				errorMessage(b, "age-error", f.AgeError)
				ageClass += " govuk-input--error"
				ageDescribed += " age-error"
			}
			b.WriteString(`<input class="` + ageClass + `" id="age" name="age" type="text" inputmode="numeric" value="`)
			b.WriteString(e(f.Age))
			b.WriteString(`" maxlength="3" aria-describedby="` + ageDescribed + `"></div>` +
				`<div class="govuk-form-group"><fieldset class="govuk-fieldset">` +
				`<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">How you get help</legend>`)
			b.WriteString(string(checkboxesHTML("delivery", f.Ways)))
			b.WriteString(`</fieldset></div><div class="govuk-form-group">`)
			b.WriteString(`<div class="govuk-checkboxes govuk-checkboxes--small" data-module="govuk-checkboxes"><div class="govuk-checkboxes__item">` +
				`<input class="govuk-checkboxes__input" id="free" name="free" type="checkbox" value="yes"`)
			if f.Free {
				b.WriteString(` checked`)
			}
			b.WriteString(`><label class="govuk-label govuk-checkboxes__label" for="free">Free services only</label></div></div>` +
				`</div></div></details>`)
		}
		b.WriteString(`<button type="submit" class="govuk-button" data-module="govuk-button">Search</button></form>`)
	})
}
