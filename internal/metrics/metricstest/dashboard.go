// Package metricstest reads the CloudWatch dashboard (infra/dashboard.json, the body of the
// template's AWS::CloudWatch::Dashboard) as tests need it: which metric, under which dimensions,
// each widget draws. A test then checks that what a function emits (metrics.Parse of its EMF
// lines) is on the dashboard.
package metricstest

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"gopkg.in/yaml.v3"

	"github.com/breach-intake/intake/internal/metrics"
)

// placeholder is a `!Sub` placeholder: ${Resource}, ${Resource.Attribute}, ${AWS::…}, or ${!…}
// (a literal "${…}", CloudWatch's dynamic labels).
var placeholder = regexp.MustCompile(`\$\{([^}]*)\}`)

// Substitute does what `!Sub` does to body: ${!x} becomes ${x}, any other ${name} value(name).
func Substitute(body []byte, value func(name string) string) []byte {
	return placeholder.ReplaceAllFunc(body, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			return []byte("${" + lit + "}")
		}
		return []byte(value(name))
	})
}

// Placeholders are the names body's placeholders fill in, in order, ${!…} literals left out.
func Placeholders(body []byte) []string {
	var names []string
	for _, m := range placeholder.FindAllSubmatch(body, -1) {
		if name := string(m[1]); !strings.HasPrefix(name, "!") {
			names = append(names, name)
		}
	}
	return names
}

// Dashboard is a dashboard body, as far as these tests read it.
type Dashboard struct {
	Widgets []Widget `json:"widgets"`
}

// Widget is one widget of a dashboard.
type Widget struct {
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

// Series is one metric row of a widget, or a SEARCH expression.
type Series struct {
	Widget    string // the widget's title
	Namespace string
	Metric    string
	Dims      map[string]string // a metric row's dimensions (nil for a SEARCH)
	Search    *Search
}

// Search is a SEARCH('{Namespace,Key,…} MetricName="…" Key="value" …', 'Stat', period): it
// matches the metrics of the namespace with exactly those dimension keys and those values.
type Search struct {
	Namespace string
	Keys      []string
	Terms     map[string]string
}

var (
	searchExpr = regexp.MustCompile(`^SEARCH\('\{([^}]*)\} ((?:\w+="[^"]*" ?)+)', '\w+', \d+\)$`)
	searchTerm = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// Parse reads a dashboard body whose placeholders are substituted, and every metric row of its
// widgets.
func Parse(body []byte) (Dashboard, []Series, error) {
	var d Dashboard
	if err := json.Unmarshal(body, &d); err != nil {
		return d, nil, err
	}
	var rows []Series
	for _, w := range d.Widgets {
		for _, row := range w.Properties.Metrics {
			s, err := parseRow(row)
			if err != nil {
				return d, nil, fmt.Errorf("widget %q, row %s: %w", w.Properties.Title, row, err)
			}
			s.Widget = w.Properties.Title
			rows = append(rows, s)
		}
	}
	return d, rows, nil
}

// parseRow reads [Namespace, MetricName, Key, Value, …, {options}] or [{"expression": …}].
func parseRow(row []jsontext.Value) (Series, error) {
	var strs []string
	for i, v := range row {
		if v.Kind() == '{' {
			var opts map[string]any
			if err := json.Unmarshal(v, &opts); err != nil {
				return Series{}, err
			}
			if i != len(row)-1 {
				return Series{}, errors.New("options before the end of the row")
			}
			if expr, ok := opts["expression"].(string); ok {
				if i != 0 {
					return Series{}, errors.New("an expression row holds only the expression")
				}
				return parseSearch(expr)
			}
			break
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return Series{}, fmt.Errorf("element %d: %v", i, err)
		}
		if s == "." || s == "" {
			return Series{}, fmt.Errorf(`element %d: write every element, no "." shorthand`, i)
		}
		strs = append(strs, s)
	}
	if len(strs) < 2 || len(strs)%2 != 0 {
		return Series{}, errors.New("not namespace, metric name and key/value pairs")
	}
	s := Series{Namespace: strs[0], Metric: strs[1], Dims: map[string]string{}}
	for i := 2; i < len(strs); i += 2 {
		s.Dims[strs[i]] = strs[i+1]
	}
	return s, nil
}

func parseSearch(expr string) (Series, error) {
	m := searchExpr.FindStringSubmatch(expr)
	if m == nil {
		return Series{}, fmt.Errorf("expression %q is not a SEARCH of the form this package reads", expr)
	}
	schema := strings.Split(m[1], ",")
	sr := &Search{Namespace: schema[0], Keys: schema[1:], Terms: map[string]string{}}
	for _, term := range searchTerm.FindAllStringSubmatch(m[2], -1) {
		sr.Terms[term[1]] = term[2]
	}
	if sr.Terms["MetricName"] == "" {
		return Series{}, fmt.Errorf("expression %q names no MetricName", expr)
	}
	return Series{Namespace: sr.Namespace, Metric: sr.Terms["MetricName"], Search: sr}, nil
}

// Keys are the dimension keys a row shows, sorted: those of its metric, or of its SEARCH's schema.
func (s Series) Keys() []string {
	if s.Search != nil {
		return slices.Sorted(slices.Values(s.Search.Keys))
	}
	return slices.Sorted(maps.Keys(s.Dims))
}

// Dimension is the value the row gives key: its metric's, or its SEARCH's term.
func (s Series) Dimension(key string) string {
	if s.Search != nil {
		return s.Search.Terms[key]
	}
	return s.Dims[key]
}

// Shows reports whether the row draws the point: same metric, same dimensions and values.
func (s Series) Shows(p metrics.Point) bool {
	if s.Namespace != p.Namespace || s.Metric != p.Metric {
		return false
	}
	if !slices.Equal(s.Keys(), slices.Sorted(maps.Keys(p.Dimensions))) {
		return false
	}
	if s.Search == nil {
		return maps.Equal(s.Dims, p.Dimensions)
	}
	for k, v := range s.Search.Terms {
		if k != "MetricName" && p.Dimensions[k] != v {
			return false
		}
	}
	return true
}

// Unshown are the points that no row draws.
func Unshown(rows []Series, points []metrics.Point) []metrics.Point {
	var out []metrics.Point
	for _, p := range points {
		if !slices.ContainsFunc(rows, func(s Series) bool { return s.Shows(p) }) {
			out = append(out, p)
		}
	}
	return out
}

// Resource is a resource of a SAM template, as far as these tests read it.
type Resource struct {
	Type       string `yaml:"Type"`
	Properties struct {
		DashboardBody yaml.Node `yaml:"DashboardBody"`
	} `yaml:"Properties"`
}

// TemplateResources reads a template's resources by logical id.
func TemplateResources(template []byte) (map[string]Resource, error) {
	var tmpl struct {
		Resources map[string]Resource `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(template, &tmpl); err != nil {
		return nil, err
	}
	return tmpl.Resources, nil
}

// TemplateDashboard is the body of the template's one AWS::CloudWatch::Dashboard, a `!Sub`
// string (placeholders not yet substituted), and its logical id.
func TemplateDashboard(template []byte) (id string, body []byte, err error) {
	resources, err := TemplateResources(template)
	if err != nil {
		return "", nil, err
	}
	for _, rid := range slices.Sorted(maps.Keys(resources)) {
		r := resources[rid]
		if r.Type != "AWS::CloudWatch::Dashboard" {
			continue
		}
		if id != "" {
			return "", nil, fmt.Errorf("two dashboards, %s and %s", id, rid)
		}
		b := r.Properties.DashboardBody
		if b.Tag != "!Sub" || b.Kind != yaml.ScalarNode {
			return "", nil, fmt.Errorf("%s's DashboardBody is not a `!Sub` string", rid)
		}
		id, body = rid, []byte(b.Value)
	}
	if id == "" {
		return "", nil, errors.New("the template has no AWS::CloudWatch::Dashboard")
	}
	return id, body, nil
}
