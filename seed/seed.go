// Package seed fills an empty directory: the national helplines every council lists, sample
// local services for the Wolverhampton and Walsall area (marked as sample data), and
// deterministic synthetic services for benchmarks.
package seed

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"familyhelp/directory"
)

//go:embed national-helplines.csv
var helplinesCSV []byte

//go:embed sample_services.json
var sampleJSON []byte

// helplinesChecked is when the helpline numbers in national-helplines.csv were last checked
// against the organisations' own published numbers.
var helplinesChecked = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// Slug turns a name into an id: "Men's Advice Line" → "mens-advice-line".
func Slug(s string) string {
	s = strings.ReplaceAll(strings.ToLower(s), "'", "")
	return strings.Trim(nonWord.ReplaceAllString(s, "-"), "-")
}

var textNumber = regexp.MustCompile(`\d{4,}`)

// Helplines returns the national helplines.
func Helplines() ([]*directory.Service, error) {
	rows, err := csv.NewReader(bytes.NewReader(helplinesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read helplines: %w", err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("read helplines: no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, want := range []string{"name", "organisation", "phone", "text", "needs", "who_for", "website"} {
		if _, ok := col[want]; !ok {
			return nil, fmt.Errorf("read helplines: no %q column", want)
		}
	}
	var out []*directory.Service
	for _, r := range rows[1:] {
		get := func(k string) string { return strings.TrimSpace(r[col[k]]) }
		s := &directory.Service{
			ID:           "national-" + Slug(get("name")),
			Organisation: directory.Organisation{ID: "org-" + Slug(get("organisation")), Name: get("organisation")},
			Name:         get("name"),
			Summary:      "A national helpline for " + get("who_for") + ".",
			Description: fmt.Sprintf("%s is run by %s. It is for %s.\n\nIt is a national service: you can use it wherever you live.",
				get("name"), get("organisation"), get("who_for")),
			Status:          directory.Active,
			MaxAge:          directory.MaxAgeLimit,
			Free:            true,
			National:        true,
			Delivery:        []directory.Delivery{directory.Phone},
			SelfReferral:    true,
			HowToRefer:      "You do not need to be referred. Contact them yourself.",
			LastReviewed:    helplinesChecked,
			UpdatedAt:       helplinesChecked,
			AreaDescription: "Anywhere in the UK",
		}
		for _, n := range strings.Fields(strings.ReplaceAll(get("needs"), ";", " ")) {
			if !directory.ValidNeed(n) {
				return nil, fmt.Errorf("read helplines: %s: unknown need %q", s.Name, n)
			}
			s.Needs = append(s.Needs, directory.Need(n))
		}
		s.Categories = directory.CategoriesFor(s.Needs)
		if p := get("phone"); p != "" {
			s.Phones = append(s.Phones, directory.PhoneNumber{Number: p, Type: "voice"})
		}
		if t := get("text"); t != "" {
			s.Phones = append(s.Phones, directory.PhoneNumber{Number: textNumber.FindString(t), Type: "text", Description: t})
		}
		if w := get("website"); w != "" {
			s.Website = "https://" + strings.TrimPrefix(w, "https://")
			s.Delivery = append(s.Delivery, directory.Online)
		}
		out = append(out, s)
	}
	return out, nil
}

// Sample returns the sample local services, marked as sample data.
func Sample() ([]*directory.Service, error) {
	var out []*directory.Service
	if err := json.Unmarshal(sampleJSON, &out); err != nil {
		return nil, fmt.Errorf("read sample services: %w", err)
	}
	for _, s := range out {
		s.Sample = true
		if s.Status == "" {
			s.Status = directory.Active
		}
		if s.UpdatedAt.IsZero() {
			s.UpdatedAt = s.LastReviewed
		}
	}
	return out, nil
}

// SampleModeKey is the setting that is "on" while the directory holds sample data, so that
// every page says so.
const SampleModeKey = "sample_mode"

// Settings is what seeding needs of the store beyond directory.Store.
type Settings interface {
	SetSetting(ctx context.Context, key, value string) error
}

// Defaults seeds the helplines and sample services and turns sample mode on.
func Defaults(ctx context.Context, store directory.Store, settings Settings) (int, error) {
	help, err := Helplines()
	if err != nil {
		return 0, err
	}
	sample, err := Sample()
	if err != nil {
		return 0, err
	}
	all := append(help, sample...)
	if err := store.SaveServices(ctx, all...); err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	if err := settings.SetSetting(ctx, SampleModeKey, "on"); err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	return len(all), nil
}
