package metrics_test

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/metrics/metricstest"
)

// infra/dashboard.json is the body of the template's AWS::CloudWatch::Dashboard, a `!Sub`
// string: ${Resource}, ${Resource.Attribute} and ${AWS::…} are filled in by CloudFormation,
// ${!…} is a literal "${…}" (CloudWatch's dynamic labels).
const (
	dashboardPath = "../../infra/dashboard.json"
	templatePath  = "../../template.yaml"
)

// dummy is the value a placeholder takes in these tests: "stack-SubmitReportFunction" stands
// for the function's name, which is what its EMF lines carry as Service.
func dummy(name string) string {
	return "stack-" + strings.NewReplacer("::", "-", ".", "-").Replace(name)
}

func loadDashboard(t *testing.T) (raw []byte, d metricstest.Dashboard, rows []metricstest.Series) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	d, rows, err = metricstest.Parse(metricstest.Substitute(raw, dummy))
	if err != nil {
		t.Fatalf("%s after substitution: %v", dashboardPath, err)
	}
	return raw, d, rows
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
	for _, p := range metricstest.Unshown(rows, points) {
		t.Errorf("no widget shows %s %v", p.Metric, p.Dimensions)
	}
}

// Every custom metric the dashboard shows is in the catalogue with the dimensions its EMF lines
// carry, Service being a function of the template; every catalogue metric is on the dashboard.
func TestDashboardAndCatalogueAgree(t *testing.T) {
	_, _, rows := loadDashboard(t)
	type shown struct{ metric, set string }
	onDashboard := map[shown]bool{}
	for _, s := range rows {
		if s.Namespace != metrics.Namespace {
			continue
		}
		i := slices.IndexFunc(metrics.Catalogue(), func(m metrics.Metric) bool { return m.Name == s.Metric })
		if i < 0 {
			t.Errorf("%q: %s is not in the catalogue", s.Widget, s.Metric)
			continue
		}
		m := metrics.Catalogue()[i]
		keys := strings.Join(s.Keys(), ",")
		if !slices.ContainsFunc(m.DimensionSets, func(set []string) bool {
			return strings.Join(slices.Sorted(slices.Values(set)), ",") == keys
		}) {
			t.Errorf("%q: %s by %s; the catalogue has %v", s.Widget, s.Metric, keys, m.DimensionSets)
		}
		service := s.Dimension(metrics.Service)
		if !strings.HasPrefix(service, "stack-") || !strings.HasSuffix(service, "Function") {
			t.Errorf("%q: %s's Service %q is not a function of the template", s.Widget, s.Metric, service)
		}
		onDashboard[shown{s.Metric, keys}] = true
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
// a resource (its name) or a resource's attribute; alarm widgets list alarms of the template,
// and every alarm of the template is on one.
func TestDashboardPlaceholdersExist(t *testing.T) {
	raw, d, _ := loadDashboard(t)
	resources := templateResources(t)
	pseudo := []string{"AWS::Region", "AWS::StackName", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}
	for _, name := range metricstest.Placeholders(raw) {
		if slices.Contains(pseudo, name) {
			continue
		}
		id, _, _ := strings.Cut(name, ".")
		if _, ok := resources[id]; !ok {
			t.Errorf("${%s}: template.yaml has no resource %s", name, id)
		}
	}
	onWidget := map[string]bool{}
	for _, w := range d.Widgets {
		for _, arn := range w.Properties.Alarms {
			id, ok := strings.CutSuffix(strings.TrimPrefix(arn, "stack-"), "-Arn")
			if !ok || resources[id].Type != "AWS::CloudWatch::Alarm" {
				t.Errorf("alarm widget %q: %s is not ${<an alarm of the template>.Arn}", w.Properties.Title, arn)
			}
			onWidget[id] = true
		}
	}
	for id, r := range resources {
		if r.Type == "AWS::CloudWatch::Alarm" && !onWidget[id] {
			t.Errorf("alarm %s is on no alarm widget", id)
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

// The template's dashboard (there must be one) has this file as its body, equal in JSON terms.
func TestTemplateEmbedsTheDashboard(t *testing.T) {
	raw, _, _ := loadDashboard(t)
	tmpl, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	id, body, err := metricstest.TemplateDashboard(tmpl)
	if err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	var inTemplate, inFile any
	if err := json.Unmarshal(body, &inTemplate); err != nil {
		t.Fatalf("%s's DashboardBody: %v", id, err)
	}
	if err := json.Unmarshal(raw, &inFile); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inTemplate, inFile) {
		t.Errorf("%s's DashboardBody differs from %s: copy the file into the template", id, dashboardPath)
	}
}

func templateResources(t *testing.T) map[string]metricstest.Resource {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	resources, err := metricstest.TemplateResources(b)
	if err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	return resources
}
