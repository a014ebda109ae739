// Package stream is process-report's side of the DynamoDB stream: records to versions, a batch
// to the fan-out, failures to the partial-batch response Lambda retries from. It also holds the
// sweeper's entry point, which fans out the versions the stream did not deliver.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// Decoder turns a stored version item into a Version (dynamo.VersionFromItem): the table's
// adapter owns the item format, and is injected rather than imported.
type Decoder func(item map[string]types.AttributeValue) (breach.Version, error)

// Handler is process-report's Lambda handler.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// ProcessReport fans out a batch's records concurrently, then answers as Lambda expects: the first
// record, in stream order, that failed. Lambda retries from it, so the records before it are not
// processed again; those after it are, and find their fan-out done (the ledger) or redo it
// idempotently. Records of one batch are mostly of different reports; two versions of one report
// in a batch may have their alerts published in either order (each carries its version).
func ProcessReport(f *breach.Fanout, decode Decoder, log zerolog.Logger) Handler {
	return func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, rec := range ev.Records {
			if rec.Change.SequenceNumber == "" {
				// Without an id the response could not name the record: fail the whole batch.
				return events.DynamoDBEventResponse{}, errors.New("stream record without a sequence number")
			}
		}
		failed := make([]bool, len(ev.Records))
		var wg sync.WaitGroup
		for i, rec := range ev.Records {
			wg.Go(func() { failed[i] = !process(ctx, f, decode, rec, log) })
		}
		wg.Wait()
		if i := slices.Index(failed, true); i >= 0 {
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{
				{ItemIdentifier: ev.Records[i].Change.SequenceNumber}}}, nil
		}
		return events.DynamoDBEventResponse{}, nil
	}
}

// process fans out one record's version, logs the outcome and records its metrics (in the
// invocation's metrics.Record); it reports success.
func process(ctx context.Context, f *breach.Fanout, decode Decoder, rec events.DynamoDBEventRecord, log zerolog.Logger) bool {
	l := log.With().Str("sequence_number", rec.Change.SequenceNumber).Logger()
	m := metrics.FromContext(ctx)
	v, err := versionOf(rec, decode)
	if err == nil {
		l = l.With().Str("report_id", string(v.ReportID)).Int("version", v.Number).Str("org_id", string(v.OrgID)).Logger()
		var d breach.Done
		d, err = f.Process(ctx, v)
		recordDone(m, d)
	}
	if err != nil {
		m.FanoutRetry()
		l.Error().Err(err).Msg("fan-out failed; Lambda retries from the first failed record")
		return false
	}
	l.Info().Msg("fan-out done (archived and alerted, now or by an earlier delivery)")
	return true
}

// recordDone records the latencies of the steps one Process call did itself: a redelivered
// record, whose fan-out an earlier delivery did, records none.
func recordDone(m *metrics.Record, d breach.Done) {
	if !d.Archived.IsZero() {
		m.Archived(d.ReceivedAt, d.Archived)
	}
	if !d.Alerted.IsZero() {
		m.Alerted(d.ReceivedAt, d.Alerted)
	}
}

func versionOf(rec events.DynamoDBEventRecord, decode Decoder) (breach.Version, error) {
	item, err := attributes(rec.Change.NewImage)
	if err != nil {
		return breach.Version{}, err
	}
	return decode(item)
}

// attributes converts a stream image (aws-lambda-go's types) to the SDK's attribute values.
func attributes(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(image))
	for name, v := range image {
		av, err := attribute(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out[name] = av
	}
	return out, nil
}

func attribute(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		list := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			av, err := attribute(e)
			if err != nil {
				return nil, err
			}
			list[i] = av
		}
		return &types.AttributeValueMemberL{Value: list}, nil
	case events.DataTypeMap:
		m, err := attributes(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, errors.New("unknown attribute type " + strconv.Itoa(int(v.DataType())))
}

// SweepHandler is the sweeper's Lambda handler; its scheduled event carries nothing it needs.
type SweepHandler func(ctx context.Context, scheduled json.RawMessage) error

// sweepBatch bounds one run; the next run, minutes later, takes the rest.
const sweepBatch = 200

// Sweep fans out versions older than breach.SweepAge whose fan-out is still pending: an outage
// longer than the stream's 24 h retention still loses nothing. A failure is returned, so the
// function's Errors alarm fires, after every other pending version was tried.
func Sweep(f *breach.Fanout, log zerolog.Logger) SweepHandler {
	return func(ctx context.Context, _ json.RawMessage) error {
		tried, failed, err := f.Sweep(ctx, sweepBatch)
		m := metrics.FromContext(ctx)
		for _, d := range tried {
			recordDone(m, d)
		}
		for range failed {
			m.FanoutRetry()
		}
		ev := log.Info()
		if err != nil {
			ev = log.Error().Err(err)
		}
		ev.Int("processed", len(tried)-failed).Int("failed", failed).Msg("sweep")
		return err
	}
}
