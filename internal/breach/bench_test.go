package breach_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/breach"
)

// BenchmarkParse is decode + validate of a 6.7 KB report.
func BenchmarkParse(b *testing.B) {
	body := readTestdata(b, "report-6k7.json")
	p := breach.NewParser()
	if _, err := p.Parse(body, exampleOrg, exampleTime); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(body, exampleOrg, exampleTime); err != nil {
			b.Fatal(err)
		}
	}
}
