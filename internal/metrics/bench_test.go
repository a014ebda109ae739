package metrics_test

import (
	"io"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// What metrics add to one accepted submit: a record, its data, one flush of two lines.
func BenchmarkSubmit(b *testing.B) {
	m, err := metrics.New(io.Discard, service, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	regimes := []breach.Regime{breach.GDPR}
	b.ReportAllocs()
	for b.Loop() {
		rec := m.Record()
		rec.ReportAccepted(breach.High, regimes, false)
		rec.Flush()
	}
}

// A process-report batch of ten versions.
func BenchmarkProcessBatch(b *testing.B) {
	m, err := metrics.New(io.Discard, service, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		rec := m.Record()
		for range 10 {
			rec.Archived(at, at.Add(time.Second))
			rec.Alerted(at, at.Add(2*time.Second))
		}
		rec.Flush()
	}
}
