package apigw_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/metrics/metricstest"
)

// service is what the local stack names submit-report's metrics (its logical id); in Lambda it
// is the function's name, which the dashboard's ${SubmitReportFunction} resolves to.
const service = "SubmitReportFunction"

// metered is the submit-report handler over store as internal/app/submit wraps it: each
// invocation's record flushed into out when it ends, stamped with now.
func metered(t testing.TB, store breach.Store, out *bytes.Buffer) apigw.Handler {
	t.Helper()
	m, err := metrics.New(out, service, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return apigw.Handler(metrics.Wrap(m, submitHandler(store, audittest.NewStore(), &bytes.Buffer{})))
}

// points reads EMF lines back as CloudWatch would, each point as Metric{Key=value,…}=values.
func points(t testing.TB, lines []byte) []string {
	t.Helper()
	ps, err := metrics.Parse(lines)
	if err != nil {
		t.Fatalf("not valid EMF: %v\n%s", err, lines)
	}
	var out []string
	for _, p := range ps {
		if p.Namespace != metrics.Namespace || !p.Timestamp.Equal(now) {
			t.Errorf("point %+v: want namespace %s, timestamp %s", p, metrics.Namespace, now)
		}
		var dims []string
		for _, k := range slices.Sorted(maps.Keys(p.Dimensions)) {
			dims = append(dims, k+"="+p.Dimensions[k])
		}
		out = append(out, fmt.Sprintf("%s{%s}=%v", p.Metric, strings.Join(dims, ","), p.Values))
	}
	return out
}

// The exact EMF lines of an accepted submit, the one Write its invocation makes.
func TestSubmitWritesItsMetrics(t *testing.T) {
	req := sampleEvent(t)
	req.Body = string(readFile(t, "../breach/testdata/nis2-health-ransomware.json"))
	var out bytes.Buffer
	resp, err := metered(t, breachtest.NewStore(testOrg), &out)(context.Background(), req)
	if err != nil || resp.StatusCode != 201 || !strings.Contains(resp.Body, `"severity":"critical"`) || !strings.Contains(resp.Body, `"late":false`) {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
	}
	const aws = `{"_aws":{"Timestamp":1795262400000,"CloudWatchMetrics":[`
	const ns = `{"Namespace":"BreachIntake","Dimensions":`
	want := aws + ns + `[["Service","Severity"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]},` +
		ns + `[["Service"]],"Metrics":[{"Name":"LateReports","Unit":"Count"}]}]},` +
		`"Service":"SubmitReportFunction","Severity":"critical","ReportsAccepted":1,"LateReports":0}` + "\n" +
		aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
		`"Service":"SubmitReportFunction","Regime":"gdpr","ReportsAccepted":1}` + "\n" +
		aws + ns + `[["Service","Regime"]],"Metrics":[{"Name":"ReportsAccepted","Unit":"Count"}]}]},` +
		`"Service":"SubmitReportFunction","Regime":"nis2","ReportsAccepted":1}` + "\n"
	if got := out.String(); got != want {
		t.Errorf("EMF lines:\n%s\nwant:\n%s", got, want)
	}
	wantPoints := []string{
		"ReportsAccepted{Service=SubmitReportFunction,Severity=critical}=[1]",
		"LateReports{Service=SubmitReportFunction}=[0]",
		"ReportsAccepted{Regime=gdpr,Service=SubmitReportFunction}=[1]",
		"ReportsAccepted{Regime=nis2,Service=SubmitReportFunction}=[1]",
	}
	if got := points(t, out.Bytes()); !slices.Equal(got, wantPoints) {
		t.Errorf("points %q, want %q", got, wantPoints)
	}
}

// Every answer of submit-report counts once, by what it was: each invocation is flushed alone.
func TestSubmitMetricsByAnswer(t *testing.T) {
	store := breachtest.NewStore(testOrg)
	var out bytes.Buffer
	h := metered(t, store, &out)
	first := sampleEvent(t) // late, with its reason
	supplement := supplementEvent(t)
	for _, tc := range []struct {
		name   string
		h      apigw.Handler
		req    func() events.APIGatewayV2HTTPRequest
		status int
		want   []string
	}{
		{"a late report with its reason", h, func() events.APIGatewayV2HTTPRequest { return first }, 201, []string{
			"ReportsAccepted{Service=SubmitReportFunction,Severity=critical}=[1]",
			"LateReports{Service=SubmitReportFunction}=[1]",
			"ReportsAccepted{Regime=gdpr,Service=SubmitReportFunction}=[1]",
		}},
		{"the report's replay", h, func() events.APIGatewayV2HTTPRequest { return first }, 200, []string{
			"Replays{Service=SubmitReportFunction}=[1]",
		}},
		{"a rejected report", h, func() events.APIGatewayV2HTTPRequest {
			r := sampleEvent(t)
			r.Body = strings.Replace(r.Body, `"insurance"`, `"bakery"`, 1)
			return r
		}, 400, []string{
			"Rejections{Code=validation_failed,Service=SubmitReportFunction}=[1]",
		}},
		{"its key reused with another body", h, func() events.APIGatewayV2HTTPRequest {
			r := sampleEvent(t)
			r.Body += " "
			return r
		}, 422, []string{
			"Rejections{Code=idempotency_key_reused,Service=SubmitReportFunction}=[1]",
		}},
		{"a supplement", h, func() events.APIGatewayV2HTTPRequest { return supplement }, 201, []string{
			"SupplementsAccepted{Service=SubmitReportFunction}=[1]",
			"LateReports{Service=SubmitReportFunction}=[0]",
		}},
		{"the supplement's replay", h, func() events.APIGatewayV2HTTPRequest { return supplement }, 200, []string{
			"Replays{Service=SubmitReportFunction}=[1]",
		}},
		{"a stale supplement", h, func() events.APIGatewayV2HTTPRequest {
			r := supplementEvent(t)
			r.Headers["idempotency-key"] = "another"
			return r
		}, 409, []string{
			"Rejections{Code=version_conflict,Service=SubmitReportFunction}=[1]",
		}},
		{"an unknown route", h, func() events.APIGatewayV2HTTPRequest {
			r := sampleEvent(t)
			r.RouteKey = "DELETE /v1/reports"
			return r
		}, 404, []string{
			"Rejections{Code=not_found,Service=SubmitReportFunction}=[1]",
		}},
		{"a store failure", metered(t, failingStore{breachtest.NewStore(testOrg)}, &out), func() events.APIGatewayV2HTTPRequest { return sampleEvent(t) }, 500, []string{
			"Rejections{Code=internal,Service=SubmitReportFunction}=[1]",
		}},
		{"the health check counts nothing", h, func() events.APIGatewayV2HTTPRequest {
			r := sampleEvent(t)
			r.RouteKey = "GET /v1/health"
			return r
		}, 200, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			resp, err := tc.h(context.Background(), tc.req())
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("%d %v, want %d: %s", resp.StatusCode, err, tc.status, resp.Body)
			}
			if got := points(t, out.Bytes()); !slices.Equal(got, tc.want) {
				t.Errorf("points %q, want %q", got, tc.want)
			}
		})
	}
}

// read-reports counts each read it answered by route, and each error answer by code, once: a
// read whose audit entry fails is one internal rejection, whatever it would have answered.
func TestReadMetrics(t *testing.T) {
	tn := newTenants(t)
	cursors, _ := breach.NewCursors(bytes.Repeat([]byte{7}, breach.MinCursorKeyBytes))
	reader := breach.NewReader(tn.store, cursors)
	unaudited := apigw.ReadReports(func(context.Context) (*breach.Reader, error) { return reader, nil },
		audit.NewTrail(failingAudit{audittest.NewStore()}, func() time.Time { return now }), zerolog.Nop())
	for _, tc := range []struct {
		name string
		h    apigw.Handler
		req  events.APIGatewayV2HTTPRequest
		want string
	}{
		{"a report", tn.h, get(t, "GET /v1/reports/{id}", "id", string(tn.mine[0])), "Reads{Route=GET /v1/reports/{id},Service=ReadReportsFunction}=[1]"},
		{"a version", tn.h, get(t, "GET /v1/reports/{id}/versions/{n}", "id", string(tn.mine[1]), "n", "2"), "Reads{Route=GET /v1/reports/{id}/versions/{n},Service=ReadReportsFunction}=[1]"},
		{"a list", tn.h, event(t, "list-reports.json"), "Reads{Route=GET /v1/reports,Service=ReadReportsFunction}=[1]"},
		{"another organisation's report", tn.h, get(t, "GET /v1/reports/{id}", "id", string(tn.theirs[0])), "Rejections{Code=not_found,Service=ReadReportsFunction}=[1]"},
		{"a read not audited", unaudited, get(t, "GET /v1/reports/{id}", "id", string(tn.mine[0])), "Rejections{Code=internal,Service=ReadReportsFunction}=[1]"},
		{"a 404 not audited", unaudited, get(t, "GET /v1/reports/{id}", "id", unknownID), "Rejections{Code=internal,Service=ReadReportsFunction}=[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			m, err := metrics.New(&out, "ReadReportsFunction", func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := apigw.Handler(metrics.Wrap(m, tc.h))(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			if got := points(t, out.Bytes()); len(got) != 1 || got[0] != tc.want {
				t.Errorf("points %q, want [%q]", got, tc.want)
			}
		})
	}
}

// What a submit emits renders as metrics on the dashboard of template.yaml: each point it
// publishes, under submit-report's Service, is drawn by some widget.
func TestSubmitMetricsAreOnTheDashboard(t *testing.T) {
	tmpl, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := metricstest.TemplateDashboard(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	// CloudFormation puts the function's name for ${SubmitReportFunction}; the EMF lines carry
	// the same name as Service. Here both are the logical id.
	_, rows, err := metricstest.Parse(metricstest.Substitute(body, func(name string) string { return name }))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h := metered(t, breachtest.NewStore(testOrg), &out)
	multi := sampleEvent(t)
	multi.Body = string(readFile(t, "../breach/testdata/nis2-health-ransomware.json"))
	invalid := sampleEvent(t)
	invalid.Body = `{"regimes":`
	tooLarge := sampleEvent(t)
	tooLarge.Body = strings.Repeat(" ", breach.MaxBodyBytes+1)
	var all []metrics.Point
	for _, call := range []struct {
		h   apigw.Handler
		req events.APIGatewayV2HTTPRequest
	}{
		{h, sampleEvent(t)}, // late, gdpr
		{h, sampleEvent(t)}, // its replay
		{h, supplementEvent(t)},
		{h, invalid},
		{h, tooLarge},
		{metered(t, breachtest.NewStore(testOrg), &out), multi}, // on time, gdpr and nis2
		{metered(t, failingStore{breachtest.NewStore(testOrg)}, &out), sampleEvent(t)},
	} {
		out.Reset()
		if _, err := call.h(context.Background(), call.req); err != nil {
			t.Fatal(err)
		}
		ps, err := metrics.Parse(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
	}
	if len(all) != 13 {
		t.Fatalf("%d points, want 13: %+v", len(all), all)
	}
	for _, p := range metricstest.Unshown(rows, all) {
		t.Errorf("the template's dashboard shows no %s %v", p.Metric, p.Dimensions)
	}
}
