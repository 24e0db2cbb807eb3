package meili

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/meilisearch/meilisearch-go"

	"familyhelp/search"
)

// Defaults shared with the embedded engine (bleveindex), so that a deployment behaves the same
// whichever engine it runs.
const (
	defaultLimit        = 10
	defaultRadiusMetres = 40000
)

func limitOf(q search.Query) int {
	if q.Limit <= 0 {
		return defaultLimit
	}
	return q.Limit
}

// searchRequest turns a query into a Meilisearch search, and says how many leading hits of
// the page it asks for to drop (see window).
func searchRequest(q search.Query) (*meilisearch.SearchRequest, int) {
	text := trimStopWords(q.Text)
	page, size, skip := window(max(q.Offset, 0), limitOf(q))
	req := &meilisearch.SearchRequest{
		Query:                text,
		AttributesToRetrieve: []string{"service_id"},
		// "Every word must match" (or the phrase its synonym stands for): the default, "last",
		// would also return services matching only the first words, so "alcohol course" would
		// list every alcohol service.
		MatchingStrategy: meilisearch.All,
		// Page mode, because only it counts hits exhaustively: estimatedTotalHits in
		// offset/limit mode can change from one page to the next, and the page count that
		// families see is built from Total.
		Page:        int64(page),
		HitsPerPage: new(int64(size)),
	}
	if f := filter(q); f != "" {
		req.Filter = f
	}
	switch {
	case q.Near != nil:
		req.Sort = []string{"_geoPoint(" + number(q.Near.Lat) + "," + number(q.Near.Lng) + "):asc"}
	case strings.TrimSpace(text) == "":
		// Nothing ranks one listing above another, so give a stable order that a person can
		// page through and find their place in again.
		req.Sort = []string{"name:asc"}
	}
	return req, skip
}

// window maps an offset and limit onto Meilisearch's pages, which start at multiples of the
// page size: it finds the smallest page size that holds [offset, offset+limit) in one page,
// and how many hits at the start of that page come before offset. Callers normally page by
// their page size, when this is simply page offset/limit+1 of size limit.
func window(offset, limit int) (page, size, skip int) {
	for size = limit; ; size++ {
		p := offset / size
		if (p+1)*size >= offset+limit {
			return p + 1, size, offset - p*size
		}
	}
}

// filter builds the filter expression. Every value a person can influence is quoted, so that
// none can end the string and add conditions of its own.
func filter(q search.Query) string {
	var and []string
	if len(q.Needs) > 0 {
		and = append(and, "needs IN "+quoteList(q.Needs))
	}
	if len(q.Delivery) > 0 {
		and = append(and, "delivery IN "+quoteList(q.Delivery))
	}
	if q.Age != nil {
		age := strconv.Itoa(*q.Age)
		and = append(and, "min_age <= "+age+" AND max_age >= "+age)
	}
	if q.FreeOnly {
		and = append(and, "free = true")
	}
	if q.Near != nil {
		radius := q.RadiusMetres
		if radius <= 0 {
			radius = defaultRadiusMetres
		}
		and = append(and, "(_geoRadius("+number(q.Near.Lat)+", "+number(q.Near.Lng)+", "+number(radius)+") OR remote = true)")
	}
	return strings.Join(and, " AND ")
}

func quoteList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return "[" + strings.Join(quoted, ",") + "]"
}

// quote writes a filter string. Meilisearch's filter parser treats a backslash as escaping the
// next character, so a value can only close its quotes through an unescaped quote; escaping
// both backslashes and quotes leaves it none, and newer servers unescape both back.
func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

func number(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// trimStopWords drops stop words from the end of what was typed. Meilisearch drops stop words
// itself, except the last word of a query, which it keeps as the prefix of a word still being
// typed; with every word required, "my partner hits me" would then need a word starting with
// "me". Searches here are submitted whole, so the last word is finished too.
func trimStopWords(text string) string {
	for {
		end := len(strings.TrimRightFunc(text, notWordRune))
		start := strings.LastIndexFunc(text[:end], notWordRune) + 1
		if end == 0 || !isStopWord[search.Normalise(text[start:end])] {
			return text[:end]
		}
		text = text[:start]
	}
}

func notWordRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
}
