package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

const service = "intake-SubmitReportFunction-Ab12Cd34"

var (
	flushedAt  = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC) // 1773480413589 ms
	receivedAt = time.Date(2026, 3, 14, 9, 26, 51, 0, time.UTC)
)

func newMetrics(t testing.TB, w *bytes.Buffer) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(w, service, func() time.Time { return flushedAt })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The exact lines: what CloudWatch Logs receives from one invocation.
func TestFlushGolden(t *testing.T) {
	const aws = `{"_aws":{"Timestamp":1773480413589,"CloudWatchMetrics":[`
	const ns = `{"Namespace":"BreachIntake","Dimensions":`
	for _, tc := range []struct {
		name   string
		record func(r *metrics.Record)
		want   string
	}{
		{
			"an accepted report, one regime, on time: by severity with LateReports, then by regime",
			func(r *metrics.Record) { r.ReportAccepted(breach.High, []breach.Regime{breach.GDPR}, false) },
			aws + ns + `[["Service","Severity"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]},` +
				ns + `[["Service"]],"Metrics":[{"Name":"LateReports","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Severity":"high","ReportsAccepted":1,"LateReports":0}` + "\n" +
				aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Regime":"gdpr","ReportsAccepted":1}` + "\n",
		},
		{
			"a late report under three regimes: a line per regime",
			func(r *metrics.Record) {
				r.ReportAccepted(breach.Critical, []breach.Regime{breach.GDPR, breach.NIS2, breach.DORA}, true)
			},
			aws + ns + `[["Service","Severity"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]},` +
				ns + `[["Service"]],"Metrics":[{"Name":"LateReports","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Severity":"critical","ReportsAccepted":1,"LateReports":1}` + "\n" +
				aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Regime":"gdpr","ReportsAccepted":1}` + "\n" +
				aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Regime":"nis2","ReportsAccepted":1}` + "\n" +
				aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Regime":"dora","ReportsAccepted":1}` + "\n",
		},
		{
			"a supplement",
			func(r *metrics.Record) { r.SupplementAccepted(false) },
			aws + ns + `[["Service"]],"Metrics":[{"Name":"SupplementsAccepted","Unit":"Count"},{"Name":"LateReports","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","SupplementsAccepted":1,"LateReports":0}` + "\n",
		},
		{
			"a replay",
			func(r *metrics.Record) { r.Replay() },
			aws + ns + `[["Service"]],"Metrics":[{"Name":"Replays","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Replays":1}` + "\n",
		},
		{
			"a rejection",
			func(r *metrics.Record) { r.Rejection(breach.Invalid) },
			aws + ns + `[["Service","Code"]],"Metrics":[{"Name":"Rejections","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Code":"validation_failed","Rejections":1}` + "\n",
		},
		{
			"a read",
			func(r *metrics.Record) { r.Read("GET /v1/reports/{id}") },
			aws + ns + `[["Service","Route"]],"Metrics":[{"Name":"Reads","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Route":"GET /v1/reports/{id}","Reads":1}` + "\n",
		},
		{
			"a process-report batch: one line, latencies as arrays, in microsecond-precise milliseconds",
			func(r *metrics.Record) {
				r.Archived(receivedAt, receivedAt.Add(1234567*time.Microsecond))
				r.Alerted(receivedAt, receivedAt.Add(2*time.Second))
				r.Archived(receivedAt, receivedAt.Add(-time.Second)) // clocks apart: 0, not negative
				r.Alerted(receivedAt, receivedAt.Add(3500*time.Millisecond))
				r.FanoutRetry()
			},
			aws + ns + `[["Service"]],"Metrics":[{"Name":"ArchiveLatency","Unit":"Milliseconds"},` +
				`{"Name":"AlertLatency","Unit":"Milliseconds"},{"Name":"FanoutRetries","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","ArchiveLatency":[1234.567,0],"AlertLatency":[2000,3500],"FanoutRetries":1}` + "\n",
		},
		{
			"dimension values CloudWatch would refuse count as invalid",
			func(r *metrics.Record) {
				r.Rejection("")
				r.Read("GET /v1/r\u00e9ports")
			},
			aws + ns + `[["Service","Code"]],"Metrics":[{"Name":"Rejections","Unit":"Count"}]},` +
				ns + `[["Service","Route"]],"Metrics":[{"Name":"Reads","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Code":"invalid","Route":"invalid","Rejections":1,"Reads":1}` + "\n",
		},
		{
			"quotes and backslashes are escaped",
			func(r *metrics.Record) { r.Read(`GET /"a\b"`) },
			aws + ns + `[["Service","Route"]],"Metrics":[{"Name":"Reads","Unit":"Count"}]}]},` +
				`"Service":"` + service + `","Route":"GET /\"a\\b\"","Reads":1}` + "\n",
		},
		{"nothing recorded, nothing written", func(*metrics.Record) {}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			rec := newMetrics(t, &out).Record()
			tc.record(rec)
			if err := rec.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("lines:\n%s\nwant:\n%s", got, tc.want)
			}
			if tc.want == "" {
				return
			}
			if _, err := metrics.Parse(out.Bytes()); err != nil {
				t.Errorf("not valid EMF: %v", err)
			}
			checkOneDirectivePerMetric(t, out.Bytes())
		})
	}
}

// checkOneDirectivePerMetric checks the encoder's own rule (emf.go): a metric name is in one
// directive of a line, so its one member is never read under a dimension set it was not meant for.
func checkOneDirectivePerMetric(t *testing.T, lines []byte) {
	t.Helper()
	for _, l := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Metrics []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(l, &doc, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range doc.AWS.CloudWatchMetrics {
			for _, m := range d.Metrics {
				if slices.Contains(names, m.Name) {
					t.Errorf("%s is in two directives of %s", m.Name, l)
				}
				names = append(names, m.Name)
			}
		}
	}
}

// Read back as CloudWatch would, an accepted submit publishes exactly these points.
func TestSubmitDecodesBack(t *testing.T) {
	var out bytes.Buffer
	rec := newMetrics(t, &out).Record()
	rec.ReportAccepted(breach.Medium, []breach.Regime{breach.NIS2, breach.DORA}, true)
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := metrics.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	point := func(name string, dims map[string]string, v float64) metrics.Point {
		dims["Service"] = service
		return metrics.Point{Namespace: "BreachIntake", Metric: name, Unit: metrics.Count,
			Dimensions: dims, Values: []float64{v}, Timestamp: flushedAt}
	}
	want := []metrics.Point{
		point("ReportsAccepted", map[string]string{"Severity": "medium"}, 1),
		point("LateReports", map[string]string{}, 1),
		point("ReportsAccepted", map[string]string{"Regime": "nis2"}, 1),
		point("ReportsAccepted", map[string]string{"Regime": "dora"}, 1),
	}
	if diff := diffPoints(got, want); diff != "" {
		t.Error(diff)
	}
}

func diffPoints(got, want []metrics.Point) string {
	g, _ := json.Marshal(got, json.Deterministic(true))
	w, _ := json.Marshal(want, json.Deterministic(true))
	if !bytes.Equal(g, w) {
		return fmt.Sprintf("points:\n%s\nwant:\n%s", g, w)
	}
	return ""
}

// A sweep over many versions: no array over 100 values, no line over 100 metrics, nothing lost.
func TestLimits(t *testing.T) {
	var out bytes.Buffer
	rec := newMetrics(t, &out).Record()
	for i := range 250 {
		rec.Alerted(receivedAt, receivedAt.Add(time.Duration(i)*time.Millisecond))
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	points, err := metrics.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var values []float64
	for _, p := range points {
		if len(p.Values) > 100 {
			t.Errorf("%d values in one array", len(p.Values))
		}
		values = append(values, p.Values...)
	}
	if len(points) != 3 || len(values) != 250 || values[249] != 249 {
		t.Errorf("%d points holding %d values, want 3 holding 250 in order", len(points), len(values))
	}
}

// process-report records from concurrent goroutines; the record keeps every datum (go test -race).
func TestConcurrentRecord(t *testing.T) {
	var out bytes.Buffer
	rec := newMetrics(t, &out).Record()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			rec.Archived(receivedAt, receivedAt.Add(time.Second))
			rec.FanoutRetry()
		})
	}
	wg.Wait()
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	points, err := metrics.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, p := range points {
		n[p.Metric] += len(p.Values)
	}
	if n["ArchiveLatency"] != 64 || n["FanoutRetries"] != 64 {
		t.Errorf("values per metric %v, want 64 each", n)
	}
}

// Flush writes once (a line is never split by another writer's) and empties the record.
func TestFlushOnceThenEmpty(t *testing.T) {
	var w countingWriter
	m, err := metrics.New(&w, service, func() time.Time { return flushedAt })
	if err != nil {
		t.Fatal(err)
	}
	rec := m.Record()
	rec.ReportAccepted(breach.Low, []breach.Regime{breach.GDPR, breach.NIS2}, false)
	rec.Flush()
	rec.Flush()
	if w.writes != 1 || strings.Count(w.String(), "\n") != 3 {
		t.Errorf("%d writes of %q; want one write of three lines", w.writes, w.String())
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestNilMetricsDoNothing(t *testing.T) {
	var m *metrics.Metrics
	rec := m.Record()
	rec.ReportAccepted(breach.High, []breach.Regime{breach.GDPR}, true)
	rec.Rejection(breach.NotFound)
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	metrics.FromContext(context.Background()).Replay() // no record in the context: nothing
}

func TestNewRefusesAnInvalidService(t *testing.T) {
	for _, s := range []string{"", "   ", "caf\u00e9", "a\tb", strings.Repeat("a", 1025)} {
		if _, err := metrics.New(&bytes.Buffer{}, s, time.Now); err == nil {
			t.Errorf("New(%q) accepted", s)
		}
	}
}

// Wrap gives each invocation its record through the context and flushes it when the handler
// returns, with the handler's answer untouched.
func TestWrap(t *testing.T) {
	var out bytes.Buffer
	h := metrics.Wrap(newMetrics(t, &out), func(ctx context.Context, code string) (int, error) {
		metrics.FromContext(ctx).Rejection(breach.Code(code))
		return 404, fmt.Errorf("refused")
	})
	status, err := h(context.Background(), string(breach.NotFound))
	if status != 404 || err == nil || err.Error() != "refused" {
		t.Errorf("answer %d, %v", status, err)
	}
	points, perr := metrics.Parse(out.Bytes())
	if perr != nil || len(points) != 1 || points[0].Dimensions["Code"] != "not_found" {
		t.Errorf("flushed %v, %v; want one Rejections point for not_found", points, perr)
	}
}

func TestCatalogue(t *testing.T) {
	if n := len(metrics.Catalogue()); n > 100 {
		t.Errorf("%d metrics: a line could exceed a directive's 100 metric definitions", n)
	}
	var names, keys []string
	for _, m := range metrics.Catalogue() {
		if m.Name == "" || len(m.Name) > 255 || strings.ContainsFunc(m.Name, func(r rune) bool { return r > 0x7e || r <= ' ' }) {
			t.Errorf("metric name %q is not 1 to 255 printable ASCII characters without spaces", m.Name)
		}
		if slices.Contains(names, m.Name) {
			t.Errorf("%s twice", m.Name)
		}
		names = append(names, m.Name)
		if m.Unit != metrics.Count && m.Unit != metrics.Milliseconds {
			t.Errorf("%s: unit %q", m.Name, m.Unit)
		}
		if m.Doc == "" || len(m.DimensionSets) == 0 {
			t.Errorf("%s: no doc or no dimension set", m.Name)
		}
		for _, set := range m.DimensionSets {
			if len(set) == 0 || set[0] != metrics.Service || len(set) > 30 {
				t.Errorf("%s: dimension set %v does not start with Service or is over 30 keys", m.Name, set)
			}
			keys = append(keys, set...)
		}
	}
	for _, k := range keys {
		if slices.Contains(names, k) || k == "_aws" {
			t.Errorf("%q is both a dimension key and a member name", k)
		}
	}
	// Catalogue hands out copies: a caller cannot change what the encoder writes.
	metrics.Catalogue()[0].DimensionSets[0][0] = "changed"
	if metrics.Catalogue()[0].DimensionSets[0][0] != metrics.Service {
		t.Error("Catalogue shares its slices")
	}
}

// Parse refuses what CloudWatch Logs would not turn into metrics.
func TestParseRefuses(t *testing.T) {
	ok := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"D":"d","M":1}`
	if _, err := metrics.Parse([]byte(ok)); err != nil {
		t.Fatalf("the valid line: %v", err)
	}
	sets31 := `"` + strings.Repeat(`D","`, 30) + `D"`
	for _, tc := range []struct{ name, line, want string }{
		{"not JSON", `{"_aws":`, "not one JSON object"},
		{"trailing data", ok + `x`, "not one JSON object"},
		{"no _aws", `{"M":1}`, "no _aws"},
		{"no timestamp", strings.Replace(ok, `"Timestamp":1,`, ``, 1), "Timestamp"},
		{"seconds, not an integer of milliseconds", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":1.5`, 1), "_aws"},
		{"unknown member in _aws", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":1,"X":1`, 1), "_aws"},
		{"no directive", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`, "no directive"},
		{"empty namespace", strings.Replace(ok, `"Namespace":"N"`, `"Namespace":""`, 1), "namespace"},
		{"no dimension set", strings.Replace(ok, `[["D"]]`, `[]`, 1), "no dimension set"},
		{"31 dimension keys", strings.Replace(ok, `[["D"]]`, `[[`+sets31+`]]`, 1), "over 30"},
		{"dimension without member", strings.Replace(ok, `"D":"d",`, ``, 1), `dimension "D"`},
		{"dimension value a number", strings.Replace(ok, `"D":"d"`, `"D":1`, 1), `dimension "D"`},
		{"dimension value not ASCII", strings.Replace(ok, `"D":"d"`, `"D":"é"`, 1), "printable ASCII"},
		{"dimension value blank", strings.Replace(ok, `"D":"d"`, `"D":"  "`, 1), "printable ASCII"},
		{"metric without member", strings.Replace(ok, `,"M":1`, ``, 1), "no member"},
		{"metric value a string", strings.Replace(ok, `"M":1`, `"M":"1"`, 1), "not a number"},
		{"metric value an empty array", strings.Replace(ok, `"M":1`, `"M":[]`, 1), "0 values"},
		{"101 values", strings.Replace(ok, `"M":1`, `"M":[`+strings.Repeat(`1,`, 100)+`1]`, 1), "101 values"},
		{"unknown unit", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Things"`, 1), "unit"},
		{"duplicate member", strings.Replace(ok, `"M":1`, `"M":1,"M":2`, 1), "not one JSON object"},
		{"no metric", strings.Replace(ok, `[{"Name":"M","Unit":"Count"}]`, `[]`, 1), "0 metric definitions"},
		{"resolution 30", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Count","StorageResolution":30`, 1), "resolution"},
		{"second line bad", ok + "\n" + `{}`, "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metrics.Parse([]byte(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v; want an error with %q", err, tc.want)
			}
		})
	}
}

// Whatever a caller passes as a dimension value, the lines stay valid EMF and the datum counts.
func FuzzDimensionValues(f *testing.F) {
	for _, s := range []string{"GET /v1/reports/{id}", "", " ", `"\`, "é", "\x00", strings.Repeat("x", 1025)} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, route, code string) {
		var out bytes.Buffer
		rec := newMetrics(t, &out).Record()
		rec.Read(route)
		rec.Rejection(breach.Code(code))
		rec.Archived(receivedAt, receivedAt.Add(time.Duration(len(route))*time.Hour))
		if err := rec.Flush(); err != nil {
			t.Fatal(err)
		}
		points, err := metrics.Parse(out.Bytes())
		if err != nil {
			t.Fatalf("%v in %s", err, out.Bytes())
		}
		if len(points) != 3 {
			t.Fatalf("%d points, want 3", len(points))
		}
		for _, p := range points {
			for _, v := range p.Values {
				if math.IsNaN(v) || v < 0 {
					t.Errorf("%s value %v", p.Metric, v)
				}
			}
		}
		if got := points[0].Dimensions["Route"]; got != route && got != "invalid" {
			t.Errorf("route %q written as %q", route, got)
		}
	})
}
