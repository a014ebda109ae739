package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
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
	// The local functions run in-process and publish no CloudWatch metrics nor logs (their EMF
	// lines go to the local log), so an alarm, a dashboard, a Contributor Insights rule or a metric
	// filter could never see anything: creating them in moto would only pretend.
	case "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::CloudWatch::InsightRule", "AWS::Logs::MetricFilter":
		return true
	}
	return false
}

// keyTag tags the KMS keys the local stack creates with <stack>/<LogicalId>: KMS chooses key ids,
// so the tag is how a second run finds the key it created before.
const keyTag = "local:logical-id"

// CreateResources creates on cfg's endpoint every resource of the template the local stack needs,
// from the template's own properties, named <stack>-<LogicalId> (lower-cased for buckets). It
// returns, per LogicalId, what the resource's Ref returns. Existing resources are reused, so it
// can run against a stack it created before. A resource whose Condition is false with the
// parameters' defaults (the local stack's only parameter values) is not created. A resource type
// it neither creates nor skips on purpose is an error: the local stack must not drift silently
// from the template.
func CreateResources(ctx context.Context, cfg aws.Config, t *Template, stack string) (map[string]string, error) {
	ids, err := creationOrder(t)
	if err != nil {
		return nil, err
	}
	params := map[string]string{"AWS::StackName": stack}
	// Everything is checked before the first call to the endpoint, with stand-ins for what only
	// the endpoint knows (key ids).
	standIns := map[string]string{}
	for id := range t.Resources {
		if ref, ok := localRef(t, stack, id); ok {
			standIns[id] = ref
		} else {
			standIns[id] = physicalName(stack, id)
		}
	}
	var todo []string
	for _, id := range ids {
		r := t.Resources[id]
		if skipped(r.Type) {
			continue
		}
		if r.Condition != "" {
			holds, err := t.Condition(r.Condition, params)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			if !holds {
				continue
			}
		}
		if _, err := properties(t, id, standIns, params); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		todo = append(todo, id)
	}

	c := clients{
		db:  dynamodb.NewFromConfig(cfg),
		kms: kms.NewFromConfig(cfg),
		// Path-style: a local endpoint has no per-bucket host names.
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		sns:    sns.NewFromConfig(cfg),
		sqs:    sqs.NewFromConfig(cfg),
		region: cfg.Region,
	}
	names := map[string]string{}
	for _, id := range todo {
		p, err := properties(t, id, names, params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		ref, _ := localRef(t, stack, id)
		name := physicalName(stack, id)
		switch p := p.(type) {
		case *tableProperties:
			err = createTable(ctx, c.db, ref, p)
		case *keyProperties:
			ref, err = c.createKey(ctx, stack+"/"+id, p)
		case *aliasProperties:
			err = c.createAlias(ctx, p)
		case *bucketProperties:
			err = c.createBucket(ctx, ref, p)
		case *bucketPolicyProperties:
			err = c.putBucketPolicy(ctx, p)
		case *topicProperties:
			err = c.createTopic(ctx, name, p)
		case *queueProperties:
			err = c.createQueue(ctx, name, p)
		case *subscriptionProperties:
			ref, err = c.subscribe(ctx, p)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if ref != "" {
			names[id] = ref
		}
	}
	return names, nil
}

type clients struct {
	db     *dynamodb.Client
	kms    *kms.Client
	s3     *s3.Client
	sns    *sns.Client
	sqs    *sqs.Client
	region string
}

// properties resolves a resource's properties with names and decodes them into the properties
// type of its resource type, which names every property the local stack understands: any other
// property is an error, so a template change cannot be ignored here by accident.
func properties(t *Template, id string, names, params map[string]string) (any, error) {
	r := t.Resources[id]
	var p any
	switch r.Type {
	case "AWS::DynamoDB::Table":
		p = &tableProperties{}
	case "AWS::KMS::Key":
		p = &keyProperties{}
	case "AWS::KMS::Alias":
		p = &aliasProperties{}
	case "AWS::S3::Bucket":
		p = &bucketProperties{}
	case "AWS::S3::BucketPolicy":
		p = &bucketPolicyProperties{}
	case "AWS::SNS::Topic":
		p = &topicProperties{}
	case "AWS::SQS::Queue":
		p = &queueProperties{}
	case "AWS::SNS::Subscription":
		p = &subscriptionProperties{}
	default:
		return nil, fmt.Errorf("type %s is neither created locally nor skipped on purpose (internal/local/resources.go)", r.Type)
	}
	resolved, err := t.resolveTree(r.Properties, names, params)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(mapping(resolved), p); err != nil {
		return nil, err
	}
	return p, nil
}

// localRef is what a resource's Ref returns on the local stack when that is known without asking
// the endpoint: a key's id, chosen by KMS, is not.
func localRef(t *Template, stack, id string) (string, bool) {
	name := physicalName(stack, id)
	switch r := t.Resources[id]; r.Type {
	case "AWS::DynamoDB::Table":
		return name, true
	case "AWS::S3::Bucket":
		return strings.ToLower(name), true // bucket names are lower-case
	case "AWS::SNS::Topic":
		return "arn:" + Partition + ":sns:" + Region + ":" + AccountID + ":" + name, true
	case "AWS::SQS::Queue":
		// The URL AWS gives the queue. moto answers with its own host in the URL, but it (like
		// the SDK, which sends to its endpoint) reads only the URL's last segment: this form
		// works on every endpoint and PhysicalNames can compute it.
		return "https://sqs." + Region + "." + URLSuffix + "/" + AccountID + "/" + name, true
	case "AWS::KMS::Alias":
		alias, err := t.Resolve(r.Properties["AliasName"], nil, map[string]string{"AWS::StackName": stack})
		return alias, err == nil
	}
	return "", false
}

// creationOrder sorts the template's resources so that each comes after those it refers to.
func creationOrder(t *Template) ([]string, error) {
	var order []string
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			return fmt.Errorf("resources refer to each other: %s", strings.Join(append(path, id), " → "))
		case 2:
			return nil
		}
		state[id] = 1
		r := t.Resources[id]
		deps := references(r.Properties)
		slices.Sort(deps)
		for _, dep := range slices.Compact(deps) {
			if _, ok := t.Resources[dep]; ok && dep != id {
				if err := visit(dep, append(path, id)); err != nil {
					return err
				}
			}
		}
		state[id] = 2
		order = append(order, id)
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		if err := visit(id, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
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
		KMSMasterKeyId string
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

func createTable(ctx context.Context, db *dynamodb.Client, name string, p *tableProperties) error {
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
		if s.KMSMasterKeyId != "" {
			in.SSESpecification.KMSMasterKeyId = aws.String(s.KMSMasterKeyId)
		}
	}

	_, err := db.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	// Real endpoints create tables asynchronously; moto's are active at once.
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if inUse != nil {
		if err := addMissingIndexes(ctx, db, name, in); err != nil {
			return err
		}
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

// CreateTable creates the template's DynamoDB table logicalID, named name, from its own
// properties (keys, indexes, stream, TTL) but for server-side encryption, whose key only a whole
// stack has: the table of an adapter's tests, which cannot drift from the template's.
func CreateTable(ctx context.Context, db *dynamodb.Client, t *Template, logicalID, name string) error {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::DynamoDB::Table" {
		return fmt.Errorf("%s is not an AWS::DynamoDB::Table of the template", logicalID)
	}
	props := maps.Clone(r.Properties)
	delete(props, "SSESpecification")
	resolved, err := t.resolveTree(props, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", logicalID, err)
	}
	var p tableProperties
	if err := decodeStrict(mapping(resolved), &p); err != nil {
		return fmt.Errorf("%s: %w", logicalID, err)
	}
	return createTable(ctx, db, name, &p)
}

// addMissingIndexes adds to a reused table the global secondary indexes the template gained since
// the table was created.
func addMissingIndexes(ctx context.Context, db *dynamodb.Client, name string, want *dynamodb.CreateTableInput) error {
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	for _, g := range want.GlobalSecondaryIndexes {
		exists := slices.ContainsFunc(d.Table.GlobalSecondaryIndexes, func(have types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(have.IndexName) == aws.ToString(g.IndexName)
		})
		if exists {
			continue
		}
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: want.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s to table %s: %w", aws.ToString(g.IndexName), name, err)
		}
	}
	return nil
}

type keyProperties struct {
	Description       string
	EnableKeyRotation bool
	KeyPolicy         map[string]any
	KeySpec           string
	KeyUsage          string
	// No local meaning: the waiting period when the stack deletes the key.
	PendingWindowInDays any
}

// createKey creates a KMS key, or finds the one an earlier run created, and returns its id.
func (c clients) createKey(ctx context.Context, tag string, p *keyProperties) (string, error) {
	policy, err := json.Marshal(p.KeyPolicy)
	if err != nil {
		return "", err
	}
	id, err := c.findKey(ctx, tag)
	if err != nil {
		return "", err
	}
	if id == "" {
		out, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String(p.Description),
			Policy:      aws.String(string(policy)),
			KeySpec:     kmstypes.KeySpec(p.KeySpec),
			KeyUsage:    kmstypes.KeyUsageType(p.KeyUsage),
			Tags:        []kmstypes.Tag{{TagKey: aws.String(keyTag), TagValue: aws.String(tag)}},
		})
		if err != nil {
			return "", fmt.Errorf("create key: %w", err)
		}
		id = aws.ToString(out.KeyMetadata.KeyId)
	} else if _, err := c.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{
		KeyId: aws.String(id), PolicyName: aws.String("default"), Policy: aws.String(string(policy)),
	}); err != nil {
		return "", fmt.Errorf("put policy of key %s: %w", id, err)
	}
	if p.EnableKeyRotation {
		if _, err := c.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(id)}); err != nil {
			return "", fmt.Errorf("enable rotation of key %s: %w", id, err)
		}
	}
	return id, nil
}

// findKey returns the id of the enabled key tagged tag, "" if there is none.
func (c clients) findKey(ctx context.Context, tag string) (string, error) {
	pages := kms.NewListKeysPaginator(c.kms, &kms.ListKeysInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list keys: %w", err)
		}
		for _, k := range page.Keys {
			tags, err := c.kms.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
			if err != nil {
				return "", fmt.Errorf("list tags of key %s: %w", aws.ToString(k.KeyId), err)
			}
			tagged := slices.ContainsFunc(tags.Tags, func(t kmstypes.Tag) bool {
				return aws.ToString(t.TagKey) == keyTag && aws.ToString(t.TagValue) == tag
			})
			if !tagged {
				continue
			}
			d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				return "", fmt.Errorf("describe key %s: %w", aws.ToString(k.KeyId), err)
			}
			if d.KeyMetadata.KeyState == kmstypes.KeyStateEnabled {
				return aws.ToString(k.KeyId), nil
			}
		}
	}
	return "", nil
}

type aliasProperties struct{ AliasName, TargetKeyId string }

func (c clients) createAlias(ctx context.Context, p *aliasProperties) error {
	_, err := c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(p.AliasName), TargetKeyId: aws.String(p.TargetKeyId)})
	var exists *kmstypes.AlreadyExistsException
	if errors.As(err, &exists) {
		_, err = c.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(p.AliasName), TargetKeyId: aws.String(p.TargetKeyId)})
	}
	if err != nil {
		return fmt.Errorf("alias %s: %w", p.AliasName, err)
	}
	return nil
}

type bucketProperties struct {
	VersioningConfiguration *struct{ Status string }
	ObjectLockEnabled       bool
	ObjectLockConfiguration *struct {
		ObjectLockEnabled string
		Rule              *struct {
			DefaultRetention struct {
				Mode        string
				Days, Years *cfnInt
			}
		}
	}
	PublicAccessBlockConfiguration *struct {
		BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets bool
	}
	BucketEncryption *struct {
		ServerSideEncryptionConfiguration []struct {
			ServerSideEncryptionByDefault struct{ SSEAlgorithm, KMSMasterKeyID string }
			BucketKeyEnabled              bool
		}
	}
	OwnershipControls *struct {
		Rules []struct{ ObjectOwnership string }
	}
}

func (c clients) createBucket(ctx context.Context, name string, p *bucketProperties) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(p.ObjectLockEnabled)}
	if c.region != "us-east-1" { // the one region S3 refuses to be named in
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.region)}
	}
	_, err := c.s3.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	bucket := aws.String(name)
	if v := p.VersioningConfiguration; v != nil {
		_, err := c.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket: bucket, VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(v.Status)},
		})
		if err != nil {
			return fmt.Errorf("versioning of %s: %w", name, err)
		}
	}
	if l := p.ObjectLockConfiguration; l != nil {
		conf := &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabled(l.ObjectLockEnabled)}
		if r := l.Rule; r != nil {
			d := r.DefaultRetention
			retention := &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionMode(d.Mode)}
			if d.Days != nil {
				retention.Days = aws.Int32(int32(*d.Days))
			}
			if d.Years != nil {
				retention.Years = aws.Int32(int32(*d.Years))
			}
			conf.Rule = &s3types.ObjectLockRule{DefaultRetention: retention}
		}
		// moto refuses to change the configuration of a bucket holding objects (AWS does not):
		// a reused bucket already configured so is left alone.
		cur, err := c.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: bucket})
		if err != nil || !sameObjectLock(cur.ObjectLockConfiguration, conf) {
			if _, err := c.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: bucket, ObjectLockConfiguration: conf}); err != nil {
				return fmt.Errorf("object lock of %s: %w", name, err)
			}
		}
	}
	if b := p.PublicAccessBlockConfiguration; b != nil {
		_, err := c.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: bucket, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(b.BlockPublicAcls), BlockPublicPolicy: aws.Bool(b.BlockPublicPolicy),
			IgnorePublicAcls: aws.Bool(b.IgnorePublicAcls), RestrictPublicBuckets: aws.Bool(b.RestrictPublicBuckets),
		}})
		if err != nil {
			return fmt.Errorf("public access block of %s: %w", name, err)
		}
	}
	if e := p.BucketEncryption; e != nil {
		conf := &s3types.ServerSideEncryptionConfiguration{}
		for _, r := range e.ServerSideEncryptionConfiguration {
			d := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(r.ServerSideEncryptionByDefault.SSEAlgorithm)}
			if k := r.ServerSideEncryptionByDefault.KMSMasterKeyID; k != "" {
				d.KMSMasterKeyID = aws.String(k)
			}
			conf.Rules = append(conf.Rules, s3types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: d, BucketKeyEnabled: aws.Bool(r.BucketKeyEnabled)})
		}
		if _, err := c.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: bucket, ServerSideEncryptionConfiguration: conf}); err != nil {
			return fmt.Errorf("encryption of %s: %w", name, err)
		}
	}
	if o := p.OwnershipControls; o != nil {
		conf := &s3types.OwnershipControls{}
		for _, r := range o.Rules {
			conf.Rules = append(conf.Rules, s3types.OwnershipControlsRule{ObjectOwnership: s3types.ObjectOwnership(r.ObjectOwnership)})
		}
		if _, err := c.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: bucket, OwnershipControls: conf}); err != nil {
			return fmt.Errorf("ownership controls of %s: %w", name, err)
		}
	}
	return nil
}

type bucketPolicyProperties struct {
	Bucket         string
	PolicyDocument map[string]any
}

func sameObjectLock(a, b *s3types.ObjectLockConfiguration) bool {
	retention := func(c *s3types.ObjectLockConfiguration) (s3types.ObjectLockRetentionMode, int32, int32) {
		if c.Rule == nil || c.Rule.DefaultRetention == nil {
			return "", 0, 0
		}
		d := c.Rule.DefaultRetention
		return d.Mode, aws.ToInt32(d.Days), aws.ToInt32(d.Years)
	}
	if a == nil || a.ObjectLockEnabled != b.ObjectLockEnabled {
		return false
	}
	am, ad, ay := retention(a)
	bm, bd, by := retention(b)
	return am == bm && ad == bd && ay == by
}

// putBucketPolicy puts the template's bucket policy minus its conditional Deny statements. moto
// evaluates a bucket policy without any request context and skips condition operators it does not
// know (all but StringEquals): a conditional Deny becomes an unconditional one. The template's
// DenyInsecureTransport (Bool aws:SecureTransport) would refuse every object request, over TLS
// too, and DenyPutWithoutSSEKMS (StringNotEquals) every PutObject, SSE-KMS or not. Those
// statements are AWS's to enforce; no local test can exercise them.
func (c clients) putBucketPolicy(ctx context.Context, p *bucketPolicyProperties) error {
	statements, _ := p.PolicyDocument["Statement"].([]any)
	var kept []any
	for _, s := range statements {
		s := mapping(s)
		if s["Effect"] == "Deny" && s["Condition"] != nil {
			continue
		}
		kept = append(kept, s)
	}
	if len(kept) == 0 {
		// Also removes what an earlier run may have put.
		if _, err := c.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p.Bucket)}); err != nil {
			return fmt.Errorf("delete policy of %s: %w", p.Bucket, err)
		}
		return nil
	}
	doc := maps.Clone(p.PolicyDocument)
	doc["Statement"] = kept
	policy, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if _, err := c.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Bucket), Policy: aws.String(string(policy))}); err != nil {
		return fmt.Errorf("policy of %s: %w", p.Bucket, err)
	}
	return nil
}

type topicProperties struct{ KmsMasterKeyId, DisplayName string }

func (c clients) createTopic(ctx context.Context, name string, p *topicProperties) error {
	out, err := c.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	// Set one by one: creating an existing topic with other attributes is an error.
	for attr, v := range map[string]string{"KmsMasterKeyId": p.KmsMasterKeyId, "DisplayName": p.DisplayName} {
		if v == "" {
			continue
		}
		_, err := c.sns.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: out.TopicArn, AttributeName: aws.String(attr), AttributeValue: aws.String(v)})
		if err != nil {
			return fmt.Errorf("topic %s attribute %s: %w", name, attr, err)
		}
	}
	return nil
}

type queueProperties struct {
	KmsMasterKeyId               string
	KmsDataKeyReusePeriodSeconds *cfnInt
	MessageRetentionPeriod       *cfnInt
	VisibilityTimeout            *cfnInt
}

func (c clients) createQueue(ctx context.Context, name string, p *queueProperties) error {
	attrs := map[string]string{}
	if p.KmsMasterKeyId != "" {
		attrs[string(sqstypes.QueueAttributeNameKmsMasterKeyId)] = p.KmsMasterKeyId
	}
	for attr, v := range map[sqstypes.QueueAttributeName]*cfnInt{
		sqstypes.QueueAttributeNameKmsDataKeyReusePeriodSeconds: p.KmsDataKeyReusePeriodSeconds,
		sqstypes.QueueAttributeNameMessageRetentionPeriod:       p.MessageRetentionPeriod,
		sqstypes.QueueAttributeNameVisibilityTimeout:            p.VisibilityTimeout,
	} {
		if v != nil {
			attrs[string(attr)] = fmt.Sprint(*v)
		}
	}
	// Created bare, then set: creating an existing queue with other attributes is an error.
	out, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create queue %s: %w", name, err)
	}
	if len(attrs) > 0 {
		if _, err := c.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: out.QueueUrl, Attributes: attrs}); err != nil {
			return fmt.Errorf("attributes of queue %s: %w", name, err)
		}
	}
	return nil
}

type subscriptionProperties struct {
	TopicArn, Protocol, Endpoint string
	RawMessageDelivery           bool
	FilterPolicyScope            string
	FilterPolicy                 any // a JSON object, or a string holding one
}

// subscribe subscribes an endpoint to a topic and returns the subscription's ARN (its Ref).
// Subscribing the same endpoint again returns the existing subscription.
func (c clients) subscribe(ctx context.Context, p *subscriptionProperties) (string, error) {
	attrs := map[string]string{"RawMessageDelivery": fmt.Sprint(p.RawMessageDelivery)}
	if p.FilterPolicyScope != "" {
		attrs["FilterPolicyScope"] = p.FilterPolicyScope
	}
	switch f := p.FilterPolicy.(type) {
	case nil:
	case string:
		attrs["FilterPolicy"] = f
	default:
		b, err := json.Marshal(f)
		if err != nil {
			return "", err
		}
		attrs["FilterPolicy"] = string(b)
	}
	out, err := c.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(p.TopicArn), Protocol: aws.String(p.Protocol), Endpoint: aws.String(p.Endpoint),
		Attributes: attrs, ReturnSubscriptionArn: true,
	})
	if err != nil {
		return "", fmt.Errorf("subscribe %s to %s: %w", p.Endpoint, p.TopicArn, err)
	}
	return aws.ToString(out.SubscriptionArn), nil
}

// Outputs resolves the template's Outputs for the local stack. An output built from the HttpApi
// (its execute-api URL in AWS) is apiURL locally, where the local API server answers. An output
// whose Condition is false with the parameters' defaults does not exist, as in CloudFormation.
func Outputs(t *Template, names map[string]string, apiURL string) (map[string]string, error) {
	out := make(map[string]string, len(t.Outputs))
	for name, o := range t.Outputs {
		if o.Condition != "" {
			// The local stack runs with the parameters' defaults, as CreateResources does.
			holds, err := t.Condition(o.Condition, nil)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", name, err)
			}
			if !holds {
				continue
			}
		}
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
