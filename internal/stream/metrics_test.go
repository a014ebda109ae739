package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/stream"
)

// fannedAt is when the fan-out runs in these tests: 1.5 s after the versions were received.
var fannedAt = now.Add(1500 * time.Millisecond)

// meteredProcess is process-report over f's fakes as internal/app/fanout wraps it: each
// invocation's record flushed into out when it ends.
func meteredProcess(t *testing.T, f *fixture, out *bytes.Buffer) stream.Handler {
	t.Helper()
	m, err := metrics.New(out, "ProcessReportFunction", func() time.Time { return fannedAt })
	if err != nil {
		t.Fatal(err)
	}
	fanout := breach.NewFanout(f.store, f.store, f.store, f.archive, f.alerts, func() time.Time { return fannedAt })
	return metrics.Wrap(m, stream.ProcessReport(fanout, dynamo.VersionFromItem, zerolog.Nop()))
}

// flushed reads one invocation's EMF lines back, each point as Metric{Service}=values, sorted.
func flushed(t *testing.T, out *bytes.Buffer) []string {
	t.Helper()
	ps, err := metrics.Parse(out.Bytes())
	if err != nil {
		t.Fatalf("not valid EMF: %v\n%s", err, out.Bytes())
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s{%s}=%v", p.Metric, p.Dimensions[metrics.Service], p.Values))
	}
	out.Reset()
	slices.Sort(got)
	return got
}

// Archive and alert latencies are recorded once per version, by the delivery that did the work:
// a redelivered batch, whose versions the ledger knows as alerted, records nothing.
func TestProcessReportRecordsLatenciesOnce(t *testing.T) {
	f := newFixture(t, 3)
	var out bytes.Buffer
	h := meteredProcess(t, f, &out)
	ev := batch(f.versions)
	if resp, err := h(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, %v", resp, err)
	}
	want := []string{
		"AlertLatency{ProcessReportFunction}=[1500 1500 1500]",
		"ArchiveLatency{ProcessReportFunction}=[1500 1500 1500]",
	}
	if got := flushed(t, &out); !slices.Equal(got, want) {
		t.Errorf("first delivery: %q, want %q", got, want)
	}
	if resp, err := h(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %+v, %v", resp, err)
	}
	if out.Len() != 0 {
		t.Errorf("the redelivery wrote %s; want nothing", out.Bytes())
	}
}

// A record whose fan-out fails counts a retry, plus the steps it did before failing; its retry
// records its alert once.
func TestProcessReportCountsRetries(t *testing.T) {
	f := newFixture(t, 2)
	var out bytes.Buffer
	h := meteredProcess(t, f, &out)
	ev := batch(f.versions)
	f.alerts.FailOn(func(breach.Alert) error { return errors.New("sns: connection refused") })
	if resp, _ := h(context.Background(), ev); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("resp %+v", resp)
	}
	want := []string{
		"ArchiveLatency{ProcessReportFunction}=[1500 1500]",
		"FanoutRetries{ProcessReportFunction}=[1 1]",
	}
	if got := flushed(t, &out); !slices.Equal(got, want) {
		t.Errorf("SNS down: %q, want %q", got, want)
	}
	f.alerts.FailOn(nil)
	if resp, err := h(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v, %v", resp, err)
	}
	// The retry puts the documents again (the archive answers success): Archived is set again.
	want = []string{
		"AlertLatency{ProcessReportFunction}=[1500 1500]",
		"ArchiveLatency{ProcessReportFunction}=[1500 1500]",
	}
	if got := flushed(t, &out); !slices.Equal(got, want) {
		t.Errorf("retry: %q, want %q", got, want)
	}
	// A record that cannot be read is a retry too.
	f2 := newFixture(t, 2)
	ev = batch(f2.versions)
	delete(ev.Records[1].Change.NewImage, "document")
	if resp, _ := meteredProcess(t, f2, &out)(context.Background(), ev); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("resp %+v", resp)
	}
	want = []string{
		"AlertLatency{ProcessReportFunction}=[1500]",
		"ArchiveLatency{ProcessReportFunction}=[1500]",
		"FanoutRetries{ProcessReportFunction}=[1]",
	}
	if got := flushed(t, &out); !slices.Equal(got, want) {
		t.Errorf("a poison record: %q, want %q", got, want)
	}
}

// The sweeper records the latencies of the versions it fanned out itself, not of those the
// stream did.
func TestSweepRecordsWhatItDid(t *testing.T) {
	f := newFixture(t, 3)
	var out bytes.Buffer
	if _, err := meteredProcess(t, f, &out)(context.Background(), batch(f.versions[:1])); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	later := now.Add(breach.SweepAge + time.Minute)
	m, err := metrics.New(&out, "SweepFunction", func() time.Time { return later })
	if err != nil {
		t.Fatal(err)
	}
	sweep := stream.Sweep(breach.NewFanout(f.store, f.store, f.store, f.archive, f.alerts, func() time.Time { return later }), zerolog.Nop())
	rec := m.Record() // as internal/app/fanout wraps the sweep
	if err := sweep(metrics.NewContext(context.Background(), rec), []byte(`{"source":"aws.events"}`)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AlertLatency{SweepFunction}=[960000 960000]",
		"ArchiveLatency{SweepFunction}=[960000 960000]",
	}
	if got := flushed(t, &out); !slices.Equal(got, want) {
		t.Errorf("sweep: %q, want %q", got, want)
	}
}
