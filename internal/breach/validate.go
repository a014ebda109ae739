package breach

import (
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

const (
	maxChars  = 10_000
	maxCount  = 10_000_000_000
	clockSkew = 5 * time.Minute
)

// Parser decodes and validates report bodies. It holds the compiled validation rules: build one
// with NewParser at start-up and share it (it is safe for concurrent use).
type Parser struct {
	v *validator.Validate
}

// ruleOfTag maps each validator tag used in Report's struct tags to the rule clients see.
var ruleOfTag = map[string]Rule{
	"notblank": RuleRequired, "maxchars": RuleMax,
	"len": RuleFormat, "numeric": RuleFormat, "email": RuleFormat, "iso3166_1_alpha2": RuleFormat,
	"luhn": RuleLuhn, "unique": RuleUnique,
	"regime": RuleEnum, "sector": RuleEnum, "organisation_role": RuleEnum, "breach_type": RuleEnum,
	"cause": RuleEnum, "subjects_estimate": RuleEnum, "subject_category": RuleEnum,
	"data_category": RuleEnum, "informed_status": RuleEnum,
}

// NewParser compiles the validation rules.
func NewParser() *Parser {
	v := validator.New()
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	must := func(err error) {
		if err != nil {
			panic(err) // a typo in a tag name: a programming error caught by every test
		}
	}
	// A required value that is empty or only whitespace is missing (validator's own `required`
	// accepts an empty list and a blank string).
	must(v.RegisterValidation("notblank", func(fl validator.FieldLevel) bool {
		if f := fl.Field(); f.Kind() != reflect.String {
			return f.Len() > 0
		}
		return strings.TrimSpace(fl.Field().String()) != ""
	}))
	// Strings ≤ 10,000 characters; counting runes only when the bytes could exceed it.
	must(v.RegisterValidation("maxchars", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return len(s) <= maxChars || utf8.RuneCountInString(s) <= maxChars
	}))
	must(v.RegisterValidation("luhn", func(fl validator.FieldLevel) bool { return luhn(fl.Field().String()) }))
	for tag, words := range map[string][]string{
		"regime":            regimeWords(),
		"sector":            sectors,
		"organisation_role": organisationRoles,
		"breach_type":       breachTypes,
		"cause":             causes,
		"subjects_estimate": subjectEstimates,
		"subject_category":  subjectCategories,
		"data_category":     dataCategories,
		"informed_status":   informedStatuses,
	} {
		must(v.RegisterValidation(tag, func(fl validator.FieldLevel) bool {
			return slices.Contains(words, fl.Field().String())
		}))
	}
	return &Parser{v: v}
}

func regimeWords() []string {
	out := make([]string, len(regimes))
	for i, r := range regimes {
		out[i] = string(r)
	}
	return out
}

// Parse decodes a report body strictly and validates it for org at now. It returns the report
// or an *Error listing every failing field (code invalid_json or validation_failed).
func (p *Parser) Parse(body []byte, org Organisation, now time.Time) (*Report, error) {
	var r Report
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if fields := p.check(&r, org, now); len(fields) > 0 {
		return nil, invalid(fields)
	}
	return &r, nil
}

// check returns every failing field of r: the struct-tag rules, then the rules across fields.
func (p *Parser) check(r *Report, org Organisation, now time.Time) []FieldError {
	var fields []FieldError
	if err := p.v.Struct(r); err != nil {
		verrs, ok := err.(validator.ValidationErrors)
		if !ok {
			panic(err) // only an invalid argument type gets here: a programming error
		}
		for _, fe := range verrs {
			_, path, _ := strings.Cut(fe.Namespace(), ".") // drop the root struct's name
			fields = append(fields, FieldError{Field: path, Rule: ruleOfTag[fe.Tag()]})
		}
	}
	fields = append(fields, checkCount("data.subjects_affected", r.Data.SubjectsAffected, true)...)
	fields = append(fields, checkCount("data.records_affected", r.Data.RecordsAffected, false)...)
	fields = append(fields, checkTimes(&r.Incident, now)...)
	if r.Incident.CrossBorder != nil && *r.Incident.CrossBorder && len(r.Incident.MemberStates) == 0 {
		fields = append(fields, FieldError{Field: "incident.member_states", Rule: RuleRequiredIf})
	}
	if org.SIREN != "" && r.Organisation.SIREN != "" && r.Organisation.SIREN != org.SIREN {
		fields = append(fields, FieldError{Field: "organisation.siren", Rule: RuleMismatch})
	}
	return fields
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
