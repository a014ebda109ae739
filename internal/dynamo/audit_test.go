package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestAuditStoreContract runs the contract every audit.Store must pass against DynamoDB on
// moto, a fresh table for each case.
func TestAuditStoreContract(t *testing.T) {
	table := freshTables(t)
	audittest.StoreContract(t, func(t *testing.T) audit.Store { return dynamo.NewAuditStore(table(t)) })
}

// TestAuditItems: what an entry and its chain look like in the table, as the template's IAM
// conditions (leading keys) and operators see them.
func TestAuditItems(t *testing.T) {
	ctx := context.Background()
	_, raw := newRawTable(t)
	s := dynamo.NewAuditStore(raw.db, raw.name)
	trail := audit.NewTrail(s, func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) })
	for range 2 {
		if _, err := trail.Append(ctx, audit.Entry{Chain: "acme", Who: "acme", Route: "GET /v1/reports", Result: "200"}); err != nil {
			t.Fatal(err)
		}
	}
	entry := raw.item(t, "AUDIT#acme", "E#000000000002")
	if entry == nil {
		t.Fatal("no item AUDIT#acme / E#000000000002")
	}
	if got := entry["item_type"].(*types.AttributeValueMemberS).Value; got != "audit_entry" {
		t.Errorf("item_type = %q", got)
	}
	for _, absent := range []string{"chain", "seq"} {
		if _, ok := entry[absent]; ok {
			t.Errorf("entry item holds %s: the key alone says it", absent)
		}
	}
	if at := entry["at"].(*types.AttributeValueMemberS).Value; at != "2026-11-21T12:00:00Z" {
		t.Errorf("at = %q", at)
	}
	registry := raw.item(t, "AUDITCHAINS", "acme")
	if registry == nil || registry["item_type"].(*types.AttributeValueMemberS).Value != "audit_chain" {
		t.Fatalf("chain registry item = %v", registry)
	}
}

// TestAuditTamperingInTheTable changes one attribute of one entry's item past the store, as
// someone with write access to the table could: Verify names that entry.
func TestAuditTamperingInTheTable(t *testing.T) {
	ctx := context.Background()
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	tables := 0
	for _, tc := range []struct {
		name, update string
		value        types.AttributeValue
		problem      string
	}{
		{"a result rewritten", "SET #a = :v", &types.AttributeValueMemberS{Value: "404 not_found"}, "sha256 does not match its content"},
		{"a time moved", "SET #a = :v", &types.AttributeValueMemberS{Value: "2026-11-21T11:00:00Z"}, "sha256 does not match its content"},
		{"a version of another type", "SET #a = :v", &types.AttributeValueMemberS{Value: "two"}, "malformed"},
		{"a key id removed", "REMOVE #a", nil, "sha256 does not match its content"},
		{"the item type changed", "SET #a = :v", &types.AttributeValueMemberS{Value: "report_version"}, "malformed: item_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tables++
			raw := rawTable{db: db, name: fmt.Sprintf("tamper-%d", tables)}
			createTable(t, db, raw.name)
			s := dynamo.NewAuditStore(raw.db, raw.name)
			trail := audit.NewTrail(s, time.Now)
			for i := range 4 {
				if _, err := trail.Append(ctx, audit.Entry{Chain: "acme", Who: "acme", KeyID: "k1", Route: "GET /v1/reports/{id}",
					ReportID: "01JAAAAAAAAAAAAAAAAAAAAAA1", Result: "200", Version: 1, RequestID: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if r, err := audit.Verify(ctx, s, audittest.NewAnchors()); err != nil || !r.OK() || r.Entries != 4 {
				t.Fatalf("before: %+v, %v", r, err)
			}
			attr := map[string]string{"a result rewritten": "result", "a time moved": "at", "a version of another type": "version",
				"a key id removed": "key_id", "the item type changed": "item_type"}[tc.name]
			in := &dynamodb.UpdateItemInput{
				TableName: aws.String(raw.name),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "AUDIT#acme"},
					"sk": &types.AttributeValueMemberS{Value: "E#000000000003"},
				},
				UpdateExpression:         aws.String(tc.update),
				ExpressionAttributeNames: map[string]string{"#a": attr},
			}
			if tc.value != nil {
				in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": tc.value}
			}
			if _, err := raw.db.UpdateItem(ctx, in); err != nil {
				t.Fatal(err)
			}
			r, err := audit.Verify(ctx, s, audittest.NewAnchors())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Broken) != 1 || r.Broken[0].Chain != "acme" || r.Broken[0].Seq != 3 || !strings.Contains(r.Broken[0].Problem, tc.problem) {
				t.Fatalf("broken links %v, want chain acme entry 3: …%s…", r.Broken, tc.problem)
			}
		})
	}
}
