package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/rs/zerolog"
)

// StreamSource is a function's DynamoDB stream event (its event source mapping) as the template
// declares it. Function and Table are LogicalIds. MaximumRetryAttempts and
// MaximumRecordAgeInSeconds are -1 for "no limit", as in Lambda; a MaximumRecordAgeInSeconds of 0
// also means no limit (Lambda accepts only -1 or 60 and more). FilterPatterns are the
// FilterCriteria's patterns, each a JSON string; OnFailureDestination is the LogicalId of the
// on-failure queue ("" for none).
type StreamSource struct {
	Function, Table                                            string
	BatchSize, MaximumRetryAttempts, MaximumRecordAgeInSeconds int
	BisectBatchOnFunctionError, ReportBatchItemFailures        bool
	FilterPatterns                                             []string
	OnFailureDestination                                       string
}

// Poller does locally what Lambda's DynamoDB event source mapping does: it reads every shard of
// the stream from TRIM_HORIZON, drops records the filter patterns do not match, invokes the
// function with real DynamoDBEvent batches, honours partial batch failures, bisects and retries
// failed batches, and sends the metadata-only on-failure record to the queue when it gives up.
// A Poller keeps its place in the stream across calls; it is not safe for concurrent use: call
// Run, Drain or Redeliver one at a time.
type Poller struct {
	src         StreamSource
	streamArn   string
	dlqURL      string
	functionArn string
	streams     *dynamodbstreams.Client
	queue       *sqs.Client
	fn          lambda.Handler
	log         zerolog.Logger
	now         func() time.Time
	filters     []map[string]any
	shards      map[string]*shardPosition // where each shard's reading stands, across Drain calls
}

// shardPosition is how far the poller has read a shard.
type shardPosition struct {
	iterator string // the next GetRecords iterator, "" when one must be asked for
	lastSeq  string // the last record handled, to ask again after an error
	closed   bool   // read to its end: a closed shard's iterator runs out
}

// Stats counts what the poller did with the records it read.
type Stats struct {
	Processed int // records the function processed
	Filtered  int // records the filter patterns dropped, as Lambda drops them
	Failed    int // records given up on: sent to the on-failure destination, or dropped without one
}

func (s *Stats) add(o Stats) {
	s.Processed += o.Processed
	s.Filtered += o.Filtered
	s.Failed += o.Failed
}

// Lambda's retries are spaced out over seconds; locally a short bounded backoff keeps `make dev`
// and the tests quick while still showing the retries in the log.
const (
	firstRetryDelay = 100 * time.Millisecond
	maxRetryDelay   = time.Second
	// Lambda polls a shard four times a second; moto keeps every shard iterator it hands out
	// for ever, so polling an idle stream locally at half that rate halves what it accumulates.
	idlePoll       = 500 * time.Millisecond
	recordsPerRead = 1000 // GetRecords' maximum
)

// NewPoller prepares a poller of streamArn (the stream of table tableName) for src, invoking fn.
// dlqURL is the on-failure queue's URL ("" for none: records given up on are then dropped, as
// Lambda drops them). now is the clock for record ages and the on-failure record's timestamp.
// A filter pattern using a feature the poller does not implement is an error, never ignored.
func NewPoller(cfg aws.Config, src StreamSource, tableName, streamArn, dlqURL string, fn lambda.Handler, log zerolog.Logger, now func() time.Time) (*Poller, error) {
	if src.BatchSize <= 0 {
		return nil, fmt.Errorf("%s stream event: BatchSize %d", src.Function, src.BatchSize)
	}
	p := &Poller{
		src:       src,
		streamArn: streamArn,
		dlqURL:    dlqURL,
		streams:   dynamodbstreams.NewFromConfig(cfg),
		queue:     sqs.NewFromConfig(cfg),
		fn:        fn,
		log:       log.With().Str("component", "poller").Str("function", src.Function).Str("table", tableName).Logger(),
		now:       now,
		shards:    map[string]*shardPosition{},
	}
	region, account := arnRegion(streamArn), arnAccount(streamArn)
	p.functionArn = "arn:" + Partition + ":lambda:" + region + ":" + account + ":function:" + src.Function
	for i, s := range src.FilterPatterns {
		f, err := compilePattern(s)
		if err != nil {
			return nil, fmt.Errorf("%s stream event: filter %d: %w", src.Function, i, err)
		}
		p.filters = append(p.filters, f)
	}
	return p, nil
}

// StreamPoller builds the poller of a template's stream event: the stream is its table's latest
// (names: LogicalId → Ref value, as CreateResources answers), the on-failure queue the Ref of its
// destination.
func StreamPoller(ctx context.Context, cfg aws.Config, names map[string]string, src StreamSource, fn lambda.Handler, log zerolog.Logger, now func() time.Time) (*Poller, error) {
	table := names[src.Table]
	d, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, fmt.Errorf("%s: describe table %s: %w", src.Function, table, err)
	}
	streamArn := aws.ToString(d.Table.LatestStreamArn)
	if streamArn == "" {
		return nil, fmt.Errorf("%s: table %s has no stream", src.Function, table)
	}
	var dlqURL string
	if src.OnFailureDestination != "" {
		if dlqURL = names[src.OnFailureDestination]; dlqURL == "" {
			return nil, fmt.Errorf("%s: on-failure queue %s has no URL", src.Function, src.OnFailureDestination)
		}
	}
	return NewPoller(cfg, src, table, streamArn, dlqURL, fn, log, now)
}

// Run polls the stream until ctx ends, then returns nil. Errors reading the stream are logged
// and retried: the event source mapping keeps trying too.
func (p *Poller) Run(ctx context.Context) error {
	for {
		read, err := p.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Error().Err(err).Msg("reading the stream failed; trying again")
		}
		if err != nil || read == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(idlePoll):
			}
		}
	}
}

// Drain handles every record the stream holds now, then returns.
func (p *Poller) Drain(ctx context.Context) error {
	for {
		read, err := p.pass(ctx)
		if err != nil || read == 0 {
			return err
		}
	}
}

// pass reads one page of every shard that is ready and handles it. It returns how many records
// it read.
func (p *Poller) pass(ctx context.Context) (read int, err error) {
	shards, err := p.describeShards(ctx, p.streamArn)
	if err != nil {
		return 0, err
	}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		pos := p.shards[id]
		if pos == nil {
			pos = &shardPosition{}
			p.shards[id] = pos
		}
		// A child shard holds later changes of the same keys: its parent is read to the end first.
		if parent, ok := p.shards[aws.ToString(sh.ParentShardId)]; pos.closed || ok && !parent.closed {
			continue
		}
		n, err := p.readShard(ctx, id, pos)
		read += n
		if err != nil {
			return read, fmt.Errorf("shard %s: %w", id, err)
		}
	}
	return read, nil
}

// readShard reads one page of a shard and handles its records. After an error the shard is read
// again from the record after the last page handled: nothing is skipped, and what is delivered
// twice the function handles idempotently, as it must in Lambda.
func (p *Poller) readShard(ctx context.Context, shardID string, pos *shardPosition) (int, error) {
	if pos.iterator == "" {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.streamArn), ShardId: aws.String(shardID), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if pos.lastSeq != "" {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(pos.lastSeq)
		}
		it, err := p.streams.GetShardIterator(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("get shard iterator: %w", err)
		}
		pos.iterator = aws.ToString(it.ShardIterator)
	}
	out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(pos.iterator), Limit: aws.Int32(recordsPerRead)})
	if err != nil {
		pos.iterator = ""
		return 0, fmt.Errorf("get records: %w", err)
	}
	recs, err := p.convert(out.Records, p.streamArn)
	if err == nil {
		_, err = p.handle(ctx, shardID, p.streamArn, recs)
	}
	if err != nil {
		pos.iterator = ""
		return len(out.Records), err
	}
	if len(recs) > 0 {
		pos.lastSeq = recs[len(recs)-1].seq
	}
	pos.iterator = aws.ToString(out.NextShardIterator)
	pos.closed = out.NextShardIterator == nil
	if len(out.Records) == 0 {
		// moto undoes a cancelled TransactWriteItems by restoring a copy of the table, whose stream
		// is new: an iterator held across it sees nothing again. Ask for a fresh one after the last
		// record handled (DynamoDB's iterators never go stale this way; the extra call is cheap).
		pos.iterator = ""
	}
	return len(out.Records), nil
}

// describeShards lists every shard of a stream, parents before children as DescribeStream lists them.
func (p *Poller) describeShards(ctx context.Context, streamArn string) ([]types.Shard, error) {
	var shards []types.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(streamArn)}
	for {
		out, err := p.streams.DescribeStream(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return shards, nil
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// record is one stream record as Lambda hands it to the function, plus what the poller needs.
type record struct {
	event   events.DynamoDBEventRecord
	seq     string
	arrival time.Time
}

// convert turns the Streams API's records into the records of a DynamoDBEvent.
func (p *Poller) convert(in []types.Record, streamArn string) ([]record, error) {
	out := make([]record, 0, len(in))
	for _, r := range in {
		d := r.Dynamodb
		if d == nil || d.SequenceNumber == nil {
			return nil, fmt.Errorf("stream record %s has no sequence number", aws.ToString(r.EventID))
		}
		rec := record{seq: *d.SequenceNumber, event: events.DynamoDBEventRecord{
			// moto writes us-east-1 and version 1.0 whatever the stream; Lambda sends the
			// stream's region and DynamoDB Streams' current record version.
			AWSRegion:      arnRegion(streamArn),
			EventID:        aws.ToString(r.EventID),
			EventName:      string(r.EventName),
			EventSource:    "aws:dynamodb",
			EventVersion:   "1.1",
			EventSourceArn: streamArn,
			Change: events.DynamoDBStreamRecord{
				SequenceNumber: *d.SequenceNumber,
				SizeBytes:      aws.ToInt64(d.SizeBytes),
				StreamViewType: string(d.StreamViewType),
			},
		}}
		if t := d.ApproximateCreationDateTime; t != nil {
			// Whole seconds, as Lambda sends them (an integer in the JSON).
			rec.arrival = t.Truncate(time.Second)
			rec.event.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: rec.arrival}
		}
		if u := r.UserIdentity; u != nil {
			rec.event.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
		}
		var err error
		for _, img := range []struct {
			from map[string]types.AttributeValue
			to   *map[string]events.DynamoDBAttributeValue
		}{{d.Keys, &rec.event.Change.Keys}, {d.NewImage, &rec.event.Change.NewImage}, {d.OldImage, &rec.event.Change.OldImage}} {
			if *img.to, err = attributes(img.from); err != nil {
				return nil, fmt.Errorf("stream record %s: %w", rec.seq, err)
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// attributes converts an item image; nil stays nil so that absent images stay absent in the JSON.
func attributes(in map[string]types.AttributeValue) (map[string]events.DynamoDBAttributeValue, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(in))
	for k, v := range in {
		a, err := attribute(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

// attribute converts one value. The events type writes binary values in base64, as Lambda does.
func attribute(v types.AttributeValue) (events.DynamoDBAttributeValue, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value), nil
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value), nil
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute(), nil
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value), nil
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value), nil
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value), nil
	case *types.AttributeValueMemberL:
		list := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			a, err := attribute(e)
			if err != nil {
				return a, err
			}
			list[i] = a
		}
		return events.NewListAttribute(list), nil
	case *types.AttributeValueMemberM:
		m, err := attributes(v.Value)
		if err != nil {
			return events.DynamoDBAttributeValue{}, err
		}
		return events.NewMapAttribute(m), nil
	}
	return events.DynamoDBAttributeValue{}, fmt.Errorf("unknown attribute value type %T", v)
}

// handle filters records and delivers them in batches of BatchSize.
func (p *Poller) handle(ctx context.Context, shardID, streamArn string, recs []record) (Stats, error) {
	var st Stats
	kept := make([]record, 0, len(recs))
	for _, r := range recs {
		ok, err := p.matches(r)
		if err != nil {
			return st, err
		}
		if ok {
			kept = append(kept, r)
		} else {
			st.Filtered++
		}
	}
	for batch := range slices.Chunk(kept, p.src.BatchSize) {
		s, err := p.deliver(ctx, shardID, streamArn, batch)
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// matches says whether a record passes the filter criteria: any pattern matching is enough.
func (p *Poller) matches(r record) (bool, error) {
	if len(p.filters) == 0 {
		return true, nil
	}
	b, err := json.Marshal(r.event)
	if err != nil {
		return false, err
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, err
	}
	return slices.ContainsFunc(p.filters, func(f map[string]any) bool { return matchPattern(f, doc) }), nil
}

// pending is a run of records still to deliver.
type pending struct {
	recs    []record
	retries int // retries spent on these records; bisecting spends none, as in Lambda
	invokes int
}

// outcome is what one invocation did.
type outcome struct {
	done      int    // leading records processed: len(batch) is success
	whole     bool   // the whole batch failed (an error, or a failure list Lambda cannot use)
	funcError string // "Unhandled" when the function returned an error
	requestID string
}

// deliver invokes the function with a batch until every record is processed or given up on, as
// Lambda does: a failure naming a record means the records before it are done and the batch is
// retried from it; a whole-batch failure is bisected when BisectBatchOnFunctionError is set, and
// retried otherwise; after MaximumRetryAttempts retries, or when records are older than
// MaximumRecordAgeInSeconds, the records go to the on-failure destination and the poller moves on.
// Only a failure to reach the destination (or ctx ending) is returned as an error.
func (p *Poller) deliver(ctx context.Context, shardID, streamArn string, batch []record) (Stats, error) {
	var st Stats
	queue := []pending{{recs: batch}}
	var last outcome
	for len(queue) > 0 {
		cur := &queue[0]
		if n := p.expired(cur.recs); n > 0 {
			if err := p.discard(ctx, shardID, streamArn, cur.recs[:n], "RecordAgeExceeded", cur.invokes, last); err != nil {
				return st, err
			}
			st.Failed += n
			if cur.recs = cur.recs[n:]; len(cur.recs) == 0 {
				queue = queue[1:]
				continue
			}
		}
		last = p.invoke(ctx, cur.recs)
		cur.invokes++
		if err := ctx.Err(); err != nil {
			return st, err
		}
		log := p.log.Info().Str("shard", shardID).Int("records", len(cur.recs)).
			Str("first_seq", cur.recs[0].seq).Str("last_seq", cur.recs[len(cur.recs)-1].seq).
			Int("retries", cur.retries).Str("request_id", last.requestID)
		st.Processed += last.done
		switch {
		case last.done == len(cur.recs):
			log.Str("outcome", "ok").Msg("batch")
			queue = queue[1:]
			continue
		case last.whole && p.src.BisectBatchOnFunctionError && len(cur.recs) > 1:
			log.Str("outcome", "failed, bisected").Msg("batch")
			half := len(cur.recs) / 2
			queue = append([]pending{{recs: cur.recs[:half], retries: cur.retries}, {recs: cur.recs[half:], retries: cur.retries}}, queue[1:]...)
			continue
		case last.whole:
			log.Str("outcome", "failed").Msg("batch")
		default:
			log.Str("outcome", "partial").Int("done", last.done).Msg("batch")
			cur.recs = cur.recs[last.done:]
		}
		if limit := p.src.MaximumRetryAttempts; limit >= 0 && cur.retries >= limit {
			if err := p.discard(ctx, shardID, streamArn, cur.recs, "RetryAttemptsExhausted", cur.invokes, last); err != nil {
				return st, err
			}
			st.Failed += len(cur.recs)
			queue = queue[1:]
			continue
		}
		cur.retries++
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(min(firstRetryDelay<<min(cur.retries-1, 4), maxRetryDelay)): // no shift overflow with unlimited retries
		}
	}
	return st, nil
}

// expired counts the leading records older than MaximumRecordAgeInSeconds (records are in order).
func (p *Poller) expired(recs []record) int {
	age := p.src.MaximumRecordAgeInSeconds
	if age <= 0 {
		return 0
	}
	limit := p.now().Add(-time.Duration(age) * time.Second)
	n := 0
	for n < len(recs) && !recs[n].arrival.IsZero() && recs[n].arrival.Before(limit) {
		n++
	}
	return n
}

// invoke runs the function once with a batch. A panic is the function's error, as in Lambda.
func (p *Poller) invoke(ctx context.Context, recs []record) (o outcome) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = r.event
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return outcome{whole: true, funcError: "Unhandled"}
	}
	o.requestID = newUUID()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: o.requestID, InvokedFunctionArn: p.functionArn})
	defer func() {
		if v := recover(); v != nil {
			p.log.Error().Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).Msg("function panicked")
			o = outcome{whole: true, funcError: "Unhandled", requestID: o.requestID}
		}
	}()
	out, err := p.fn.Invoke(ctx, payload)
	if err != nil {
		p.log.Warn().Err(err).Str("request_id", o.requestID).Msg("function returned an error")
		return outcome{whole: true, funcError: "Unhandled", requestID: o.requestID}
	}
	o.done, o.whole = p.response(out, recs)
	return o
}

// response reads the function's answer as Lambda does. Without ReportBatchItemFailures any
// answer is success. With it: no answer, null, no or an empty batchItemFailures list is success;
// an itemIdentifier that is missing, null, empty or names no record of the batch fails the
// whole batch; otherwise the lowest failed record is where the batch is retried from.
func (p *Poller) response(out []byte, recs []record) (done int, whole bool) {
	out = bytes.TrimSpace(out)
	if !p.src.ReportBatchItemFailures || len(out) == 0 || string(out) == "null" {
		return len(recs), false
	}
	// A map, not a struct: encoding/json would accept a wrongly cased key, Lambda does not.
	var resp map[string]any
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, true
	}
	failures, ok := resp["batchItemFailures"].([]any)
	if !ok {
		if resp["batchItemFailures"] == nil {
			return len(recs), false
		}
		return 0, true
	}
	done = len(recs)
	for _, f := range failures {
		id, _ := mapping(f)["itemIdentifier"].(string)
		i := slices.IndexFunc(recs, func(r record) bool { return r.seq == id })
		if id == "" || i < 0 {
			return 0, true
		}
		done = min(done, i)
	}
	return done, false
}

// OnFailureRecord is the message Lambda sends to a DynamoDB event source's on-failure destination:
// metadata naming the records, never the records themselves (they stay in the stream).
type OnFailureRecord struct {
	RequestContext     OnFailureRequestContext  `json:"requestContext"`
	ResponseContext    OnFailureResponseContext `json:"responseContext"`
	Version            string                   `json:"version"`
	Timestamp          string                   `json:"timestamp"`
	DDBStreamBatchInfo *DDBStreamBatchInfo      `json:"DDBStreamBatchInfo"`
}

type OnFailureRequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"` // RetryAttemptsExhausted or RecordAgeExceeded
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type OnFailureResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// DDBStreamBatchInfo names the records given up on: a range of one shard.
type DDBStreamBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamArn                       string `json:"streamArn"`
}

// discard gives up on records: their on-failure record goes to the destination, if there is one.
func (p *Poller) discard(ctx context.Context, shardID, streamArn string, recs []record, condition string, invokes int, last outcome) error {
	first, end := recs[0], recs[len(recs)-1]
	p.log.Warn().Str("shard", shardID).Int("records", len(recs)).Str("first_seq", first.seq).Str("last_seq", end.seq).
		Str("outcome", "given up: "+condition).Bool("to_destination", p.dlqURL != "").Msg("batch")
	if p.dlqURL == "" {
		return nil
	}
	msg := OnFailureRecord{
		RequestContext: OnFailureRequestContext{
			RequestID:              last.requestID,
			FunctionArn:            p.functionArn,
			Condition:              condition,
			ApproximateInvokeCount: invokes,
		},
		ResponseContext: OnFailureResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: last.funcError},
		Version:         "1.0",
		Timestamp:       p.now().UTC().Format("2006-01-02T15:04:05.000Z"),
		DDBStreamBatchInfo: &DDBStreamBatchInfo{
			ShardID:                         shardID,
			StartSequenceNumber:             first.seq,
			EndSequenceNumber:               end.seq,
			ApproximateArrivalOfFirstRecord: first.arrival.UTC().Format(time.RFC3339),
			ApproximateArrivalOfLastRecord:  end.arrival.UTC().Format(time.RFC3339),
			BatchSize:                       len(recs),
			StreamArn:                       streamArn,
		},
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := p.queue.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.dlqURL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("send the on-failure record to %s: %w", p.dlqURL, err)
	}
	return nil
}

// ErrRecordsGone says the stream no longer holds records an on-failure record names: the stream,
// the shard or the sequence numbers were trimmed (DynamoDB keeps stream records 24 hours).
var ErrRecordsGone = errors.New("the stream no longer holds these records")

// Redeliver re-reads from the stream the records an on-failure record names and delivers them as
// the poller does (same filters, batching and retries). It returns ErrRecordsGone when the stream
// no longer has them.
func (p *Poller) Redeliver(ctx context.Context, info DDBStreamBatchInfo) (Stats, error) {
	shards, err := p.describeShards(ctx, info.StreamArn)
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return Stats{}, ErrRecordsGone
	}
	if err != nil {
		return Stats{}, err
	}
	// Asked for an unknown shard, moto fails with a 500 rather than ResourceNotFoundException.
	if !slices.ContainsFunc(shards, func(s types.Shard) bool { return aws.ToString(s.ShardId) == info.ShardID }) {
		return Stats{}, ErrRecordsGone
	}
	it, err := p.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(info.StreamArn), ShardId: aws.String(info.ShardID),
		ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(info.StartSequenceNumber),
	})
	var trimmed *types.TrimmedDataAccessException
	if errors.As(err, &trimmed) || errors.As(err, &notFound) {
		return Stats{}, ErrRecordsGone
	}
	if err != nil {
		return Stats{}, fmt.Errorf("get shard iterator: %w", err)
	}
	var named []record
	for iterator := it.ShardIterator; iterator != nil; {
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(recordsPerRead)})
		if errors.As(err, &trimmed) {
			return Stats{}, ErrRecordsGone
		}
		if err != nil {
			return Stats{}, fmt.Errorf("get records: %w", err)
		}
		recs, err := p.convert(out.Records, info.StreamArn)
		if err != nil {
			return Stats{}, err
		}
		end := slices.IndexFunc(recs, func(r record) bool { return compareSeq(r.seq, info.EndSequenceNumber) > 0 })
		if end >= 0 {
			named = append(named, recs[:end]...)
			break
		}
		named = append(named, recs...)
		if len(out.Records) == 0 || (len(recs) > 0 && recs[len(recs)-1].seq == info.EndSequenceNumber) {
			break
		}
		iterator = out.NextShardIterator
	}
	// The first record must be the one named: otherwise the start of the range was trimmed.
	if len(named) == 0 || named[0].seq != info.StartSequenceNumber {
		return Stats{}, ErrRecordsGone
	}
	return p.handle(ctx, info.ShardID, info.StreamArn, named)
}

// RedriveSummary counts what Redrive did.
type RedriveSummary struct {
	Messages  int // on-failure records read
	Processed int // records the function processed again
	Failures  int // messages left in the queue because something failed
}

// Redrive reads every on-failure record in queueURL and redelivers the records it names with p
// (built without a destination, so that records failing again are counted, not queued anew). When
// the stream no longer holds them, sweep runs instead (once per call): it processes every version
// whose fan-out is pending; sweep must not be nil. A message is deleted only once its records are
// processed; one line per message goes to out. Messages that fail are made visible again at the
// end, for the next redrive.
func Redrive(ctx context.Context, cfg aws.Config, queueURL string, p *Poller, sweep func(context.Context) error, out io.Writer) (RedriveSummary, error) {
	q := sqs.NewFromConfig(cfg)
	var sum RedriveSummary
	var swept, sweepFailed bool
	var failed []string // receipt handles of messages to show again at once for the next redrive
	for {
		// The visibility timeout hides a message received in this run until it ends, so each is
		// handled once per run.
		got, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 300})
		if err != nil {
			return sum, fmt.Errorf("receive from %s: %w", queueURL, err)
		}
		if len(got.Messages) == 0 {
			break
		}
		for _, m := range got.Messages {
			sum.Messages++
			id := aws.ToString(m.MessageId)
			var rec OnFailureRecord
			err := json.Unmarshal([]byte(aws.ToString(m.Body)), &rec)
			if err == nil && rec.DDBStreamBatchInfo == nil {
				err = errors.New("no DDBStreamBatchInfo")
			}
			if err != nil {
				fmt.Fprintf(out, "message %s: not a DynamoDB on-failure record (%v): kept\n", id, err)
				sum.Failures++
				failed = append(failed, aws.ToString(m.ReceiptHandle))
				continue
			}
			info := *rec.DDBStreamBatchInfo
			what := fmt.Sprintf("message %s: shard %s seq %s..%s (%d records)", id, info.ShardID, info.StartSequenceNumber, info.EndSequenceNumber, info.BatchSize)
			st, err := p.Redeliver(ctx, info)
			switch {
			case errors.Is(err, ErrRecordsGone):
				if !swept {
					swept, sweepFailed = true, sweep(ctx) != nil
				}
				if sweepFailed {
					fmt.Fprintf(out, "%s: no longer in the stream, the sweep failed: kept\n", what)
					sum.Failures++
					failed = append(failed, aws.ToString(m.ReceiptHandle))
					continue
				}
				fmt.Fprintf(out, "%s: no longer in the stream, pending versions swept\n", what)
			case err != nil:
				fmt.Fprintf(out, "%s: %v: kept\n", what, err)
				sum.Failures++
				failed = append(failed, aws.ToString(m.ReceiptHandle))
				continue
			case st.Failed > 0:
				sum.Processed += st.Processed
				fmt.Fprintf(out, "%s: %d processed, %d failed again: kept\n", what, st.Processed, st.Failed)
				sum.Failures++
				failed = append(failed, aws.ToString(m.ReceiptHandle))
				continue
			default:
				sum.Processed += st.Processed
				fmt.Fprintf(out, "%s: %d processed, %d filtered out\n", what, st.Processed, st.Filtered)
			}
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return sum, fmt.Errorf("delete message %s: %w", id, err)
			}
		}
	}
	for _, h := range failed {
		_, _ = q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
	}
	return sum, nil
}

// compilePattern reads a Lambda event-filter pattern. Only what the template uses is supported:
// objects nesting objects, ending in arrays of exact values (strings, numbers, booleans, null).
// Anything else (prefix, anything-but, numeric, exists…) is an error rather than a pattern that
// silently matches differently from Lambda.
func compilePattern(s string) (map[string]any, error) {
	var p any
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("pattern is not JSON: %w", err)
	}
	m, ok := p.(map[string]any)
	if !ok {
		return nil, errors.New("pattern is not a JSON object")
	}
	return m, checkPattern(m, "")
}

func checkPattern(m map[string]any, path string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		at := strings.TrimPrefix(path+"."+k, ".")
		switch v := m[k].(type) {
		case map[string]any:
			if err := checkPattern(v, at); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("%s: an empty array matches nothing", at)
			}
			for _, e := range v {
				switch e.(type) {
				case string, float64, bool, nil:
				default:
					return fmt.Errorf("%s: %v is a filter rule the local poller does not implement (only exact values)", at, e)
				}
			}
		default:
			return fmt.Errorf("%s: want an object or an array of values, got %v", at, v)
		}
	}
	return nil
}

// matchPattern applies a compiled pattern to a record decoded from JSON: every key of the pattern
// must be in the record; an object matches recursively, an array when the record's value (or,
// for an array value, one of its elements) equals one of its values.
func matchPattern(pattern map[string]any, doc any) bool {
	obj, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	for k, want := range pattern {
		got, ok := obj[k]
		if !ok {
			return false
		}
		switch want := want.(type) {
		case map[string]any:
			if !matchPattern(want, got) {
				return false
			}
		case []any:
			if arr, isArr := got.([]any); isArr {
				if !slices.ContainsFunc(arr, func(g any) bool { return exactMatch(want, g) }) {
					return false
				}
			} else if !exactMatch(want, got) {
				return false
			}
		}
	}
	return true
}

// exactMatch compares scalars only: == on a decoded object or array would panic.
func exactMatch(values []any, got any) bool {
	switch got.(type) {
	case string, float64, bool, nil:
		return slices.Contains(values, got)
	}
	return false
}

// MatchFilter says whether a record's JSON (one element of a DynamoDBEvent's Records) matches a
// filter pattern, as the poller decides it.
func MatchFilter(pattern string, recordJSON []byte) (bool, error) {
	p, err := compilePattern(pattern)
	if err != nil {
		return false, err
	}
	var doc any
	if err := json.Unmarshal(recordJSON, &doc); err != nil {
		return false, err
	}
	return matchPattern(p, doc), nil
}

// compareSeq orders sequence numbers: decimal strings of up to 40 digits, compared as numbers.
func compareSeq(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// arnRegion and arnAccount read the fourth and fifth fields of an ARN.
func arnRegion(arn string) string  { return arnField(arn, 3) }
func arnAccount(arn string) string { return arnField(arn, 4) }

func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[i]
}

// newUUID draws a random (version 4) UUID, the shape of Lambda's request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
