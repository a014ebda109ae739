package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// Integration: the real template's resources on a private moto_server.
func TestCreateResourcesFromTheTemplate(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl := loadReal(t)
	const stack = "breach-intake-local"

	names, err := local.CreateResources(ctx, cfg, tpl, stack)
	if err != nil {
		t.Fatal(err)
	}
	// What PhysicalNames computes without an endpoint, but the keys: their ids are KMS's choice.
	want := local.PhysicalNames(tpl, stack)
	for _, key := range []string{"DataKey", "AlertKey", "CursorKey", "ReceiptKey"} {
		if names[key] == "" || strings.HasPrefix(names[key], "alias/") {
			t.Errorf("%s = %q, want a key id", key, names[key])
		}
		want[key] = names[key]
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v\nwant    %v", names, want)
	}
	keyARN := func(id string) string { return "arn:aws:kms:eu-west-3:123456789012:key/" + names[id] }

	t.Run("keys", func(t *testing.T) {
		c := kms.NewFromConfig(cfg)
		for key, alias := range map[string]string{"DataKey": "DataKeyAlias", "AlertKey": "AlertKeyAlias"} {
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(names[alias])})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(d.KeyMetadata.Arn); got != keyARN(key) {
				t.Errorf("%s targets %s, want %s", alias, got, keyARN(key))
			}
			if !strings.HasPrefix(aws.ToString(d.KeyMetadata.Description), stack+": ") {
				t.Errorf("%s description = %q", key, aws.ToString(d.KeyMetadata.Description))
			}
			r, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(names[key])})
			if err != nil {
				t.Fatal(err)
			}
			if !r.KeyRotationEnabled {
				t.Errorf("%s: rotation off", key)
			}
			p, err := c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(names[key]), PolicyName: aws.String("default")})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(aws.ToString(p.Policy), "arn:aws:iam::123456789012:root") {
				t.Errorf("%s policy is not the template's: %s", key, aws.ToString(p.Policy))
			}
		}
	})

	// The cursor key is an HMAC key: read-reports may only ask it for MACs, by its alias or id.
	t.Run("cursor key", func(t *testing.T) {
		c := kms.NewFromConfig(cfg)
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(names["CursorKeyAlias"])})
		if err != nil {
			t.Fatal(err)
		}
		if m := d.KeyMetadata; aws.ToString(m.Arn) != keyARN("CursorKey") || m.KeySpec != kmstypes.KeySpecHmac256 || m.KeyUsage != kmstypes.KeyUsageTypeGenerateVerifyMac {
			t.Errorf("cursor key %s: spec %s, usage %s; want %s, HMAC_256, GENERATE_VERIFY_MAC", aws.ToString(m.Arn), m.KeySpec, m.KeyUsage, keyARN("CursorKey"))
		}
		var macs [][]byte
		for _, id := range []string{names["CursorKeyAlias"], names["CursorKey"]} {
			out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(id), Message: []byte("org-alpha"), MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256})
			if err != nil {
				t.Fatalf("GenerateMac with %s: %v", id, err)
			}
			macs = append(macs, out.Mac)
		}
		if len(macs[0]) != sha256.Size || !bytes.Equal(macs[0], macs[1]) {
			t.Errorf("MACs by alias and by id: %x, %x; want the same 32 bytes", macs[0], macs[1])
		}
	})

	t.Run("table", func(t *testing.T) {
		db := dynamodb.NewFromConfig(cfg)
		d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(names["ReportsTable"])})
		if err != nil {
			t.Fatal(err)
		}
		tbl := d.Table
		if got, want := keys(tbl.KeySchema), []string{"pk HASH", "sk RANGE"}; !reflect.DeepEqual(got, want) {
			t.Errorf("key schema = %v, want %v", got, want)
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
		// AWS answers the key's ARN; moto echoes the id it was given.
		if s := tbl.SSEDescription; s == nil || s.SSEType != types.SSETypeKms || !strings.HasSuffix(aws.ToString(s.KMSMasterKeyArn), names["DataKey"]) {
			t.Errorf("SSE = %+v, want KMS with DataKey %s", s, names["DataKey"])
		}
		var indexes []string
		for _, g := range tbl.GlobalSecondaryIndexes {
			indexes = append(indexes, aws.ToString(g.IndexName)+" "+strings.Join(keys(g.KeySchema), " ")+" "+string(g.Projection.ProjectionType))
		}
		slices.Sort(indexes)
		if want := []string{"open-deadlines deadline_watch HASH open_due RANGE KEYS_ONLY", "pending-fanout fanout_pending HASH received_at RANGE KEYS_ONLY"}; !reflect.DeepEqual(indexes, want) {
			t.Errorf("indexes = %v, want %v", indexes, want)
		}
		ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(names["ReportsTable"])})
		if err != nil {
			t.Fatal(err)
		}
		if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "expires_at" {
			t.Errorf("TTL = %+v, want enabled on expires_at", d)
		}
	})

	t.Run("archive bucket", func(t *testing.T) {
		c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		bucket := aws.String(names["ArchiveBucket"])
		lock, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		l := lock.ObjectLockConfiguration
		if l.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled || l.Rule == nil ||
			l.Rule.DefaultRetention.Mode != s3types.ObjectLockRetentionModeGovernance || aws.ToInt32(l.Rule.DefaultRetention.Days) != 1 {
			t.Errorf("object lock = %+v, want enabled, GOVERNANCE 1 day (the parameters' defaults)", l)
		}
		v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != s3types.BucketVersioningStatusEnabled {
			t.Errorf("versioning = %s", v.Status)
		}
		e, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		rules := e.ServerSideEncryptionConfiguration.Rules
		if len(rules) != 1 || rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms ||
			aws.ToString(rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != keyARN("DataKey") || !aws.ToBool(rules[0].BucketKeyEnabled) {
			t.Errorf("encryption = %+v, want aws:kms with %s and a bucket key", rules, keyARN("DataKey"))
		}
		pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if b := pab.PublicAccessBlockConfiguration; !aws.ToBool(b.BlockPublicAcls) || !aws.ToBool(b.BlockPublicPolicy) ||
			!aws.ToBool(b.IgnorePublicAcls) || !aws.ToBool(b.RestrictPublicBuckets) {
			t.Errorf("public access block = %+v, want all true", b)
		}
		own, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if r := own.OwnershipControls.Rules; len(r) != 1 || r[0].ObjectOwnership != s3types.ObjectOwnershipBucketOwnerEnforced {
			t.Errorf("ownership = %+v", r)
		}
		// Both statements of the template's policy are conditional denies, which moto would
		// apply unconditionally: locally the bucket has no policy.
		_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
		if code := errorCode(err); code != "NoSuchBucketPolicy" {
			t.Errorf("bucket policy: %v, want NoSuchBucketPolicy", err)
		}

		// Object Lock refuses a PUT without a checksum (the SDK adds a CRC32 by default: turn it off).
		body := []byte(`{"schema_version":1}`)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("reports/o/r/v1.json"), Body: bytes.NewReader(body)},
			func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
		if code := errorCode(err); code != "MissingUploadObjectWithObjectLockHeaders" {
			t.Errorf("PUT without a checksum: %v, want MissingUploadObjectWithObjectLockHeaders", err)
		}
		sum := sha256.Sum256(body)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: bucket, Key: aws.String("reports/o/r/v1.json"), Body: bytes.NewReader(body),
			ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
			ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, IfNoneMatch: aws.String("*"),
		})
		if err != nil {
			t.Fatalf("PUT with a checksum and SSE-KMS: %v", err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("reports/o/r/v1.json"), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		// The bucket's default retention applies to an object written without its own.
		until := aws.ToTime(head.ObjectLockRetainUntilDate)
		if head.ObjectLockMode != s3types.ObjectLockModeGovernance || until.Before(time.Now().Add(23*time.Hour)) || until.After(time.Now().Add(25*time.Hour)) {
			t.Errorf("retention = %s until %s, want GOVERNANCE for a day", head.ObjectLockMode, until)
		}
		if aws.ToString(head.SSEKMSKeyId) != keyARN("DataKey") || aws.ToString(head.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("object key %s, checksum %s", aws.ToString(head.SSEKMSKeyId), aws.ToString(head.ChecksumSHA256))
		}
	})

	t.Run("topics and queue", func(t *testing.T) {
		c := sns.NewFromConfig(cfg)
		for _, topic := range []string{"AlertTopic", "OpsTopic"} {
			a, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(names[topic])})
			if err != nil {
				t.Fatal(err)
			}
			if k := a.Attributes["KmsMasterKeyId"]; k != names["AlertKey"] {
				t.Errorf("%s key = %q, want AlertKey %s", topic, k, names["AlertKey"])
			}
		}
		// The regulator's subscription exists only when RegulatorQueueArn is given.
		subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(names["AlertTopic"])})
		if err != nil {
			t.Fatal(err)
		}
		if len(subs.Subscriptions) != 0 {
			t.Errorf("subscriptions = %+v, want none with the default parameters", subs.Subscriptions)
		}

		q := sqs.NewFromConfig(cfg)
		queue := aws.String(names["DeadLetterQueue"])
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Attributes["KmsMasterKeyId"] != names["AlertKey"] || a.Attributes["MessageRetentionPeriod"] != "1209600" {
			t.Errorf("queue attributes = %v", a.Attributes)
		}
		// The local Ref, AWS's URL form, works against the local endpoint.
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queue, MessageBody: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
		got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue})
		if err != nil || len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "m" {
			t.Errorf("receive = %+v, %v", got, err)
		}
	})

	t.Run("again reuses what exists", func(t *testing.T) {
		c := kms.NewFromConfig(cfg)
		before, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil {
			t.Fatal(err)
		}
		again, err := local.CreateResources(ctx, cfg, tpl, stack)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, names) {
			t.Errorf("names = %v, want %v", again, names)
		}
		after, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Keys) != len(before.Keys) {
			t.Errorf("%d keys, then %d", len(before.Keys), len(after.Keys))
		}
	})

	t.Run("a key scheduled for deletion is replaced", func(t *testing.T) {
		c := kms.NewFromConfig(cfg)
		if _, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(names["AlertKey"]), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
		again, err := local.CreateResources(ctx, cfg, tpl, stack)
		if err != nil {
			t.Fatal(err)
		}
		if again["AlertKey"] == names["AlertKey"] {
			t.Error("the key pending deletion was reused")
		}
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(again["AlertKeyAlias"])})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.KeyMetadata.KeyId) != again["AlertKey"] || d.KeyMetadata.KeyState != kmstypes.KeyStateEnabled {
			t.Errorf("alias targets %s (%s), want the new key %s", aws.ToString(d.KeyMetadata.KeyId), d.KeyMetadata.KeyState, again["AlertKey"])
		}
	})

	t.Run("outputs", func(t *testing.T) {
		out, err := local.Outputs(tpl, names, "http://127.0.0.1:3000")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"ApiUrl":             "http://127.0.0.1:3000",
			"ReportsTableName":   "breach-intake-local-ReportsTable",
			"ArchiveBucketName":  "breach-intake-local-archivebucket",
			"AlertTopicArn":      "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-AlertTopic",
			"OpsTopicArn":        "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-OpsTopic",
			"DeadLetterQueueUrl": "https://sqs.eu-west-3.amazonaws.com/123456789012/breach-intake-local-DeadLetterQueue",
		}
		if !reflect.DeepEqual(out, want) {
			t.Errorf("outputs = %v, want %v", out, want)
		}
	})
}

// A subscription whose condition holds, with its filter policy from a parameter (a JSON string)
// or written in the template (an object); one whose condition does not hold is not created; a
// bucket policy loses its conditional denies only.
func TestCreateResourcesConditionsSubscriptionsAndPolicies(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl := parse(t, `
Parameters:
  RegulatorQueueArn: {Type: String, Default: "arn:aws:sqs:eu-west-3:123456789012:s-Regulator"}
  RegulatorFilterPolicy: {Type: String, Default: '{"country":["FR"]}'}
  Other: {Type: String, Default: ""}
Conditions:
  HasRegulatorQueue: !Not [!Equals [!Ref RegulatorQueueArn, ""]]
  HasRegulatorFilterPolicy: !Not [!Equals [!Ref RegulatorFilterPolicy, ""]]
  HasOther: !Not [!Equals [!Ref Other, ""]]
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Regulator: {Type: AWS::SQS::Queue}
  Critical: {Type: AWS::SQS::Queue}
  RegulatorSubscription:
    Type: AWS::SNS::Subscription
    Condition: HasRegulatorQueue
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !Ref RegulatorQueueArn
      RawMessageDelivery: true
      FilterPolicyScope: MessageAttributes
      FilterPolicy: !If [HasRegulatorFilterPolicy, !Ref RegulatorFilterPolicy, !Ref AWS::NoValue]
  CriticalSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Critical.Arn
      RawMessageDelivery: true
      FilterPolicy: {severity: [critical]}
  OtherSubscription:
    Type: AWS::SNS::Subscription
    Condition: HasOther
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !Ref Other}
  Bucket: {Type: AWS::S3::Bucket}
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: DenyInsecureTransport
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: [!GetAtt Bucket.Arn, !Sub "${Bucket.Arn}/*"]
            Condition: {Bool: {aws:SecureTransport: "false"}}
          - Sid: AccountReads
            Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: s3:GetObject
            Resource: !Sub "${Bucket.Arn}/*"
`)
	names, err := local.CreateResources(ctx, cfg, tpl, "s")
	if err != nil {
		t.Fatal(err)
	}
	created := slices.Sorted(maps.Keys(names))
	if want := []string{"Bucket", "Critical", "CriticalSubscription", "Regulator", "RegulatorSubscription", "Topic"}; !reflect.DeepEqual(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}

	c := sns.NewFromConfig(cfg)
	for sub, want := range map[string]map[string]string{
		"RegulatorSubscription": {"RawMessageDelivery": "true", "FilterPolicyScope": "MessageAttributes", "FilterPolicy": `{"country":["FR"]}`},
		"CriticalSubscription":  {"RawMessageDelivery": "true", "FilterPolicy": `{"severity":["critical"]}`},
	} {
		a, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(names[sub])})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if a.Attributes[k] != v {
				t.Errorf("%s %s = %q, want %q", sub, k, a.Attributes[k], v)
			}
		}
	}

	// The filter policies select on message attributes, as the alert topic's subscribers will.
	q := sqs.NewFromConfig(cfg)
	for _, country := range []string{"DE", "FR"} {
		_, err := c.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(names["Topic"]), Message: aws.String(`{"country":"` + country + `"}`),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{
				"country":  {DataType: aws.String("String"), StringValue: aws.String(country)},
				"severity": {DataType: aws.String("String"), StringValue: aws.String("high")},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for queue, want := range map[string][]string{"Regulator": {`{"country":"FR"}`}, "Critical": nil} {
		got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(names[queue]), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range got.Messages {
			bodies = append(bodies, aws.ToString(m.Body)) // raw delivery: the message itself
		}
		if !reflect.DeepEqual(bodies, want) {
			t.Errorf("%s received %v, want %v", queue, bodies, want)
		}
	}

	s := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	p, err := s.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(names["Bucket"])})
	if err != nil {
		t.Fatal(err)
	}
	if policy := aws.ToString(p.Policy); strings.Contains(policy, "DenyInsecureTransport") || !strings.Contains(policy, "AccountReads") {
		t.Errorf("policy = %s, want AccountReads only", policy)
	}

	again, err := local.CreateResources(ctx, cfg, tpl, "s")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, names) {
		t.Errorf("second run: names = %v, want %v", again, names)
	}
}

// A table created before the template gained an index gets it on the next run.
func TestCreateResourcesAddsMissingIndexes(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	const table = `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}`
	if _, err := local.CreateResources(ctx, cfg, parse(t, table+"]\n"), "s"); err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, parse(t, table+`, {AttributeName: g, AttributeType: S}]
      GlobalSecondaryIndexes:
        - {IndexName: by-g, KeySchema: [{AttributeName: g, KeyType: HASH}], Projection: {ProjectionType: KEYS_ONLY}}
`), "s")
	if err != nil {
		t.Fatal(err)
	}
	d, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(names["T"])})
	if err != nil {
		t.Fatal(err)
	}
	if g := d.Table.GlobalSecondaryIndexes; len(g) != 1 || aws.ToString(g[0].IndexName) != "by-g" {
		t.Errorf("indexes = %+v, want by-g", g)
	}
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
		{"unknown bucket property", `
Resources:
  B: {Type: AWS::S3::Bucket, Properties: {LifecycleConfiguration: {Rules: []}}}
`, "LifecycleConfiguration"},
		{"unknown queue property", `
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {FifoQueue: true}}
`, "FifoQueue"},
		{"unknown condition", `
Resources:
  Q: {Type: AWS::SQS::Queue, Condition: Nope}
`, "unknown condition Nope"},
		{"resources referring to each other", `
Resources:
  A: {Type: AWS::SNS::Topic, Properties: {DisplayName: !GetAtt B.QueueName}}
  B: {Type: AWS::SQS::Queue, Properties: {KmsMasterKeyId: !Ref A}}
`, "refer to each other"},
		{"unknown key property", `
Resources:
  K: {Type: AWS::KMS::Key, Properties: {Description: k, Tags: []}}
`, "Tags"},
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

func keys(schema []types.KeySchemaElement) []string {
	var out []string
	for _, k := range schema {
		out = append(out, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return out
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
