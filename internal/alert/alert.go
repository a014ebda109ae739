// Package alert publishes alerts to regulators on an SNS topic: the breach.Alerts adapter.
//
// Regulators subscribe with filter policies on the message attributes (API.md, Fan-out), so the
// attributes carry exactly what they filter on, and the body is the alert itself: breach.Alert
// has no reporter contact fields, so none can reach a regulator's queue or an SNS log.
//
// Every kind has the attributes kind, severity and regimes (String.Array). A version's alert (new,
// supplement) and an overdue one describe one report: sector, late and country are Strings. A
// correlated alert describes a group of reports: its severity is the highest of theirs, its regimes
// all of theirs (as its body says), sector and country are String.Arrays of theirs, and it has no
// late. A filter policy naming a value matches a String.Array holding it, so a policy such as
// {"sector":["health"]} or {"country":["FR"]} routes a group to every subscriber concerned by one of
// its reports, and {"late":["true"]} never matches a group (infra/README.md, Routing).
package alert

import (
	"context"
	"fmt"
	"slices"
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
	strs := map[string]string{"kind": string(a.Kind), "severity": string(a.Severity)}
	arrays := map[string][]string{"regimes": regimesOf(a)}
	if a.Kind == breach.AlertCorrelated {
		arrays["sector"], arrays["country"] = distinct(a.Reports, func(r breach.CorrelatedReport) string { return r.Sector }),
			distinct(a.Reports, func(r breach.CorrelatedReport) string { return r.Country })
	} else {
		strs["sector"], strs["late"], strs["country"] = a.Sector, strconv.FormatBool(a.Late), a.Country
	}
	attrs := map[string]types.MessageAttributeValue{}
	for name, v := range strs {
		// SNS refuses an empty attribute value, which would fail this alert on every retry: a
		// value the alert lacks is left out, and no filter on it matches, as for a real absence.
		if v != "" {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	for name, v := range arrays {
		if len(v) == 0 {
			continue // as an empty String: nothing to match
		}
		// String.Array's value is a JSON array; filter policies match any of its elements.
		list, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("alert %s v%d: %w", a.ReportID, a.Version, err)
		}
		attrs[name] = types.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(string(list))}
	}
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

// regimesOf is the alert's regimes as strings, an empty list rather than null.
func regimesOf(a breach.Alert) []string {
	out := make([]string, 0, len(a.Regimes))
	for _, r := range a.Regimes {
		out = append(out, string(r))
	}
	return out
}

// distinct is each non-empty value of the reports, once, in their order.
func distinct(reports []breach.CorrelatedReport, value func(breach.CorrelatedReport) string) []string {
	out := []string{}
	for _, r := range reports {
		if v := value(r); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
