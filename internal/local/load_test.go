package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/loadgen"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/reconcile"
)

// TestNothingLostUnderLoadAndFaults is the intake's core promise under concurrency and faults:
// 500 reports from 16 clients through the local API, with the template's throttling, while 10 %
// of the functions' S3 PutObject, SNS Publish and DynamoDB calls fail after taking effect. Once
// the pipeline has drained, every accepted report is stored, archived once and alerted; reconcile
// finds nothing wrong; a repeated alert only ever repeats a report_id and version already seen.
func TestNothingLostUnderLoadAndFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	faults, err := local.ParseFaults("s3.PutObject=0.1,sns.Publish=0.1,dynamodb=0.1", 7)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st := newLiveStackWith(t, breach.SystemClock(), liveOptions{wrap: faults.Apply, dynamoDBLocal: true})
	key := st.orgKey(t, breach.Organisation{ID: "load-org", LegalName: "Load SA", Country: "FR"})
	alerts := st.subscribe(t, "load-alerts", "")

	// The stream consumer runs while the load does, as in make dev.
	consumer, stopConsumer := context.WithCancel(ctx)
	p := st.poller(t, st.streamSource(t))
	consumed := make(chan error, 1)
	go func() { consumed <- p.Run(consumer) }()

	res, err := loadgen.Run(ctx, loadgen.Config{URL: st.srv.URL, Key: key, N: 500, Concurrency: 16, MaxBytes: 16 << 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 500 || res.Failed != 0 || res.Rejected != 0 {
		t.Fatalf("load: %d accepted, %d rejected %v, %d failed %v", res.Accepted, res.Rejected, res.RejectedBy, res.Failed, res.FailedBy)
	}

	// Drain: wait until no version's fan-out is pending (what the poller cannot finish goes to the
	// dead-letter queue, which redrive recovers).
	for {
		pending, err := st.store.Pending(ctx, time.Now().Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the pipeline did not drain: %v pending", pending)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("load %s, drained at %s", res.Elapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	stopConsumer()
	if err := <-consumed; err != nil {
		t.Fatal(err)
	}

	t0 := time.Now()
	defer func() { t.Logf("reconcile and alert checks: %s", time.Since(t0).Round(time.Millisecond)) }()
	// Every accepted report is stored, archived once with its digest and retention, and alerted.
	arch := archive.New(s3.NewFromConfig(st.cfg), st.names["ArchiveBucket"], "", s3types.ObjectLockModeGovernance, time.Hour, time.Now)
	sum, err := reconcile.Run(ctx, func(ctx context.Context, fn func(breach.Version, dynamo.FanoutState) error) error {
		return st.store.VersionsReceived(ctx, start.Add(-time.Minute), time.Now().Add(time.Minute), fn)
	}, arch, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Discrepancies) != 0 {
		t.Fatalf("reconcile: %+v", sum.Discrepancies)
	}
	byID := map[breach.ReportID]bool{}
	for _, rc := range res.Receipts {
		byID[breach.ReportID(rc.ID)] = true
	}
	if len(byID) != 500 || sum.Versions != 500 || sum.Archived != 500 || sum.Alerted != 500 {
		t.Fatalf("%d distinct receipts; reconcile saw %d versions, %d archived, %d alerted; want 500 each", len(byID), sum.Versions, sum.Archived, sum.Alerted)
	}
	got := st.alerts(t, alerts)
	seen := map[breach.ReportID]bool{}
	for _, a := range got {
		if !byID[a.ReportID] || a.Version != 1 {
			t.Fatalf("alert for %s v%d, which no receipt names", a.ReportID, a.Version)
		}
		seen[a.ReportID] = true
	}
	if len(seen) != 500 {
		t.Fatalf("alerts for %d reports, want 500", len(seen))
	}
	t.Logf("500 reports in %s (%.0f/s, p99 %s), %d retries by the clients (%d after a 429); %d alerts for 500 reports; faults injected: %v; whole test %s",
		res.Elapsed.Round(time.Millisecond), res.Throughput, res.Latency.P99, res.Retries, res.Throttled, len(got), faults.Counts(), time.Since(start).Round(time.Millisecond))
}

// TestThrottledClientsLoseNothing: with POST /v1/reports throttled well below what 8 clients send,
// the gateway answers 429s and the clients retry them, with the same Idempotency-Key and body,
// until every report is accepted, each stored once.
func TestThrottledClientsLoseNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	st := newLiveStackWith(t, breach.SystemClock(), liveOptions{template: func(tpl *local.Template) {
		routes := tpl.Resources["IntakeApi"].Properties["RouteSettings"].(map[string]any)
		routes["POST /v1/reports"] = map[string]any{"ThrottlingBurstLimit": 4, "ThrottlingRateLimit": 10}
	}})
	key := st.orgKey(t, breach.Organisation{ID: "busy-org", LegalName: "Busy SA", Country: "FR"})

	res, err := loadgen.Run(ctx, loadgen.Config{URL: st.srv.URL, Key: key, N: 40, Concurrency: 8, MaxBytes: 8 << 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 40 || res.Created != 40 || res.Failed != 0 || res.Rejected != 0 {
		t.Fatalf("load: %d accepted (%d created), %d rejected %v, %d failed %v", res.Accepted, res.Created, res.Rejected, res.RejectedBy, res.Failed, res.FailedBy)
	}
	if res.Throttled == 0 {
		t.Fatal("no 429: the route's throttle was not applied")
	}
	stored := 0
	err = st.store.VersionsReceived(ctx, start.Add(-time.Minute), time.Now().Add(time.Minute), func(breach.Version, dynamo.FanoutState) error {
		stored++
		return nil
	})
	if err != nil || stored != 40 {
		t.Fatalf("%d versions stored (%v), want 40: each report once", stored, err)
	}
	t.Logf("40 reports through a 10/s route in %s, %d throttled answers retried", res.Elapsed.Round(time.Millisecond), res.Throttled)
}
