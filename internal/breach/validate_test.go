package breach_test

import (
	stdjson "encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/breach-intake/intake/internal/breach"
)

// mutate returns the gdpr-minimal example with the value at a dotted path replaced (or deleted
// when value is deleteField). Values of type stdjson.RawMessage are inserted as written.
func mutate(t testing.TB, base []byte, edits map[string]any) []byte {
	t.Helper()
	var doc map[string]any
	if err := stdjson.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	for path, value := range edits {
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		if value == deleteField {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = value
		}
	}
	b, err := stdjson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type deleted struct{}

var deleteField = deleted{}

func raw(s string) stdjson.RawMessage { return stdjson.RawMessage(s) }

type fieldCase struct {
	name  string
	edits map[string]any
	want  []breach.FieldError
}

func fe(field string, rule breach.Rule) breach.FieldError {
	return breach.FieldError{Field: field, Rule: rule}
}

// fieldCases are the rules of API.md, one bad input each, on top of the gdpr-minimal example
// (aware_at 2026-11-21T10:00:00Z, validated at exampleTime 12:00).
var fieldCases = []fieldCase{
	{"regimes missing", map[string]any{"regimes": deleteField}, []breach.FieldError{fe("regimes", "required")}},
	{"regimes empty", map[string]any{"regimes": []string{}}, []breach.FieldError{fe("regimes", "required")}},
	{"regimes unknown", map[string]any{"regimes": []string{"gdpr", "ccpa"}}, []breach.FieldError{fe("regimes[1]", "enum")}},
	{"regimes duplicated", map[string]any{"regimes": []string{"gdpr", "gdpr"}}, []breach.FieldError{fe("regimes", "unique")}},
	{"reporter missing", map[string]any{"reporter": deleteField},
		[]breach.FieldError{fe("reporter.name", "required"), fe("reporter.email", "required")}},
	{"reporter name blank", map[string]any{"reporter.name": " \t\n"}, []breach.FieldError{fe("reporter.name", "required")}},
	{"reporter email malformed", map[string]any{"reporter.email": "dpo at example"}, []breach.FieldError{fe("reporter.email", "format")}},
	{"siren not 9 digits", map[string]any{"organisation.siren": "55210055"}, []breach.FieldError{fe("organisation.siren", "format")}},
	{"siren with letters", map[string]any{"organisation.siren": "55210055A"}, []breach.FieldError{fe("organisation.siren", "format")}},
	{"siren bad Luhn", map[string]any{"organisation.siren": "552100555"}, []breach.FieldError{fe("organisation.siren", "luhn")}},
	{"processor siren bad Luhn", map[string]any{"processor.siren": "732829321"}, []breach.FieldError{fe("processor.siren", "luhn")}},
	{"sector unknown", map[string]any{"organisation.sector": "bakery"}, []breach.FieldError{fe("organisation.sector", "enum")}},
	{"role unknown", map[string]any{"organisation.role": "owner"}, []breach.FieldError{fe("organisation.role", "enum")}},
	{"country a name", map[string]any{"organisation.country": "France"}, []breach.FieldError{fe("organisation.country", "format")}},
	{"country lowercase", map[string]any{"organisation.country": "fr"}, []breach.FieldError{fe("organisation.country", "format")}},
	{"legal name missing", map[string]any{"organisation.legal_name": deleteField}, []breach.FieldError{fe("organisation.legal_name", "required")}},
	{"title over 10,000 characters", map[string]any{"incident.title": strings.Repeat("é", 10_001)}, []breach.FieldError{fe("incident.title", "max")}},
	{"description missing", map[string]any{"incident.description": ""}, []breach.FieldError{fe("incident.description", "required")}},
	{"aware_at missing", map[string]any{"incident.aware_at": deleteField}, []breach.FieldError{fe("incident.aware_at", "required")}},
	{"aware_at null", map[string]any{"incident.aware_at": nil}, []breach.FieldError{fe("incident.aware_at", "required")}},
	{"aware_at without offset", map[string]any{"incident.aware_at": "2026-11-21T10:00:00"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at a date", map[string]any{"incident.aware_at": "2026-11-21"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at lowercase t", map[string]any{"incident.aware_at": "2026-11-21t10:00:00Z"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at offset hour 24", map[string]any{"incident.aware_at": "2026-11-21T10:00:00+24:00"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at offset minute 60", map[string]any{"incident.aware_at": "2026-11-21T10:00:00+01:60"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at comma before the fraction", map[string]any{"incident.aware_at": "2026-11-21T10:00:00,5Z"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at full stop without digits", map[string]any{"incident.aware_at": "2026-11-21T10:00:00.Z"}, []breach.FieldError{fe("incident.aware_at", "format")}},
	{"aware_at a number", map[string]any{"incident.aware_at": 1763719200}, []breach.FieldError{fe("incident.aware_at", "type")}},
	{"aware_at an object", map[string]any{"incident.aware_at": map[string]any{"t": "2026-11-21T10:00:00Z"}}, []breach.FieldError{fe("incident.aware_at", "type")}},
	{"aware_at a list", map[string]any{"incident.aware_at": []string{"2026-11-21T10:00:00Z"}}, []breach.FieldError{fe("incident.aware_at", "type")}},
	{"subjects an object", map[string]any{"data.subjects_affected": map[string]any{"n": 1}}, []breach.FieldError{fe("data.subjects_affected", "type")}},
	{"aware_at beyond the skew", map[string]any{"incident.aware_at": "2026-11-21T12:05:00.000000001Z"}, []breach.FieldError{fe("incident.aware_at", "future")}},
	{"discovered after aware", map[string]any{"incident.discovered_at": "2026-11-21T10:00:01Z"}, []breach.FieldError{fe("incident.aware_at", "order")}},
	{"occurred after discovered", map[string]any{"incident.occurred_at": "2026-11-21T09:00:00Z", "incident.discovered_at": "2026-11-21T08:00:00Z"},
		[]breach.FieldError{fe("incident.discovered_at", "order")}},
	{"offset with seconds", map[string]any{"incident.occurred_at": "2026-11-21T11:00:00+01:00:00"},
		[]breach.FieldError{fe("incident.occurred_at", "format")}},
	{"occurred after aware in another offset", map[string]any{"incident.occurred_at": "2026-11-21T12:00:00+01:00"},
		[]breach.FieldError{fe("incident.aware_at", "order")}},
	{"breach types empty", map[string]any{"incident.breach_types": []string{}}, []breach.FieldError{fe("incident.breach_types", "required")}},
	{"breach type unknown", map[string]any{"incident.breach_types": []string{"leak"}}, []breach.FieldError{fe("incident.breach_types[0]", "enum")}},
	{"cause unknown", map[string]any{"incident.cause": "hackers"}, []breach.FieldError{fe("incident.cause", "enum")}},
	{"cross border without states", map[string]any{"incident.cross_border": true}, []breach.FieldError{fe("incident.member_states", "required_if")}},
	{"cross border with empty states", map[string]any{"incident.cross_border": true, "incident.member_states": []string{}},
		[]breach.FieldError{fe("incident.member_states", "required_if")}},
	{"member states duplicated", map[string]any{"incident.cross_border": true, "incident.member_states": []string{"BE", "BE"}},
		[]breach.FieldError{fe("incident.member_states", "unique")}},
	{"member state unknown", map[string]any{"incident.cross_border": true, "incident.member_states": []string{"BE", "XX"}},
		[]breach.FieldError{fe("incident.member_states[1]", "format")}},
	{"subjects as a string", map[string]any{"data.subjects_affected": "12000"}, []breach.FieldError{fe("data.subjects_affected", "type")}},
	{"subjects fractional", map[string]any{"data.subjects_affected": raw("1.5")}, []breach.FieldError{fe("data.subjects_affected", "type")}},
	{"subjects in exponent form", map[string]any{"data.subjects_affected": raw("1e3")}, []breach.FieldError{fe("data.subjects_affected", "type")}},
	{"subjects negative", map[string]any{"data.subjects_affected": -1}, []breach.FieldError{fe("data.subjects_affected", "min")}},
	{"subjects over 10^10", map[string]any{"data.subjects_affected": raw("10000000001")}, []breach.FieldError{fe("data.subjects_affected", "max")}},
	{"subjects beyond int64", map[string]any{"data.subjects_affected": raw("99999999999999999999999")}, []breach.FieldError{fe("data.subjects_affected", "max")}},
	{"subjects below int64", map[string]any{"data.subjects_affected": raw("-99999999999999999999999")}, []breach.FieldError{fe("data.subjects_affected", "min")}},
	{"subjects missing", map[string]any{"data.subjects_affected": deleteField}, []breach.FieldError{fe("data.subjects_affected", "required")}},
	{"subjects null", map[string]any{"data.subjects_affected": nil}, []breach.FieldError{fe("data.subjects_affected", "required")}},
	{"records as a string", map[string]any{"data.records_affected": "5"}, []breach.FieldError{fe("data.records_affected", "type")}},
	{"estimate unknown word", map[string]any{"data.subjects_estimate": "roughly"}, []breach.FieldError{fe("data.subjects_estimate", "enum")}},
	{"data category unknown", map[string]any{"data.data_categories": []string{"identity", "contact", "dna"}}, []breach.FieldError{fe("data.data_categories[2]", "enum")}},
	{"data categories duplicated", map[string]any{"data.data_categories": []string{"identity", "identity"}}, []breach.FieldError{fe("data.data_categories", "unique")}},
	{"subject category unknown", map[string]any{"data.subject_categories": []string{"aliens"}}, []breach.FieldError{fe("data.subject_categories[0]", "enum")}},
	{"informed status unknown", map[string]any{"subjects_informed": map[string]any{"status": "maybe"}}, []breach.FieldError{fe("subjects_informed.status", "enum")}},
	{"informed status missing", map[string]any{"subjects_informed": map[string]any{"reason": "later"}}, []breach.FieldError{fe("subjects_informed.status", "required")}},
	{"measures taken blank", map[string]any{"measures.taken": "  "}, []breach.FieldError{fe("measures.taken", "required")}},
	{"a string of the wrong type", map[string]any{"incident.title": 5}, []breach.FieldError{fe("incident.title", "type")}},
	{"an array of the wrong type", map[string]any{"regimes": "gdpr"}, []breach.FieldError{fe("regimes", "type")}},
	{"an object of the wrong type", map[string]any{"reporter": "Camille"}, []breach.FieldError{fe("reporter", "type")}},
	{"an item of the wrong type", map[string]any{"incident.breach_types": []any{"confidentiality", 3}}, []breach.FieldError{fe("incident.breach_types[1]", "type")}},
	{"a flag of the wrong type", map[string]any{"incident.ongoing": "yes"}, []breach.FieldError{fe("incident.ongoing", "type")}},
	{"wrong types and other errors, all at once", map[string]any{"incident.title": 5, "reporter.name": "", "data.data_categories": []any{"identity", true}},
		[]breach.FieldError{fe("data.data_categories[1]", "type"), fe("incident.title", "type"), fe("reporter.name", "required")}},
	{"every failing field at once", map[string]any{"reporter.email": "x", "incident.cause": "?", "data.subjects_affected": "1"},
		[]breach.FieldError{fe("reporter.email", "format"), fe("incident.cause", "enum"), fe("data.subjects_affected", "type")}},
}

// validCases are edges that must pass.
var validCases = []struct {
	name  string
	edits map[string]any
}{
	{"the example as it is", nil},
	{"exactly 10,000 characters", map[string]any{"incident.title": strings.Repeat("é", 10_000)}},
	{"aware_at at the skew limit", map[string]any{"incident.aware_at": "2026-11-21T12:05:00Z"}},
	{"zero subjects", map[string]any{"data.subjects_affected": 0}},
	{"10^10 subjects", map[string]any{"data.subjects_affected": raw("10000000000")}},
	{"all three timestamps equal", map[string]any{"incident.occurred_at": "2026-11-21T10:00:00Z", "incident.discovered_at": "2026-11-21T11:00:00+01:00"}},
	{"fractional seconds", map[string]any{"incident.aware_at": "2026-11-21T10:00:00.123456789+02:00"}},
	{"the widest offset RFC 3339 allows", map[string]any{"incident.aware_at": "2026-11-22T09:59:00+23:59"}},
	{"valid SIREN", map[string]any{"organisation.siren": "552100554"}},
	{"every regime", map[string]any{"regimes": []string{"gdpr", "nis2", "dora"}}},
	{"cross border with states", map[string]any{"incident.cross_border": true, "incident.member_states": []string{"BE", "DE"}}},
	{"null optional count", map[string]any{"data.records_affected": nil}},
}

func TestParseReportsEveryFailingField(t *testing.T) {
	p := breach.NewParser()
	base := readTestdata(t, "gdpr-minimal.json")
	for _, tc := range fieldCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse(mutate(t, base, tc.edits), exampleOrg, exampleTime)
			var e *breach.Error
			if !errors.As(err, &e) || e.Code != breach.Invalid {
				t.Fatalf("err = %v, want validation_failed", err)
			}
			if !slices.Equal(e.Fields, tc.want) {
				t.Fatalf("fields = %v, want %v", e.Fields, tc.want)
			}
		})
	}
	for _, tc := range validCases {
		t.Run("valid: "+tc.name, func(t *testing.T) {
			if _, err := p.Parse(mutate(t, base, tc.edits), exampleOrg, exampleTime); err != nil {
				t.Fatalf("err = %v, want none", err)
			}
		})
	}
}

func TestParseChecksSIRENAgainstTheProvisionedOrganisation(t *testing.T) {
	p := breach.NewParser()
	base := readTestdata(t, "gdpr-minimal.json")
	provisioned := breach.Organisation{ID: "org", LegalName: "Exemple", SIREN: "552100554", Country: "FR"}
	for _, tc := range []struct {
		name  string
		siren any
		want  []breach.FieldError
	}{
		{"same SIREN", "552100554", nil},
		{"no SIREN in the body", deleteField, nil},
		{"another organisation's SIREN", "732829320", []breach.FieldError{fe("organisation.siren", "mismatch")}},
		{"a malformed SIREN is only malformed", "12345678x", []breach.FieldError{fe("organisation.siren", "format")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse(mutate(t, base, map[string]any{"organisation.siren": tc.siren}), provisioned, exampleTime)
			var got []breach.FieldError
			if e := (*breach.Error)(nil); errors.As(err, &e) {
				got = e.Fields
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}

// jsonCases are bodies that are not acceptable JSON for a report: 400 invalid_json.
var jsonCases = []struct{ name, body string }{
	{"empty body", ``},
	{"syntax error", `{"regimes": [}`},
	{"truncated", `{"regimes": ["gdpr"]`},
	{"duplicate name", `{"regimes": ["gdpr"], "regimes": ["nis2"]}`},
	{"duplicate nested name", `{"incident": {"title": "a", "title": "b"}}`},
	{"unknown field", `{"regimes": ["gdpr"], "severity": "low"}`},
	{"unknown nested field", `{"reporter": {"name": "a", "password": "x"}}`},
	{"name differing in case", `{"Regimes": ["gdpr"]}`},
	{"trailing data", `{"regimes": ["gdpr"]} {}`},
	{"trailing garbage", `{"regimes": ["gdpr"]}x`},
	{"invalid UTF-8", "{\"reporter\": {\"name\": \"\xff\"}}"},
	{"a top-level array", `[]`},
	{"a top-level string", `"report"`},
	{"null", `null`},
	{"only whitespace", " \n "},
	{"nesting of 17", strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17)},
	{"an array of 101 items", `{"regimes": [` + strings.TrimSuffix(strings.Repeat(`"gdpr",`, 101), ",") + `]}`},
	{"stage in a first report", `{"stage": "initial"}`},
}

func TestParseRejectsBadJSON(t *testing.T) {
	p := breach.NewParser()
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Parse([]byte(tc.body), exampleOrg, exampleTime)
			if breach.ErrorCode(err) != breach.InvalidJSON {
				t.Fatalf("err = %v, want invalid_json", err)
			}
			if strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "breach.") {
				t.Fatalf("message leaks Go internals: %v", err)
			}
		})
	}
}

func TestParseAcceptsLimitsExactly(t *testing.T) {
	p := breach.NewParser()
	base := readTestdata(t, "gdpr-minimal.json")
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = "BE"
	}
	// 100 items pass the shape check; the duplicates then fail validation, not decoding.
	_, err := p.Parse(mutate(t, base, map[string]any{"incident.member_states": hundred}), exampleOrg, exampleTime)
	if breach.ErrorCode(err) != breach.Invalid {
		t.Fatalf("100 items: err = %v, want validation_failed (unique)", err)
	}
	sixteen := strings.Repeat(`[`, 16) + strings.Repeat(`]`, 16)
	_, err = p.Parse([]byte(`{"regimes":`+sixteen[1:]+`}`), exampleOrg, exampleTime)
	if breach.ErrorCode(err) == breach.InvalidJSON && strings.Contains(err.Error(), "nesting") {
		t.Fatalf("16 levels refused as too deep: %v", err)
	}
}
