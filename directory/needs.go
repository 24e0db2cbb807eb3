package directory

import (
	"slices"
	"strconv"
)

// Need is a kind of help a family looks for, by its URL slug.
type Need string

// The needs families search by. The slugs are part of the public URL (?need=) and of the data.
const (
	NeedDomesticAbuse Need = "domestic-abuse"
	NeedAddiction     Need = "addiction"
	NeedMentalHealth  Need = "mental-health"
	NeedParenting     Need = "parenting"
	NeedMoney         Need = "money"
	NeedHousing       Need = "housing"
	NeedChildHealth   Need = "child-health"
	NeedSEND          Need = "send"
	NeedChildSafety   Need = "child-safety"
)

// NeedInfo describes a need for people and maps it to the DfE family hubs service categories.
type NeedInfo struct {
	Slug  Need
	Label string
	// Hint is a short line under the tile, in a family's words.
	Hint string
	// Categories are the DfE family hubs ServiceCategory terms that mean this need.
	Categories []string
	// Terms are extra words that describe the need, indexed with every service that has it.
	Terms string
}

// Needs lists every need, in the order the home page shows them.
var Needs = []NeedInfo{
	{NeedDomesticAbuse, "Domestic abuse", "Someone hurts, threatens or controls you",
		[]string{"Domestic abuse"}, "domestic abuse violence"},
	{NeedAddiction, "Drugs and alcohol", "Drinking, drugs or gambling in your family",
		[]string{"Substance misuse (including alcohol and drug)"}, "alcohol drugs substance misuse addiction"},
	{NeedMentalHealth, "Mental health", "Feeling low, anxious or unable to cope",
		[]string{"Mental health, social and emotional support", "Perinatal mental health support (pregnancy to one year post birth)"},
		"mental health wellbeing emotional support"},
	{NeedParenting, "Parenting and family life", "Behaviour, routines, arguments, separating",
		[]string{"Parenting support", "Reducing parental conflict", "Separating and separated parent support", "Intensive targeted family support"},
		"parenting family support"},
	{NeedMoney, "Money and debt", "Bills, benefits, food and debt",
		[]string{"Debt and welfare advice", "Money, benefits and housing"}, "money debt benefits advice"},
	{NeedHousing, "Housing", "Losing your home, repairs, somewhere safe to live",
		[]string{"Money, benefits and housing"}, "housing homeless"},
	{NeedChildHealth, "Children's health and development", "Babies, feeding, speech, growing up healthy",
		[]string{"Health visiting", "Early years language and learning", "Infant feeding support (including breastfeeding)", "Midwife and maternity", "Nutrition and weight management", "Oral health"},
		"child health development early years"},
	{NeedSEND, "Special educational needs (SEND)", "Support for disabled children and their families",
		[]string{"Learning difficulties and disabilities", "Autistic Spectrum Disorder (ASD)", "Groups for parents and carers of children with SEND", "Breaks and respite", "Speech, language and communication needs"},
		"special educational needs disabilities SEND"},
	{NeedChildSafety, "Worried about a child", "A child's safety, bullying or running away",
		[]string{"Bullying and cyber bullying", "Targeted youth support"}, "child safety safeguarding"},
}

// NeedBySlug finds a need's description.
func NeedBySlug(slug string) (NeedInfo, bool) {
	for _, n := range Needs {
		if string(n.Slug) == slug {
			return n, true
		}
	}
	return NeedInfo{}, false
}

// Label is how the need is written for people.
func (n Need) Label() string {
	if info, ok := NeedBySlug(string(n)); ok {
		return info.Label
	}
	return string(n)
}

// ValidNeed reports whether s is a need slug.
func ValidNeed(s string) bool {
	_, ok := NeedBySlug(s)
	return ok
}

// CategoriesFor returns the DfE categories for a set of needs, without repeats.
func CategoriesFor(needs []Need) []string {
	var out []string
	for _, n := range needs {
		info, ok := NeedBySlug(string(n))
		if !ok {
			continue
		}
		for _, c := range info.Categories {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// AgeRangeText says in words which ages a range covers.
func AgeRangeText(min, max int) string {
	switch {
	case min <= 0 && max >= MaxAgeLimit:
		return "All ages"
	case max >= MaxAgeLimit:
		return "Aged " + strconv.Itoa(min) + " and over"
	case min <= 0 && max == 0:
		return "Babies under 1"
	case min <= 0:
		return "Up to " + strconv.Itoa(max) + " years old"
	case min == max:
		return "Aged " + strconv.Itoa(min)
	}
	return "Aged " + strconv.Itoa(min) + " to " + strconv.Itoa(max)
}
