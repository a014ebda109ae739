package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// RegulatorQueue is the name of the local regulator's queue, subscribed to the alert topic.
const RegulatorQueue = StackName + "-regulator-local"

// SubscribeAlertPrinter plays a regulator locally: it subscribes the queue RegulatorQueue to the
// alert topic with raw message delivery (the body is the alert itself, as a regulator's queue
// receives it) and prints each alert to out as one line as it arrives, deleting it once printed.
// It runs until ctx ends or stop is called; stop also removes the subscription, so that runs of
// `make dev` against a long-lived endpoint do not pile up subscriptions.
func SubscribeAlertPrinter(ctx context.Context, cfg aws.Config, topicArn string, out io.Writer) (stop func(), err error) {
	q, topics := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(RegulatorQueue)})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", RegulatorQueue, err)
	}
	url := created.QueueUrl
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("read the ARN of %s: %w", RegulatorQueue, err)
	}
	queueArn := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	// SNS delivers to a queue only if the queue's policy lets the topic send (moto does not check;
	// AWS and LocalStack do).
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "sns.amazonaws.com"},
			"Action":    "sqs:SendMessage",
			"Resource":  queueArn,
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": topicArn}},
		}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: url, Attributes: map[string]string{"Policy": string(policy)}}); err != nil {
		return nil, fmt.Errorf("set the policy of %s: %w", RegulatorQueue, err)
	}
	sub, err := topics.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              aws.String(topicArn),
		Protocol:              aws.String("sqs"),
		Endpoint:              aws.String(queueArn),
		Attributes:            map[string]string{"RawMessageDelivery": "true"},
		ReturnSubscriptionArn: true,
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s to %s: %w", RegulatorQueue, topicArn, err)
	}

	loop, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for loop.Err() == nil {
			// No long poll: the local config sends moto one request at a time, and a request
			// waiting a second for messages would hold up every other call to moto that long.
			got, err := q.ReceiveMessage(loop, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10})
			if loop.Err() != nil {
				return
			}
			if err != nil {
				fmt.Fprintf(out, "alerts: reading %s failed: %v\n", RegulatorQueue, err)
				select {
				case <-loop.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			if len(got.Messages) == 0 {
				select {
				case <-loop.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			for _, m := range got.Messages {
				fmt.Fprintln(out, AlertLine([]byte(aws.ToString(m.Body))))
				if _, err := q.DeleteMessage(loop, &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil && loop.Err() == nil {
					fmt.Fprintf(out, "alerts: deleting a message failed: %v\n", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		// ctx may have ended already: the clean-up gets its own short deadline.
		clean, cancelClean := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancelClean()
		_, _ = topics.Unsubscribe(clean, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn})
	}, nil
}

// AlertLine is the one line printed for an alert's body: what a regulator triages on, never
// more (the alert carries no contact details anyway).
func AlertLine(body []byte) string {
	var a struct {
		Kind     string   `json:"kind"`
		ReportID string   `json:"report_id"`
		Version  int      `json:"version"`
		OrgID    string   `json:"org_id"`
		Country  string   `json:"country"`
		Stage    string   `json:"stage"`
		Severity string   `json:"severity"`
		Regimes  []string `json:"regimes"`
		Late     bool     `json:"late"`
		// A correlated alert's processor and reports.
		Processor struct {
			SIREN string `json:"siren"`
		} `json:"processor"`
		Reports []struct {
			ReportID string `json:"report_id"`
			OrgID    string `json:"org_id"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ReportID == "" {
		return fmt.Sprintf("alert (not an alert: %d bytes)", len(body))
	}
	line := fmt.Sprintf("alert kind=%s severity=%s report=%s v%d stage=%s org=%s country=%s regimes=%s late=%t",
		a.Kind, a.Severity, a.ReportID, a.Version, a.Stage, a.OrgID, a.Country, strings.Join(a.Regimes, ","), a.Late)
	if a.Processor.SIREN != "" {
		reports := make([]string, 0, len(a.Reports))
		for _, r := range a.Reports {
			reports = append(reports, r.ReportID+"@"+r.OrgID)
		}
		line += fmt.Sprintf(" processor=%s reports=%s", a.Processor.SIREN, strings.Join(reports, ","))
	}
	return line
}
