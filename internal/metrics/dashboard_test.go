package metrics_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"gopkg.in/yaml.v3"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// infra/dashboard.json is the body of the template's AWS::CloudWatch::Dashboard, a `!Sub`
// string: ${Resource}, ${Resource.Attribute} and ${AWS::…} are filled in by CloudFormation,
// ${!…} is a literal "${…}" (CloudWatch's dynamic labels).
const (
	dashboardPath = "../../infra/dashboard.json"
	templatePath  = "../../template.yaml"
)

var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// substitute does what `!Sub` does, with a made-up value for each placeholder.
func substitute(body []byte) []byte {
	return placeholder.ReplaceAllFunc(body, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			return []byte("${" + lit + "}")
		}
		return []byte(dummy(name))
	})
}

// dummy is the value a placeholder takes in these tests: "stack-SubmitReportFunction" stands
// for the function's name, which is what its EMF lines carry as Service.
func dummy(name string) string {
	return "stack-" + strings.NewReplacer("::", "-", ".", "-").Replace(name)
}

type dashboard struct {
	Widgets []widget `json:"widgets"`
}

type widget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Properties struct {
		Title   string             `json:"title"`
		Region  string             `json:"region"`
		View    string             `json:"view"`
		Stat    string             `json:"stat"`
		Metrics [][]jsontext.Value `json:"metrics"`
		Alarms  []string           `json:"alarms"`
	} `json:"properties"`
}

// series is one metric row of a widget, or a SEARCH expression.
type series struct {
	widget    string
	namespace string
	metric    string
	dims      map[string]string
	search    *search
}

// search is a SEARCH('{Namespace,Key,…} MetricName="…" Key="value" …', 'Stat', period):
// it matches the metrics of the namespace with exactly those dimension keys and those values.
type search struct {
	namespace string
	keys      []string
	terms     map[string]string
}

var (
	searchExpr = regexp.MustCompile(`^SEARCH\('\{([^}]*)\} ((?:\w+="[^"]*" ?)+)', '\w+', \d+\)$`)
	searchTerm = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

func loadDashboard(t *testing.T) (raw []byte, d dashboard, rows []series) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(substitute(raw), &d); err != nil {
		t.Fatalf("%s after substitution: %v", dashboardPath, err)
	}
	for _, w := range d.Widgets {
		for _, row := range w.Properties.Metrics {
			s, err := parseRow(row)
			if err != nil {
				t.Fatalf("widget %q, row %s: %v", w.Properties.Title, row, err)
			}
			s.widget = w.Properties.Title
			rows = append(rows, s)
		}
	}
	return raw, d, rows
}

// parseRow reads [Namespace, MetricName, Key, Value, …, {options}] or [{"expression": …}].
func parseRow(row []jsontext.Value) (series, error) {
	var strs []string
	for i, v := range row {
		if v.Kind() == '{' {
			var opts map[string]any
			if err := json.Unmarshal(v, &opts); err != nil {
				return series{}, err
			}
			if i != len(row)-1 {
				return series{}, fmt.Errorf("options before the end of the row")
			}
			if expr, ok := opts["expression"].(string); ok {
				if i != 0 {
					return series{}, fmt.Errorf("an expression row holds only the expression")
				}
				return parseSearch(expr)
			}
			break
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return series{}, fmt.Errorf("element %d: %v", i, err)
		}
		if s == "." || s == "" {
			return series{}, fmt.Errorf(`element %d: write every element, no "." shorthand`, i)
		}
		strs = append(strs, s)
	}
	if len(strs) < 2 || len(strs)%2 != 0 {
		return series{}, fmt.Errorf("not namespace, metric name and key/value pairs")
	}
	s := series{namespace: strs[0], metric: strs[1], dims: map[string]string{}}
	for i := 2; i < len(strs); i += 2 {
		s.dims[strs[i]] = strs[i+1]
	}
	return s, nil
}

func parseSearch(expr string) (series, error) {
	m := searchExpr.FindStringSubmatch(expr)
	if m == nil {
		return series{}, fmt.Errorf("expression %q is not a SEARCH of the form this test reads", expr)
	}
	schema := strings.Split(m[1], ",")
	sr := &search{namespace: schema[0], keys: schema[1:], terms: map[string]string{}}
	for _, term := range searchTerm.FindAllStringSubmatch(m[2], -1) {
		sr.terms[term[1]] = term[2]
	}
	if sr.terms["MetricName"] == "" {
		return series{}, fmt.Errorf("expression %q names no MetricName", expr)
	}
	return series{namespace: sr.namespace, metric: sr.terms["MetricName"], search: sr}, nil
}

// keys are the dimension keys a row shows: those of its metric, or of its SEARCH's schema.
func (s series) keys() []string {
	if s.search != nil {
		return slices.Sorted(slices.Values(s.search.keys))
	}
	return slices.Sorted(maps.Keys(s.dims))
}

// shows reports whether the row draws the point: same metric, same dimensions and values.
func (s series) shows(p metrics.Point) bool {
	if s.namespace != p.Namespace || s.metric != p.Metric {
		return false
	}
	if !slices.Equal(s.keys(), slices.Sorted(maps.Keys(p.Dimensions))) {
		return false
	}
	if s.search == nil {
		return maps.Equal(s.dims, p.Dimensions)
	}
	for k, v := range s.search.terms {
		if k != "MetricName" && p.Dimensions[k] != v {
			return false
		}
	}
	return true
}

// The EMF lines each function writes render as metrics on the dashboard: every point they
// publish is drawn by some row, given the function's name as Service.
func TestDashboardShowsWhatTheFunctionsEmit(t *testing.T) {
	_, _, rows := loadDashboard(t)
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	emit := func(function string, record func(*metrics.Record)) []metrics.Point {
		var out bytes.Buffer
		m, err := metrics.New(&out, dummy(function), func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		rec := m.Record()
		record(rec)
		rec.Flush()
		points, err := metrics.Parse(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return points
	}
	all := []breach.Regime{breach.GDPR, breach.NIS2, breach.DORA}
	var points []metrics.Point
	points = append(points, emit("SubmitReportFunction", func(r *metrics.Record) {
		for _, sev := range []breach.Severity{breach.Critical, breach.High, breach.Medium, breach.Low} {
			r.ReportAccepted(sev, all, sev == breach.Critical)
		}
		r.SupplementAccepted(true)
		r.Replay()
		r.Rejection(breach.Invalid)
		r.Rejection("internal")
	})...)
	points = append(points, emit("ReadReportsFunction", func(r *metrics.Record) {
		r.Read("GET /v1/reports/{id}")
		r.Rejection(breach.NotFound)
	})...)
	for _, fn := range []string{"ProcessReportFunction", "SweepFunction"} {
		points = append(points, emit(fn, func(r *metrics.Record) {
			r.Archived(now.Add(-time.Second), now)
			r.Alerted(now.Add(-time.Second), now)
			r.FanoutRetry()
		})...)
	}
	for _, p := range points {
		if !slices.ContainsFunc(rows, func(s series) bool { return s.shows(p) }) {
			t.Errorf("no widget shows %s %v", p.Metric, p.Dimensions)
		}
	}
}

// Every custom metric the dashboard shows is in the catalogue with the dimensions its EMF lines
// carry, Service being a function of the template; every catalogue metric is on the dashboard.
func TestDashboardAndCatalogueAgree(t *testing.T) {
	_, _, rows := loadDashboard(t)
	type shown struct{ metric, set string }
	onDashboard := map[shown]bool{}
	for _, s := range rows {
		if s.namespace != metrics.Namespace {
			continue
		}
		i := slices.IndexFunc(metrics.Catalogue(), func(m metrics.Metric) bool { return m.Name == s.metric })
		if i < 0 {
			t.Errorf("%q: %s is not in the catalogue", s.widget, s.metric)
			continue
		}
		m := metrics.Catalogue()[i]
		keys := strings.Join(s.keys(), ",")
		if !slices.ContainsFunc(m.DimensionSets, func(set []string) bool {
			return strings.Join(slices.Sorted(slices.Values(set)), ",") == keys
		}) {
			t.Errorf("%q: %s by %s; the catalogue has %v", s.widget, s.metric, keys, m.DimensionSets)
		}
		service := s.dims[metrics.Service]
		if s.search != nil {
			service = s.search.terms[metrics.Service]
		}
		if !strings.HasPrefix(service, "stack-") || !strings.HasSuffix(service, "Function") {
			t.Errorf("%q: %s's Service %q is not a function of the template", s.widget, s.metric, service)
		}
		onDashboard[shown{s.metric, keys}] = true
	}
	for _, m := range metrics.Catalogue() {
		for _, set := range m.DimensionSets {
			if keys := strings.Join(slices.Sorted(slices.Values(set)), ","); !onDashboard[shown{m.Name, keys}] {
				t.Errorf("%s by %s is on no widget", m.Name, keys)
			}
		}
	}
}

// Every placeholder names something `!Sub` can fill in from template.yaml: a pseudo parameter,
// a resource (its name) or a resource's attribute; alarm widgets list alarms of the template.
func TestDashboardPlaceholdersExist(t *testing.T) {
	raw, d, _ := loadDashboard(t)
	resources := templateResources(t)
	pseudo := []string{"AWS::Region", "AWS::StackName", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}
	for _, m := range placeholder.FindAllSubmatch(raw, -1) {
		name := string(m[1])
		if strings.HasPrefix(name, "!") || slices.Contains(pseudo, name) {
			continue
		}
		id, _, _ := strings.Cut(name, ".")
		if _, ok := resources[id]; !ok {
			t.Errorf("${%s}: template.yaml has no resource %s", name, id)
		}
	}
	for _, w := range d.Widgets {
		for _, arn := range w.Properties.Alarms {
			id, ok := strings.CutSuffix(strings.TrimPrefix(arn, "stack-"), "-Arn")
			if !ok || resources[id].Type != "AWS::CloudWatch::Alarm" {
				t.Errorf("alarm widget %q: %s is not ${<an alarm of the template>.Arn}", w.Properties.Title, arn)
			}
		}
	}
}

// Widgets fit the 24-column grid without overlapping; every graph names its region and title.
func TestDashboardLayout(t *testing.T) {
	raw, d, _ := loadDashboard(t)
	if len(d.Widgets) == 0 {
		t.Fatal("no widget")
	}
	var rawBody struct {
		Widgets []struct {
			Properties struct {
				Region string `json:"region"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal(raw, &rawBody); err != nil {
		t.Fatalf("%s is not JSON before substitution: %v", dashboardPath, err)
	}
	for i, w := range d.Widgets {
		if w.X < 0 || w.Width < 1 || w.X+w.Width > 24 || w.Y < 0 || w.Height < 1 {
			t.Errorf("widget %d (%q) is off the grid", i, w.Properties.Title)
		}
		for _, o := range d.Widgets[:i] {
			if w.X < o.X+o.Width && o.X < w.X+w.Width && w.Y < o.Y+o.Height && o.Y < w.Y+w.Height {
				t.Errorf("%q overlaps %q", w.Properties.Title, o.Properties.Title)
			}
		}
		if w.Type == "metric" {
			if w.Properties.Title == "" || w.Properties.View == "" || len(w.Properties.Metrics) == 0 {
				t.Errorf("widget %d: a graph needs a title, a view and metrics", i)
			}
			if r := rawBody.Widgets[i].Properties.Region; r != "${AWS::Region}" {
				t.Errorf("%q: region %q, want the stack's", w.Properties.Title, r)
			}
		}
	}
}

// Once the template holds the dashboard, its body is this file, byte for byte in JSON terms.
func TestTemplateEmbedsTheDashboard(t *testing.T) {
	raw, _, _ := loadDashboard(t)
	for id, r := range templateResources(t) {
		if r.Type != "AWS::CloudWatch::Dashboard" {
			continue
		}
		body := r.Properties.DashboardBody
		if body.Tag != "!Sub" || body.Kind != yaml.ScalarNode {
			t.Fatalf("%s's DashboardBody is not a `!Sub` string", id)
		}
		var inTemplate, inFile any
		if err := json.Unmarshal([]byte(body.Value), &inTemplate); err != nil {
			t.Fatalf("%s's DashboardBody: %v", id, err)
		}
		if err := json.Unmarshal(raw, &inFile); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(inTemplate, inFile) {
			t.Errorf("%s's DashboardBody differs from %s: copy the file into the template", id, dashboardPath)
		}
		return
	}
	t.Skip("template.yaml has no AWS::CloudWatch::Dashboard yet")
}

type resource struct {
	Type       string `yaml:"Type"`
	Properties struct {
		DashboardBody yaml.Node `yaml:"DashboardBody"`
	} `yaml:"Properties"`
}

func templateResources(t *testing.T) map[string]resource {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Resources map[string]resource `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	return tmpl.Resources
}
