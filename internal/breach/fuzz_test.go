package breach_test

import (
	"errors"

	"github.com/go-json-experiment/json"
	"testing"

	"github.com/breach-intake/intake/internal/breach"
)

var closedRules = map[breach.Rule]bool{
	"required": true, "type": true, "enum": true, "format": true, "min": true, "max": true, "luhn": true,
	"mismatch": true, "order": true, "future": true, "unique": true, "required_if": true,
	"required_if_late": true, "immutable": true,
}

// FuzzParse: whatever the bytes, Parse never panics, refuses only with invalid_json or
// validation_failed and closed rule names, and what it accepts survives a canonical round trip.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"gdpr-minimal.json", "nis2-health-ransomware.json", "processor-late.json"} {
		f.Add(readTestdata(f, name))
	}
	base := readTestdata(f, "gdpr-minimal.json")
	for _, tc := range fieldCases {
		f.Add(mutate(f, base, tc.edits))
	}
	for _, tc := range validCases {
		f.Add(mutate(f, base, tc.edits))
	}
	for _, tc := range jsonCases {
		f.Add([]byte(tc.body))
	}
	p := breach.NewParser()
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := p.Parse(body, exampleOrg, exampleTime)
		if err != nil {
			var e *breach.Error
			if !errors.As(err, &e) || (e.Code != breach.InvalidJSON && e.Code != breach.Invalid) {
				t.Fatalf("unexpected error %v", err)
			}
			for _, fe := range e.Fields {
				if !closedRules[fe.Rule] || fe.Field == "" {
					t.Fatalf("field error outside the contract: %+v", fe)
				}
			}
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted report does not marshal: %v", err)
		}
		if _, err := p.Parse(again, exampleOrg, exampleTime); err != nil {
			t.Fatalf("an accepted report, marshalled, is refused: %v\n%s", err, again)
		}
		v, _, err := breach.NewVersion(exampleOrg.ID, "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R", 1, breach.StageInitial, exampleTime,
			breach.SeverityOf(r, false), false, nil, r)
		if err != nil {
			t.Fatal(err)
		}
		assertCanonical(t, v.Document)
	})
}
