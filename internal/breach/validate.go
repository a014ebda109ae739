package breach

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	maxChars  = 10_000
	maxCount  = 10_000_000_000
	clockSkew = 5 * time.Minute
)

// Parser decodes and validates report bodies. It is stateless and safe for concurrent use.
//
// The rules are plain code rather than go-playground/validator struct tags: validator links
// html/template, whose reflective method lookups stop the linker from dropping unused methods,
// which alone put the submit-report bootstrap over its 3.5 MiB budget.
type Parser struct{}

// NewParser returns a Parser.
func NewParser() *Parser { return &Parser{} }

// Parse decodes a report body strictly and validates it for org at now. It returns the report
// or an *Error listing every failing field (code invalid_json or validation_failed).
func (p *Parser) Parse(body []byte, org Organisation, now time.Time) (*Report, error) {
	var r Report
	typeErrors, err := decodeStrict(body, &r)
	if err != nil {
		return nil, err
	}
	if fields := besideTypeErrors(typeErrors, check(&r, org, now)); len(fields) > 0 {
		return nil, invalid(fields)
	}
	return &r, nil
}

// besideTypeErrors lists the type errors, then the checks' failures that are not about a value
// of the wrong type: such a value was skipped, so it is not also "missing", nor are its fields.
func besideTypeErrors(typeErrors, checked []FieldError) []FieldError {
	fields := typeErrors
	for _, f := range checked {
		if !slices.ContainsFunc(typeErrors, func(t FieldError) bool { return within(f.Field, t.Field) }) {
			fields = append(fields, f)
		}
	}
	return fields
}

// within says whether path is at or below parent.
func within(path, parent string) bool {
	rest, ok := strings.CutPrefix(path, parent)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// fieldChecks collects failing fields in document order.
type fieldChecks []FieldError

func (c *fieldChecks) fail(path string, rule Rule) { *c = append(*c, FieldError{path, rule}) }

// text checks an optional string's length.
func (c *fieldChecks) text(path, s string) {
	if len(s) > maxChars && utf8.RuneCountInString(s) > maxChars {
		c.fail(path, RuleMax)
	}
}

// required checks a required string: empty or only whitespace is missing.
func (c *fieldChecks) required(path, s string) bool {
	if strings.TrimSpace(s) == "" {
		c.fail(path, RuleRequired)
		return false
	}
	c.text(path, s)
	return true
}

// oneOf checks a required word of a vocabulary.
func (c *fieldChecks) oneOf(path, s string, words []string) {
	if c.required(path, s) && !slices.Contains(words, s) {
		c.fail(path, RuleEnum)
	}
}

// list checks a list of unique items, each accepted by ok (or failing with rule), and non-empty
// when required.
func list[S ~string](c *fieldChecks, path string, items []S, required bool, ok func(S) bool, rule Rule) {
	if len(items) == 0 {
		if required {
			c.fail(path, RuleRequired)
		}
		return
	}
	for i, it := range items {
		if !ok(it) {
			c.fail(fmt.Sprintf("%s[%d]", path, i), rule)
		}
	}
	for i := range items {
		if slices.Contains(items[:i], items[i]) {
			c.fail(path, RuleUnique)
			return
		}
	}
}

// siren checks an optional SIREN and reports whether it is absent or well formed.
func (c *fieldChecks) siren(path, s string) bool {
	switch {
	case s == "":
	case len(s) != 9 || strings.Trim(s, "0123456789") != "":
		c.fail(path, RuleFormat)
		return false
	case !luhn(s):
		c.fail(path, RuleLuhn)
		return false
	}
	return true
}

// in is a membership test for list items.
func in[S ~string](words []S) func(S) bool {
	return func(s S) bool { return slices.Contains(words, s) }
}

// IsCountry reports whether s is an ISO 3166-1 alpha-2 code.
func IsCountry(s string) bool { return slices.Contains(countryCodes, s) }

// isEmail accepts a bare addr-spec (RFC 5322), not a display name with an address.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// check returns every failing field of r, in document order.
func check(r *Report, org Organisation, now time.Time) []FieldError {
	var c fieldChecks
	list(&c, "regimes", r.Regimes, true, in(regimes), RuleEnum)

	c.required("reporter.name", r.Reporter.Name)
	c.text("reporter.role", r.Reporter.Role)
	if c.required("reporter.email", r.Reporter.Email) && !isEmail(r.Reporter.Email) {
		c.fail("reporter.email", RuleFormat)
	}
	c.text("reporter.phone", r.Reporter.Phone)

	o := &r.Organisation
	c.required("organisation.legal_name", o.LegalName)
	if c.siren("organisation.siren", o.SIREN) && org.SIREN != "" && o.SIREN != "" && o.SIREN != org.SIREN {
		c.fail("organisation.siren", RuleMismatch)
	}
	c.oneOf("organisation.sector", o.Sector, sectors)
	if c.required("organisation.country", o.Country) && !IsCountry(o.Country) {
		c.fail("organisation.country", RuleFormat)
	}
	c.oneOf("organisation.role", o.Role, organisationRoles)
	if p := r.Processor; p != nil {
		c.text("processor.legal_name", p.LegalName)
		c.siren("processor.siren", p.SIREN)
	}

	inc := &r.Incident
	c.required("incident.title", inc.Title)
	c.required("incident.description", inc.Description)
	c = append(c, checkTimes(inc, now)...)
	list(&c, "incident.breach_types", inc.BreachTypes, true, in(breachTypes), RuleEnum)
	c.oneOf("incident.cause", inc.Cause, causes)
	if inc.CrossBorder != nil && *inc.CrossBorder && len(inc.MemberStates) == 0 {
		c.fail("incident.member_states", RuleRequiredIf)
	}
	list(&c, "incident.member_states", inc.MemberStates, false, IsCountry, RuleFormat)

	d := &r.Data
	c = append(c, checkCount("data.subjects_affected", d.SubjectsAffected, true)...)
	c.oneOf("data.subjects_estimate", d.SubjectsEstimate, subjectEstimates)
	c = append(c, checkCount("data.records_affected", d.RecordsAffected, false)...)
	list(&c, "data.subject_categories", d.SubjectCategories, false, in(subjectCategories), RuleEnum)
	list(&c, "data.data_categories", d.DataCategories, true, in(dataCategories), RuleEnum)

	c.text("consequences", r.Consequences)
	c.required("measures.taken", r.Measures.Taken)
	c.text("measures.planned", r.Measures.Planned)
	if si := r.SubjectsInformed; si != nil {
		c.oneOf("subjects_informed.status", si.Status, informedStatuses)
		c.text("subjects_informed.reason", si.Reason)
	}
	c.text("late_reason", r.LateReason)
	return c
}

func checkCount(path string, c Count, required bool) []FieldError {
	switch {
	case c.state == absent && required:
		return []FieldError{{path, RuleRequired}}
	case c.state == wrongType:
		return []FieldError{{path, RuleType}}
	case c.state == absent:
		return nil
	case c.N < 0:
		return []FieldError{{path, RuleMin}}
	case c.N > maxCount:
		return []FieldError{{path, RuleMax}}
	}
	return nil
}

// checkTimes applies occurred_at ≤ discovered_at ≤ aware_at ≤ now + 5 min. An order error is
// reported on the later of the two fields, comparing each with the nearest earlier one present.
func checkTimes(in *Incident, now time.Time) []FieldError {
	var fields []FieldError
	seq := []struct {
		path string
		ts   Timestamp
	}{
		{"incident.occurred_at", in.OccurredAt},
		{"incident.discovered_at", in.DiscoveredAt},
		{"incident.aware_at", in.AwareAt},
	}
	var prev *Timestamp
	for i, s := range seq {
		switch s.ts.state {
		case absent:
			if s.path == "incident.aware_at" {
				fields = append(fields, FieldError{s.path, RuleRequired})
			}
			continue
		case wrongType:
			fields = append(fields, FieldError{s.path, RuleType})
			continue
		case badFormat:
			fields = append(fields, FieldError{s.path, RuleFormat})
			continue
		}
		switch {
		case s.ts.T.After(now.Add(clockSkew)):
			fields = append(fields, FieldError{s.path, RuleFuture})
		case prev != nil && s.ts.T.Before(prev.T):
			fields = append(fields, FieldError{s.path, RuleOrder})
		}
		prev = &seq[i].ts
	}
	return fields
}

// luhn checks a SIREN's Luhn digit. The format (9 digits) is checked before it.
func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// ValidSIREN reports whether s is a SIREN: 9 digits with a valid Luhn check digit.
func ValidSIREN(s string) bool {
	var c fieldChecks
	c.siren("siren", s)
	return s != "" && len(c) == 0
}
