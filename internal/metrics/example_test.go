package metrics_test

import (
	"os"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// One accepted submit: its record, flushed when the request ends, is two EMF lines on stdout.
func ExampleRecord() {
	clock := func() time.Time { return time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC) }
	m, err := metrics.New(os.Stdout, "intake-SubmitReportFunction-Ab12Cd34", clock)
	if err != nil {
		panic(err)
	}
	rec := m.Record()
	rec.ReportAccepted(breach.High, []breach.Regime{breach.NIS2}, false)
	rec.Flush()
	// Output:
	// {"_aws":{"Timestamp":1773480413000,"CloudWatchMetrics":[{"Namespace":"BreachIntake","Dimensions":[["Service","Severity"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]},{"Namespace":"BreachIntake","Dimensions":[["Service"]],"Metrics":[{"Name":"LateReports","Unit":"Count"}]}]},"Service":"intake-SubmitReportFunction-Ab12Cd34","Severity":"high","ReportsAccepted":1,"LateReports":0}
	// {"_aws":{"Timestamp":1773480413000,"CloudWatchMetrics":[{"Namespace":"BreachIntake","Dimensions":[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},"Service":"intake-SubmitReportFunction-Ab12Cd34","Regime":"nis2","ReportsAccepted":1}
}
