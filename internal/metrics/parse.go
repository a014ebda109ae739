package metrics

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Point is what CloudWatch extracts from an EMF line for one metric under one dimension set.
type Point struct {
	Namespace  string
	Metric     string
	Unit       Unit
	Dimensions map[string]string
	Values     []float64
	Timestamp  time.Time
}

// maxLineBytes is the size limit of a CloudWatch Logs event, which EMF documents share.
const maxLineBytes = 256 << 10

// units are the units of CloudWatch's MetricDatum, which a MetricDefinition's Unit should be.
var units = []Unit{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
	"Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent",
	"Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
	"Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
	"Terabits/Second", "Count/Second", "None"}

// Parse reads EMF lines, one JSON document a line, as CloudWatch Logs would, and returns the
// points they publish in order. It refuses a line that breaks a rule of the specification:
// tests use it to check what handlers write, and that the dashboard shows it.
func Parse(lines []byte) ([]Point, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	var points []Point
	for n, l := range bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n")) {
		p, err := parseLine(l)
		if err != nil {
			return nil, fmt.Errorf("EMF line %d: %w", n+1, err)
		}
		points = append(points, p...)
	}
	return points, nil
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name              string `json:"Name"`
	Unit              *Unit  `json:"Unit"`
	StorageResolution *int   `json:"StorageResolution"`
}

type metadata struct {
	Timestamp         *int64      `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

func parseLine(l []byte) ([]Point, error) {
	if len(l) > maxLineBytes {
		return nil, fmt.Errorf("%d bytes, over the %d of a log event", len(l), maxLineBytes)
	}
	// Duplicate member names are refused by the decoder: a reference must name one member.
	var root map[string]jsontext.Value
	if err := json.Unmarshal(l, &root); err != nil {
		return nil, fmt.Errorf("not one JSON object: %w", err)
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, fmt.Errorf("no _aws member")
	}
	var meta metadata
	if err := json.Unmarshal(raw, &meta, json.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil || *meta.Timestamp < 0 {
		return nil, fmt.Errorf("_aws.Timestamp must be milliseconds since the epoch")
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics holds no directive")
	}
	at := time.UnixMilli(*meta.Timestamp).UTC()
	var points []Point
	for i, d := range meta.CloudWatchMetrics {
		p, err := d.points(root, at)
		if err != nil {
			return nil, fmt.Errorf("directive %d: %w", i, err)
		}
		points = append(points, p...)
	}
	return points, nil
}

func (d directive) points(root map[string]jsontext.Value, at time.Time) ([]Point, error) {
	if len(d.Namespace) == 0 || len(d.Namespace) > 1024 {
		return nil, fmt.Errorf("namespace %q is not 1 to 1024 characters", d.Namespace)
	}
	if len(d.Dimensions) == 0 {
		return nil, fmt.Errorf("no dimension set")
	}
	if len(d.Metrics) == 0 || len(d.Metrics) > 100 {
		return nil, fmt.Errorf("%d metric definitions, not 1 to 100", len(d.Metrics))
	}
	sets := make([]map[string]string, len(d.Dimensions))
	for i, keys := range d.Dimensions {
		if len(keys) > 30 {
			return nil, fmt.Errorf("dimension set %v has %d keys, over 30", keys, len(keys))
		}
		sets[i] = make(map[string]string, len(keys))
		for _, k := range keys {
			if len(k) == 0 || len(k) > 250 {
				return nil, fmt.Errorf("dimension key %q is not 1 to 250 characters", k)
			}
			if _, dup := sets[i][k]; dup {
				return nil, fmt.Errorf("dimension set %v names %q twice", keys, k)
			}
			var v string
			if err := json.Unmarshal(root[k], &v); err != nil || root[k] == nil {
				return nil, fmt.Errorf("dimension %q has no string member", k)
			}
			if !validValue(v) {
				return nil, fmt.Errorf("dimension %q: value %q is not 1 to 1024 printable ASCII characters, not all spaces", k, v)
			}
			sets[i][k] = v
		}
	}
	var points []Point
	for _, def := range d.Metrics {
		unit := Unit("None")
		if def.Unit != nil {
			unit = *def.Unit
		}
		if !slices.Contains(units, unit) {
			return nil, fmt.Errorf("metric %q: unit %q is not a CloudWatch unit", def.Name, unit)
		}
		if r := def.StorageResolution; r != nil && *r != 1 && *r != 60 {
			return nil, fmt.Errorf("metric %q: storage resolution %d is not 1 or 60", def.Name, *r)
		}
		values, err := metricValues(root[def.Name])
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", def.Name, err)
		}
		for _, dims := range sets {
			points = append(points, Point{Namespace: d.Namespace, Metric: def.Name, Unit: unit,
				Dimensions: dims, Values: values, Timestamp: at})
		}
	}
	return points, nil
}

// metricValues reads a metric's member: a number or an array of 1 to 100 numbers.
func metricValues(raw jsontext.Value) ([]float64, error) {
	if raw == nil {
		return nil, fmt.Errorf("no member")
	}
	var values []float64
	switch raw.Kind() {
	case '0':
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		values = []float64{v}
	case '[':
		if err := json.Unmarshal(raw, &values); err != nil {
			return nil, fmt.Errorf("not an array of numbers: %w", err)
		}
		if len(values) == 0 || len(values) > 100 {
			return nil, fmt.Errorf("%d values, not 1 to 100", len(values))
		}
	default:
		return nil, fmt.Errorf("member %s is not a number or an array of numbers", raw)
	}
	for _, v := range values {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("value out of range")
		}
	}
	return values, nil
}
