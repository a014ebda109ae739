package alert_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/alert"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/local/localtest"
)

var (
	org      = breach.Organisation{ID: "chu-exemple", LegalName: "Centre Hospitalier Exemple", SIREN: "267500452", Country: "FR"}
	received = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
)

// contactDetails are every reporter contact value in reportBody.
var contactDetails = []string{"Paul Lefèvre", "Lefèvre", "RSSI", "rssi@chu-exemple.fr", "chu-exemple.fr", "+33 2 40 00 00 00", "40 00 00 00"}

const reportBody = `{
  "regimes": ["gdpr", "nis2"],
  "reporter": {"name": "Paul Lefèvre", "role": "RSSI", "email": "rssi@chu-exemple.fr", "phone": "+33 2 40 00 00 00"},
  "organisation": {"legal_name": "Centre Hospitalier Exemple", "siren": "267500452", "sector": "health", "country": "FR", "role": "essential_entity"},
  "incident": {"title": "Ransomware on the imaging servers", "description": "PACS servers encrypted.",
    "aware_at": "2026-11-21T07:30:00+01:00", "breach_types": ["confidentiality", "availability"], "cause": "malicious_external"},
  "data": {"subjects_affected": 58000, "subjects_estimate": "approximate", "data_categories": ["identity", "contact", "national_id", "health"]},
  "measures": {"taken": "Network segment isolated."}
}`

// alertOf is the alert the fan-out builds for reportBody, submitted through the intake: the
// real path from a report full of contact details to an alert.
func alertOf(t *testing.T) breach.Alert {
	t.Helper()
	ctx := context.Background()
	clock := func() time.Time { return received }
	store := breachtest.NewStore(org)
	in := breach.NewIntake(store, clock, func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" })
	got, err := in.Submit(ctx, breach.Submission{Org: org.ID, IdempotencyKey: "k", Body: []byte(reportBody)})
	if err != nil {
		t.Fatal(err)
	}
	alerts := breachtest.NewAlerts()
	if _, err := breach.NewFanout(store, store, store, breachtest.NewArchive(), alerts, clock).Process(ctx, store.Stored(got.ID)[0]); err != nil {
		t.Fatal(err)
	}
	return alerts.Published()[0]
}

// capturing is an SNS client that records each PublishInput instead of sending it.
func capturing(got *[]*sns.PublishInput) *sns.Client {
	return sns.New(sns.Options{Region: localtest.Region, APIOptions: []func(*middleware.Stack) error{
		func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("capture",
				func(_ context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					*got = append(*got, in.Parameters.(*sns.PublishInput))
					return middleware.InitializeOutput{Result: &sns.PublishOutput{MessageId: aws.String("m")}}, middleware.Metadata{}, nil
				}), middleware.Before)
		},
	}})
}

func TestPublishCarriesNoContactDetails(t *testing.T) {
	var got []*sns.PublishInput
	a := alertOf(t)
	if err := alert.New(capturing(&got), "arn:aws:sns:eu-west-3:123456789012:alerts").Publish(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d publishes, want 1", len(got))
	}
	in := got[0]
	wire := aws.ToString(in.Message)
	for name, v := range in.MessageAttributes {
		wire += "\n" + name + "=" + aws.ToString(v.StringValue)
	}
	for _, c := range contactDetails {
		if strings.Contains(strings.ToLower(wire), strings.ToLower(c)) {
			t.Errorf("published alert contains the contact detail %q:\n%s", c, wire)
		}
	}

	var back breach.Alert
	if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &back); err != nil {
		t.Fatal(err)
	}
	if back.ReportID != a.ReportID || back.Severity != breach.Critical || back.SubjectsAffected != 58000 || back.Country != "FR" {
		t.Errorf("message decodes to %+v", back)
	}

	attrs := map[string]string{}
	for name, v := range in.MessageAttributes {
		attrs[name] = aws.ToString(v.DataType) + " " + aws.ToString(v.StringValue)
	}
	want := map[string]string{
		"kind": "String new", "severity": "String critical", "regimes": `String.Array ["gdpr","nis2"]`,
		"sector": "String health", "late": "String false", "country": "String FR",
	}
	if !maps.Equal(attrs, want) {
		t.Errorf("attributes = %v\nwant %v", attrs, want)
	}
}

// TestFilterPoliciesOnMoto publishes one alert to a topic on moto with SQS queues subscribed
// like regulators (raw delivery, filter policy on attributes): each queue whose policy matches
// gets exactly that alert's JSON once, the others get nothing.
func TestFilterPoliciesOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	topics, queues := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := topics.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		policy string
		match  bool
	}{
		{`{"severity":["critical"],"regimes":["nis2"]}`, true},
		{`{"sector":["energy"]}`, false},
		// String.Array: a policy value matches when it is any element of the array.
		{`{"regimes":["gdpr"]}`, true},
		{`{"regimes":["dora"]}`, false},
		{`{"regimes":["dora","nis2"]}`, true},
		{`{"late":["false"],"country":["FR"],"kind":["new"],"sector":["health"]}`, true},
		{`{"late":["true"]}`, false},
		{`{"kind":["supplement"]}`, false},
	}
	urls := make([]string, len(cases))
	for i, c := range cases {
		urls[i] = subscribe(t, topics, queues, aws.ToString(topic.TopicArn), fmt.Sprintf("regulator-%d", i), c.policy)
	}

	a := alertOf(t)
	if err := alert.New(topics, aws.ToString(topic.TopicArn)).Publish(ctx, a); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			t.Parallel() // each drain waits out one empty long-poll
			got := drain(t, queues, urls[i])
			switch {
			case c.match && (len(got) != 1 || aws.ToString(got[0].Body) != string(want)):
				t.Errorf("got %d messages %v, want exactly the alert", len(got), bodies(got))
			case !c.match && len(got) != 0:
				t.Errorf("got %d messages %v, want none", len(got), bodies(got))
			}
		})
	}
}

// subscribe creates a queue and subscribes it to the topic as a regulator would.
func subscribe(t *testing.T, topics *sns.Client, queues *sqs.Client, topicARN, name, policy string) string {
	t.Helper()
	ctx := context.Background()
	q, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := queues.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := topics.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{
			"RawMessageDelivery": "true",
			"FilterPolicyScope":  "MessageAttributes",
			"FilterPolicy":       policy,
		},
	}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

// drain receives until the queue has stayed empty for one short long-poll, at most five times.
func drain(t *testing.T, queues *sqs.Client, url string) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	for range 5 {
		out, err := queues.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, VisibilityTimeout: 60,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		got = append(got, out.Messages...)
	}
	return got
}

func bodies(ms []sqstypes.Message) []string {
	var b []string
	for _, m := range ms {
		b = append(b, aws.ToString(m.Body))
	}
	return b
}

// The attributes of each kind: an overdue alert describes one report as a version's does; a
// correlated one describes its group, with sectors and countries as String.Arrays and no late.
func TestAttributesOfEveryKind(t *testing.T) {
	base := alertOf(t)
	overdue := base
	overdue.Kind, overdue.Stage = breach.AlertOverdue, breach.StageNIS2Notification
	correlated := base
	correlated.Kind = breach.AlertCorrelated
	correlated.Processor = &breach.Processor{SIREN: "443061841"}
	correlated.Regimes = []breach.Regime{breach.GDPR, breach.NIS2, breach.DORA}
	correlated.Reports = []breach.CorrelatedReport{
		{ReportID: "A", OrgID: "a", Sector: "insurance", Country: "FR", Regimes: []breach.Regime{breach.GDPR}},
		{ReportID: "B", OrgID: "b", Sector: "health", Country: "BE", Regimes: []breach.Regime{breach.NIS2, breach.DORA}},
		{ReportID: "C", OrgID: "c", Sector: "health", Country: "FR", Regimes: []breach.Regime{breach.GDPR}},
	}
	for _, tc := range []struct {
		a    breach.Alert
		want map[string]string
	}{
		{overdue, map[string]string{"kind": "String overdue", "severity": "String critical", "regimes": `String.Array ["gdpr","nis2"]`,
			"sector": "String health", "late": "String false", "country": "String FR"}},
		{correlated, map[string]string{"kind": "String correlated", "severity": "String critical", "regimes": `String.Array ["gdpr","nis2","dora"]`,
			"sector": `String.Array ["insurance","health"]`, "country": `String.Array ["FR","BE"]`}},
	} {
		t.Run(string(tc.a.Kind), func(t *testing.T) {
			var got []*sns.PublishInput
			if err := alert.New(capturing(&got), "arn:aws:sns:eu-west-3:123456789012:alerts").Publish(context.Background(), tc.a); err != nil {
				t.Fatal(err)
			}
			attrs := map[string]string{}
			for name, v := range got[0].MessageAttributes {
				attrs[name] = aws.ToString(v.DataType) + " " + aws.ToString(v.StringValue)
			}
			if !maps.Equal(attrs, tc.want) {
				t.Errorf("attributes = %v\nwant %v", attrs, tc.want)
			}
			var back breach.Alert
			if err := json.Unmarshal([]byte(aws.ToString(got[0].Message)), &back); err != nil || back.Kind != tc.a.Kind || len(back.Reports) != len(tc.a.Reports) {
				t.Errorf("message decodes to %+v, %v", back, err)
			}
		})
	}
}
