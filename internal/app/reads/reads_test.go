package reads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/reads"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestCursorsAcrossInstances runs the function as the template configures it, against moto: the
// cursor key comes from the template's KMS HMAC key, so a cursor one instance issued is good on
// another (Lambda runs many), and still only for the organisation it was issued to.
func TestCursorsAcrossInstances(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl, err := local.LoadTemplate("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tpl, "reads")
	if err != nil {
		t.Fatal(err)
	}
	env, err := local.FunctionEnv(tpl, "ReadReportsFunction", names)
	if err != nil {
		t.Fatal(err)
	}
	if env["CURSOR_KEY_ID"] == "" {
		t.Fatalf("the template gives ReadReportsFunction no CURSOR_KEY_ID: %v", env)
	}
	db := dynamodb.NewFromConfig(cfg)
	store := dynamo.New(db, env["TABLE_NAME"])
	alpha, beta := breach.Organisation{ID: "org-alpha", LegalName: "Alpha", Country: "FR"}, breach.Organisation{ID: "org-beta", LegalName: "Beta", Country: "FR"}
	in := breach.NewIntake(store, breach.SystemClock(), breach.ULIDs())
	body, err := os.ReadFile("../../breach/testdata/gdpr-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	filed := map[string]bool{}
	for _, o := range []breach.Organisation{alpha, beta} {
		if _, err := store.PutOrganisation(ctx, o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		got, err := in.Submit(ctx, breach.Submission{Org: alpha.ID, IdempotencyKey: string(rune('a' + i)), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		filed[string(got.ID)] = true
	}

	var logs bytes.Buffer
	instance := func() apigw.Handler {
		h, err := reads.ReadReports(app.Runtime{AWS: cfg, Env: func(k string) string { return env[k] }, Log: zerolog.New(&logs), Clock: breach.SystemClock()})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	list := func(h apigw.Handler, org breach.OrgID, query map[string]string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/reports", QueryStringParameters: query,
			RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "r-" + string(org),
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					Lambda: map[string]any{"principal": "organisation", "org_id": string(org), "key_id": "k-" + string(org)}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	type page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	var first, second page
	resp := list(instance(), alpha.ID, map[string]string{"limit": "2"})
	if err := json.Unmarshal([]byte(resp.Body), &first); err != nil || resp.StatusCode != 200 || len(first.Items) != 2 || first.NextCursor == nil {
		t.Fatalf("first page: %d %s\nlogs: %s", resp.StatusCode, resp.Body, logs.String())
	}
	other := instance()
	resp = list(other, alpha.ID, map[string]string{"limit": "2", "cursor": *first.NextCursor})
	if err := json.Unmarshal([]byte(resp.Body), &second); err != nil || resp.StatusCode != 200 || len(second.Items) != 1 || second.NextCursor != nil {
		t.Fatalf("second page, from another instance: %d %s", resp.StatusCode, resp.Body)
	}
	for _, it := range append(first.Items, second.Items...) {
		delete(filed, it.ID)
	}
	if len(filed) != 0 {
		t.Fatalf("not listed: %v", filed)
	}
	if resp := list(other, beta.ID, map[string]string{"cursor": *first.NextCursor}); resp.StatusCode != 400 || !strings.Contains(resp.Body, `"query.cursor"`) {
		t.Fatalf("another organisation's cursor: %d %s", resp.StatusCode, resp.Body)
	}

	// Each answer is in its organisation's chain of the table's audit trail.
	chains := map[string][]string{}
	for _, chain := range []string{string(alpha.ID), string(beta.ID)} {
		if err := dynamo.NewAuditStore(db, env["TABLE_NAME"]).Entries(ctx, chain, func(e audit.Entry) error {
			chains[chain] = append(chains[chain], e.Result)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(chains["org-alpha"], ",") != "200,200" || strings.Join(chains["org-beta"], ",") != "400 validation_failed" {
		t.Fatalf("audit chains %v", chains)
	}
}
