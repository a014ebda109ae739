package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestAuditVerify: on the local stack's resources, chains verify and anchor; then one attribute
// of one entry changed in the table, and the tail of an anchored chain deleted, each fail
// `audit verify`, naming the entry.
func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t)) // the environment points breachctl at it too
	tmpl, err := local.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	table := names["ReportsTable"]
	trail := audit.NewTrail(dynamo.NewAuditStore(db, table), time.Now)
	appendN := func(chain string, n int) {
		t.Helper()
		for i := range n {
			if _, err := trail.Append(ctx, audit.Entry{Chain: chain, Principal: "organisation", Who: chain, KeyID: "k1",
				Route: "GET /v1/reports/{id}", ReportID: "01JAAAAAAAAAAAAAAAAAAAAAA1", Version: 1, Result: "200",
				RequestID: fmt.Sprint(chain, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctl := func(args ...string) (string, error) {
		var stdout, stderr strings.Builder
		err := run(ctx, append(args, "--template", "../../template.yaml"), &stdout, &stderr)
		return stdout.String(), err
	}
	mustCtl := func(args ...string) string {
		t.Helper()
		out, err := ctl(args...)
		if err != nil {
			t.Fatalf("breachctl %v: %v\n%s", args, err, out)
		}
		return out
	}

	appendN("org-alpha", 4)
	appendN("org-beta", 3)
	if out := mustCtl("audit", "verify"); out != "audit verify: 2 chains, 7 entries, 0 anchors (0 heads): every chain intact\n" {
		t.Fatalf("verify:\n%s", out)
	}
	if out := mustCtl("audit", "anchor"); !regexp.MustCompile(`^audit anchor: anchors/\S+\.json: 2 chains, 7 entries\n$`).MatchString(out) {
		t.Fatalf("anchor:\n%s", out)
	}
	appendN("org-alpha", 2)
	if out := mustCtl("audit", "verify"); out != "audit verify: 2 chains, 9 entries, 1 anchors (2 heads): every chain intact\n" {
		t.Fatalf("verify after more entries:\n%s", out)
	}

	key := func(chain string, seq int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "AUDIT#" + chain},
			"sk": &types.AttributeValueMemberS{Value: fmt.Sprintf("E#%012d", seq)},
		}
	}
	// One attribute of one entry, changed past the application.
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key("org-alpha", 3),
		UpdateExpression:          aws.String("SET #r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "result"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "404 not_found"}},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := ctl("audit", "verify")
	want := "chain org-alpha entry 3: sha256 does not match its content\n" +
		"audit verify: 2 chains, 6 entries, 1 anchors (2 heads): 1 broken\n" // a chain is checked up to its first broken link
	if err == nil || out != want {
		t.Fatalf("verify after a change: %v\n%s\nwant\n%s", err, out, want)
	}

	// The anchored tail of the other chain, deleted.
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key("org-beta", 3)}); err != nil {
		t.Fatal(err)
	}
	out, err = ctl("audit", "verify")
	if err == nil || !strings.Contains(out, "chain org-beta entry 3: missing: the anchor of ") ||
		!strings.Contains(out, "names entry 3, but the chain ends at entry 2\n") || !strings.Contains(out, "2 broken\n") {
		t.Fatalf("verify after a deleted tail: %v\n%s", err, out)
	}

	if _, err := ctl("audit", "sign"); err == nil {
		t.Fatal("audit sign: no error")
	}
}
