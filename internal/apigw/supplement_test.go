package apigw_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// reportID is the id newHandler gives every report, the one the sample events name.
const reportID = "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R"

// supplementEvent is events/submit-supplement.json: a supplement to report reportID.
func supplementEvent(t testing.TB) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return event(t, "submit-supplement.json")
}

// TestSupplementStatuses walks one report through every answer of the supplement route, in
// API.md's order of checks, each answer recorded in the organisation's audit chain.
func TestSupplementStatuses(t *testing.T) {
	store, trail := breachtest.NewStore(testOrg, otherOrg), audittest.NewStore()
	var logs bytes.Buffer
	h := submitHandler(store, trail, &logs)
	ctx := context.Background()
	if resp, _ := h(ctx, sampleEvent(t)); resp.StatusCode != 201 {
		t.Fatalf("first report: %d %s", resp.StatusCode, resp.Body)
	}
	big := `{"stage":"supplementary","consequences":"` + strings.Repeat("x", breach.MaxBodyBytes) + `"}`
	var notFound string
	for _, tc := range []struct {
		name     string
		edit     func(r *events.APIGatewayV2HTTPRequest)
		status   int
		code     string
		field    string
		location string
		version  int // of the answer's audit entry
	}{
		{"an unknown report", func(r *events.APIGatewayV2HTTPRequest) { r.PathParameters["id"] = unknownID }, 404, "not_found", "", "", 0},
		{"another organisation's report", func(r *events.APIGatewayV2HTTPRequest) {
			r.RequestContext.Authorizer.Lambda["org_id"] = string(otherOrg.ID)
		}, 404, "not_found", "", "", 0},
		{"a malformed id", func(r *events.APIGatewayV2HTTPRequest) { r.PathParameters["id"] = "../reports" }, 404, "not_found", "", "", 0},
		{"404 comes before 415", func(r *events.APIGatewayV2HTTPRequest) {
			r.PathParameters["id"] = unknownID
			r.Headers["content-type"] = "text/plain"
		}, 404, "not_found", "", "", 0},
		{"404 comes before 413", func(r *events.APIGatewayV2HTTPRequest) { r.PathParameters["id"] = unknownID; r.Body = big }, 404, "not_found", "", "", 0},
		{"text/plain", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["content-type"] = "text/plain" }, 415, "unsupported_media_type", "", "", 0},
		{"415 comes before 413", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["content-type"] = "text/plain"; r.Body = big }, 415, "unsupported_media_type", "", "", 0},
		{"over 256 KiB", func(r *events.APIGatewayV2HTTPRequest) { r.Body = big }, 413, "too_large", "", "", 0},
		{"no If-Match", func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "if-match") }, 400, "validation_failed", "header.If-Match", "", 0},
		{"no stage", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = strings.Replace(r.Body, `"stage": "supplementary",`, "", 1)
		}, 400, "validation_failed", "stage", "", 0},
		{"aware_at changed", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = strings.Replace(r.Body, "2026-10-30T09:00:00Z", "2026-10-30T10:00:00Z", 1)
		}, 400, "validation_failed", "incident.aware_at", "", 0},
		{"version 2 is created", nil, 201, "", "", "/v1/reports/" + reportID + "/versions/2", 2},
		{"its retry replays it", nil, 200, "", "", "/v1/reports/" + reportID + "/versions/2", 2},
		{"the same If-Match with another key is stale", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["idempotency-key"] = "another" }, 409, "version_conflict", "", "", 0},
		{"the same key with another body is refused", func(r *events.APIGatewayV2HTTPRequest) { r.Body += " " }, 422, "idempotency_key_reused", "", "", 0},
		{"a bare If-Match naming version 2 makes version 3", func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["if-match"], r.Headers["idempotency-key"] = "2", "third"
		}, 201, "", "", "/v1/reports/" + reportID + "/versions/3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := supplementEvent(t)
			req.RequestContext.RequestID = "req-" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.edit != nil {
				tc.edit(&req)
			}
			resp, err := h(ctx, req)
			if err != nil || resp.StatusCode != tc.status || resp.Headers["location"] != tc.location {
				t.Fatalf("%d %v %v, want %d: %s", resp.StatusCode, resp.Headers, err, tc.status, resp.Body)
			}
			org := req.RequestContext.Authorizer.Lambda["org_id"].(string)
			e := lastEntry(t, trail, org)
			wantResult := strings.TrimSpace(strconv.Itoa(tc.status) + " " + tc.code)
			if e.RequestID != req.RequestContext.RequestID || e.Result != wantResult || e.Route != "POST /v1/reports/{id}/supplements" ||
				e.ReportID != req.PathParameters["id"] || e.Version != tc.version || e.Who != org || e.Principal != "organisation" || e.KeyID != "7b2d5f53eec30455" {
				t.Fatalf("audit entry %+v, want result %s", e, wantResult)
			}
			if tc.code == "" {
				var rc struct {
					ID      string `json:"id"`
					Version int    `json:"version"`
					Stage   string `json:"stage"`
				}
				if err := stdjson.Unmarshal([]byte(resp.Body), &rc); err != nil || rc.ID != reportID || rc.Version != tc.version {
					t.Fatalf("receipt %s", resp.Body)
				}
				return
			}
			var got errorBody
			if err := stdjson.Unmarshal([]byte(resp.Body), &got); err != nil || got.Error.Code != tc.code || got.Error.RequestID != req.RequestContext.RequestID {
				t.Fatalf("body %s, want %s", resp.Body, tc.code)
			}
			if tc.field != "" && (len(got.Error.Fields) == 0 || got.Error.Fields[0].Field != tc.field) {
				t.Fatalf("fields %v, want %s first", got.Error.Fields, tc.field)
			}
			if tc.status == 404 {
				if notFound == "" {
					notFound = withoutRequestID(resp.Body)
				} else if withoutRequestID(resp.Body) != notFound {
					t.Fatalf("404 %s differs from %s", resp.Body, notFound)
				}
			}
		})
	}
	if versions := store.Stored(reportID); len(versions) != 3 || versions[0].Number != 1 {
		t.Fatalf("stored versions: %d", len(versions))
	}
	if got := entries(t, trail, string(otherOrg.ID)); len(got) != 1 || got[0].Result != "404 not_found" {
		t.Fatalf("the other organisation's attempt is recorded in its own chain: %+v", got)
	}
}

// TestWriteStandsWhenItsAuditEntryFails: the version is committed before the trail is written,
// so the answer is the write's (a 500 would make the client retry a stored report); the missing
// entry is logged as an error for the operators.
func TestWriteStandsWhenItsAuditEntryFails(t *testing.T) {
	store := breachtest.NewStore(testOrg)
	var logs bytes.Buffer
	h := submitHandler(store, failingAudit{audittest.NewStore()}, &logs)
	for _, tc := range []struct {
		req    events.APIGatewayV2HTTPRequest
		status int
	}{
		{sampleEvent(t), 201},
		{supplementEvent(t), 201},
		{func() events.APIGatewayV2HTTPRequest {
			r := supplementEvent(t)
			r.Headers["idempotency-key"] = "x"
			return r
		}(), 409},
	} {
		logs.Reset()
		resp, err := h(context.Background(), tc.req)
		if err != nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: %d %v: %s", tc.req.RouteKey, resp.StatusCode, err, resp.Body)
		}
		if out := logs.String(); !strings.Contains(out, `"level":"error"`) || !strings.Contains(out, "audit entry of a write not appended") {
			t.Fatalf("%s: logs %s", tc.req.RouteKey, out)
		}
	}
	if versions := store.Stored(reportID); len(versions) != 2 {
		t.Fatalf("stored versions: %d", len(versions))
	}
}
