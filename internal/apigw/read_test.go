package apigw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// otherOrg is the organisation whose reports testOrg must never see.
var otherOrg = breach.Organisation{ID: "other-org", LegalName: "Other", Country: "FR"}

// unknownID is well formed and nobody's.
const unknownID = "01KAAAAAAAAAAAAAAAAAAAAAAA"

// tenants is a store where testOrg and otherOrg filed reports, the read handler over it, and
// its audit store and logs.
type tenants struct {
	store  *breachtest.Store
	audit  *audittest.Store
	logs   bytes.Buffer
	h      apigw.Handler
	mine   []breach.ReportID // testOrg's, oldest first; mine[1] has a version 2
	theirs []breach.ReportID // otherOrg's
	docs   map[breach.ReportID][]byte
}

// sequentialIDs are ULID-shaped ids that sort in the order they are made, as ULIDs do.
func sequentialIDs() breach.IDSource {
	n := 0
	return func(time.Time) breach.ReportID {
		n++
		return breach.ReportID(fmt.Sprintf("01KAKZ7Q1W5Q7Y3X2V8N4M%04d", n))
	}
}

func newTenants(t *testing.T) *tenants {
	t.Helper()
	tn := &tenants{store: breachtest.NewStore(testOrg, otherOrg), audit: audittest.NewStore(), docs: map[breach.ReportID][]byte{}}
	ctx := context.Background()
	clock := func() time.Time { return now }
	in := breach.NewIntake(tn.store, clock, sequentialIDs())
	body := readFile(t, "../breach/testdata/gdpr-minimal.json")
	for i := range 3 {
		for _, org := range []breach.OrgID{testOrg.ID, otherOrg.ID} {
			got, err := in.Submit(ctx, breach.Submission{Org: org, IdempotencyKey: fmt.Sprint(org, i), Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if org == testOrg.ID {
				tn.mine = append(tn.mine, got.ID)
			} else {
				tn.theirs = append(tn.theirs, got.ID)
			}
		}
	}
	head, err := in.Head(ctx, testOrg.ID, string(tn.mine[1]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Supplement(ctx, head, breach.SupplementRequest{IdempotencyKey: "s", IfMatch: "1", Body: asSupplement(body, "supplementary")}); err != nil {
		t.Fatal(err)
	}
	cursors, err := breach.NewCursors(bytes.Repeat([]byte{7}, breach.MinCursorKeyBytes))
	if err != nil {
		t.Fatal(err)
	}
	reader := breach.NewReader(tn.store, cursors)
	readers := func(context.Context) (*breach.Reader, error) { return reader, nil }
	tn.h = apigw.ReadReports(readers, audit.NewTrail(tn.audit, clock), zerolog.New(&tn.logs))
	return tn
}

// asSupplement turns a first report's body into a supplement's of the given stage.
func asSupplement(body []byte, stage string) []byte {
	return append([]byte(`{"stage":"`+stage+`",`), bytes.TrimLeft(body, " \n{")...)
}

// event is the sample event of events/<name>.json.
func event(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := stdjson.Unmarshal(readFile(t, "../../events/"+name), &req); err != nil {
		t.Fatal(err)
	}
	return req
}

// get is a GET of route by testOrg's key, as the gateway sends it: path parameters as pairs.
func get(t testing.TB, route string, params ...string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	req := event(t, "read-report.json")
	req.RouteKey, req.RequestContext.RouteKey = route, route
	req.PathParameters = map[string]string{}
	for i := 0; i+1 < len(params); i += 2 {
		req.PathParameters[params[i]] = params[i+1]
	}
	return req
}

// asRegulator makes req come through a regulator key (the local stack's stand-in for IAM).
func asRegulator(req *events.APIGatewayV2HTTPRequest) {
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{"principal": "regulator", "regulator": "CNIL", "key_id": "5c1e0a9b3d7f2468"}}
}

var requestIDs = regexp.MustCompile(`"request_id":"[^"]*"`)

func withoutRequestID(body string) string {
	return requestIDs.ReplaceAllString(body, `"request_id":""`)
}

// entries is the chain's entries, oldest first.
func entries(t testing.TB, s audit.Store, chain string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	if err := s.Entries(context.Background(), chain, func(e audit.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func lastEntry(t testing.TB, s audit.Store, chain string) audit.Entry {
	t.Helper()
	e, ok, err := s.Last(context.Background(), chain)
	if err != nil || !ok {
		t.Fatalf("no entry in chain %s: %v", chain, err)
	}
	return e
}

func TestReadOwnReportsOnly(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	own, twice := string(tn.mine[0]), string(tn.mine[1])
	theirs := string(tn.theirs[0])
	for _, tc := range []struct {
		name    string
		req     events.APIGatewayV2HTTPRequest
		status  int
		id      string // in the body of a 200
		version int    // read, as the audit entry records it
		etag    string
	}{
		{"own report", get(t, "GET /v1/reports/{id}", "id", own), 200, own, 1, `"1"`},
		{"own supplemented report: its latest", get(t, "GET /v1/reports/{id}", "id", twice), 200, twice, 2, `"2"`},
		{"own version", get(t, "GET /v1/reports/{id}/versions/{n}", "id", twice, "n", "1"), 200, twice, 1, ""},
		{"own latest version", get(t, "GET /v1/reports/{id}/versions/{n}", "id", twice, "n", "2"), 200, twice, 2, ""},
		{"other's report", get(t, "GET /v1/reports/{id}", "id", theirs), 404, "", 0, ""},
		{"other's version", get(t, "GET /v1/reports/{id}/versions/{n}", "id", theirs, "n", "1"), 404, "", 0, ""},
		{"unknown report", get(t, "GET /v1/reports/{id}", "id", unknownID), 404, "", 0, ""},
		{"unknown report's version", get(t, "GET /v1/reports/{id}/versions/{n}", "id", unknownID, "n", "1"), 404, "", 0, ""},
		{"malformed id", get(t, "GET /v1/reports/{id}", "id", "not-a-report"), 404, "", 0, ""},
		{"lower-case id", get(t, "GET /v1/reports/{id}", "id", strings.ToLower(theirs)), 404, "", 0, ""},
		{"own report, version too high", get(t, "GET /v1/reports/{id}/versions/{n}", "id", own, "n", "2"), 404, "", 0, ""},
		{"own report, version 0", get(t, "GET /v1/reports/{id}/versions/{n}", "id", own, "n", "0"), 404, "", 0, ""},
		{"own report, version 01", get(t, "GET /v1/reports/{id}/versions/{n}", "id", own, "n", "01"), 404, "", 0, ""},
		{"own report, version x", get(t, "GET /v1/reports/{id}/versions/{n}", "id", own, "n", "x"), 404, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.RequestContext.RequestID = "req-" + strings.ReplaceAll(tc.name, " ", "-")
			tn.logs.Reset()
			resp, err := tn.h(ctx, tc.req)
			if err != nil || resp.StatusCode != tc.status || resp.Headers["content-type"] != "application/json" {
				t.Fatalf("%d %v %v, want %d: %s", resp.StatusCode, resp.Headers, err, tc.status, resp.Body)
			}
			e := lastEntry(t, tn.audit, string(testOrg.ID))
			if e.RequestID != tc.req.RequestContext.RequestID || e.Route != tc.req.RouteKey || e.ReportID != tc.req.PathParameters["id"] ||
				e.Version != tc.version || e.Principal != "organisation" || e.Who != string(testOrg.ID) || e.KeyID != "7b2d5f53eec30455" {
				t.Fatalf("audit entry %+v", e)
			}
			if tc.status != 200 {
				if e.Result != "404 not_found" || strings.Contains(tn.logs.String(), "report read") {
					t.Fatalf("audit result %q; logs %s", e.Result, tn.logs.String())
				}
				return
			}
			if e.Result != "200" || resp.Headers["etag"] != tc.etag || resp.Headers["cache-control"] != "no-store" {
				t.Fatalf("audit result %q, headers %v", e.Result, resp.Headers)
			}
			if !strings.Contains(resp.Body, `"id":"`+tc.id+`"`) || strings.Contains(resp.Body, string(otherOrg.ID)) {
				t.Fatalf("body %s", resp.Body)
			}
			var line struct {
				Message  string `json:"message"`
				KeyID    string `json:"key_id"`
				OrgID    string `json:"org_id"`
				ReportID string `json:"report_id"`
				Version  int    `json:"version"`
			}
			if err := stdjson.Unmarshal(tn.logs.Bytes(), &line); err != nil || line.Message != "report read" ||
				line.KeyID != "7b2d5f53eec30455" || line.OrgID != string(testOrg.ID) || line.ReportID != tc.id || line.Version != tc.version ||
				strings.Count(tn.logs.String(), `"org_id"`) != 1 {
				t.Fatalf("want one report read line, got %s (%v)", tn.logs.String(), err)
			}
		})
	}

	t.Run("every 404 is the same bytes but its request id", func(t *testing.T) {
		var first string
		for _, req := range []events.APIGatewayV2HTTPRequest{
			get(t, "GET /v1/reports/{id}", "id", unknownID),
			get(t, "GET /v1/reports/{id}", "id", theirs),
			get(t, "GET /v1/reports/{id}", "id", "x"),
			get(t, "GET /v1/reports/{id}/versions/{n}", "id", theirs, "n", "1"),
			get(t, "GET /v1/reports/{id}/versions/{n}", "id", own, "n", "9"),
		} {
			resp, _ := tn.h(ctx, req)
			if first == "" {
				first = withoutRequestID(resp.Body)
			}
			if got := withoutRequestID(resp.Body); resp.StatusCode != 404 || got != first {
				t.Fatalf("%s %v: %d %s; the first 404 was %s", req.RouteKey, req.PathParameters, resp.StatusCode, got, first)
			}
		}
	})

	t.Run("a version's body is its stored document, byte for byte", func(t *testing.T) {
		resp, _ := tn.h(ctx, get(t, "GET /v1/reports/{id}/versions/{n}", "id", twice, "n", "2"))
		stored := tn.store.Stored(tn.mine[1])[1]
		sum := sha256.Sum256([]byte(resp.Body))
		if resp.Body != string(stored.Document) || hex.EncodeToString(sum[:]) != stored.SHA256 {
			t.Fatalf("version 2 body differs from its stored document")
		}
	})

	t.Run("a report's latest is its stored document", func(t *testing.T) {
		resp, _ := tn.h(ctx, get(t, "GET /v1/reports/{id}", "id", twice))
		var view struct {
			Latest   stdjson.RawMessage `json:"latest"`
			Versions []breach.VersionInfo
		}
		if err := stdjson.Unmarshal([]byte(resp.Body), &view); err != nil {
			t.Fatal(err)
		}
		if stored := tn.store.Stored(tn.mine[1]); string(view.Latest) != string(stored[1].Document) || len(view.Versions) != 2 {
			t.Fatalf("view %s", resp.Body)
		}
	})

	t.Run("the other organisation's chain records none of it", func(t *testing.T) {
		if got := entries(t, tn.audit, string(otherOrg.ID)); len(got) != 0 {
			t.Fatalf("other's chain: %+v", got)
		}
	})
}

func TestListPages(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	type page struct {
		Items []struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	list := func(t *testing.T, org breach.OrgID, query map[string]string) (events.APIGatewayV2HTTPResponse, page) {
		t.Helper()
		req := event(t, "list-reports.json")
		req.QueryStringParameters = query
		req.RequestContext.Authorizer.Lambda["org_id"] = string(org)
		resp, err := tn.h(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var p page
		if resp.StatusCode == 200 {
			if err := stdjson.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatal(err)
			}
		}
		return resp, p
	}

	resp, first := list(t, testOrg.ID, map[string]string{"limit": "2"})
	if resp.StatusCode != 200 || len(first.Items) != 2 || first.NextCursor == nil ||
		first.Items[0].ID != string(tn.mine[2]) || first.Items[1].ID != string(tn.mine[1]) || first.Items[1].Version != 2 {
		t.Fatalf("first page: %d %s", resp.StatusCode, resp.Body)
	}
	if resp.Headers["etag"] != "" || resp.Headers["cache-control"] != "no-store" {
		t.Fatalf("list headers %v", resp.Headers)
	}
	resp, second := list(t, testOrg.ID, map[string]string{"limit": "2", "cursor": *first.NextCursor})
	if resp.StatusCode != 200 || len(second.Items) != 1 || second.Items[0].ID != string(tn.mine[0]) || second.NextCursor != nil ||
		!strings.Contains(resp.Body, `"next_cursor":null`) {
		t.Fatalf("second page: %d %s", resp.StatusCode, resp.Body)
	}
	if strings.Contains(tn.logs.String(), "report read") {
		t.Fatalf("a listing is not a report read: %s", tn.logs.String())
	}
	for _, e := range entries(t, tn.audit, string(testOrg.ID)) {
		if e.Route != "GET /v1/reports" || e.Result != "200" || e.ReportID != "" || e.Version != 0 {
			t.Fatalf("list audit entry %+v", e)
		}
	}

	for _, tc := range []struct {
		name  string
		org   breach.OrgID
		query map[string]string
		field string
	}{
		{"another organisation's cursor", otherOrg.ID, map[string]string{"cursor": *first.NextCursor}, "query.cursor"},
		{"a garbled cursor", testOrg.ID, map[string]string{"cursor": "garbage"}, "query.cursor"},
		{"limit 0", testOrg.ID, map[string]string{"limit": "0"}, "query.limit"},
		{"limit 101", testOrg.ID, map[string]string{"limit": "101"}, "query.limit"},
		{"limit abc", testOrg.ID, map[string]string{"limit": "abc"}, "query.limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := list(t, tc.org, tc.query)
			var got errorBody
			if err := stdjson.Unmarshal([]byte(resp.Body), &got); err != nil || resp.StatusCode != 400 ||
				got.Error.Code != "validation_failed" || len(got.Error.Fields) != 1 || got.Error.Fields[0].Field != tc.field {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if strings.Contains(resp.Body, string(tn.mine[0])) || strings.Contains(resp.Body, string(tn.theirs[0])) {
				t.Fatalf("a refusal names a report: %s", resp.Body)
			}
			if e := lastEntry(t, tn.audit, string(tc.org)); e.Result != "400 validation_failed" || e.Route != "GET /v1/reports" {
				t.Fatalf("audit entry %+v", e)
			}
		})
	}
}

func TestRegulatorReads(t *testing.T) {
	tn := newTenants(t)
	ctx := context.Background()
	iam := event(t, "regulator-read-report.json")
	arn := iam.RequestContext.Authorizer.IAM.UserARN
	for _, tc := range []struct {
		name     string
		edit     func(*events.APIGatewayV2HTTPRequest)
		id       string
		status   int
		chain    string
		who, key string
	}{
		{"a regulator key reads one organisation's report", asRegulator, string(tn.mine[1]), 200, string(testOrg.ID), "CNIL", "5c1e0a9b3d7f2468"},
		{"and the other's", asRegulator, string(tn.theirs[0]), 200, string(otherOrg.ID), "CNIL", "5c1e0a9b3d7f2468"},
		{"an IAM regulator reads any report", nil, string(tn.theirs[2]), 200, string(otherOrg.ID), arn, "ASIAZ3EXAMPLE7REGUL8"},
		{"an unknown report is recorded in the regulators' chain", nil, unknownID, 404, "_regulators", arn, "ASIAZ3EXAMPLE7REGUL8"},
		{"so is a malformed one", asRegulator, "nope", 404, "_regulators", "CNIL", "5c1e0a9b3d7f2468"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := event(t, "regulator-read-report.json")
			if tc.edit != nil {
				tc.edit(&req)
			}
			req.PathParameters["id"] = tc.id
			tn.logs.Reset()
			resp, err := tn.h(ctx, req)
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
			}
			e := lastEntry(t, tn.audit, tc.chain)
			if e.RequestID != req.RequestContext.RequestID || e.Principal != "regulator" || e.Who != tc.who || e.KeyID != tc.key ||
				e.ReportID != tc.id || e.Route != "GET /v1/regulator/reports/{id}" {
				t.Fatalf("audit entry %+v", e)
			}
			if tc.status == 200 {
				if !strings.Contains(resp.Body, `"id":"`+tc.id+`"`) || !strings.Contains(tn.logs.String(), `"message":"report read"`) ||
					!strings.Contains(tn.logs.String(), `"key_id":"`+tc.key+`"`) || !strings.Contains(tn.logs.String(), `"org_id":"`+tc.chain+`"`) {
					t.Fatalf("body %s, logs %s", resp.Body, tn.logs.String())
				}
				if strings.Count(tn.logs.String(), `"org_id"`) != 1 || strings.Contains(tn.logs.String(), "assumed-role") {
					t.Fatalf("a role session's name is no log's business: %s", tn.logs.String())
				}
			}
		})
	}
	t.Run("unknown and malformed answers are identical", func(t *testing.T) {
		var bodies []string
		for _, id := range []string{unknownID, "nope"} {
			req := event(t, "regulator-read-report.json")
			req.PathParameters["id"] = id
			resp, _ := tn.h(ctx, req)
			bodies = append(bodies, withoutRequestID(resp.Body))
		}
		if bodies[0] != bodies[1] {
			t.Fatalf("%s\n%s", bodies[0], bodies[1])
		}
	})
}

func TestReadsWithoutAPrincipalAnswerNothing(t *testing.T) {
	tn := newTenants(t)
	id := string(tn.mine[0])
	orgKeyOnRegulatorRoute := event(t, "regulator-read-report.json")
	orgKeyOnRegulatorRoute.RequestContext.Authorizer = event(t, "read-report.json").RequestContext.Authorizer
	for name, req := range map[string]events.APIGatewayV2HTTPRequest{
		"no authorizer context": func() events.APIGatewayV2HTTPRequest {
			r := get(t, "GET /v1/reports/{id}", "id", id)
			r.RequestContext.Authorizer = nil
			return r
		}(),
		"an organisation without its org_id": func() events.APIGatewayV2HTTPRequest {
			r := get(t, "GET /v1/reports/{id}", "id", id)
			delete(r.RequestContext.Authorizer.Lambda, "org_id")
			return r
		}(),
		"a regulator on an organisation route": func() events.APIGatewayV2HTTPRequest {
			r := get(t, "GET /v1/reports/{id}", "id", id)
			asRegulator(&r)
			return r
		}(),
		"an organisation key on the regulator route": orgKeyOnRegulatorRoute,
		"an IAM identity without an ARN": func() events.APIGatewayV2HTTPRequest {
			r := event(t, "regulator-read-report.json")
			r.RequestContext.Authorizer.IAM.UserARN = ""
			return r
		}(),
		"a regulator without a name": func() events.APIGatewayV2HTTPRequest {
			r := event(t, "regulator-read-report.json")
			asRegulator(&r)
			delete(r.RequestContext.Authorizer.Lambda, "regulator")
			return r
		}(),
		"an IAM identity on an organisation route": func() events.APIGatewayV2HTTPRequest {
			r := get(t, "GET /v1/reports/{id}", "id", id)
			r.RequestContext.Authorizer = event(t, "regulator-read-report.json").RequestContext.Authorizer
			return r
		}(),
		"no principal on the list": func() events.APIGatewayV2HTTPRequest {
			r := event(t, "list-reports.json")
			r.RequestContext.Authorizer.Lambda = nil
			return r
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			if req.PathParameters != nil {
				req.PathParameters["id"] = id
			}
			tn.logs.Reset()
			resp, err := tn.h(context.Background(), req)
			if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, `"code":"internal"`) {
				t.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
			}
			if strings.Contains(resp.Body, id) || strings.Contains(resp.Body, "authorizer") || strings.Contains(tn.logs.String(), "report read") {
				t.Fatalf("body %s, logs %s", resp.Body, tn.logs.String())
			}
		})
	}
}

// failingAudit is an audit store whose appends fail.
type failingAudit struct{ *audittest.Store }

func (failingAudit) Put(context.Context, audit.Entry) error {
	return errors.New("dynamodb: throughput exceeded on 10.0.0.1")
}

func TestReadFailsClosedWithoutItsAuditEntry(t *testing.T) {
	tn := newTenants(t)
	var logs bytes.Buffer
	cursors, _ := breach.NewCursors(bytes.Repeat([]byte{7}, 32))
	reader := breach.NewReader(tn.store, cursors)
	h := apigw.ReadReports(func(context.Context) (*breach.Reader, error) { return reader, nil },
		audit.NewTrail(failingAudit{audittest.NewStore()}, func() time.Time { return now }), zerolog.New(&logs))
	regulatorRead := event(t, "regulator-read-report.json")
	regulatorRead.PathParameters["id"] = string(tn.mine[0])
	for name, req := range map[string]events.APIGatewayV2HTTPRequest{
		"a report":               get(t, "GET /v1/reports/{id}", "id", string(tn.mine[0])),
		"a version":              get(t, "GET /v1/reports/{id}/versions/{n}", "id", string(tn.mine[0]), "n", "1"),
		"a list":                 event(t, "list-reports.json"),
		"a regulator's read":     regulatorRead,
		"even a 404 is not sent": get(t, "GET /v1/reports/{id}", "id", unknownID),
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			resp, err := h(context.Background(), req)
			if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, `"code":"internal"`) {
				t.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
			}
			if strings.Contains(resp.Body, string(tn.mine[0])) || strings.Contains(resp.Body, "dynamodb") || strings.Contains(resp.Body, "not_found") {
				t.Fatalf("body %s", resp.Body)
			}
			if out := logs.String(); !strings.Contains(out, `"level":"error"`) || !strings.Contains(out, "throughput exceeded") || strings.Contains(out, "report read") {
				t.Fatalf("logs %s", out)
			}
		})
	}
}

func TestReaderFailureIsAudited(t *testing.T) {
	tn := newTenants(t)
	store := audittest.NewStore()
	h := apigw.ReadReports(func(context.Context) (*breach.Reader, error) { return nil, errors.New("kms: AccessDeniedException") },
		audit.NewTrail(store, func() time.Time { return now }), zerolog.New(&bytes.Buffer{}))
	for chain, req := range map[string]events.APIGatewayV2HTTPRequest{
		string(testOrg.ID): get(t, "GET /v1/reports/{id}", "id", string(tn.mine[0])),
		"_regulators":      event(t, "regulator-read-report.json"),
	} {
		resp, _ := h(context.Background(), req)
		if resp.StatusCode != 500 || strings.Contains(resp.Body, "kms") {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if e := lastEntry(t, store, chain); e.Result != "500 internal" || e.RequestID != req.RequestContext.RequestID {
			t.Fatalf("audit entry %+v", e)
		}
	}
}

// TestSampleEvents runs every sample event of the report routes, in the order a client would
// send them, through lambda's own invocation path: a report, its supplement, then each read.
func TestSampleEvents(t *testing.T) {
	store, trail := breachtest.NewStore(testOrg), audittest.NewStore()
	var logs bytes.Buffer
	submit := lambda.NewHandler(submitHandler(store, trail, &logs))
	cursors, _ := breach.NewCursors(bytes.Repeat([]byte{7}, 32))
	reader := breach.NewReader(store, cursors)
	read := lambda.NewHandler(apigw.ReadReports(func(context.Context) (*breach.Reader, error) { return reader, nil },
		audit.NewTrail(trail, func() time.Time { return now }), zerolog.New(&logs)))
	for _, tc := range []struct {
		event   string
		h       lambda.Handler
		status  int
		headers map[string]string
		chain   string
	}{
		{"submit-report.json", submit, 201, map[string]string{"location": "/v1/reports/01KAKZ7Q1W5Q7Y3X2V8N4M6P0R"}, "demo-org"},
		{"submit-supplement.json", submit, 201, map[string]string{"location": "/v1/reports/01KAKZ7Q1W5Q7Y3X2V8N4M6P0R/versions/2"}, "demo-org"},
		{"read-report.json", read, 200, map[string]string{"etag": `"2"`}, "demo-org"},
		{"read-version.json", read, 200, nil, "demo-org"},
		{"list-reports.json", read, 200, nil, "demo-org"},
		{"regulator-read-report.json", read, 200, map[string]string{"etag": `"2"`}, "demo-org"},
	} {
		t.Run(tc.event, func(t *testing.T) {
			out, err := tc.h.Invoke(context.Background(), readFile(t, "../../events/"+tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := stdjson.Unmarshal(out, &resp); err != nil || resp.StatusCode != tc.status ||
				!strings.Contains(resp.Body, "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R") {
				t.Fatalf("%s, %v", out, err)
			}
			for k, v := range tc.headers {
				if resp.Headers[k] != v {
					t.Fatalf("header %s: %q, want %q", k, resp.Headers[k], v)
				}
			}
			req := event(t, tc.event)
			if e := lastEntry(t, trail, tc.chain); e.RequestID != req.RequestContext.RequestID || e.Route != req.RouteKey {
				t.Fatalf("audit entry %+v", e)
			}
		})
	}
	if got := entries(t, trail, "demo-org"); len(got) != 6 {
		t.Fatalf("%d audit entries, want one per answer", len(got))
	}
	for _, personal := range []string{"Inès", "Moreau", "dpo@mutuelle-exemple.fr", "bik_", "Bearer", "AWS4-HMAC", "cnil-inspection"} {
		if strings.Contains(logs.String(), personal) {
			t.Fatalf("log carries %q:\n%s", personal, logs.String())
		}
	}
}
