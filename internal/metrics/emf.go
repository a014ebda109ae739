package metrics

import "strconv"

// The encoding. In an EMF line a dimension key or a metric name is one top-level member, so a
// line holds one value per dimension key and one value (a number or an array of numbers) per
// metric name. A record's data therefore go into as few lines as these rules allow, in order:
// a datum joins the first line whose dimension values it agrees with and where its metric is
// absent or already there under the same dimension set (its value is then appended to the
// metric's array). Each line has one MetricDirective per dimension set, and a metric is in one
// directive of a line.
//
// So an accepted report with one regime writes two lines: ReportsAccepted by Severity, with
// LateReports, then ReportsAccepted by Regime (the same member cannot carry both counts under
// one directive per dimension set); each further regime adds a line, since a line has one
// Regime member. A directive listing two dimension sets could save the second line when the
// counts are equal, at the price of an encoder that must prove they are; not worth it.

// maxValues: target members: "Numeric array metric targets MUST NOT have more than 100 members".
// A directive's 100 MetricDefinitions are out of reach: a line holds at most the catalogue's
// few metrics (TestCatalogue).
const maxValues = 100

// line is what a line holds so far, in arrays sized by the catalogue: grouping costs no allocation.
type line struct {
	dim     [numKeys]string    // the value of each dimension key beside Service ("" while unused)
	key     [numMetrics]dimKey // the dimension set of each metric present
	n       [numMetrics]int    // the number of values of each metric (0: absent)
	order   [numMetrics]metricID
	metrics int // order[:metrics] are the metrics present, in first-use order
}

// add puts d in l if the rules above allow it.
func (l *line) add(d datum) bool {
	if d.key != noKey && l.dim[d.key] != "" && l.dim[d.key] != d.value {
		return false
	}
	if l.n[d.metric] > 0 && (l.key[d.metric] != d.key || l.n[d.metric] == maxValues) {
		return false
	}
	if d.key != noKey {
		l.dim[d.key] = d.value
	}
	if l.n[d.metric] == 0 {
		l.key[d.metric] = d.key
		l.order[l.metrics] = d.metric
		l.metrics++
	}
	l.n[d.metric]++
	return true
}

// appendLines appends the EMF lines of data, each ending in a newline.
func appendLines(b []byte, service string, timestamp int64, data []datum) []byte {
	var linesArray [4]line
	var inArray [16]int
	lines, in := linesArray[:0], inArray[:0] // in[i]: the line of data[i]
	for _, d := range data {
		i := 0
		for i < len(lines) && !lines[i].add(d) {
			i++
		}
		if i == len(lines) {
			lines = append(lines, line{})
			lines[i].add(d)
		}
		in = append(in, i)
	}
	for i := range lines {
		b = lines[i].append(b, service, timestamp, data, in, i)
	}
	return b
}

// append writes l, line number li, whose values are the data d with in[d] == li. Every string
// written is printable ASCII (constants, or values checked by validValue), so quoting escapes
// only '"' and '\'.
func (l *line) append(b []byte, service string, timestamp int64, data []datum, in []int, li int) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, `,"CloudWatchMetrics":[`...)
	var written [numKeys]bool // the dimension sets whose directive is written
	for i, m := range l.order[:l.metrics] {
		k := l.key[m]
		if written[k] {
			continue
		}
		written[k] = true
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Namespace":"`+Namespace+`","Dimensions":[["`+Service+`"`...)
		if k != noKey {
			b = append(b, ',')
			b = appendString(b, keyNames[k])
		}
		b = append(b, `]],"Metrics":[`...)
		first := true
		for _, f := range l.order[i:l.metrics] {
			if l.key[f] != k {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, `{"Name":`...)
			b = appendString(b, catalogue[f].Name)
			b = append(b, `,"Unit":`...)
			b = appendString(b, string(catalogue[f].Unit))
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `]},"`+Service+`":`...)
	b = appendString(b, service)
	for k := noKey + 1; k < numKeys; k++ {
		if l.dim[k] != "" {
			b = append(b, ',')
			b = appendString(b, keyNames[k])
			b = append(b, ':')
			b = appendString(b, l.dim[k])
		}
	}
	for _, m := range l.order[:l.metrics] {
		b = append(b, ',')
		b = appendString(b, catalogue[m].Name)
		b = append(b, ':')
		if l.n[m] > 1 {
			b = append(b, '[')
		}
		first := true
		for i, d := range data {
			if in[i] != li || d.metric != m {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendFloat(b, d.v, 'f', -1, 64)
		}
		if l.n[m] > 1 {
			b = append(b, ']')
		}
	}
	return append(b, "}\n"...)
}

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// validValue is CloudWatch's rule for a dimension value (API Dimension: ASCII, no control
// characters, at least one non-whitespace character, 1 to 1024 characters), which EMF applies
// to dimension target members.
func validValue(s string) bool {
	if len(s) == 0 || len(s) > 1024 {
		return false
	}
	blank := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return false
		}
		if c != ' ' {
			blank = false
		}
	}
	return !blank
}
