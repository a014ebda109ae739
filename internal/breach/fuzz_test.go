package breach_test

import (
	"errors"
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
		doc, err := breach.Canonical(r)
		if err != nil {
			t.Fatalf("accepted report does not canonicalise: %v", err)
		}
		if _, err := p.Parse(doc, exampleOrg, exampleTime); err != nil {
			t.Fatalf("canonical form of an accepted report is refused: %v\n%s", err, doc)
		}
	})
}
