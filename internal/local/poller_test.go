package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// reportVersions is the template's filter: INSERT of report versions only.
const reportVersions = `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"item_type": {"S": ["report_version"]}}}}`

func TestMatchFilter(t *testing.T) {
	record := `{"eventName": "INSERT", "dynamodb": {"NewImage": {"item_type": {"S": "report_version"}, "version": {"N": "2"},
		"tags": {"SS": ["a", "b"]}, "late": {"BOOL": false}}}, "nothing": null}`
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"template filter", reportVersions, true},
		{"other item type", `{"dynamodb": {"NewImage": {"item_type": {"S": ["idempotency"]}}}}`, false},
		{"one of several values", `{"eventName": ["MODIFY", "INSERT"]}`, true},
		{"other event", `{"eventName": ["REMOVE"]}`, false},
		{"missing key", `{"dynamodb": {"OldImage": {"item_type": {"S": ["report_version"]}}}}`, false},
		{"object where the record has a string", `{"eventName": {"S": ["INSERT"]}}`, false},
		{"values where the record has an object", `{"dynamodb": ["INSERT"]}`, false},
		{"a string is not a number", `{"dynamodb": {"NewImage": {"version": {"N": [2]}}}}`, false},
		{"number attribute as its string", `{"dynamodb": {"NewImage": {"version": {"N": ["2"]}}}}`, true},
		{"boolean", `{"dynamodb": {"NewImage": {"late": {"BOOL": [false]}}}}`, true},
		{"null", `{"nothing": [null]}`, true},
		{"an element of a record array", `{"dynamodb": {"NewImage": {"tags": {"SS": ["b"]}}}}`, true},
		{"no element of a record array", `{"dynamodb": {"NewImage": {"tags": {"SS": ["c"]}}}}`, false},
		{"empty pattern matches all", `{}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := local.MatchFilter(tc.pattern, []byte(record))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFilterFeaturesNotImplementedAreRefused(t *testing.T) {
	for _, pattern := range []string{
		`{"dynamodb": {"NewImage": {"item_type": {"S": [{"prefix": "report"}]}}}}`,
		`{"eventName": [{"anything-but": ["REMOVE"]}]}`,
		`{"dynamodb": {"NewImage": {"version": {"N": [{"numeric": [">", 1]}]}}}}`,
		`{"eventName": [["INSERT"]]}`,
		`{"eventName": "INSERT"}`,
		`{"eventName": []}`,
		`["INSERT"]`,
		`{"eventName": `,
	} {
		if _, err := local.MatchFilter(pattern, []byte(`{}`)); err == nil {
			t.Errorf("MatchFilter accepted %s", pattern)
		}
		src := local.StreamSource{Function: "Fn", BatchSize: 10, FilterPatterns: []string{reportVersions, pattern}}
		if _, err := local.NewPoller(aws.Config{}, src, "t", "arn:aws:dynamodb:eu-west-3:123456789012:table/t/stream/x", "", &streamFn{}, zerolog.Nop(), time.Now); err == nil {
			t.Errorf("NewPoller accepted %s", pattern)
		}
	}
}

// streamFn is a fake process-report: it records every batch it is given and answers with answer.
type streamFn struct {
	mu      sync.Mutex
	batches [][]string // the pk of each record, per invocation
	raw     [][]byte
	answer  func(recs []events.DynamoDBEventRecord) ([]byte, error)
}

func (f *streamFn) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	var pks []string
	for _, r := range ev.Records {
		pks = append(pks, r.Change.Keys["pk"].String())
	}
	f.batches = append(f.batches, pks)
	f.raw = append(f.raw, payload)
	answer := f.answer
	f.mu.Unlock()
	if answer == nil {
		return []byte(`{"batchItemFailures":[]}`), nil
	}
	return answer(ev.Records)
}

func (f *streamFn) got() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.batches
}

// failing answers with a partial batch failure naming the first record whose pk is in pks.
func failing(pks ...string) func([]events.DynamoDBEventRecord) ([]byte, error) {
	return func(recs []events.DynamoDBEventRecord) ([]byte, error) {
		var resp events.DynamoDBEventResponse
		for _, r := range recs {
			for _, pk := range pks {
				if r.Change.Keys["pk"].String() == pk {
					resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}
					return json.Marshal(resp)
				}
			}
		}
		return json.Marshal(resp)
	}
}

// streamTable is a table with a NEW_IMAGE stream and an on-failure queue on the test's moto_server.
type streamTable struct {
	cfg       aws.Config
	db        *dynamodb.Client
	queue     *sqs.Client
	name      string
	streamArn string
	dlqURL    string
}

func newStreamTable(t *testing.T, cfg aws.Config) *streamTable {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("stream-%d", time.Now().UnixNano())
	s := &streamTable{cfg: cfg, db: dynamodb.NewFromConfig(cfg), queue: sqs.NewFromConfig(cfg), name: name}
	out, err := s.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode:         types.BillingModePayPerRequest,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.streamArn = aws.ToString(out.TableDescription.LatestStreamArn)
	// Visibility timeout 0, so that reading the queue to check it hides nothing.
	q, err := s.queue.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq"), Attributes: map[string]string{"VisibilityTimeout": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	s.dlqURL = aws.ToString(q.QueueUrl)
	return s
}

// put writes a report version (or another item type) whose document is binary.
func (s *streamTable) put(t *testing.T, pk, itemType string) {
	t.Helper()
	_, err := s.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.name), Item: map[string]types.AttributeValue{
		"pk":        &types.AttributeValueMemberS{Value: pk},
		"sk":        &types.AttributeValueMemberS{Value: "V#000001"},
		"item_type": &types.AttributeValueMemberS{Value: itemType},
		"document":  &types.AttributeValueMemberB{Value: []byte("{\"id\":\"" + pk + "\"}\x00\xff")},
		"version":   &types.AttributeValueMemberN{Value: "1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *streamTable) poller(t *testing.T, src local.StreamSource, fn *streamFn, now func() time.Time) *local.Poller {
	t.Helper()
	if src.Function == "" {
		src.Function = "ProcessReportFunction"
	}
	p, err := local.NewPoller(s.cfg, src, s.name, s.streamArn, s.dlqURL, fn, zerolog.New(zerolog.NewTestWriter(t)), now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dlq reads the on-failure queue's messages without deleting them.
func (s *streamTable) dlq(t *testing.T) []string {
	t.Helper()
	out, err := s.queue.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.dlqURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	return bodies
}

// seqs reads the stream's sequence numbers by pk, and its shard.
func (s *streamTable) seqs(t *testing.T) (map[string]string, string) {
	t.Helper()
	ctx := context.Background()
	st := dynamodbstreams.NewFromConfig(s.cfg)
	d, err := st.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.streamArn)})
	if err != nil {
		t.Fatal(err)
	}
	shard := aws.ToString(d.StreamDescription.Shards[0].ShardId)
	it, err := st.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(s.streamArn), ShardId: aws.String(shard), ShardIteratorType: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string]string{}
	for _, r := range recs.Records {
		pk := r.Dynamodb.Keys["pk"].(*streamtypes.AttributeValueMemberS).Value
		seqs[pk] = aws.ToString(r.Dynamodb.SequenceNumber)
	}
	return seqs, shard
}

func drain(t *testing.T, p *local.Poller) {
	t.Helper()
	if err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func batches(b ...[]string) [][]string { return b }

// Integration: a real table stream on moto_server, a fake function.
func TestPoller(t *testing.T) {
	cfg := localtest.Config(t, localtest.Moto(t))
	full := local.StreamSource{BatchSize: 10, MaximumRetryAttempts: 2, MaximumRecordAgeInSeconds: -1, ReportBatchItemFailures: true}

	t.Run("records in order, in batches, as Lambda sends them", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		for _, pk := range []string{"r1", "r2", "r3", "r4", "r5"} {
			s.put(t, pk, "report_version")
		}
		fn := &streamFn{}
		src := full
		src.BatchSize = 2
		p := s.poller(t, src, fn, time.Now)
		drain(t, p)
		if want := batches([]string{"r1", "r2"}, []string{"r3", "r4"}, []string{"r5"}); !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}

		var ev events.DynamoDBEvent
		if err := json.Unmarshal(fn.raw[0], &ev); err != nil {
			t.Fatal(err)
		}
		r := ev.Records[0]
		if r.EventName != "INSERT" || r.EventVersion != "1.1" || r.EventSource != "aws:dynamodb" || r.AWSRegion != localtest.Region ||
			r.EventSourceArn != s.streamArn || r.EventID == "" {
			t.Errorf("record envelope %+v", r)
		}
		c := r.Change
		if c.StreamViewType != "NEW_IMAGE" || c.SequenceNumber == "" || c.SizeBytes <= 0 || time.Since(c.ApproximateCreationDateTime.Time) > time.Minute {
			t.Errorf("dynamodb %+v", c)
		}
		if c.Keys["pk"].String() != "r1" || c.Keys["sk"].String() != "V#000001" || len(c.Keys) != 2 || c.OldImage != nil {
			t.Errorf("keys %v, old image %v", c.Keys, c.OldImage)
		}
		if got := c.NewImage["document"].Binary(); string(got) != "{\"id\":\"r1\"}\x00\xff" {
			t.Errorf("binary attribute decoded to %q", got)
		}
		// Lambda's JSON: binary in base64, the creation time in whole seconds.
		for _, want := range []string{`"B":"eyJpZCI6InIxIn0A/w=="`, `"N":"1"`} {
			if !bytes.Contains(bytes.ReplaceAll(fn.raw[0], []byte(" "), nil), []byte(want)) {
				t.Errorf("payload lacks %s: %s", want, fn.raw[0])
			}
		}
		if !regexp.MustCompile(`"ApproximateCreationDateTime":\d+[,}]`).Match(fn.raw[0]) {
			t.Errorf("ApproximateCreationDateTime is not whole seconds: %s", fn.raw[0])
		}

		t.Run("the poller keeps its place", func(t *testing.T) {
			fn.mu.Lock()
			fn.batches = nil
			fn.mu.Unlock()
			s.put(t, "r6", "report_version")
			drain(t, p)
			if want := batches([]string{"r6"}); !reflect.DeepEqual(fn.got(), want) {
				t.Fatalf("batches %v, want %v", fn.got(), want)
			}
		})
	})

	t.Run("filter drops what does not match, as Lambda does", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		s.put(t, "r1", "report_version")
		s.put(t, "i1", "idempotency")
		s.put(t, "r2", "report_version")
		s.put(t, "r1", "report_version") // MODIFY of r1: not an INSERT
		s.put(t, "o1", "organisation")
		fn := &streamFn{}
		src := full
		src.FilterPatterns = []string{reportVersions}
		drain(t, s.poller(t, src, fn, time.Now))
		if want := batches([]string{"r1", "r2"}); !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}
	})

	t.Run("partial failure on the third of five", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		for _, pk := range []string{"r1", "r2", "r3", "r4", "r5"} {
			s.put(t, pk, "report_version")
		}
		failOnce := true
		fn := &streamFn{answer: func(recs []events.DynamoDBEventRecord) ([]byte, error) {
			if failOnce {
				failOnce = false
				return failing("r3")(recs)
			}
			return nil, nil // a null response is success
		}}
		drain(t, s.poller(t, full, fn, time.Now))
		if want := batches([]string{"r1", "r2", "r3", "r4", "r5"}, []string{"r3", "r4", "r5"}); !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}
		if m := s.dlq(t); len(m) != 0 {
			t.Fatalf("on-failure queue holds %v", m)
		}
	})

	t.Run("failure lists Lambda reads as a whole-batch failure", func(t *testing.T) {
		for _, answer := range []string{
			`{"batchItemFailures":[{"itemIdentifier":""}]}`,
			`{"batchItemFailures":[{"itemIdentifier":null}]}`,
			`{"batchItemFailures":[{"ItemIdentifier":"%s"}]}`,
			`{"batchItemFailures":[{"itemIdentifier":"12345"}]}`, // not in the batch
		} {
			s := newStreamTable(t, cfg)
			s.put(t, "r1", "report_version")
			s.put(t, "r2", "report_version")
			calls := 0
			fn := &streamFn{answer: func(recs []events.DynamoDBEventRecord) ([]byte, error) {
				if calls++; calls == 1 {
					return []byte(strings.ReplaceAll(answer, "%s", recs[1].Change.SequenceNumber)), nil
				}
				return []byte(`{}`), nil
			}}
			drain(t, s.poller(t, full, fn, time.Now))
			if want := batches([]string{"r1", "r2"}, []string{"r1", "r2"}); !reflect.DeepEqual(fn.got(), want) {
				t.Errorf("%s: batches %v, want %v", answer, fn.got(), want)
			}
		}
	})

	t.Run("whole-batch error with bisect isolates the poison record", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		for _, pk := range []string{"r1", "r2", "r3", "r4", "r5"} {
			s.put(t, pk, "report_version")
		}
		fn := &streamFn{answer: func(recs []events.DynamoDBEventRecord) ([]byte, error) {
			for _, r := range recs {
				if r.Change.Keys["pk"].String() == "r3" {
					return nil, errors.New("boom")
				}
			}
			return []byte(`{"batchItemFailures":[]}`), nil
		}}
		src := full
		src.BisectBatchOnFunctionError, src.MaximumRetryAttempts = true, 1
		drain(t, s.poller(t, src, fn, time.Now))
		want := batches(
			[]string{"r1", "r2", "r3", "r4", "r5"}, // fails: bisected
			[]string{"r1", "r2"},                   // ok
			[]string{"r3", "r4", "r5"},             // fails: bisected
			[]string{"r3"},                         // fails, cannot be split: retried once
			[]string{"r3"},                         // fails again: given up
			[]string{"r4", "r5"},                   // ok
		)
		if !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}
		seqs, _ := s.seqs(t)
		msgs := s.dlq(t)
		if len(msgs) != 1 {
			t.Fatalf("on-failure queue holds %d messages, want 1", len(msgs))
		}
		info := onFailure(t, msgs[0], "RetryAttemptsExhausted", 2, "Unhandled")
		if info.StartSequenceNumber != seqs["r3"] || info.EndSequenceNumber != seqs["r3"] || info.BatchSize != 1 {
			t.Errorf("range %+v, want r3 alone (%s)", info, seqs["r3"])
		}
	})

	t.Run("poison record exhausts its retries, goes to the on-failure queue, the poller moves on", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		for _, pk := range []string{"r1", "r2", "r3", "r4", "r5"} {
			s.put(t, pk, "report_version")
		}
		fn := &streamFn{answer: failing("r3")}
		p := s.poller(t, full, fn, time.Now)
		drain(t, p)
		// Tried once in the first batch, then retried MaximumRetryAttempts (2) times.
		want := batches([]string{"r1", "r2", "r3", "r4", "r5"}, []string{"r3", "r4", "r5"}, []string{"r3", "r4", "r5"})
		if !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}
		seqs, shard := s.seqs(t)
		msgs := s.dlq(t)
		if len(msgs) != 1 {
			t.Fatalf("on-failure queue holds %d messages, want 1", len(msgs))
		}
		// Lambda gives up on the batch it was retrying: from the failed record to the batch's end.
		info := onFailure(t, msgs[0], "RetryAttemptsExhausted", 3, "")
		wantInfo := local.DDBStreamBatchInfo{ShardID: shard, StartSequenceNumber: seqs["r3"], EndSequenceNumber: seqs["r5"], BatchSize: 3, StreamArn: s.streamArn,
			ApproximateArrivalOfFirstRecord: info.ApproximateArrivalOfFirstRecord, ApproximateArrivalOfLastRecord: info.ApproximateArrivalOfLastRecord}
		if info != wantInfo {
			t.Errorf("batch info %+v, want %+v", info, wantInfo)
		}
		for _, ts := range []string{info.ApproximateArrivalOfFirstRecord, info.ApproximateArrivalOfLastRecord} {
			if _, err := time.Parse("2006-01-02T15:04:05Z", ts); err != nil {
				t.Errorf("arrival %q: %v", ts, err)
			}
		}

		s.put(t, "r6", "report_version")
		s.put(t, "r7", "report_version")
		fn.mu.Lock()
		fn.batches, fn.answer = nil, nil
		fn.mu.Unlock()
		drain(t, p)
		if want := batches([]string{"r6", "r7"}); !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("after the poison: batches %v, want %v", fn.got(), want)
		}
		if n := len(s.dlq(t)); n != 1 {
			t.Fatalf("on-failure queue holds %d messages, want still 1", n)
		}
	})

	t.Run("records older than MaximumRecordAgeInSeconds go to the queue uninvoked", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		s.put(t, "r1", "report_version")
		s.put(t, "r2", "report_version")
		fn := &streamFn{}
		src := full
		src.MaximumRecordAgeInSeconds = 60
		drain(t, s.poller(t, src, fn, func() time.Time { return time.Now().Add(time.Hour) }))
		if len(fn.got()) != 0 {
			t.Fatalf("function invoked with %v", fn.got())
		}
		msgs := s.dlq(t)
		if len(msgs) != 1 {
			t.Fatalf("on-failure queue holds %d messages, want 1", len(msgs))
		}
		if info := onFailure(t, msgs[0], "RecordAgeExceeded", 0, ""); info.BatchSize != 2 {
			t.Errorf("batch info %+v, want both records", info)
		}
	})

	t.Run("Run polls until its context ends", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		fn := &streamFn{}
		p := s.poller(t, full, fn, time.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		s.put(t, "r1", "report_version")
		deadline := time.Now().Add(5 * time.Second)
		for len(fn.got()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if want := batches([]string{"r1"}); !reflect.DeepEqual(fn.got(), want) {
			t.Fatalf("batches %v, want %v", fn.got(), want)
		}
	})

	t.Run("redrive", func(t *testing.T) {
		s := newStreamTable(t, cfg)
		for _, pk := range []string{"r1", "r2", "r3", "r4"} {
			s.put(t, pk, "report_version")
		}
		s.put(t, "i1", "idempotency") // inside the range: the filter drops it again
		s.put(t, "r5", "report_version")
		src := full
		src.FilterPatterns = []string{reportVersions}
		src.MaximumRetryAttempts = 0
		drain(t, s.poller(t, src, &streamFn{answer: failing("r3")}, time.Now))
		if n := len(s.dlq(t)); n != 1 {
			t.Fatalf("on-failure queue holds %d messages, want 1", n)
		}
		seqs, shard := s.seqs(t)
		// Another message, naming a shard the stream no longer has: the sweep covers it.
		gone, _ := json.Marshal(local.OnFailureRecord{Version: "1.0", DDBStreamBatchInfo: &local.DDBStreamBatchInfo{
			ShardID: "shardId-00000000000000000000-00000000", StartSequenceNumber: "1", EndSequenceNumber: "2", BatchSize: 2, StreamArn: s.streamArn}})
		if _, err := s.queue.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.dlqURL), MessageBody: aws.String(string(gone))}); err != nil {
			t.Fatal(err)
		}

		redrive := func(fn *streamFn, sweep func(context.Context) error) (local.RedriveSummary, string) {
			t.Helper()
			noDest := src
			noDest.MaximumRecordAgeInSeconds = -1
			p, err := local.NewPoller(cfg, noDest, s.name, s.streamArn, "", fn, zerolog.New(zerolog.NewTestWriter(t)), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			sum, err := local.Redrive(context.Background(), cfg, s.dlqURL, p, sweep, &out)
			if err != nil {
				t.Fatal(err)
			}
			return sum, out.String()
		}

		t.Run("still failing: messages kept", func(t *testing.T) {
			fn := &streamFn{answer: failing("r3")}
			sum, out := redrive(fn, func(context.Context) error { return errors.New("sweep down") })
			if want := (local.RedriveSummary{Messages: 2, Processed: 0, Failures: 2}); sum != want {
				t.Errorf("summary %+v, want %+v\n%s", sum, want, out)
			}
			if n := len(s.dlq(t)); n != 2 {
				t.Fatalf("on-failure queue holds %d messages, want both kept", n)
			}
		})
		t.Run("now succeeding: processed and deleted", func(t *testing.T) {
			fn := &streamFn{}
			swept := 0
			sum, out := redrive(fn, func(context.Context) error { swept++; return nil })
			// The poison batch was r3..r5 (i1 between them is filtered out again).
			if want := batches([]string{"r3", "r4", "r5"}); !reflect.DeepEqual(fn.got(), want) {
				t.Errorf("batches %v, want %v", fn.got(), want)
			}
			if want := (local.RedriveSummary{Messages: 2, Processed: 3, Failures: 0}); sum != want {
				t.Errorf("summary %+v, want %+v", sum, want)
			}
			if swept != 1 {
				t.Errorf("sweep ran %d times, want 1", swept)
			}
			for _, want := range []string{
				fmt.Sprintf("shard %s seq %s..%s (3 records): 3 processed, 1 filtered out", shard, seqs["r3"], seqs["r5"]),
				"no longer in the stream, pending versions swept",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("want one line per message:\n%s", out)
			}
			if m := s.dlq(t); len(m) != 0 {
				t.Fatalf("on-failure queue still holds %v", m)
			}
		})
	})
}

// onFailure checks the shape of an on-failure record and returns its batch info.
func onFailure(t *testing.T, body, condition string, invokes int, functionError string) local.DDBStreamBatchInfo {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	if len(keys) != 5 || raw["DDBStreamBatchInfo"] == nil || raw["version"] != "1.0" {
		t.Errorf("on-failure record %s", body)
	}
	var rec local.OnFailureRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		t.Fatal(err)
	}
	rc := rec.RequestContext
	if rc.Condition != condition || rc.ApproximateInvokeCount != invokes || rc.FunctionArn != "arn:aws:lambda:eu-west-3:123456789012:function:ProcessReportFunction" ||
		(invokes > 0 && !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(rc.RequestID)) {
		t.Errorf("requestContext %+v", rc)
	}
	if r := rec.ResponseContext; r.StatusCode != 200 || r.ExecutedVersion != "$LATEST" || r.FunctionError != functionError {
		t.Errorf("responseContext %+v", r)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", rec.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", rec.Timestamp, err)
	}
	return *rec.DDBStreamBatchInfo
}
