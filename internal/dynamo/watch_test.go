package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

func TestWatchlistContract(t *testing.T) {
	open := contractStores(t)
	breachtest.WatchlistContract(t, func(t *testing.T) (breach.Store, breach.Watchlist) {
		s := open(t)
		return s, s
	})
}

// TestOverdueMarkerItem: a claim is one item in the report's partition, and of many runs claiming
// it at once exactly one gets it.
func TestOverdueMarkerItem(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	const id = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAOV1")
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := s.ClaimOverdue(ctx, "org-a", id, breach.StageGDPRNotification, now)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of 8 concurrent claims won, want 1", won.Load())
	}
	if err := s.MarkOverdueSent(ctx, id, breach.StageGDPRNotification, 3, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	item := raw.item(t, "REPORT#"+string(id), "OVERDUE#gdpr.notification")
	want := map[string]string{"item_type": "overdue", "org_id": "org-a", "report_id": string(id), "stage": "gdpr.notification",
		"state": "sent", "claimed_at": "2026-11-24T11:00:00.000000000Z", "sent_at": "2026-11-24T11:00:01.000000000Z"}
	for name, v := range want {
		if s, ok := item[name].(*types.AttributeValueMemberS); !ok || s.Value != v {
			t.Errorf("%s = %#v, want %q", name, item[name], v)
		}
	}
	if n, ok := item["version"].(*types.AttributeValueMemberN); !ok || n.Value != "3" {
		t.Errorf("version = %#v, want 3", item["version"])
	}
	for _, name := range []string{"fanout_pending", "deadline_watch", "expires_at"} {
		if _, ok := item[name]; ok {
			t.Errorf("marker carries %s: it would enter an index or expire", name)
		}
	}
}

// TestWatchCostFollowsOpenReports measures a deadline-watch run on DynamoDB: its calls depend on
// the reports with an open stage due, not on the others in the table. Forty reports with every
// stage covered cost nothing; each of three overdue reports costs the same seven calls; the next
// run, with nothing due, one Query.
func TestWatchCostFollowsOpenReports(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	var mu sync.Mutex
	calls := map[string]int{}
	counting := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					mu.Lock()
					calls[middleware.GetOperationName(ctx)]++
					mu.Unlock()
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	createTable(t, counting, "cost")
	s := dynamo.New(counting, "cost")
	org := breach.Organisation{ID: "org-cost", LegalName: "Cost SA", Country: "FR"}
	if _, err := s.PutOrganisation(ctx, org, time.Now()); err != nil {
		t.Fatal(err)
	}
	aware := time.Date(2026, 11, 21, 6, 30, 0, 0, time.UTC)
	now := aware.Add(30 * time.Hour)
	clock := func() time.Time { return now }
	in := breach.NewIntake(s, clock, breach.ULIDs())
	file := func(name string, edits map[string]any, key string) {
		t.Helper()
		var doc map[string]any
		if err := json.Unmarshal(readExample(t, name), &doc); err != nil {
			t.Fatal(err)
		}
		for k, v := range edits {
			doc[k] = v
		}
		body, _ := json.Marshal(doc)
		if _, err := in.Submit(ctx, breach.Submission{Org: org.ID, IdempotencyKey: key, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		file("gdpr-minimal.json", nil, fmt.Sprint("covered-", i))
	}
	// NIS2 reports filed after the early warning's due time: nis2.notification stays open.
	for i := range 3 {
		file("nis2-health-ransomware.json", map[string]any{"regimes": []string{"nis2"}, "late_reason": "Late."}, fmt.Sprint("open-", i))
	}

	alerts := breachtest.NewAlerts()
	w := breach.NewWatch(s, s, alerts, clock)
	run := func() map[string]int {
		t.Helper()
		mu.Lock()
		clear(calls)
		mu.Unlock()
		if _, err := w.Run(ctx, 100); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(calls)
	}
	now = aware.Add(73 * time.Hour)
	got := run()
	// Per overdue report: its head, its markers, its latest version and organisation, the claim,
	// the sent mark, its new place in the index.
	want := map[string]int{"Query": 1 + 3, "GetItem": 3 * 3, "PutItem": 3, "UpdateItem": 3 * 2}
	if !maps.Equal(got, want) || len(alerts.Published()) != 3 {
		t.Fatalf("calls %v with %d alerts, want %v with 3", got, len(alerts.Published()), want)
	}
	now = now.Add(15 * time.Minute)
	if got := run(); !maps.Equal(got, map[string]int{"Query": 1}) {
		t.Fatalf("next run's calls %v, want one Query", got)
	}
}

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../breach/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
