package api_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/api"
	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/receipt"
)

// The spec is checked with pb33f/libopenapi-validator: OpenAPI 3.1 documents against the OAS 3.1
// schema, requests and responses against their operations, with JSON Schema 2020-12 (its fork of
// santhosh-tekuri/jsonschema) and format assertions on (date-time, email).

// spec validates requests and responses against api.Spec.
type spec struct{ v validator.Validator }

func loadSpec(t testing.TB) spec {
	t.Helper()
	doc, err := libopenapi.NewDocument(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	return spec{v}
}

// validHeaders are the headers of a request that is right in everything but its body.
func validHeaders() http.Header {
	return http.Header{
		"Content-Type":    {"application/json"},
		"Authorization":   {"Bearer bik_0123456789abcdef_secret"},
		"Idempotency-Key": {"3f6c1e2a-8d4b-4c1f-9a57-0e2b7d9c4a11"},
		"If-Match":        {`"1"`},
	}
}

// request validates a request; it returns the validator's complaints, none when it is valid.
func (s spec) request(method, target string, body []byte, header http.Header) []string {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header = header
	_, errs := s.v.ValidateHttpRequest(req)
	return complaints(errs)
}

// body says whether the spec accepts body on POST path, and if not why. A body must be I-JSON
// (RFC 7493: UTF-8, unique member names), as the spec says, before its schema applies.
func (s spec) body(path string, body []byte) (bool, string) {
	if !jsontext.Value(body).IsValid() {
		return false, "not I-JSON (RFC 7493)"
	}
	why := s.request(http.MethodPost, path, body, validHeaders())
	return len(why) == 0, strings.Join(why, "; ")
}

func complaints(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		line := e.Message
		for _, f := range e.SchemaValidationErrors {
			line += fmt.Sprintf(" [%s: %s]", f.FieldPath, f.Reason)
		}
		out = append(out, line)
	}
	return out
}

func TestSpecIsAValidOpenAPI31Document(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi %s, want 3.1.0", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("model: %v", err) // every $ref resolves
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

// beyond is a rule of the code that JSON Schema cannot express.
type beyond struct {
	rule breach.Rule
	// applies says whether the rule is beyond the schema for this failing value (nil: always).
	applies func(value any) bool
	why     string
}

// beyondSchema are the parser's rules that JSON Schema cannot express: a body whose only failures
// are these is valid for the schema and refused by the parser, and the test says so for each.
//
// Neither are these, which the spec states in words: the body's bytes (I-JSON: no duplicate
// member names, valid UTF-8, checked by spec.body with jsontext before the schema; at most
// 256 KiB), and late_reason when the report is late (rule required_if_late, a 422 that comes
// after validation and needs the deadlines).
var beyondSchema = []beyond{
	{breach.RuleLuhn, nil, "a SIREN's Luhn check digit is arithmetic over its digits"},
	{breach.RuleMismatch, nil, "organisation.siren is compared with the SIREN the API key's organisation was provisioned with"},
	{breach.RuleOrder, nil, "occurred_at ≤ discovered_at ≤ aware_at compares two values"},
	{breach.RuleFuture, nil, "aware_at ≤ now + 5 min depends on the server's clock"},
	{breach.RuleType, integerSpelledOtherwise, "a count spelled 1e3 or 1.0 is the integer 1000 or 1 to JSON Schema, which sees values, not how they are written"},
}

// beyondSupplementSchema adds what only a supplement is refused for.
var beyondSupplementSchema = append(slices.Clip(beyondSchema),
	beyond{breach.RuleImmutable, nil, "an unchanged incident.aware_at and growing regimes compare the body with the report's earlier versions"})

// integerSpelledOtherwise: a JSON number whose value is a count of the schema (an integer from 0
// to 10^10) written with a fraction or an exponent.
func integerSpelledOtherwise(v any) bool {
	n, ok := v.(stdjson.Number)
	if !ok || regexp.MustCompile(`^-?[0-9]+$`).MatchString(string(n)) {
		return false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt() && r.Sign() >= 0 && r.Cmp(big.NewRat(10_000_000_000, 1)) <= 0
}

// probes are edges of the contract that the parser's own tables leave out, as edits on the
// gdpr-minimal example; org, when set, is the organisation the body is parsed for.
var probes = []struct {
	name  string
	edits map[string]any
	org   *breach.Organisation
}{
	{"another organisation's SIREN", map[string]any{"organisation.siren": "732829320"}, &breach.Organisation{ID: "o", SIREN: "552100554", Country: "FR"}},
	{"its own SIREN", map[string]any{"organisation.siren": "552100554"}, &breach.Organisation{ID: "o", SIREN: "552100554", Country: "FR"}},
	{"an empty SIREN is absent", map[string]any{"organisation.siren": ""}, nil},
	{"a null SIREN is absent", map[string]any{"organisation.siren": nil}, nil},
	{"a SIREN of 10 digits", map[string]any{"organisation.siren": "5521005540"}, nil},
	{"a SIREN with a space", map[string]any{"organisation.siren": "552 100 554"}, nil},
	{"processor bad Luhn and order at once", map[string]any{"processor.siren": "732829321", "incident.discovered_at": "2026-11-21T10:00:01Z"}, nil},
	{"null optionals", map[string]any{"processor": nil, "subjects_informed": nil, "consequences": nil, "late_reason": nil,
		"incident.ongoing": nil, "incident.cross_border": nil, "incident.member_states": nil, "incident.occurred_at": nil,
		"data.subject_categories": nil, "reporter.phone": nil, "measures.planned": nil}, nil},
	{"an empty processor", map[string]any{"processor": map[string]any{}}, nil},
	{"a processor that is a list", map[string]any{"processor": []any{}}, nil},
	{"empty subjects informed", map[string]any{"subjects_informed": map[string]any{}}, nil},
	{"subjects informed null status", map[string]any{"subjects_informed": map[string]any{"status": nil}}, nil},
	{"null required text", map[string]any{"incident.title": nil}, nil},
	{"null required list", map[string]any{"incident.breach_types": nil}, nil},
	{"null reporter", map[string]any{"reporter": nil}, nil},
	{"null measures", map[string]any{"measures": nil}, nil},
	{"name of no-break spaces", map[string]any{"reporter.name": "\u00a0\u2003\u3000"}, nil},
	{"name of a next line character", map[string]any{"reporter.name": "\u0085"}, nil},
	{"name of a zero-width no-break space is not blank", map[string]any{"reporter.name": "\ufeff"}, nil},
	{"a blank optional text", map[string]any{"consequences": "  "}, nil},
	{"optional text over 10,000 characters", map[string]any{"measures.planned": strings.Repeat("x", 10_001)}, nil},
	{"a null item", map[string]any{"regimes": []any{nil}}, nil},
	{"every breach type", map[string]any{"incident.breach_types": []any{"confidentiality", "integrity", "availability"}}, nil},
	{"an empty subject category list", map[string]any{"data.subject_categories": []any{}}, nil},
	{"subject categories duplicated", map[string]any{"data.subject_categories": []any{"users", "users"}}, nil},
	{"cross border false without states", map[string]any{"incident.cross_border": false}, nil},
	{"cross border null with states", map[string]any{"incident.cross_border": nil, "incident.member_states": []any{"BE"}}, nil},
	{"cross border with null states", map[string]any{"incident.cross_border": true, "incident.member_states": nil}, nil},
	{"cross border a string", map[string]any{"incident.cross_border": "true"}, nil},
	{"count 1.0", map[string]any{"data.subjects_affected": stdjson.RawMessage("1.0")}, nil},
	{"count 1E3", map[string]any{"data.records_affected": stdjson.RawMessage("1E3")}, nil},
	{"count -1e3", map[string]any{"data.subjects_affected": stdjson.RawMessage("-1e3")}, nil},
	{"count 1e11", map[string]any{"data.subjects_affected": stdjson.RawMessage("1e11")}, nil},
	{"count -0", map[string]any{"data.subjects_affected": stdjson.RawMessage("-0")}, nil},
	{"count true", map[string]any{"data.subjects_affected": true}, nil},
	{"a lower-case z", map[string]any{"incident.aware_at": "2026-11-21T10:00:00z"}, nil},
	{"a space for the T", map[string]any{"incident.aware_at": "2026-11-21 10:00:00Z"}, nil},
	{"30 February", map[string]any{"incident.occurred_at": "2026-02-30T10:00:00Z"}, nil},
	{"29 February of a leap year", map[string]any{"incident.occurred_at": "2024-02-29T10:00:00Z"}, nil},
	{"a leap second", map[string]any{"incident.occurred_at": "2016-12-31T23:59:60Z"}, nil},
	{"hour 24", map[string]any{"incident.occurred_at": "2026-11-20T24:00:00Z"}, nil},
	{"an offset without colon", map[string]any{"incident.occurred_at": "2026-11-20T10:00:00+0100"}, nil},
	{"a fraction without digits", map[string]any{"incident.occurred_at": "2026-11-20T10:00:00.Z"}, nil},
	{"nanoseconds and more", map[string]any{"incident.occurred_at": "2026-11-20T10:00:00.1234567891Z"}, nil},
	{"an offset of -00:00", map[string]any{"incident.occurred_at": "2026-11-20T10:00:00-00:00"}, nil},
	{"an e-mail with a display name", map[string]any{"reporter.email": "Camille <dpo@example.fr>"}, nil},
	{"an e-mail with a plus", map[string]any{"reporter.email": "dpo+breach@example.fr"}, nil},
	{"an e-mail with two dots", map[string]any{"reporter.email": "dpo..x@example.fr"}, nil},
	{"an e-mail to an IPv4 literal", map[string]any{"reporter.email": "dpo@[192.0.2.1]"}, nil},
	{"a Kosovo member state", map[string]any{"incident.cross_border": true, "incident.member_states": []any{"XK"}}, nil},
	{"a country in lower case", map[string]any{"incident.cross_border": true, "incident.member_states": []any{"be"}}, nil},
	{"100 member states", map[string]any{"incident.cross_border": true, "incident.member_states": countries(100)}, nil},
	{"101 member states", map[string]any{"incident.cross_border": true, "incident.member_states": countries(101)}, nil},
	{"a top-level member in another case", map[string]any{"Late_reason": "x"}, nil},
	{"an unknown member of reporter", map[string]any{"reporter.password": "x"}, nil},
	{"an unknown member of organisation", map[string]any{"organisation.vat": "FR0"}, nil},
	{"an unknown member of processor", map[string]any{"processor.country": "FR"}, nil},
	{"an unknown member of incident", map[string]any{"incident.severity": "low"}, nil},
	{"an unknown member of data", map[string]any{"data.severity": "low"}, nil},
	{"an unknown member of measures", map[string]any{"measures.done": "x"}, nil},
	{"an unknown member of subjects_informed", map[string]any{"subjects_informed": map[string]any{"status": "yes", "when": "now"}}, nil},
	{"a member in another case", map[string]any{"incident.Title": "x"}, nil},
	{"stage in a first report", map[string]any{"stage": "supplementary"}, nil},
}

// divergences are bodies on which the parser and the contract (API.md, and so the spec) disagree
// today. Each is a parser behaviour to fix in internal/breach, or an edge where JSON Schema's
// standard format and the parser's check differ. The test fails when one stops diverging, so
// that it is struck from this list.
var divergences = []struct {
	name          string
	edits         map[string]any
	parserAccepts bool // and the spec refuses; false: the other way round
	why           string
}{
	{"UTF-8 local part", map[string]any{"reporter.email": "élodie@example.fr"}, true,
		"net/mail accepts RFC 6532 (UTF-8) addresses; format email is RFC 5321's Mailbox, ASCII"},
	{"underscore in the domain", map[string]any{"reporter.email": "dpo@mutuelle_exemple.fr"}, true,
		"net/mail accepts any atext in a domain; format email wants host names"},
	{"local part over 64 octets", map[string]any{"reporter.email": strings.Repeat("a", 65) + "@example.fr"}, true,
		"net/mail has no length limits; RFC 5321 limits a local part to 64 octets"},
	{"quoted local part", map[string]any{"reporter.email": `"camille durand"@example.fr`}, false,
		"net/mail unquotes the local part, so the address it returns is not the one sent; format email accepts it"},
	{"IPv6 literal", map[string]any{"reporter.email": "dpo@[IPv6:2001:db8::1]"}, false,
		"net/mail refuses RFC 5321's IPv6 address literals; format email accepts them"},
	{"empty local part", map[string]any{"reporter.email": "@example.fr"}, false,
		"format email (the validator's) accepts an empty local part; net/mail does not"},
}

// countries is n distinct ISO 3166-1 alpha-2 codes.
func countries(n int) []any {
	var codes []any
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if c := string([]rune{a, b}); breach.IsCountry(c) && len(codes) < n {
				codes = append(codes, c)
			}
		}
	}
	return codes
}

// TestSpecAndParserAgree runs every body of the corpus (see corpus_test.go) and the probes above
// through the parser and through the spec: the spec accepts what the parser accepts and refuses
// what it refuses, but for the rules of beyondSchema.
func TestSpecAndParserAgree(t *testing.T) {
	s := loadSpec(t)
	p := breach.NewParser()
	cmp := newComparison(beyondSchema)
	for _, c := range append(corpus(t), probeCases(t)...) {
		_, err := p.Parse(c.body, c.org, exampleTime)
		ok, why := s.body("/v1/reports", c.body)
		cmp.judge(t, c.name, c.body, err, ok, why)
	}
	cmp.done(t)
}

// TestSpecAndSupplementsAgree does the same for supplements: every body of the corpus with a
// stage, submitted as version 2 of the gdpr-minimal example, and the stage cases of
// TestSupplementIsAReportWithAStage.
func TestSpecAndSupplementsAgree(t *testing.T) {
	s := loadSpec(t)
	const id = "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R"
	path := "/v1/reports/" + id + "/supplements"
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	cases := append(corpus(t), probeCases(t)...)
	for i, c := range cases {
		if body := withStage(c.body, `"supplementary"`); jsontext.Value(body).IsValid() {
			cases[i].body = body
		}
	}
	for _, st := range stageCases {
		body := mutate(t, base, map[string]any{"regimes": st.regimes})
		if st.stage != "" {
			body = withStage(body, st.stage)
		}
		cases = append(cases, corpusCase{fmt.Sprintf("regimes %v, stage %s", st.regimes, st.stage), body, exampleOrg})
	}
	cases = append(cases,
		corpusCase{"a regime dropped", withStage(mutate(t, base, map[string]any{"regimes": []any{"nis2"}}), `"nis2.notification"`), exampleOrg},
		corpusCase{"aware_at changed", withStage(mutate(t, base, map[string]any{"incident.aware_at": "2026-11-21T09:00:00Z"}), `"supplementary"`), exampleOrg})

	cmp := newComparison(beyondSupplementSchema)
	for _, c := range cases {
		ctx := context.Background()
		in := breach.NewIntake(breachtest.NewStore(c.org), func() time.Time { return exampleTime },
			func(time.Time) breach.ReportID { return id })
		if _, err := in.Submit(ctx, breach.Submission{Org: c.org.ID, IdempotencyKey: "first", Body: base}); err != nil {
			t.Fatal(err)
		}
		head, err := in.Head(ctx, c.org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.Supplement(ctx, head, breach.SupplementRequest{IdempotencyKey: "second", IfMatch: `"1"`, Body: c.body})
		if breach.ErrorCode(err) == breach.LateReasonRequired {
			err = nil // valid, and late: the 422 comes after validation
		}
		ok, why := s.body(path, c.body)
		cmp.judge(t, c.name, c.body, err, ok, why)
	}
	cmp.done(t)
}

func probeCases(t *testing.T) []corpusCase {
	t.Helper()
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	var cases []corpusCase
	for _, pr := range probes {
		c := corpusCase{"probe: " + pr.name, mutate(t, base, pr.edits), exampleOrg}
		if pr.org != nil {
			c.org = *pr.org
		}
		cases = append(cases, c)
	}
	return cases
}

// comparison tallies the verdicts of the code and of the spec on bodies.
type comparison struct {
	beyond                   []beyond
	used                     []int // bodies refused only for each row of beyond
	alike, beyondN, notIJSON int
}

func newComparison(b []beyond) *comparison {
	return &comparison{beyond: b, used: make([]int, len(b))}
}

// judge compares the code's answer to a body (err) with the spec's (ok, why).
func (c *comparison) judge(t *testing.T, name string, body []byte, err error, ok bool, why string) {
	t.Helper()
	var e *breach.Error
	switch {
	case err == nil:
		if !ok {
			t.Errorf("%s: the code accepts it, the spec refuses it: %s\n%s", name, why, body)
		}
		c.alike++
	case !errors.As(err, &e):
		t.Errorf("%s: the code failed: %v", name, err)
	case e.Code == breach.InvalidJSON:
		if ok {
			t.Errorf("%s: the code refuses it (%v), the spec accepts it\n%s", name, err, body)
		}
		if jsontext.Value(body).IsValid() {
			c.alike++
		} else {
			c.notIJSON++
		}
	case e.Code == breach.Invalid:
		rows, only := c.rows(body, e.Fields)
		switch {
		case only && !ok:
			t.Errorf("%s: the code refuses it only for rules JSON Schema cannot express (%v), yet the spec refuses it: %s", name, e.Fields, why)
		case only:
			t.Logf("%s: schema-valid, refused by the code for %v: beyond JSON Schema", name, e.Fields)
			for _, r := range rows {
				c.used[r]++
			}
			c.beyondN++
		case ok:
			t.Errorf("%s: the code refuses it (%v), the spec accepts it\n%s", name, e.Fields, body)
		default:
			c.alike++
		}
	default:
		t.Errorf("%s: the code answered %v", name, err)
	}
}

// done checks that every rule beyond the schema was shown by some body.
func (c *comparison) done(t *testing.T) {
	t.Helper()
	for i, b := range c.beyond {
		if c.used[i] == 0 {
			t.Errorf("no body of the corpus shows rule %s beyond the schema (%s): add one", b.rule, b.why)
		}
	}
	t.Logf("%d bodies judged alike by the spec and the code, %d refused by the code only for rules beyond JSON Schema, %d not I-JSON",
		c.alike, c.beyondN, c.notIJSON)
}

// rows says whether every failing field is beyond the schema, and by which rows.
func (c *comparison) rows(body []byte, fields []breach.FieldError) ([]int, bool) {
	var rows []int
	for _, f := range fields {
		row := -1
		for i, b := range c.beyond {
			if b.rule == f.Rule && (b.applies == nil || b.applies(valueAt(body, f.Field))) {
				row = i
				break
			}
		}
		if row < 0 {
			return nil, false
		}
		rows = append(rows, row)
	}
	return rows, len(rows) > 0
}

// valueAt is the value at a field path (incident.aware_at, data.data_categories[2]) of a JSON
// body, numbers as written; nil when there is none.
func valueAt(body []byte, path string) any {
	dec := stdjson.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	for _, seg := range regexp.MustCompile(`[^.\[\]]+`).FindAllString(path, -1) {
		switch node := v.(type) {
		case map[string]any:
			v = node[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

func TestKnownDivergences(t *testing.T) {
	s := loadSpec(t)
	p := breach.NewParser()
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	for _, d := range divergences {
		body := mutate(t, base, d.edits)
		_, err := p.Parse(body, exampleOrg, exampleTime)
		specOK, why := s.body("/v1/reports", body)
		parserOK := err == nil
		if parserOK != d.parserAccepts || specOK == d.parserAccepts {
			t.Errorf("%s no longer diverges (parser accepts: %v, spec accepts: %v): strike it from divergences", d.name, parserOK, specOK)
			continue
		}
		t.Logf("%s: parser accepts %v, spec accepts %v (%s): %s %v", d.name, parserOK, specOK, d.why, why, err)
	}
}

// TestSupplementIsAReportWithAStage: the supplement body is a report with the same rules plus a
// required stage, which must be `supplementary` or a stage of one of its regimes.
func TestSupplementIsAReportWithAStage(t *testing.T) {
	s := loadSpec(t)
	const path = "/v1/reports/01KAKZ7Q1W5Q7Y3X2V8N4M6P0R/supplements"
	for _, c := range corpus(t) {
		body := withStage(c.body, `"supplementary"`)
		if !jsontext.Value(body).IsValid() {
			continue // not an object, not JSON, or already has a stage
		}
		reportOK, _ := s.body("/v1/reports", c.body)
		if ok, why := s.body(path, body); ok != reportOK {
			t.Errorf("%s: as a report accepted %v, as a supplement %v: %s", c.name, reportOK, ok, why)
		}
	}
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	for _, tc := range stageCases {
		body := mutate(t, base, map[string]any{"regimes": tc.regimes})
		if tc.stage != "" {
			body = withStage(body, tc.stage)
		}
		if ok, why := s.body(path, body); ok != tc.ok {
			t.Errorf("regimes %v, stage %s: accepted %v, want %v: %s", tc.regimes, tc.stage, ok, tc.ok, why)
		}
	}
}

// stageCases are a supplement's stages for its regimes.
var stageCases = []struct {
	regimes []any
	stage   string // as JSON; "" for none
	ok      bool
}{
	{[]any{"gdpr"}, `"supplementary"`, true},
	{[]any{"gdpr"}, "", false},
	{[]any{"gdpr"}, `null`, false},
	{[]any{"gdpr"}, `"initial"`, false},
	{[]any{"gdpr"}, `"gdpr.notification"`, false},
	{[]any{"gdpr"}, `"nis2.final"`, false},
	{[]any{"gdpr"}, `"dora.initial"`, false},
	{[]any{"gdpr"}, `"Supplementary"`, false},
	{[]any{"gdpr"}, `1`, false},
	{[]any{"gdpr", "nis2"}, `"nis2.early_warning"`, true},
	{[]any{"gdpr", "nis2"}, `"nis2.notification"`, true},
	{[]any{"gdpr", "nis2"}, `"nis2.final"`, true},
	{[]any{"gdpr", "nis2"}, `"dora.final"`, false},
	{[]any{"gdpr", "dora"}, `"dora.initial"`, true},
	{[]any{"gdpr", "dora", "nis2"}, `"dora.intermediate"`, true},
	{[]any{"gdpr", "dora"}, `"dora.final"`, true},
}

// withStage adds a stage member to a JSON object's text.
func withStage(body []byte, stage string) []byte {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return body
	}
	rest := t[1:]
	sep := ","
	if r := bytes.TrimLeft(rest, " \t\r\n"); len(r) > 0 && r[0] == '}' {
		sep = ""
	}
	return append([]byte(`{"stage":`+stage+sep), rest...)
}

// TestIdempotencyKeyHeader: the spec's Idempotency-Key accepts exactly the keys the intake does.
func TestIdempotencyKeyHeader(t *testing.T) {
	s := loadSpec(t)
	body := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	for _, key := range []string{"k", "3f6c1e2a-8d4b-4c1f-9a57-0e2b7d9c4a11", strings.Repeat("a", 128), strings.Repeat("a", 129),
		"", "a b", "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", "clé", "a\x7f", "a\tb", "a\x00"} {
		in := breach.NewIntake(breachtest.NewStore(exampleOrg), func() time.Time { return exampleTime },
			func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" })
		_, err := in.Submit(context.Background(), breach.Submission{Org: exampleOrg.ID, IdempotencyKey: key, Body: body})
		codeOK := err == nil
		if !codeOK && !strings.Contains(err.Error(), "header.Idempotency-Key") {
			t.Fatalf("key %q: %v", key, err)
		}
		header := validHeaders()
		if key == "" {
			header.Del("Idempotency-Key")
		} else {
			header["Idempotency-Key"] = []string{key}
		}
		why := s.request(http.MethodPost, "/v1/reports", body, header)
		if specOK := len(why) == 0; specOK != codeOK {
			t.Errorf("key %q: the intake accepts it %v, the spec %v %v (%v)", key, codeOK, specOK, why, err)
		}
	}
}

// TestIfMatchHeader: the spec's If-Match accepts exactly the values the intake reads as a version
// (a stale one is then a 409, not a 400).
func TestIfMatchHeader(t *testing.T) {
	s := loadSpec(t)
	const id = "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R"
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	body := withStage(base, `"supplementary"`)
	for _, value := range []string{"1", `"1"`, "0", "7", `"123456789"`, "1234567890", "01", `""`, `"1`, `W/"1"`, "1.0", "+1", " 1", "one", ""} {
		ctx := context.Background()
		in := breach.NewIntake(breachtest.NewStore(exampleOrg), func() time.Time { return exampleTime },
			func(time.Time) breach.ReportID { return id })
		if _, err := in.Submit(ctx, breach.Submission{Org: exampleOrg.ID, IdempotencyKey: "first", Body: base}); err != nil {
			t.Fatal(err)
		}
		head, err := in.Head(ctx, exampleOrg.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.Supplement(ctx, head, breach.SupplementRequest{IdempotencyKey: "second", IfMatch: value, Body: body})
		codeOK := err == nil || breach.ErrorCode(err) == breach.VersionConflict
		if !codeOK && !strings.Contains(err.Error(), "header.If-Match") {
			t.Fatalf("If-Match %q: %v", value, err)
		}
		header := validHeaders()
		if value == "" {
			header.Del("If-Match")
		} else {
			header["If-Match"] = []string{value}
		}
		why := s.request(http.MethodPost, "/v1/reports/"+id+"/supplements", body, header)
		if specOK := len(why) == 0; specOK != codeOK {
			t.Errorf("If-Match %q: the intake takes it %v (%v), the spec %v %v", value, codeOK, err, specOK, why)
		}
	}
}

// TestAnswersFitTheSpec: what the intake and the reader answer, for every example submitted and
// then supplemented, is what the spec says each route answers: receipts and their Location, the
// stored documents, the report with its ETag, the listing, the regulator's view.
func TestAnswersFitTheSpec(t *testing.T) {
	s := loadSpec(t)
	ctx := context.Background()
	var examples []corpusCase
	for _, c := range corpus(t) {
		if strings.HasPrefix(c.name, "example ") {
			examples = append(examples, c)
		}
	}
	signer := breachtest.NewSigner("receipt-key-1")
	for i, c := range examples {
		store := breachtest.NewStore(exampleOrg)
		id := fmt.Sprintf("01KAKZ7Q1W5Q7Y3X2V8N4M6P%02d", i)
		in := breach.NewIntake(store, func() time.Time { return exampleTime }, func(time.Time) breach.ReportID { return breach.ReportID(id) },
			breach.SignReceipts(signer))
		first, err := in.Submit(ctx, breach.Submission{Org: exampleOrg.ID, IdempotencyKey: "first", Body: c.body})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		s.response(t, c.name+": receipt", http.MethodPost, "/v1/reports", http.StatusCreated, first.Receipt,
			http.Header{"Location": {"/v1/reports/" + id}})

		head, err := in.Head(ctx, exampleOrg.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		second, err := in.Supplement(ctx, head, breach.SupplementRequest{IdempotencyKey: "second", IfMatch: "1",
			Body: withStage(c.body, `"supplementary"`)})
		if err != nil {
			t.Fatalf("%s: supplement: %v", c.name, err)
		}
		s.response(t, c.name+": supplement receipt", http.MethodPost, "/v1/reports/"+id+"/supplements", http.StatusCreated,
			second.Receipt, http.Header{"Location": {"/v1/reports/" + id + "/versions/2"}})

		for _, v := range store.Stored(breach.ReportID(id)) {
			s.response(t, fmt.Sprintf("%s: stored document v%d", c.name, v.Number), http.MethodGet,
				fmt.Sprintf("/v1/reports/%s/versions/%d", id, v.Number), http.StatusOK, v.Document, nil)
		}

		rd := breach.NewReader(store, nil) // no cursor: one page
		view, err := rd.Report(ctx, exampleOrg.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		s.response(t, c.name+": report", http.MethodGet, "/v1/reports/"+id, http.StatusOK, marshal(t, view), http.Header{"Etag": {`"2"`}})
		page, err := rd.List(ctx, exampleOrg.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		s.response(t, c.name+": listing", http.MethodGet, "/v1/reports", http.StatusOK, marshal(t, page), nil)
		view, err = rd.RegulatorReport(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s.response(t, c.name+": regulator's view", http.MethodGet, "/v1/regulator/reports/"+id, http.StatusOK, marshal(t, view), http.Header{"Etag": {`"2"`}})
	}

	keys := func(context.Context) ([]receipt.PublicKey, error) {
		return []receipt.PublicKey{{KeyID: signer.ID, Key: &signer.Key.PublicKey}}, nil
	}
	resp, err := apigw.ReceiptKeys(keys, nil, zerolog.Nop())(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/receipts/public-key"})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("public keys: %d, %v", resp.StatusCode, err)
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	s.response(t, "public keys", http.MethodGet, "/v1/receipts/public-key", http.StatusOK, []byte(resp.Body), header)
}

// marshal is JSON as the handlers write it (encoding/json/v2).
func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// response validates one answer to method target.
func (s spec) response(t *testing.T, name, method, target string, status int, body []byte, header http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Header = validHeaders()
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	for k, v := range header {
		resp.Header[k] = v
	}
	if ok, errs := s.v.ValidateHttpResponse(req, resp); !ok {
		t.Errorf("%s does not fit the spec: %v\n%s", name, complaints(errs), body)
	}
}
