package oruk

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"

	"familyhelp/directory"
)

// serviceCategories is the DfE family hubs ServiceCategory taxonomy (names and parents),
// transcribed from DFE-Digital/fh-services, MIT licence, © Crown Copyright (DfE) 2023.
//
//go:embed service_categories.csv
var serviceCategories []byte

// The two taxonomies every service is classified by.
var (
	NeedsTaxonomy = Taxonomy{ID: ID("taxonomy", "needs"), Name: "Family Help needs",
		Description: "The kinds of help families search this directory by.", Version: "1"}
	CategoryTaxonomy = Taxonomy{ID: ID("taxonomy", "dfe-service-category"), Name: "DfE family hubs service categories",
		Description: "The Department for Education family hubs ServiceCategory taxonomy.",
		URI:         "https://github.com/DFE-Digital/fh-services", Version: "2025-03-26"}
)

// Taxonomies lists both taxonomies with their terms, needs first.
var Taxonomies = mustTaxonomies()

func mustTaxonomies() []TaxonomyFull {
	cats, err := categoryTerms()
	if err != nil {
		// The CSV is embedded: a broken one is a broken build, found by the first test.
		panic(err)
	}
	needs := TaxonomyFull{Taxonomy: NeedsTaxonomy}
	for _, n := range directory.Needs {
		needs.TaxonomyTerms = append(needs.TaxonomyTerms, TaxonomyTerm{ID: NeedTermID(n.Slug), Code: string(n.Slug),
			Name: n.Label, Description: n.Hint, Taxonomy: NeedsTaxonomy.Name, TaxonomyID: NeedsTaxonomy.ID})
	}
	return []TaxonomyFull{needs, {Taxonomy: CategoryTaxonomy, TaxonomyTerms: cats}}
}

// NeedTermID is the id of a need's taxonomy term.
func NeedTermID(n directory.Need) string { return ID("taxonomy_term", "need", string(n)) }

// CategoryTermID is the id of a DfE service category's term, by its name.
func CategoryTermID(name string) string { return ID("taxonomy_term", "dfe", name) }

func categoryTerms() ([]TaxonomyTerm, error) {
	rows, err := csv.NewReader(bytes.NewReader(serviceCategories)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read service categories: %w", err)
	}
	var out []TaxonomyTerm
	for i, r := range rows {
		if i == 0 || len(r) < 2 {
			continue // header
		}
		t := TaxonomyTerm{ID: CategoryTermID(r[0]), Code: slug(r[0]), Name: r[0], Description: r[0],
			Taxonomy: CategoryTaxonomy.Name, TaxonomyID: CategoryTaxonomy.ID}
		if r[1] != "" {
			t.ParentID = CategoryTermID(r[1])
			t.Description = r[1] + ": " + r[0]
		}
		out = append(out, t)
	}
	return out, nil
}

// slug makes a code from a category name: lower case words joined by hyphens.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// Term finds a taxonomy term by id.
func Term(id string) (TaxonomyTerm, bool) {
	for _, tx := range Taxonomies {
		for _, t := range tx.TaxonomyTerms {
			if t.ID == id {
				return t, true
			}
		}
	}
	return TaxonomyTerm{}, false
}

// Terms lists every term of both taxonomies.
func Terms() []TaxonomyTerm {
	var out []TaxonomyTerm
	for _, tx := range Taxonomies {
		out = append(out, tx.TaxonomyTerms...)
	}
	return out
}
