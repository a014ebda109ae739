package metrics

import "slices"

// Namespace is the CloudWatch namespace of every metric the system emits. Two stacks in one
// account share it: the Service dimension (the function's name, unique per stack) tells them apart.
const Namespace = "BreachIntake"

// Unit is a CloudWatch metric unit (MetricDatum's Unit).
type Unit string

const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Dimension keys. Every dimension set starts with Service; the others take their values from
// closed vocabularies only, never from an organisation, a report or a key: each distinct value is
// a metric CloudWatch bills for.
const (
	Service  = "Service"  // the Lambda function's name (AWS_LAMBDA_FUNCTION_NAME)
	Severity = "Severity" // breach.Severity
	Regime   = "Regime"   // breach.Regime
	Code     = "Code"     // the error code of an error answer (API.md)
	Route    = "Route"    // the HTTP API route key, "GET /v1/reports/{id}"
)

// dimKey indexes the dimension keys beside Service, for the encoder.
type dimKey int

const (
	noKey dimKey = iota // Service alone
	severityKey
	regimeKey
	codeKey
	routeKey
	numKeys
)

var keyNames = [numKeys]string{noKey: "", severityKey: Severity, regimeKey: Regime, codeKey: Code, routeKey: Route}

// Metric is one metric of the catalogue: its name, its unit, and the dimension sets it is
// published under (each its own CloudWatch metric, e.g. ReportsAccepted by Severity and by Regime).
type Metric struct {
	Name          string
	Unit          Unit
	DimensionSets [][]string
	Doc           string
}

// metricID indexes the catalogue: the Record's methods are the only way to emit a metric, so a
// name cannot be misspelt at a call site.
type metricID int

const (
	reportsAccepted metricID = iota
	supplementsAccepted
	lateReports
	replays
	rejections
	archiveLatency
	alertLatency
	fanoutRetries
	reads
	numMetrics
)

// catalogue is never written: Catalogue hands out copies.
var catalogue = [numMetrics]Metric{
	reportsAccepted: {"ReportsAccepted", Count, [][]string{{Service, Severity}, {Service, Regime}},
		"First versions accepted (201), once by severity and once per regime of the report."},
	supplementsAccepted: {"SupplementsAccepted", Count, [][]string{{Service}},
		"Supplements accepted (201)."},
	lateReports: {"LateReports", Count, [][]string{{Service}},
		"1 for each accepted version (report or supplement) received after its deadline, 0 for one on time: Sum counts late versions, Average is the share of them."},
	replays: {"Replays", Count, [][]string{{Service}},
		"Requests answered with the receipt of an earlier one with the same Idempotency-Key (200)."},
	rejections: {"Rejections", Count, [][]string{{Service, Code}},
		"Error answers of the function, by the error code of their body (internal for a 500)."},
	archiveLatency: {"ArchiveLatency", Milliseconds, [][]string{{Service}},
		"From a version's received_at to its document stored in the archive."},
	alertLatency: {"AlertLatency", Milliseconds, [][]string{{Service}},
		"From a version's received_at to its alert published."},
	fanoutRetries: {"FanoutRetries", Count, [][]string{{Service}},
		"Versions whose fan-out failed in an invocation: Lambda delivers them again, or the sweeper takes them."},
	reads: {"Reads", Count, [][]string{{Service, Route}},
		"Successful reads, by route."},
}

// Catalogue returns every metric the system emits, in a fixed order.
func Catalogue() []Metric {
	out := make([]Metric, len(catalogue))
	for i, m := range catalogue {
		m.DimensionSets = slices.Clone(m.DimensionSets)
		for j, set := range m.DimensionSets {
			m.DimensionSets[j] = slices.Clone(set)
		}
		out[i] = m
	}
	return out
}
