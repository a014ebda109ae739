package dynamo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/breach"
)

// FanoutState is what a version's fan-out marker says.
type FanoutState struct {
	Alerted   bool      // the marker has alerted_at: the alert was published
	AlertedAt time.Time // when, if Alerted
	Marker    bool      // the marker exists at all (it is written with the version)
}

// scanSegments is how many parallel Scan segments VersionsReceived runs.
const scanSegments = 4

// batchGetMax is BatchGetItem's limit of keys per call.
const batchGetMax = 100

// VersionsReceived calls fn for every report version received in [from, to), with the state of
// its fan-out marker. fn is called from one goroutine at a time, in no particular order; an error
// from fn stops the scan and is returned.
//
// It is a Scan of the whole table, filtered: every item is read and paid for, whatever the
// window. That is acceptable for an operator's reconcile, run now and then, over a table of
// thousands of versions. At scale a sparse index keyed by the day received (received_day
// YYYY-MM-DD, sort key received_at, on report_version items only) would turn it into one Query
// per day of the window.
func (s *Store) VersionsReceived(ctx context.Context, from, to time.Time, fn func(breach.Version, FanoutState) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex // serialises fn
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for segment := range scanSegments {
		wg.Go(func() {
			err := s.scanSegment(ctx, int32(segment), from, to, func(v breach.Version, f FanoutState) error {
				mu.Lock()
				defer mu.Unlock()
				if err := context.Cause(ctx); err != nil {
					return err
				}
				return fn(v, f)
			})
			if err != nil {
				// Recorded before cancel: the segments it stops fail only after.
				once.Do(func() { first = err })
				cancel(err)
			}
		})
	}
	wg.Wait()
	return first
}

// scanSegment scans one segment page by page, reading each page's markers in batches. received_at
// is written sortable (see sortable), so the filter selects exactly [from, to).
func (s *Store) scanSegment(ctx context.Context, segment int32, from, to time.Time, fn func(breach.Version, FanoutState) error) error {
	pages := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName: aws.String(s.table), Segment: aws.Int32(segment), TotalSegments: aws.Int32(scanSegments),
		FilterExpression: aws.String("item_type = :t AND received_at >= :from AND received_at < :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t":    &types.AttributeValueMemberS{Value: itemReportVersion},
			":from": &types.AttributeValueMemberS{Value: sortable(from)},
			":to":   &types.AttributeValueMemberS{Value: sortable(to)},
		},
		// Eventually consistent: a version written a moment ago and missed is merely not checked.
		// The markers, whose staleness would be a false alarm, are read consistently.
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan report versions: %w", err)
		}
		var versions []breach.Version
		for _, item := range page.Items {
			v, err := VersionFromItem(item)
			if err != nil {
				return err
			}
			versions = append(versions, v)
		}
		for start := 0; start < len(versions); start += batchGetMax {
			batch := versions[start:min(start+batchGetMax, len(versions))]
			markers, err := s.markers(ctx, batch)
			if err != nil {
				return err
			}
			for _, v := range batch {
				if err := fn(v, markers[fanoutRef(v.ReportID, v.Number)]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func fanoutRef(id breach.ReportID, n int) string { return "REPORT#" + string(id) + "/" + fanoutSK(n) }

// markers reads the fan-out markers of up to 100 versions, keyed by fanoutRef; a version without
// one has none in the map. Unprocessed keys (throttling, the 16 MB response limit) are asked for
// again after a growing pause.
func (s *Store) markers(ctx context.Context, versions []breach.Version) (map[string]FanoutState, error) {
	keys := make([]map[string]types.AttributeValue, len(versions))
	for i, v := range versions {
		keys[i] = reportKey(v.ReportID, fanoutSK(v.Number))
	}
	states := map[string]FanoutState{}
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return nil, fmt.Errorf("read fan-out markers: %d keys still unprocessed", len(keys))
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(25<<attempt) * time.Millisecond):
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.table: {Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("pk, sk, alerted_at")},
		}})
		if err != nil {
			return nil, fmt.Errorf("read fan-out markers: %w", err)
		}
		for _, item := range out.Responses[s.table] {
			pk, _ := item["pk"].(*types.AttributeValueMemberS)
			sk, _ := item["sk"].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				return nil, fmt.Errorf("fan-out marker without its key")
			}
			st := FanoutState{Marker: true}
			if at, ok := item["alerted_at"].(*types.AttributeValueMemberS); ok {
				st.Alerted = true
				if st.AlertedAt, err = time.Parse(time.RFC3339Nano, at.Value); err != nil {
					return nil, fmt.Errorf("fan-out marker %s %s: alerted_at: %w", pk.Value, sk.Value, err)
				}
			}
			states[pk.Value+"/"+sk.Value] = st
		}
		keys = out.UnprocessedKeys[s.table].Keys
	}
	return states, nil
}
