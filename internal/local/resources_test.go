package local_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// Integration: the real template's resources on a private moto_server.
func TestCreateResourcesFromTheTemplate(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl := loadReal(t)

	names, err := local.CreateResources(ctx, cfg, tpl, "breach-intake-local")
	if err != nil {
		t.Fatal(err)
	}
	const table = "breach-intake-local-ReportsTable"
	if want := map[string]string{"ReportsTable": table}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}

	db := dynamodb.NewFromConfig(cfg)
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := d.Table
	var keys []string
	for _, k := range tbl.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	if want := []string{"pk HASH", "sk RANGE"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("key schema = %v, want %v", keys, want)
	}
	if s := tbl.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || s.StreamViewType != types.StreamViewTypeNewImage {
		t.Errorf("stream = %+v, want enabled NEW_IMAGE", s)
	}
	if aws.ToString(tbl.LatestStreamArn) == "" {
		t.Error("no stream ARN")
	}
	if b := tbl.BillingModeSummary; b == nil || b.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing = %+v, want PAY_PER_REQUEST", b)
	}
	if s := tbl.SSEDescription; s == nil || s.SSEType != types.SSETypeKms {
		t.Errorf("SSE = %+v, want KMS", s)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expires_at" {
		t.Errorf("TTL = %+v, want enabled on expires_at", d)
	}

	t.Run("again reuses what exists", func(t *testing.T) {
		again, err := local.CreateResources(ctx, cfg, tpl, "breach-intake-local")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, names) {
			t.Errorf("names = %v, want %v", again, names)
		}
	})

	t.Run("outputs", func(t *testing.T) {
		out, err := local.Outputs(tpl, names, "http://127.0.0.1:3000")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"ApiUrl": "http://127.0.0.1:3000", "ReportsTableName": table}
		if !reflect.DeepEqual(out, want) {
			t.Errorf("outputs = %v, want %v", out, want)
		}
	})
}

// Whatever the local stack does not understand stops it, before any call to the endpoint.
func TestCreateResourcesRefusesDrift(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown resource type", `
Resources:
  Topic: {Type: AWS::Unknown::Thing}
`, "neither created locally nor skipped"},
		{"unknown table property", `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      TableClass: STANDARD_INFREQUENT_ACCESS
`, "TableClass"},
		{"provisioned table", `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
`, "only PAY_PER_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := parse(t, tc.src)
			_, err := local.CreateResources(context.Background(), aws.Config{Region: localtest.Region}, tpl, "s")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}
