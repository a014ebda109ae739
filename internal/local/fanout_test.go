package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/metrics"
)

// subscribe creates a queue subscribed to the alert topic with raw delivery and, unless empty, a
// filter policy on the message attributes, and returns its URL.
func (s *liveStack) subscribe(t *testing.T, name, filter string) string {
	t.Helper()
	ctx := context.Background()
	q, err := sqs.NewFromConfig(s.cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sqs.NewFromConfig(s.cfg).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	sub := map[string]string{"RawMessageDelivery": "true"}
	if filter != "" {
		sub["FilterPolicy"], sub["FilterPolicyScope"] = filter, "MessageAttributes"
	}
	if _, err := sns.NewFromConfig(s.cfg).Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(s.names["AlertTopic"]), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes["QueueArn"]), Attributes: sub,
	}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}

// alerts drains a queue: every alert delivered so far (bounded wait).
func (s *liveStack) alerts(t *testing.T, queueURL string) []breach.Alert {
	t.Helper()
	var got []breach.Alert
	for empty := 0; empty < 2; {
		out, err := sqs.NewFromConfig(s.cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
		}
		var done []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			done = append(done, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			var a breach.Alert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatalf("alert %s: %v", aws.ToString(m.Body), err)
			}
			for _, personal := range []string{"Inès", "Moreau", "dpo@mutuelle-exemple.fr", "DPO"} {
				if strings.Contains(aws.ToString(m.Body), personal) {
					t.Fatalf("alert carries %q: %s", personal, aws.ToString(m.Body))
				}
			}
			got = append(got, a)
		}
		if len(done) > 0 {
			if _, err := sqs.NewFromConfig(s.cfg).DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: done}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

// poller is the stack's process-report event source mapping, as make dev runs it.
func (s *liveStack) poller(t *testing.T, src local.StreamSource) *local.Poller {
	t.Helper()
	fn, err := s.fns(src.Function)
	if err != nil {
		t.Fatal(err)
	}
	p, err := local.StreamPoller(context.Background(), s.cfg, s.names, src, fn, zerolog.New(s.logs), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *liveStack) streamSource(t *testing.T) local.StreamSource {
	t.Helper()
	srcs, err := s.tpl.StreamSources()
	if err != nil || len(srcs) != 1 || srcs[0].Function != "ProcessReportFunction" {
		t.Fatalf("stream sources %+v, %v", srcs, err)
	}
	return srcs[0]
}

type receipt struct {
	ID     breach.ReportID `json:"id"`
	SHA256 string          `json:"sha256"`
}

// submit posts the processor-late example (valid at any clock) under a fresh idempotency key.
func (s *liveStack) submit(t *testing.T, key, idem string) receipt {
	t.Helper()
	status, body := s.post(t, example(t, "processor-late.json"),
		"Authorization", "Bearer "+key, "Content-Type", "application/json", "Idempotency-Key", idem)
	var rc receipt
	if status != 201 || json.Unmarshal([]byte(body), &rc) != nil {
		t.Fatalf("submit: %d %s", status, body)
	}
	return rc
}

func (s *liveStack) archiveKey(id breach.ReportID) string {
	return fmt.Sprintf("reports/%s/%s/v1.json", fanoutOrg.ID, id)
}

var fanoutOrg = breach.Organisation{ID: "mutuelle-exemple", LegalName: "Mutuelle Exemple", SIREN: "775685019", Country: "FR"}

// TestASubmittedReportIsArchivedAndAlerted: through the local API, the stream and process-report
// to S3 under Object Lock and to the regulators whose filter policy matches.
func TestASubmittedReportIsArchivedAndAlerted(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	key := st.orgKey(t, fanoutOrg)
	matching := st.subscribe(t, "cnil", `{"severity":["critical"],"regimes":["gdpr"],"country":["FR"]}`)
	other := st.subscribe(t, "energy-cert", `{"sector":["energy"]}`)
	rc := st.submit(t, key, "e2e-1")

	if err := st.poller(t, st.streamSource(t)).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(st.cfg)
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.names["ArchiveBucket"]),
		Key: aws.String(st.archiveKey(rc.ID)), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("archived object: %v", err)
	}
	sum, _ := hex.DecodeString(rc.SHA256)
	if aws.ToString(head.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum) {
		t.Errorf("checksum %s, want the receipt's sha256", aws.ToString(head.ChecksumSHA256))
	}
	if head.ObjectLockMode != s3types.ObjectLockModeGovernance || head.ObjectLockRetainUntilDate == nil ||
		!head.ObjectLockRetainUntilDate.After(time.Now().Add(23*time.Hour)) {
		t.Errorf("retention %s until %v, want GOVERNANCE for a day", head.ObjectLockMode, head.ObjectLockRetainUntilDate)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.names["ArchiveBucket"]), Key: aws.String(st.archiveKey(rc.ID))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != rc.SHA256 {
		t.Errorf("archived bytes do not hash to the receipt's sha256")
	}

	alerts := st.alerts(t, matching)
	if len(alerts) != 1 || alerts[0].ReportID != rc.ID || alerts[0].Kind != breach.AlertNew || alerts[0].SHA256 != rc.SHA256 ||
		alerts[0].OrganisationName != fanoutOrg.LegalName {
		t.Fatalf("matching queue got %+v, want one alert for %s", alerts, rc.ID)
	}
	if got := st.alerts(t, other); len(got) != 0 {
		t.Fatalf("non-matching queue got %+v", got)
	}
	for _, personal := range []string{"Inès", "Moreau", "dpo@mutuelle-exemple.fr"} {
		if strings.Contains(st.logs.String(), personal) {
			t.Fatalf("logs carry %q", personal)
		}
	}
	// Each function's EMF lines are in the log beside its logs, under its logical id.
	var emf []byte
	for _, line := range strings.SplitAfter(st.logs.String(), "\n") {
		if strings.HasPrefix(line, `{"_aws":`) {
			emf = append(emf, line...)
		}
	}
	points, err := metrics.Parse(emf)
	if err != nil {
		t.Fatal(err)
	}
	emitted := map[string]bool{}
	for _, p := range points {
		emitted[p.Dimensions[metrics.Service]+" "+p.Metric] = true
	}
	for _, want := range []string{"SubmitReportFunction ReportsAccepted", "ProcessReportFunction ArchiveLatency", "ProcessReportFunction AlertLatency"} {
		if !emitted[want] {
			t.Errorf("no %s in the EMF lines:\n%s", want, emf)
		}
	}
}

// TestFanoutUnderFaults: S3 failing on the third record of a batch of five, the same records
// delivered twice, SNS down, and a poison record through the DLQ and redrive: every version ends
// archived once and alerted, and a repeated alert is only ever the same report_id and version.
func TestFanoutUnderFaults(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	key := st.orgKey(t, fanoutOrg)
	all := st.subscribe(t, "all-alerts", "")
	src := st.streamSource(t)
	p := st.poller(t, src)

	var ids []breach.ReportID
	for i := range 5 {
		ids = append(ids, st.submit(t, key, fmt.Sprintf("fault-%d", i)).ID)
	}
	puts := map[string]int{} // process-report handles a batch's records concurrently
	var putsMu sync.Mutex
	st.faults.set("PutObject", func(in any) error {
		k := aws.ToString(in.(*s3.PutObjectInput).Key)
		putsMu.Lock()
		defer putsMu.Unlock()
		puts[k]++
		if k == st.archiveKey(ids[2]) && puts[k] == 1 {
			return errors.New("injected: S3 unavailable")
		}
		return nil
	})
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		want := 1
		if i == 2 {
			want = 2
		}
		if got := puts[st.archiveKey(id)]; got != want {
			t.Errorf("record %d: %d PutObject calls, want %d", i+1, got, want)
		}
	}

	// The whole stream delivered again, by a second mapping reading from its start.
	if err := st.poller(t, src).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	versions, err := s3.NewFromConfig(st.cfg).ListObjectVersions(ctx, &s3.ListObjectVersionsInput{
		Bucket: aws.String(st.names["ArchiveBucket"]), Prefix: aws.String("reports/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Versions) != 5 {
		t.Fatalf("%d object versions in the archive, want one per report (5)", len(versions.Versions))
	}
	checkAlerts(t, st.alerts(t, all), ids)

	// SNS down for the next two attempts: retried, nothing lost.
	down := 2
	st.faults.set("Publish", func(any) error {
		if down > 0 {
			down--
			return errors.New("injected: SNS unavailable")
		}
		return nil
	})
	sixth := st.submit(t, key, "fault-sns").ID
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	checkAlerts(t, st.alerts(t, all), []breach.ReportID{sixth})

	// A poison record: S3 refuses it until the retries are spent; it reaches the DLQ, then
	// redrive recovers it once S3 is back.
	poison := st.submit(t, key, "fault-poison").ID
	st.faults.set("PutObject", func(in any) error {
		if aws.ToString(in.(*s3.PutObjectInput).Key) == st.archiveKey(poison) {
			return errors.New("injected: S3 refuses this key")
		}
		return nil
	})
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := st.alerts(t, all); len(got) != 0 {
		t.Fatalf("alerts for a record that failed: %+v", got)
	}
	st.faults.set("PutObject", nil)
	redriveSrc := src
	redriveSrc.MaximumRecordAgeInSeconds, redriveSrc.OnFailureDestination = -1, ""
	var out bytes.Buffer
	sum, err := local.Redrive(ctx, st.cfg, st.names["DeadLetterQueue"], st.poller(t, redriveSrc),
		func(context.Context) error {
			return errors.New("the records are still in the stream: no sweep expected")
		}, &out)
	if err != nil || sum.Messages != 1 || sum.Failures != 0 {
		t.Fatalf("redrive: %+v, %v\n%s", sum, err, out.String())
	}
	checkAlerts(t, st.alerts(t, all), []breach.ReportID{poison})
}

// checkAlerts: every id alerted, nothing else, and any repetition is the same report and version.
func checkAlerts(t *testing.T, got []breach.Alert, ids []breach.ReportID) {
	t.Helper()
	seen := map[breach.ReportID]int{}
	for _, a := range got {
		if a.Version != 1 {
			t.Errorf("alert for version %d of %s", a.Version, a.ReportID)
		}
		seen[a.ReportID]++
	}
	for _, id := range ids {
		if seen[id] == 0 {
			t.Errorf("no alert for %s", id)
		}
		delete(seen, id)
	}
	if len(seen) != 0 {
		t.Errorf("alerts for other reports: %v", seen)
	}
}
