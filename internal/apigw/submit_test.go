package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"os"
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

var (
	testOrg = breach.Organisation{ID: "demo-org", LegalName: "Demo", Country: "FR"}
	now     = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleEvent is events/submit-report.json: the event API Gateway sends for a POST /v1/reports.
func sampleEvent(t testing.TB) events.APIGatewayV2HTTPRequest {
	var req events.APIGatewayV2HTTPRequest
	if err := stdjson.Unmarshal(readFile(t, "../../events/submit-report.json"), &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func newHandler(store breach.Store, logs *bytes.Buffer) apigw.Handler {
	return submitHandler(store, audittest.NewStore(), logs)
}

// submitHandler is the submit-report handler over store, its audit trail over trail.
func submitHandler(store breach.Store, trail audit.Store, logs *bytes.Buffer) apigw.Handler {
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(store, func() time.Time { return now }, ids)
	return apigw.SubmitReport(in, audit.NewTrail(trail, func() time.Time { return now }), zerolog.New(logs))
}

type errorBody struct {
	Error struct {
		Code      string              `json:"code"`
		Message   string              `json:"message"`
		RequestID string              `json:"request_id"`
		Fields    []breach.FieldError `json:"fields"`
	} `json:"error"`
}

func TestSubmitStatuses(t *testing.T) {
	gdpr := string(readFile(t, "../breach/testdata/gdpr-minimal.json"))
	late := strings.Replace(gdpr, "2026-11-21T10:00:00Z", "2026-11-10T10:00:00Z", 1)
	big := `{"regimes":["gdpr"],"consequences":"` + strings.Repeat("x", breach.MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name   string
		edit   func(r *events.APIGatewayV2HTTPRequest)
		status int
		code   string
		fields []breach.FieldError
	}{
		{"a valid report is created", func(r *events.APIGatewayV2HTTPRequest) { r.Body = gdpr }, 201, "", nil},
		{"a late report with its reason is created", nil, 201, "", nil},
		{"charset utf-8 is accepted", func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["content-type"] = "application/json; charset=UTF-8"
		}, 201, "", nil},
		{"a base64 body is decoded", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(r.Body)), true
		}, 201, "", nil},
		{"text/plain is refused", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["content-type"] = "text/plain" }, 415, "unsupported_media_type", nil},
		{"no content type is refused", func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "content-type") }, 415, "unsupported_media_type", nil},
		{"another charset is refused", func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["content-type"] = "application/json; charset=latin1"
		}, 415, "unsupported_media_type", nil},
		{"415 comes before 413", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["content-type"] = "text/plain"; r.Body = big }, 415, "unsupported_media_type", nil},
		{"over 256 KiB is too large", func(r *events.APIGatewayV2HTTPRequest) { r.Body = big }, 413, "too_large", nil},
		{"over 256 KiB in base64 is too large", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(big)), true
		}, 413, "too_large", nil},
		{"413 comes before 400", func(r *events.APIGatewayV2HTTPRequest) { r.Body = big[:len(big)-2] }, 413, "too_large", nil},
		{"malformed JSON", func(r *events.APIGatewayV2HTTPRequest) { r.Body = `{"regimes":` }, 400, "invalid_json", nil},
		{"bad base64", func(r *events.APIGatewayV2HTTPRequest) { r.Body, r.IsBase64Encoded = "%%%", true }, 400, "invalid_json", nil},
		{"every failing field is listed", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body = strings.Replace(strings.Replace(gdpr, `"retail"`, `"bakery"`, 1), `"accidental_external"`, `"oops"`, 1)
			delete(r.Headers, "idempotency-key")
		}, 400, "validation_failed", []breach.FieldError{
			{Field: "header.Idempotency-Key", Rule: "required"}, {Field: "organisation.sector", Rule: "enum"}, {Field: "incident.cause", Rule: "enum"}}},
		{"late without a reason", func(r *events.APIGatewayV2HTTPRequest) { r.Body = late }, 422, "late_reason_required",
			[]breach.FieldError{{Field: "late_reason", Rule: "required_if_late"}}},
		{"an unknown route", func(r *events.APIGatewayV2HTTPRequest) { r.RouteKey = "DELETE /v1/reports" }, 404, "not_found", nil},
		{"health", func(r *events.APIGatewayV2HTTPRequest) { r.RouteKey = "GET /v1/health" }, 200, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sampleEvent(t)
			if tc.edit != nil {
				tc.edit(&req)
			}
			var logs bytes.Buffer
			resp, err := newHandler(breachtest.NewStore(testOrg), &logs)(context.Background(), req)
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			if resp.StatusCode != tc.status || resp.Headers["content-type"] != "application/json" {
				t.Fatalf("status %d %v, want %d: %s", resp.StatusCode, resp.Headers, tc.status, resp.Body)
			}
			if tc.code == "" {
				return
			}
			var got errorBody
			if err := stdjson.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Error.Code != tc.code || got.Error.RequestID != req.RequestContext.RequestID || got.Error.Message == "" {
				t.Fatalf("body %s, want code %s with request_id", resp.Body, tc.code)
			}
			if len(tc.fields) > 0 && !equalFields(got.Error.Fields, tc.fields) {
				t.Fatalf("fields %v, want %v", got.Error.Fields, tc.fields)
			}
		})
	}
}

func equalFields(a, b []breach.FieldError) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSubmitReplaysAndRefusesReuse(t *testing.T) {
	h := newHandler(breachtest.NewStore(testOrg), &bytes.Buffer{})
	req := sampleEvent(t)
	first, _ := h(context.Background(), req)
	again, _ := h(context.Background(), req)
	if first.StatusCode != 201 || again.StatusCode != 200 || again.Body != first.Body {
		t.Fatalf("first %d, replay %d; bodies equal: %v", first.StatusCode, again.StatusCode, again.Body == first.Body)
	}
	req.Body += " "
	reused, _ := h(context.Background(), req)
	if reused.StatusCode != 422 || !strings.Contains(reused.Body, `"idempotency_key_reused"`) {
		t.Fatalf("reused key: %d %s", reused.StatusCode, reused.Body)
	}
}

type failingStore struct{ breach.Store }

func (failingStore) SaveVersion(context.Context, breach.Version, breach.ReportHead, breach.IdempotencyRecord, time.Time) (*breach.IdempotencyRecord, error) {
	return nil, errors.New("dynamodb: connection refused to 10.0.0.1 (secret detail)")
}

func TestInternalErrorsLeakNothing(t *testing.T) {
	for name, edit := range map[string]func(*events.APIGatewayV2HTTPRequest){
		"store failure":         func(*events.APIGatewayV2HTTPRequest) {},
		"no authorizer context": func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.Authorizer = nil },
		"unprovisioned org":     func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.Authorizer.Lambda["org_id"] = "ghost" },
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHandler(failingStore{breachtest.NewStore(testOrg)}, &logs)
			req := sampleEvent(t)
			edit(&req)
			resp, err := h(context.Background(), req)
			if err != nil || resp.StatusCode != 500 {
				t.Fatalf("got %d, %v; want 500", resp.StatusCode, err)
			}
			var got errorBody
			if err := stdjson.Unmarshal([]byte(resp.Body), &got); err != nil || got.Error.Code != "internal" {
				t.Fatalf("body %s", resp.Body)
			}
			for _, leak := range []string{"dynamodb", "10.0.0.1", "secret", "ghost", "authorizer"} {
				if strings.Contains(resp.Body, leak) {
					t.Fatalf("500 body leaks %q: %s", leak, resp.Body)
				}
			}
			if !strings.Contains(logs.String(), `"level":"error"`) {
				t.Fatalf("cause not logged: %s", logs.String())
			}
		})
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	var logs bytes.Buffer
	h := lambda.NewHandler(newHandler(breachtest.NewStore(testOrg), &logs))
	raw := readFile(t, "../../events/submit-report.json")
	if _, err := h.Invoke(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	// A refused request is logged too.
	if _, err := h.Invoke(context.Background(), bytes.Replace(raw, []byte(`\"cause\": \"malicious_external\"`), []byte(`\"cause\": \"x\"`), 1)); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, `"report_id"`) || !strings.Contains(out, `"request_id":"B5sQpjBzCGYEJxw="`) {
		t.Fatalf("expected two correlated log lines, got:\n%s", out)
	}
	for _, personal := range []string{"Inès", "Moreau", "dpo@mutuelle-exemple.fr", "bik_", "Bearer", "Tiers Payant", "stolen practitioner"} {
		if strings.Contains(out, personal) {
			t.Fatalf("log carries %q:\n%s", personal, out)
		}
	}
}

func TestHealthEvent(t *testing.T) {
	h := lambda.NewHandler(newHandler(breachtest.NewStore(testOrg), &bytes.Buffer{}))
	out, err := h.Invoke(context.Background(), readFile(t, "../../events/health.json"))
	if err != nil || !strings.Contains(string(out), `"statusCode":200`) || !strings.Contains(string(out), `{\"status\":\"ok\"}`) {
		t.Fatalf("health: %s, %v", out, err)
	}
}
