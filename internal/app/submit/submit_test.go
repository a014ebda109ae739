package submit_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/submit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/receipt"
)

const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// TestEnvironment: the function refuses to start without a signing key, or with a name that is
// no KMS key's, and builds without any AWS call otherwise.
func TestEnvironment(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "reports", "RECEIPT_KEY_ID": keyID}
	for _, tc := range []struct {
		name string
		edit map[string]string
		want string // "" when it builds
	}{
		{"a key id", nil, ""},
		{"a key ARN, previous keys", map[string]string{"RECEIPT_KEY_ID": "arn:aws:kms:eu-west-3:111122223333:key/" + keyID,
			"RECEIPT_PREVIOUS_KEY_IDS": "0000abcd-12ab-34cd-56ef-1234567890ab, arn:aws:kms:eu-west-3:111122223333:key/1111abcd-12ab-34cd-56ef-1234567890ab,"}, ""},
		{"no table", map[string]string{"TABLE_NAME": ""}, "TABLE_NAME"},
		{"no signing key", map[string]string{"RECEIPT_KEY_ID": ""}, "RECEIPT_KEY_ID"},
		{"aliases (the local stack's names)", map[string]string{"RECEIPT_KEY_ID": "alias/breach-intake-local/receipts",
			"RECEIPT_PREVIOUS_KEY_IDS": "alias/breach-intake-local/receipts-2026"}, ""},
		{"not a key", map[string]string{"RECEIPT_KEY_ID": "receipts"}, "want a key id, key ARN, alias or alias ARN"},
		{"the current key among the previous", map[string]string{"RECEIPT_PREVIOUS_KEY_IDS": keyID}, "listed twice"},
		{"not a key among the previous", map[string]string{"RECEIPT_PREVIOUS_KEY_IDS": "s3://old"}, "want a key id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.edit {
				env[k] = v
			}
			// No endpoint, no credentials: building the function must not call AWS.
			rt := app.Runtime{AWS: aws.Config{Region: "eu-west-3"}, Env: func(k string) string { return env[k] },
				Log: zerolog.Nop(), Clock: breach.SystemClock()}
			h, err := submit.SubmitReport(rt)
			switch {
			case tc.want == "" && (err != nil || h == nil):
				t.Fatalf("%v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestOnTheTemplate runs the function as the template configures it, on moto: the receipt key
// the template creates signs the receipt, the public-key route (no authorizer) publishes it, and
// the receipt verifies offline with what it published.
func TestOnTheTemplate(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl, err := local.LoadTemplate("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	route := local.Route{Method: "GET", Path: "/v1/receipts/public-key", Function: "SubmitReportFunction", Auth: local.AuthNone}
	if !slices.Contains(routes, route) {
		t.Errorf("the template has no route %+v", route)
	}
	names, err := local.CreateResources(ctx, cfg, tpl, "receipts")
	if err != nil {
		t.Fatal(err)
	}
	env, err := local.FunctionEnv(tpl, "SubmitReportFunction", names)
	if err != nil {
		t.Fatal(err)
	}
	if env["RECEIPT_KEY_ID"] == "" {
		t.Fatalf("the template gives SubmitReportFunction no RECEIPT_KEY_ID (an AWS::KMS::Key, ECC_NIST_P256, SIGN_VERIFY): %v", env)
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), env["TABLE_NAME"])
	org := breach.Organisation{ID: "org-receipts", LegalName: "Exemple SA", Country: "FR"}
	if _, err := store.PutOrganisation(ctx, org, time.Now()); err != nil {
		t.Fatal(err)
	}
	var logs, emf bytes.Buffer
	m, err := metrics.New(&emf, "SubmitReportFunction", breach.SystemClock())
	if err != nil {
		t.Fatal(err)
	}
	h, err := submit.SubmitReport(app.Runtime{AWS: cfg, Env: func(k string) string { return env[k] }, Log: zerolog.New(&logs),
		Clock: breach.SystemClock(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../../breach/testdata/gdpr-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	authorizer := &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		Lambda: map[string]any{"principal": "organisation", "org_id": string(org.ID), "key_id": "k1"}}
	created, err := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "POST /v1/reports", Body: string(body),
		Headers:        map[string]string{"content-type": "application/json", "idempotency-key": "r1"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1", Authorizer: authorizer}})
	if err != nil || created.StatusCode != 201 {
		t.Fatalf("submit: %d %s, %v\nlogs: %s", created.StatusCode, created.Body, err, logs.String())
	}
	// The function flushes each invocation's metrics: the accepted report's, by severity and regime.
	points, err := metrics.Parse(emf.Bytes())
	if err != nil || len(points) != 3 || points[0].Metric != "ReportsAccepted" || points[2].Dimensions["Regime"] != "gdpr" ||
		points[0].Dimensions["Service"] != "SubmitReportFunction" {
		t.Fatalf("EMF lines %s (%v): want ReportsAccepted by severity, LateReports, ReportsAccepted by regime", emf.Bytes(), err)
	}
	keys, err := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/receipts/public-key",
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-2"}})
	if err != nil || keys.StatusCode != 200 {
		t.Fatalf("public key: %d %s, %v\nlogs: %s", keys.StatusCode, keys.Body, err, logs.String())
	}
	published, err := receipt.ParsePEM([]byte(keys.Body))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Verify([]byte(created.Body), published)
	if err != nil || published[0].KeyID != rc.KeyID {
		t.Fatalf("the receipt does not verify with the published keys: %v\n%s\n%s", err, created.Body, keys.Body)
	}
}
