package local_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// syncBuffer is written by the printer's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const sampleAlert = `{"kind":"new","report_id":"01JD3V6Q9Z8X7W6V5T4S3R2Q1P","version":1,"org_id":"exemple-sa",
"organisation_name":"Exemple SA","country":"FR","regimes":["gdpr","nis2"],"stage":"initial","severity":"critical",
"late":false,"sector":"health","subjects_affected":12000,"data_categories":["health"],"deadlines":[],
"received_at":"2026-11-21T10:00:00Z","sha256":"00"}`

// Integration: SNS to SQS on moto_server, as make dev runs it.
func TestAlertPrinter(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	topics := sns.NewFromConfig(cfg)
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	stop, err := local.SubscribeAlertPrinter(ctx, cfg, aws.ToString(topic.TopicArn), &out)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})

	for _, body := range []string{sampleAlert, strings.Replace(sampleAlert, `"version":1`, `"version":2`, 1)} {
		_, err = topics.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(body), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("critical")},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"alert kind=new severity=critical report=01JD3V6Q9Z8X7W6V5T4S3R2Q1P v1 stage=initial org=exemple-sa country=FR regimes=gdpr,nis2 late=false",
		"alert kind=new severity=critical report=01JD3V6Q9Z8X7W6V5T4S3R2Q1P v2 stage=initial org=exemple-sa country=FR regimes=gdpr,nis2 late=false",
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("printed %q, want %q", lines, want)
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w+"\n") {
			t.Errorf("printed %q, want the line %q", out.String(), w)
		}
	}

	// Printed messages are deleted.
	q := sqs.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(local.RegulatorQueue)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	if a := attrs.Attributes; a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("queue still holds messages: %v", a)
	}

	stop()
	stopped = true
	subs, err := topics.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs.Subscriptions) != 0 {
		t.Errorf("subscriptions left after stop: %v", subs.Subscriptions)
	}
}

func TestAlertLine(t *testing.T) {
	if got := local.AlertLine([]byte(`{"reporter":{"email":"dpo@example.fr"}}`)); got != "alert (not an alert: 39 bytes)" {
		t.Errorf("AlertLine = %q", got)
	}
	overdue := `{"kind":"overdue","report_id":"R1","version":2,"org_id":"o","country":"FR","regimes":["gdpr"],"stage":"gdpr.notification","severity":"high","late":false}`
	if got, want := local.AlertLine([]byte(overdue)), "alert kind=overdue severity=high report=R1 v2 stage=gdpr.notification org=o country=FR regimes=gdpr late=false"; got != want {
		t.Errorf("AlertLine = %q, want %q", got, want)
	}
	correlated := `{"kind":"correlated","report_id":"R2","version":1,"org_id":"b","country":"FR","regimes":["gdpr","nis2"],"stage":"initial","severity":"critical",` +
		`"processor":{"siren":"443061841"},"reports":[{"report_id":"R1","org_id":"a"},{"report_id":"R2","org_id":"b"}]}`
	if got, want := local.AlertLine([]byte(correlated)), "alert kind=correlated severity=critical report=R2 v1 stage=initial org=b country=FR regimes=gdpr,nis2 late=false processor=443061841 reports=R1@a,R2@b"; got != want {
		t.Errorf("AlertLine = %q, want %q", got, want)
	}
}
