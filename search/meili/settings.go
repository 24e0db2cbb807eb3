package meili

import (
	"slices"
	"strings"

	"github.com/meilisearch/meilisearch-go"

	"familyhelp/search"
)

// maxTotalHits is far above the number of services a council lists, so that Total is exact
// and every page can be reached; Meilisearch's default of 1000 would cap both.
const maxTotalHits = 100000

// stopWords are the words a family writes around what they need ("I need help with my
// drinking"). Meilisearch leaves them out of documents and queries, which is what lets every
// other word be required. None may be a word of a synonym or of its service phrase, except
// where Meilisearch's own handling is wanted: "hits me" becomes "hits".
var stopWords = []string{
	"a", "about", "am", "an", "and", "any", "anyone", "are", "at", "be", "been", "by",
	"can", "could", "do", "does", "don't", "dont", "for", "from", "get", "got", "has", "have",
	"he", "help", "her", "him", "his", "how", "i", "i'm", "i've", "im", "in", "into", "is",
	"it", "its", "ive", "just", "me", "my", "myself", "need", "needed", "of", "on", "or",
	"our", "please", "she", "so", "some", "someone", "that", "the", "their", "them", "there",
	"they", "this", "to", "us", "want", "was", "we", "what", "where", "who", "with", "would",
	"you", "your",
}

var isStopWord = func() map[string]bool {
	m := make(map[string]bool, len(stopWords))
	for _, w := range stopWords {
		m[search.Normalise(w)] = true
	}
	return m
}()

// contractions are written with an apostrophe on most phones. search.Synonyms keys drop it;
// the apostrophe form is sent too, because Meilisearch tokenises a synonym key exactly as it
// tokenises a query, whatever it makes of the apostrophe.
var contractions = map[string]string{
	"cant": "can't", "dont": "don't", "wont": "won't", "isnt": "isn't", "im": "i'm",
	"ive": "i've", "couldnt": "couldn't", "didnt": "didn't", "doesnt": "doesn't",
}

// synonyms turns search.Synonyms into Meilisearch's one-way synonyms (each key also finds its
// phrases, not the other way round).
func synonyms() map[string][]string {
	out := make(map[string][]string, len(search.Synonyms))
	for key, phrases := range search.Synonyms {
		var values []string
		for _, p := range phrases {
			values = append(values, contentRuns(p)...)
		}
		for _, k := range keyForms(search.Normalise(key)) {
			out[k] = mergeUnique(out[k], values)
		}
	}
	return out
}

// keyForms is the key and, if it holds a contraction, the same key with a straight and with a
// curly apostrophe.
func keyForms(key string) []string {
	words := strings.Fields(key)
	straight := slices.Clone(words)
	changed := false
	for i, w := range words {
		if c, ok := contractions[w]; ok {
			straight[i] = c
			changed = true
		}
	}
	if !changed {
		return []string{key}
	}
	s := strings.Join(straight, " ")
	return []string{key, s, strings.ReplaceAll(s, "'", "’")}
}

// contentRuns splits a service phrase at its stop words. Meilisearch matches a synonym as a
// phrase of adjacent words but drops stop words from it, while a stop word in a document still
// takes up a place: "speech and language" would become the phrase "speech language", which no
// document contains. Its parts, "speech" and "language", still find it.
func contentRuns(phrase string) []string {
	var runs []string
	var run []string
	for _, w := range strings.Fields(search.Normalise(phrase)) {
		if isStopWord[w] {
			if len(run) > 0 {
				runs = append(runs, strings.Join(run, " "))
			}
			run = nil
			continue
		}
		run = append(run, w)
	}
	if len(run) > 0 {
		runs = append(runs, strings.Join(run, " "))
	}
	return runs
}

func mergeUnique(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

// settings are the index settings search depends on. They are sent whole on every start:
// Meilisearch compares them with what it has and reindexes only when they differ.
func settings() *meilisearch.Settings {
	return &meilisearch.Settings{
		// Sort first, so that a postcode search lists the nearest first even when words were
		// typed too; without a sort in the query it decides nothing and relevance rules.
		RankingRules: []string{"sort", "words", "typo", "proximity", "attribute", "exactness"},
		// Most telling first: the attribute rule prefers a match in an earlier field.
		SearchableAttributes: []string{"name", "terms", "summary", "organisation", "description", "towns"},
		// id and service_id are filtered on only when places are removed (see Upsert).
		FilterableAttributes: []string{"needs", "categories", "min_age", "max_age", "free", "delivery", "remote", "_geo", "id", "service_id"},
		// One hit per service, its best place: the nearest in a postcode search.
		DistinctAttribute:  new("service_id"),
		SortableAttributes: []string{"_geo", "name"},
		StopWords:          slices.Clone(stopWords),
		Synonyms:           synonyms(),
		// Enabled has no omitempty in the SDK: a TypoTolerance without it turns typos off.
		// The lists are empty rather than nil so that they are sent as [] (none), not null.
		TypoTolerance: &meilisearch.TypoTolerance{
			Enabled:             true,
			MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 5, TwoTypos: 9},
			DisableOnWords:      []string{},
			DisableOnAttributes: []string{},
		},
		Pagination: &meilisearch.Pagination{MaxTotalHits: maxTotalHits},
	}
}
