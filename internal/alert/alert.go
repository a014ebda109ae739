// Package alert publishes alerts to regulators on an SNS topic: the breach.Alerts adapter.
//
// Regulators subscribe with filter policies on the message attributes (API.md, Fan-out), so the
// attributes carry exactly what they filter on, and the body is the alert itself: breach.Alert
// has no reporter contact fields, so none can reach a regulator's queue or an SNS log.
package alert

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
)

var _ breach.Alerts = (*Topic)(nil)

// Topic publishes to one SNS topic.
type Topic struct {
	sns      *sns.Client
	topicARN string
}

// New is a Topic publishing to topicARN.
func New(sns *sns.Client, topicARN string) *Topic {
	return &Topic{sns: sns, topicARN: topicARN}
}

// Publish sends one message for a: the alert's JSON, with the attributes regulators filter on.
func (t *Topic) Publish(ctx context.Context, a breach.Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("alert %s v%d: %w", a.ReportID, a.Version, err)
	}
	// String.Array's value is a JSON array; filter policies match any of its elements.
	regimes, err := json.Marshal(a.Regimes)
	if err != nil {
		return fmt.Errorf("alert %s v%d: %w", a.ReportID, a.Version, err)
	}
	attrs := map[string]types.MessageAttributeValue{}
	for name, v := range map[string]string{
		"kind":     string(a.Kind),
		"severity": string(a.Severity),
		"sector":   a.Sector,
		"late":     strconv.FormatBool(a.Late),
		"country":  a.Country,
	} {
		// SNS refuses an empty attribute value, which would fail this alert on every retry: a
		// value the alert lacks is left out, and no filter on it matches, as for a real absence.
		if v != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	attrs["regimes"] = types.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(string(regimes))}
	_, err = t.sns.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(t.topicARN),
		Message:           aws.String(string(body)),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("alert %s v%d: %w", a.ReportID, a.Version, err)
	}
	return nil
}
