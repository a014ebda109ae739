package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/go-json-experiment/json"
)

// skipped says whether a resource type has no local counterpart: the local stack runs functions
// in-process and serves the API itself, and moto enforces neither IAM nor log delivery.
func skipped(typ string) bool {
	switch typ {
	case "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup",
		"AWS::Lambda::Function", "AWS::Lambda::Permission", "AWS::Serverless::Function",
		"AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage":
		return true
	// Not yet: creating keys needs github.com/aws/aws-sdk-go-v2/service/kms, not in go.mod yet.
	// Until then a table encrypted with a template key uses moto's aws/dynamodb key.
	case "AWS::KMS::Key", "AWS::KMS::Alias":
		return true
	}
	return false
}

// CreateResources creates on cfg's endpoint every resource of the template the local stack needs,
// from the template's own properties, named <stack>-<LogicalId>. It returns, per LogicalId, what
// the resource's Ref returns. Existing resources are reused, so it can run against a stack it
// created before. A resource type it neither creates nor skips on purpose is an error: the local
// stack must not drift silently from the template.
func CreateResources(ctx context.Context, cfg aws.Config, t *Template, stack string) (map[string]string, error) {
	db := dynamodb.NewFromConfig(cfg)
	names := map[string]string{}
	ids := slices.Sorted(maps.Keys(t.Resources))
	// Keys first: tables refer to them.
	rank := func(id string) int {
		if t.Resources[id].Type == "AWS::KMS::Key" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(ids, func(a, b string) int { return rank(a) - rank(b) })
	for _, id := range ids {
		r := t.Resources[id]
		switch {
		case r.Type == "AWS::DynamoDB::Table":
			name := physicalName(stack, id)
			if err := createTable(ctx, db, t, name, r.Properties, names); err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			names[id] = name
		case skipped(r.Type):
		default:
			return nil, fmt.Errorf("%s: type %s is neither created locally nor skipped on purpose (internal/local/resources.go)", id, r.Type)
		}
	}
	return names, nil
}

// tableProperties are the AWS::DynamoDB::Table properties the local stack understands. Decoding
// rejects any other property, so a template change cannot be ignored here by accident.
type tableProperties struct {
	AttributeDefinitions   []struct{ AttributeName, AttributeType string }
	KeySchema              []keyElement
	BillingMode            string
	GlobalSecondaryIndexes []struct {
		IndexName  string
		KeySchema  []keyElement
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
	}
	StreamSpecification *struct{ StreamViewType string }
	SSESpecification    *struct {
		SSEEnabled     bool
		SSEType        string
		KMSMasterKeyId any
	}
	TimeToLiveSpecification *struct {
		AttributeName string
		Enabled       bool
	}
	// No local meaning: moto has no backups, and a local table must stay deletable.
	PointInTimeRecoverySpecification any
	DeletionProtectionEnabled        any
	Tags                             any
}

type keyElement struct{ AttributeName, KeyType string }

func keySchema(elems []keyElement) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(elems))
	for i, e := range elems {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(e.AttributeName), KeyType: types.KeyType(e.KeyType)}
	}
	return out
}

func createTable(ctx context.Context, db *dynamodb.Client, t *Template, name string, props map[string]any, names map[string]string) error {
	raw, err := json.Marshal(props)
	if err != nil {
		return err
	}
	var p tableProperties
	if err := json.Unmarshal(raw, &p, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("properties: %w", err)
	}
	if p.BillingMode != "PAY_PER_REQUEST" {
		return fmt.Errorf("BillingMode %q: only PAY_PER_REQUEST is created locally", p.BillingMode)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		KeySchema:   keySchema(p.KeySchema),
		BillingMode: types.BillingModePayPerRequest,
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName),
			KeySchema: keySchema(g.KeySchema),
			Projection: &types.Projection{
				ProjectionType:   types.ProjectionType(g.Projection.ProjectionType),
				NonKeyAttributes: g.Projection.NonKeyAttributes,
			},
		})
	}
	if s := p.StreamSpecification; s != nil {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(s.StreamViewType)}
	}
	if s := p.SSESpecification; s != nil {
		in.SSESpecification = &types.SSESpecification{Enabled: aws.Bool(s.SSEEnabled), SSEType: types.SSEType(s.SSEType)}
		ref := str(mapping(s.KMSMasterKeyId)["Ref"])
		_, created := names[ref]
		// A key of the template that is not created locally yet (see skipped) is left out:
		// moto then encrypts with its aws/dynamodb key, and SSEType KMS still shows.
		notLocal := ref != "" && !created && skipped(t.Resources[ref].Type)
		if s.KMSMasterKeyId != nil && !notLocal {
			key, err := t.Resolve(s.KMSMasterKeyId, names, nil)
			if err != nil {
				return fmt.Errorf("SSESpecification.KMSMasterKeyId: %w", err)
			}
			in.SSESpecification.KMSMasterKeyId = aws.String(key)
		}
	}

	_, err = db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	// Real endpoints create tables asynchronously; moto's are active at once.
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}

	if ttl := p.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		cur, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe TTL of %s: %w", name, err)
		}
		// Enabling TTL twice is an error: a reused table may have it already.
		if d := cur.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
			if aws.ToString(d.AttributeName) != ttl.AttributeName {
				return fmt.Errorf("table %s has TTL on %s, the template says %s", name, aws.ToString(d.AttributeName), ttl.AttributeName)
			}
			return nil
		}
		_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl.AttributeName), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

// Outputs resolves the template's Outputs for the local stack. An output built from the HttpApi
// (its execute-api URL in AWS) is apiURL locally, where the local API server answers.
func Outputs(t *Template, names map[string]string, apiURL string) (map[string]string, error) {
	out := make(map[string]string, len(t.Outputs))
	for name, o := range t.Outputs {
		fromAPI := slices.ContainsFunc(references(o.Value), func(id string) bool {
			return t.Resources[id].Type == "AWS::Serverless::HttpApi"
		})
		if fromAPI {
			out[name] = apiURL
			continue
		}
		v, err := t.Resolve(o.Value, names, nil)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}
