package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/stream"
)

var (
	org = breach.Organisation{ID: "chu-exemple", LegalName: "Centre Hospitalier Exemple", Country: "FR"}
	now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
)

// fixture is the fan-out over in-memory fakes, with n versions submitted through the intake.
type fixture struct {
	store    *breachtest.Store
	archive  *breachtest.Archive
	alerts   *breachtest.Alerts
	logs     *bytes.Buffer
	handler  stream.Handler
	versions []breach.Version
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	f := &fixture{store: breachtest.NewStore(org), archive: breachtest.NewArchive(), alerts: breachtest.NewAlerts(), logs: &bytes.Buffer{}}
	body, err := os.ReadFile("../breach/testdata/nis2-health-ransomware.json")
	if err != nil {
		t.Fatal(err)
	}
	in := breach.NewIntake(f.store, func() time.Time { return now }, breach.ULIDs())
	for i := range n {
		got, err := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: strconv.Itoa(i), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		f.versions = append(f.versions, f.store.Stored(got.ID)[0])
	}
	fanout := breach.NewFanout(f.store, f.store, f.store, f.archive, f.alerts, func() time.Time { return now })
	f.handler = stream.ProcessReport(fanout, dynamo.VersionFromItem, zerolog.New(zerolog.SyncWriter(f.logs)))
	return f
}

// image is a version item as the table's stream carries it (NEW_IMAGE).
func image(v breach.Version) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"pk":          events.NewStringAttribute("REPORT#" + string(v.ReportID)),
		"sk":          events.NewStringAttribute(fmt.Sprintf("V#%06d", v.Number)),
		"item_type":   events.NewStringAttribute("report_version"),
		"org_id":      events.NewStringAttribute(string(v.OrgID)),
		"report_id":   events.NewStringAttribute(string(v.ReportID)),
		"version":     events.NewNumberAttribute(strconv.Itoa(v.Number)),
		"stage":       events.NewStringAttribute(string(v.Stage)),
		"received_at": events.NewStringAttribute(v.ReceivedAt.Format(time.RFC3339Nano)),
		"severity":    events.NewStringAttribute(string(v.Severity)),
		"late":        events.NewBooleanAttribute(v.Late),
		"sha256":      events.NewStringAttribute(v.SHA256),
		"document":    events.NewBinaryAttribute(v.Document),
	}
}

func batch(vs []breach.Version) events.DynamoDBEvent {
	var ev events.DynamoDBEvent
	for i, v := range vs {
		ev.Records = append(ev.Records, events.DynamoDBEventRecord{
			EventName: "INSERT", EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{SequenceNumber: fmt.Sprintf("%021d", 100+i), NewImage: image(v), StreamViewType: "NEW_IMAGE"},
		})
	}
	return ev
}

func (f *fixture) keys() []string {
	var keys []string
	for _, v := range f.versions {
		keys = append(keys, breach.ArchiveKey(v))
	}
	return keys
}

func TestABatchIsArchivedAndAlerted(t *testing.T) {
	f := newFixture(t, 3)
	resp, err := f.handler(context.Background(), batch(f.versions))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("resp %+v, %v", resp, err)
	}
	for _, v := range f.versions {
		doc, ok := f.archive.Object(breach.ArchiveKey(v))
		if !ok || !bytes.Equal(doc, v.Document) {
			t.Fatalf("%s not archived as stored", breach.ArchiveKey(v))
		}
	}
	alerts := f.alerts.Published()
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want 3", len(alerts))
	}
	i := slices.IndexFunc(alerts, func(a breach.Alert) bool { return a.ReportID == f.versions[0].ReportID })
	if i < 0 {
		t.Fatalf("no alert for %s", f.versions[0].ReportID)
	}
	a := alerts[i]
	if a.Kind != breach.AlertNew || a.ReportID != f.versions[0].ReportID || a.Version != 1 || a.OrganisationName != org.LegalName ||
		a.Country != "FR" || a.Severity != breach.Critical || a.Sector != "health" || a.SubjectsAffected != 58000 ||
		a.SHA256 != f.versions[0].SHA256 || len(a.Deadlines) != 4 || len(a.Regimes) != 2 {
		t.Fatalf("alert %+v", a)
	}
	if pending, _ := f.store.Pending(context.Background(), now.Add(time.Hour), 10); len(pending) != 0 {
		t.Fatalf("still pending after fan-out: %v", pending)
	}
}

// TestS3FailingOnTheThirdRecord: Lambda retries from the named record, so the first two are not
// processed again, and the archive ends with one object per version.
func TestS3FailingOnTheThirdRecord(t *testing.T) {
	f := newFixture(t, 5)
	third := breach.ArchiveKey(f.versions[2])
	f.archive.FailOn(func(key string) error {
		if key == third {
			return errors.New("s3: 503 SlowDown")
		}
		return nil
	})
	ev := batch(f.versions)
	resp, err := f.handler(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[2].Change.SequenceNumber {
		t.Fatalf("resp %+v, %v; want the third record named", resp, err)
	}
	f.archive.FailOn(nil)
	retry := events.DynamoDBEvent{Records: ev.Records[2:]} // what Lambda delivers next
	if resp, err := f.handler(context.Background(), retry); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v, %v", resp, err)
	}
	for i, key := range f.keys() {
		want := 1
		if i == 2 {
			want = 2 // the failed attempt and the retry
		}
		if got := f.archive.Puts(key); got != want {
			t.Errorf("%s: %d puts, want %d", key, got, want)
		}
	}
	if len(f.archive.Keys()) != 5 || len(f.alerts.Published()) != 5 {
		t.Fatalf("%d objects, %d alerts; want 5 and 5", len(f.archive.Keys()), len(f.alerts.Published()))
	}
}

// TestTheSameBatchTwice: a redelivered batch leaves one object per key and no second alert.
func TestTheSameBatchTwice(t *testing.T) {
	f := newFixture(t, 3)
	for range 2 {
		if resp, err := f.handler(context.Background(), batch(f.versions)); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("resp %+v, %v", resp, err)
		}
	}
	if len(f.archive.Keys()) != 3 || len(f.alerts.Published()) != 3 {
		t.Fatalf("%d objects, %d alerts; want 3 and 3", len(f.archive.Keys()), len(f.alerts.Published()))
	}
}

// TestSNSDown: the record fails, and Lambda retries it, until SNS is back; nothing is lost.
func TestSNSDown(t *testing.T) {
	f := newFixture(t, 2)
	f.alerts.FailOn(func(breach.Alert) error { return errors.New("sns: connection refused") })
	ev := batch(f.versions)
	for range 3 {
		resp, err := f.handler(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].Change.SequenceNumber {
			t.Fatalf("while SNS is down: %+v, %v", resp, err)
		}
	}
	f.alerts.FailOn(nil)
	if resp, err := f.handler(context.Background(), ev); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("after SNS is back: %+v, %v", resp, err)
	}
	if got := f.alerts.Published(); len(got) != 2 || got[0].ReportID == got[1].ReportID {
		t.Fatalf("alerts %+v", got)
	}
}

func TestAPoisonRecordIsNamedEveryTime(t *testing.T) {
	f := newFixture(t, 2)
	ev := batch(f.versions)
	delete(ev.Records[1].Change.NewImage, "document")
	for range 2 {
		resp, err := f.handler(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != ev.Records[1].Change.SequenceNumber {
			t.Fatalf("resp %+v, %v", resp, err)
		}
	}
	ev.Records[0].Change.SequenceNumber = ""
	if _, err := f.handler(context.Background(), ev); err == nil {
		t.Fatal("a record without a sequence number must fail the whole batch")
	}
}

func TestSweepTakesWhatTheStreamMissed(t *testing.T) {
	f := newFixture(t, 3)
	later := now.Add(breach.SweepAge + time.Minute)
	fanout := breach.NewFanout(f.store, f.store, f.store, f.archive, f.alerts, func() time.Time { return later })
	// The stream delivered only the first version.
	if _, err := f.handler(context.Background(), batch(f.versions[:1])); err != nil {
		t.Fatal(err)
	}
	if err := stream.Sweep(fanout, zerolog.New(f.logs))(context.Background(), []byte(`{"source":"aws.events"}`)); err != nil {
		t.Fatal(err)
	}
	if len(f.archive.Keys()) != 3 || len(f.alerts.Published()) != 3 {
		t.Fatalf("%d objects, %d alerts; want 3 and 3", len(f.archive.Keys()), len(f.alerts.Published()))
	}
}

// TestNoContactDataInAlertsOrLogs reads the real alert JSON and log lines.
func TestNoContactDataInAlertsOrLogs(t *testing.T) {
	f := newFixture(t, 1)
	if _, err := f.handler(context.Background(), batch(f.versions)); err != nil {
		t.Fatal(err)
	}
	msg, err := json.Marshal(f.alerts.Published()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(msg), f.logs.String()} {
		for _, personal := range []string{"Paul", "Lefèvre", "rssi@chu-exemple.fr", "+33 2 40", "RSSI", "PACS servers"} {
			if strings.Contains(out, personal) {
				t.Fatalf("%q found in %s", personal, out)
			}
		}
	}
}
