// Package metrics writes the system's CloudWatch metrics as Embedded Metric Format (EMF) lines:
// JSON log lines that CloudWatch Logs turns into metrics, with no AWS call. Lambda sends a
// function's standard output to its log group, so a function writes them to os.Stdout.
//
// A Record collects one invocation's data and Flush writes them at its end. Only the Record's
// methods emit metrics, one per entry of the catalogue (Catalogue), so names, units and dimension
// keys cannot drift from what the dashboard (infra/dashboard.json) shows.
//
// Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// Metrics writes the EMF lines of one function. It is safe for concurrent use.
type Metrics struct {
	w       io.Writer
	service string
	now     func() time.Time
	mu      sync.Mutex // one Write at a time: a line is never split by another's
	buf     []byte
}

// New writes to w (os.Stdout in Lambda) the metrics of service, the function's name
// (AWS_LAMBDA_FUNCTION_NAME, which is what `!Ref` of the function gives the dashboard). now
// stamps each flush.
func New(w io.Writer, service string, now func() time.Time) (*Metrics, error) {
	if !validValue(service) {
		return nil, errors.New("metrics: the service name must be 1 to 1024 printable ASCII characters, not all spaces")
	}
	return &Metrics{w: w, service: service, now: now}, nil
}

// Record starts the record of one invocation. A nil *Metrics gives a nil *Record, whose
// methods do nothing: code that is given no metrics runs unchanged.
func (m *Metrics) Record() *Record {
	if m == nil {
		return nil
	}
	r := &Record{m: m}
	r.data = r.small[:0]
	return r
}

// Record is the data of one invocation, written by Flush. Its methods are safe for concurrent
// use (process-report fans out a batch's records concurrently) and do nothing on a nil *Record.
type Record struct {
	m     *Metrics
	mu    sync.Mutex
	data  []datum
	small [8]datum // data's first array: a request's few data cost no allocation
}

// datum is one value of a metric under one of its dimension sets: Service and, unless key is
// noKey, key=value.
type datum struct {
	metric metricID
	key    dimKey
	value  string
	v      float64
}

// invalid replaces a dimension value CloudWatch would refuse, so that the datum still counts
// and the line stays valid.
const invalid = "invalid"

func (r *Record) add(id metricID, key dimKey, value string, v float64) {
	if r == nil {
		return
	}
	if key != noKey && !validValue(value) {
		value = invalid
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return // JSON has no such number; our constructors never make one
	}
	r.mu.Lock()
	r.data = append(r.data, datum{id, key, value, v})
	r.mu.Unlock()
}

// ReportAccepted counts a first version accepted (201): ReportsAccepted once by severity and
// once per regime, and LateReports (1 when late, else 0).
func (r *Record) ReportAccepted(severity breach.Severity, regimes []breach.Regime, late bool) {
	r.add(reportsAccepted, severityKey, string(severity), 1)
	for _, g := range regimes {
		r.add(reportsAccepted, regimeKey, string(g), 1)
	}
	r.late(late)
}

// SupplementAccepted counts a supplement accepted (201), and LateReports (1 when late, else 0).
func (r *Record) SupplementAccepted(late bool) {
	r.add(supplementsAccepted, noKey, "", 1)
	r.late(late)
}

func (r *Record) late(late bool) {
	v := 0.0
	if late {
		v = 1
	}
	r.add(lateReports, noKey, "", v)
}

// Replay counts a request answered with an earlier request's receipt (same Idempotency-Key, 200).
func (r *Record) Replay() { r.add(replays, noKey, "", 1) }

// Rejection counts an error answer by the code of its body: a breach.Code, or "internal" for a 500.
func (r *Record) Rejection(code breach.Code) { r.add(rejections, codeKey, string(code), 1) }

// Archived records ArchiveLatency: from the version's received_at to archivedAt.
func (r *Record) Archived(receivedAt, archivedAt time.Time) {
	r.add(archiveLatency, noKey, "", milliseconds(archivedAt.Sub(receivedAt)))
}

// Alerted records AlertLatency: from the version's received_at to alertedAt.
func (r *Record) Alerted(receivedAt, alertedAt time.Time) {
	r.add(alertLatency, noKey, "", milliseconds(alertedAt.Sub(receivedAt)))
}

// FanoutRetry counts a version whose fan-out failed in this invocation (Lambda delivers it again,
// or the sweeper takes it).
func (r *Record) FanoutRetry() { r.add(fanoutRetries, noKey, "", 1) }

// Read counts a successful read on route, the HTTP API route key ("GET /v1/reports/{id}").
func (r *Record) Read(route string) { r.add(reads, routeKey, route, 1) }

// milliseconds with microsecond precision; a negative duration (clocks of two functions a little
// apart) counts as 0.
func milliseconds(d time.Duration) float64 {
	return float64(max(d, 0).Microseconds()) / 1000
}

// Flush writes the record's EMF lines in one Write, then empties the record. It writes nothing
// for an empty record. Metrics must never fail a request: callers may ignore the error.
func (r *Record) Flush() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.data) == 0 {
		return nil
	}
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = appendLines(m.buf[:0], m.service, m.now().UnixMilli(), r.data)
	r.data = r.data[:0]
	_, err := m.w.Write(m.buf)
	return err
}

type recordKey struct{}

// NewContext returns ctx carrying r, for code below a handler (FromContext).
func NewContext(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, recordKey{}, r)
}

// FromContext returns the Record ctx carries, or nil (whose methods do nothing).
func FromContext(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// Wrap gives every invocation of h its own Record, in its context (FromContext), and flushes it
// when h returns, whatever h returns. It fits any Lambda handler of the form func(ctx, event)
// (response, error).
func Wrap[Req, Resp any](m *Metrics, h func(context.Context, Req) (Resp, error)) func(context.Context, Req) (Resp, error) {
	return func(ctx context.Context, req Req) (Resp, error) {
		rec := m.Record()
		defer rec.Flush() // metrics never fail a request: its error is dropped
		return h(NewContext(ctx, rec), req)
	}
}
