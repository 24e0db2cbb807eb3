package referral

import (
	"errors"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"familyhelp/postcode"
)

// FieldError is one answer that needs changing: the form field it belongs to (its HTML name,
// which is also the id the error summary links to) and what to do, in plain English.
type FieldError struct {
	Field   string
	Message string
}

// Errors are a page's problems, in the order of the page's fields.
type Errors []FieldError

// For returns the message for a field, or "".
func (e Errors) For(field string) string {
	for _, fe := range e {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}

func (e Errors) add(field, message string) Errors {
	if e.For(field) != "" {
		return e // one message per field: the first problem is the one to fix
	}
	return append(e, FieldError{Field: field, Message: message})
}

// validate holds the rules every form shares. Field names are the forms' `form` tags, so an
// error names the HTML field it belongs to.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("form"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("ukpostcode", func(fl validator.FieldLevel) bool {
		_, err := postcode.Normalise(fl.Field().String())
		return err == nil
	}))
	must(v.RegisterValidation("ukphone", func(fl validator.FieldLevel) bool {
		_, ok := NormalisePhone(fl.Field().String())
		return ok
	}))
	must(v.RegisterValidation("ukmobile", func(fl validator.FieldLevel) bool {
		n, ok := NormalisePhone(fl.Field().String())
		return ok && strings.HasPrefix(n, "07")
	}))
	must(v.RegisterValidation("text", func(fl validator.FieldLevel) bool {
		return IsText(fl.Field().String())
	}))
	return v
}()

// IsText reports whether s is text a person could have typed: valid UTF-8 without control
// characters other than line breaks and tabs. Anything else is rejected rather than stored:
// it has no use here and can upset what reads it later (terminals, CSV exports, emails).
func IsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			continue
		}
		// Control characters, line and paragraph separators, the byte order mark, and the
		// bidirectional overrides and isolates, which can make a name or story read
		// differently from what was stored, in staff pages and exports.
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' ||
			(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return false
		}
	}
	return true
}

// NormalisePhone returns a UK phone number as its national digits ("07700900123"), accepting
// what people type: spaces, dashes, dots, brackets, and +44 or 0044 with or without the 0 in
// brackets. ok is false for anything that is not a UK number of the right length.
func NormalisePhone(s string) (string, bool) {
	if len(s) > 40 {
		return "", false
	}
	s = strings.ReplaceAll(s, "(0)", "")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && strings.TrimSpace(s[:i]) == "":
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", false
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+44"):
		n = "0" + n[3:]
	case strings.HasPrefix(n, "0044"):
		n = "0" + n[4:]
	case strings.HasPrefix(n, "+"):
		return "", false // not a UK number
	}
	if len(n) < 10 || len(n) > 11 || n[0] != '0' || !strings.ContainsRune("123578", rune(n[1])) {
		return "", false
	}
	// Only 01 numbers (some areas) and 08 free numbers are ten digits long.
	if len(n) == 10 && n[1] != '1' && n[1] != '8' {
		return "", false
	}
	return n, true
}

// check runs the rules on form and turns each failure into the message for it: messages are
// keyed "field.rule", or "field" for any rule. A rule without a message is a programming
// error; the tests make sure every rule has one.
func check(form any, messages map[string]string) Errors {
	err := validate.Struct(blankAsMissing(form))
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		panic(err) // a form that is not a struct: a programming error
	}
	var out Errors
	for _, fe := range verrs {
		// A rule on one item of a list ("needs[1]") is a problem with the whole question.
		field, _, _ := strings.Cut(fe.Field(), "[")
		msg, ok := messages[field+"."+fe.Tag()]
		if !ok {
			msg, ok = messages[field]
		}
		if !ok {
			msg = "Check this answer"
		}
		out = out.add(field, msg)
	}
	return out
}

// blankAsMissing returns a copy of a form (a pointer to a struct) in which a required answer
// of only spaces is empty. The validator's "required" takes "   " as an answer, but Apply
// trims it away: the page would go on, and the gap only come to light at the end.
func blankAsMissing(form any) any {
	v := reflect.ValueOf(form)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return form
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	for i := 0; i < c.Elem().NumField(); i++ {
		f, sf := c.Elem().Field(i), c.Elem().Type().Field(i)
		if f.Kind() == reflect.String && f.CanSet() && strings.Contains(sf.Tag.Get("validate"), "required") &&
			strings.TrimSpace(f.String()) == "" {
			f.SetString("")
		}
	}
	return c.Interface()
}

// DateInput is a GOV.UK date input: day, month and year as typed.
type DateInput struct {
	Day, Month, Year string
}

// Empty reports whether nothing was typed.
func (d DateInput) Empty() bool {
	return strings.TrimSpace(d.Day+d.Month+d.Year) == ""
}

// dateProblem is what is wrong with a date, for the messages.
type dateProblem int

const (
	dateOK dateProblem = iota
	dateMissingPart
	dateNotReal
	dateInFuture
)

// Parse reads the date; today bounds it, because a date of birth cannot be in the future.
func (d DateInput) Parse(today time.Time) (time.Time, dateProblem) {
	num := func(s string, lo, hi int) (int, bool) {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 4 {
			return 0, false
		}
		n := 0
		for _, r := range s {
			if r < '0' || r > '9' {
				return 0, false
			}
			n = n*10 + int(r-'0')
		}
		return n, n >= lo && n <= hi
	}
	if strings.TrimSpace(d.Day) == "" || strings.TrimSpace(d.Month) == "" || strings.TrimSpace(d.Year) == "" {
		return time.Time{}, dateMissingPart
	}
	day, ok1 := num(d.Day, 1, 31)
	month, ok2 := num(d.Month, 1, 12)
	year, ok3 := num(d.Year, 1900, 2200)
	if !ok1 || !ok2 || !ok3 || len(strings.TrimSpace(d.Year)) != 4 {
		return time.Time{}, dateNotReal
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day { // 31 February rolls over into March
		return time.Time{}, dateNotReal
	}
	y, m, dd := today.Date()
	if t.After(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, dateInFuture
	}
	return t, dateOK
}

func postcodeNormalise(s string) (string, error) { return postcode.Normalise(s) }
