package search

import (
	"strings"
	"unicode"
)

// Synonyms maps the words families use to the words services use. Keys are lower case, one to
// three words (Meilisearch matches synonyms on word n-grams of up to three words); values are
// phrases that a service about the same thing would contain. Every engine must honour them.
var Synonyms = map[string][]string{
	"drink":             {"alcohol"},
	"drinking":          {"alcohol"},
	"booze":             {"alcohol"},
	"alcoholic":         {"alcohol"},
	"drunk":             {"alcohol"},
	"drugs":             {"substance misuse"},
	"drug":              {"substance misuse"},
	"cannabis":          {"substance misuse"},
	"weed":              {"substance misuse"},
	"cocaine":           {"substance misuse"},
	"heroin":            {"substance misuse"},
	"addiction":         {"substance misuse", "alcohol"},
	"addicted":          {"substance misuse", "alcohol"},
	"gambling":          {"gambling"},
	"dv":                {"domestic abuse"},
	"da":                {"domestic abuse"},
	"domestic violence": {"domestic abuse"},
	"partner hits":      {"domestic abuse"},
	"hits me":           {"domestic abuse"},
	"hurts me":          {"domestic abuse"},
	"abusive":           {"domestic abuse"},
	"controlling":       {"domestic abuse", "coercive control"},
	"beaten":            {"domestic abuse"},
	"violent":           {"domestic abuse"},
	"refuge":            {"domestic abuse"},
	"depressed":         {"mental health", "depression"},
	"depression":        {"mental health"},
	"anxious":           {"mental health", "anxiety"},
	"anxiety":           {"mental health"},
	"stressed":          {"mental health", "stress"},
	"suicidal":          {"mental health", "suicide"},
	"cant cope":         {"mental health", "family support"},
	"cannot cope":       {"mental health", "family support"},
	"not coping":        {"mental health", "family support"},
	"struggling":        {"mental health", "family support"},
	"lonely":            {"mental health", "isolation"},
	"debt":              {"debt advice", "money"},
	"debts":             {"debt advice", "money"},
	"owe":               {"debt advice"},
	"bills":             {"money", "debt advice"},
	"skint":             {"money", "debt advice"},
	"broke":             {"money", "debt advice"},
	"food bank":         {"food"},
	"foodbank":          {"food"},
	"hungry":            {"food"},
	"benefits":          {"welfare benefits", "money"},
	"universal credit":  {"welfare benefits"},
	"evicted":           {"housing", "homelessness"},
	"eviction":          {"housing", "homelessness"},
	"homeless":          {"housing", "homelessness"},
	"landlord":          {"housing"},
	"rent":              {"housing"},
	"counselling":       {"mental health", "counselling"},
	"therapy":           {"counselling", "mental health"},
	"tantrums":          {"parenting", "behaviour"},
	"behaviour":         {"parenting"},
	"teenager":          {"young people", "parenting"},
	"teen":              {"young people"},
	"divorce":           {"separating parents"},
	"separating":        {"separating parents"},
	"splitting up":      {"separating parents"},
	"arguing":           {"parental conflict"},
	"rows":              {"parental conflict"},
	"autism":            {"autistic spectrum", "send"},
	"autistic":          {"autistic spectrum", "send"},
	"adhd":              {"send", "neurodiversity"},
	"sen":               {"send", "special educational needs"},
	"disabled":          {"send", "disabilities"},
	"disability":        {"send", "disabilities"},
	"pregnant":          {"pregnancy", "maternity"},
	"baby":              {"babies", "infant"},
	"breastfeeding":     {"infant feeding"},
	"speech":            {"speech and language"},
	"talking":           {"speech and language"},
	"bullied":           {"bullying"},
	"bullying":          {"bullying"},
	"smoking":           {"stop smoking"},
	"vaping":            {"stop smoking"},
}

// Normalise lower-cases text, drops apostrophes and turns other punctuation into spaces, and
// folds runs of space, so that "Can't  cope!" and "cant cope" read the same.
func Normalise(text string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(text) {
		switch {
		case r == '\'' || r == '’':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// Expand returns the service phrases that the everyday words and phrases in text stand for,
// without repeats, in a stable order.
func Expand(text string) []string {
	words := strings.Fields(Normalise(text))
	var out []string
	seen := map[string]bool{}
	for n := 3; n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			for _, p := range Synonyms[strings.Join(words[i:i+n], " ")] {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}
