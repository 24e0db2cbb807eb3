package views

import (
	"strings"
	"testing"
)

// Every value written by the Go fragments is escaped, as html/template would.
func TestFragmentsEscape(t *testing.T) {
	evil := `<script>alert("x")</script>&'`
	out := string(resultsHTML([]Result{{ID: evil, Name: evil, Organisation: evil, Summary: evil, Distance: evil, Town: evil, Ways: evil, CostAndAges: evil}})) +
		string(checkboxesHTML(evil, []Option{{Value: evil, Label: evil}})) +
		string(paginationHTML(Pagination{Prev: evil, Next: evil, Items: []PageLink{{Number: 1, URL: evil}}})) +
		string(chipsHTML([]Chip{{Label: evil, RemoveURL: evil}}))
	if strings.Contains(out, "<script>") || strings.Contains(out, `"x"`) || strings.Contains(out, "&'") {
		t.Errorf("unescaped output: %s", out)
	}
	if got := escape("plain text"); got != "plain text" {
		t.Errorf("escape changed plain text: %q", got)
	}
}
