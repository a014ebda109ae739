package local_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breach-intake/intake/internal/alert"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestDocumentedRoutingOnMoto: the template's four documented subscribers (infra/README.md,
// Routing), created from the template itself with their parameters set, receive exactly the
// alerts their fixed filter policies select, out of alerts of every kind published through the
// alert adapter (so with the attributes it really sets).
func TestDocumentedRoutingOnMoto(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl := loadReal(t)
	queues := map[string]string{ // parameter → queue name
		"CnilQueueArn": "cnil", "AnssiQueueArn": "anssi", "HealthCertQueueArn": "health-cert", "PagerQueueArn": "pager",
	}
	urls := map[string]string{}
	q := sqs.NewFromConfig(cfg)
	for param, name := range queues {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		urls[name] = aws.ToString(out.QueueUrl)
		p, ok := tpl.Parameters[param]
		if !ok {
			t.Fatalf("the template has no parameter %s", param)
		}
		p.Default = "arn:aws:sqs:" + local.Region + ":" + local.AccountID + ":" + name
		tpl.Parameters[param] = p
	}
	names, err := local.CreateResources(ctx, cfg, tpl, "routing")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"CnilSubscription", "AnssiSubscription", "HealthCertSubscription", "PagerSubscription"} {
		if names[sub] == "" {
			t.Fatalf("%s was not created with its parameter set", sub)
		}
		a, err := sns.NewFromConfig(cfg).GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(names[sub])})
		if err != nil {
			t.Fatal(err)
		}
		if a.Attributes["RawMessageDelivery"] != "true" || a.Attributes["FilterPolicyScope"] != "MessageAttributes" || a.Attributes["FilterPolicy"] == "" {
			t.Errorf("%s attributes %v: want raw delivery and a filter policy on the attributes", sub, a.Attributes)
		}
	}

	member := func(sector string, sev breach.Severity, regimes ...breach.Regime) breach.CorrelatedReport {
		return breach.CorrelatedReport{ReportID: breach.ReportID("M-" + sector), OrgID: breach.OrgID("org-" + sector), Sector: sector,
			Country: "FR", Severity: sev, Regimes: regimes}
	}
	single := func(id string, kind breach.AlertKind, sector string, sev breach.Severity, regimes ...breach.Regime) breach.Alert {
		return breach.Alert{Kind: kind, ReportID: breach.ReportID(id), Version: 1, OrgID: "org", Country: "FR", Regimes: regimes,
			Stage: breach.StageInitial, Severity: sev, Sector: sector, ReceivedAt: time.Now()}
	}
	// correlated is a group's alert as the fan-out builds it: the joining report's fields, the
	// group's regimes and highest severity, every report listed.
	correlated := func(id string, members ...breach.CorrelatedReport) breach.Alert {
		a := single(id, breach.AlertCorrelated, members[len(members)-1].Sector, breach.Low)
		a.Processor, a.Reports, a.Regimes = &breach.Processor{SIREN: "443061841"}, members, nil
		rank := []breach.Severity{breach.Low, breach.Medium, breach.High, breach.Critical}
		for _, m := range members {
			for _, r := range m.Regimes {
				if !slices.Contains(a.Regimes, r) {
					a.Regimes = append(a.Regimes, r)
				}
			}
			if slices.Index(rank, m.Severity) > slices.Index(rank, a.Severity) {
				a.Severity = m.Severity
			}
		}
		return a
	}
	alerts := []breach.Alert{
		single("new-gdpr-retail-low", breach.AlertNew, "retail", breach.Low, breach.GDPR),
		single("supplement-nis2-health-critical", breach.AlertSupplement, "health", breach.Critical, breach.NIS2),
		single("overdue-gdpr-nis2-energy-high", breach.AlertOverdue, "energy", breach.High, breach.GDPR, breach.NIS2),
		single("overdue-dora-finance-critical", breach.AlertOverdue, "finance", breach.Critical, breach.DORA),
		single("new-dora-health-medium", breach.AlertNew, "health", breach.Medium, breach.DORA),
		correlated("correlated-gdpr-insurance-critical-nis2-health-medium",
			member("insurance", breach.Critical, breach.GDPR), member("health", breach.Medium, breach.NIS2)),
		correlated("correlated-dora-finance-high-transport-low",
			member("finance", breach.High, breach.DORA), member("transport", breach.Low, breach.DORA)),
		correlated("correlated-gdpr-retail-low-insurance-medium",
			member("retail", breach.Low, breach.GDPR), member("insurance", breach.Medium, breach.GDPR, breach.DORA)),
	}
	topic := alert.New(sns.NewFromConfig(cfg), names["AlertTopic"])
	for _, a := range alerts {
		if err := topic.Publish(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		// gdpr, every kind: a group with one GDPR report is the CNIL's too.
		"cnil": {"correlated-gdpr-insurance-critical-nis2-health-medium", "correlated-gdpr-retail-low-insurance-medium",
			"new-gdpr-retail-low", "overdue-gdpr-nis2-energy-high"},
		"anssi": {"correlated-gdpr-insurance-critical-nis2-health-medium", "overdue-gdpr-nis2-energy-high", "supplement-nis2-health-critical"},
		// sector health, every kind: a group with one health report (its sectors are a String.Array).
		"health-cert": {"correlated-gdpr-insurance-critical-nis2-health-medium", "new-dora-health-medium", "supplement-nis2-health-critical"},
		// critical only, every kind: a group whose most severe report is critical.
		"pager": {"correlated-gdpr-insurance-critical-nis2-health-medium", "overdue-dora-finance-critical", "supplement-nis2-health-critical"},
	}
	drain := (&liveStack{cfg: cfg}).alerts
	for name, ids := range want {
		var got []string
		for _, a := range drain(t, urls[name]) {
			got = append(got, string(a.ReportID))
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("%s received\n  %s\nwant\n  %s", name, strings.Join(got, "\n  "), strings.Join(ids, "\n  "))
		}
	}
}
