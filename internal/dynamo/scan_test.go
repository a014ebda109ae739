package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// saveAt stores version n of id received at at, with its pending fan-out marker.
func saveAt(t *testing.T, s *dynamo.Store, id breach.ReportID, n int, at time.Time) {
	t.Helper()
	doc := fmt.Appendf(nil, `{"id":%q,"version":%d}`, id, n)
	v := breach.Version{OrgID: "org", ReportID: id, Number: n, Stage: breach.StageInitial, ReceivedAt: at,
		Severity: breach.Low, Document: doc, SHA256: "00"}
	rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: "org", Route: breach.RouteSubmit, Key: fmt.Sprintf("%s-%d", id, n)},
		RequestSHA256: "aa", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
	if prior, err := s.SaveVersion(context.Background(), v, headOf(v), rec, at); err != nil || prior != nil {
		t.Fatalf("save %s v%d: %v, %v", id, n, prior, err)
	}
}

type seen struct {
	state dynamo.FanoutState
	at    time.Time
}

func received(t *testing.T, s *dynamo.Store, from, to time.Time) map[string]seen {
	t.Helper()
	got := map[string]seen{}
	err := s.VersionsReceived(context.Background(), from, to, func(v breach.Version, f dynamo.FanoutState) error {
		k := fmt.Sprintf("%s v%d", v.ReportID, v.Number)
		if _, dup := got[k]; dup {
			t.Errorf("%s seen twice", k)
		}
		got[k] = seen{f, v.ReceivedAt}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestVersionsReceived: exactly the versions received in [from, to), fractions of a second at
// both edges included, each with its marker's state; other items are left out.
func TestVersionsReceived(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	from := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	const edges = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAED6")
	at := []struct {
		t  time.Time
		in bool
	}{
		{from.Add(-time.Nanosecond), false},      // "…11:59:59.999999999Z"
		{from.Add(-time.Second), false},          // "…11:59:59Z"
		{from, true},                             // "…12:00:00Z"
		{from.Add(500 * time.Millisecond), true}, // "…12:00:00.5Z", sorts before "…12:00:00Z"
		{to.Add(-time.Nanosecond), true},         // "…12:59:59.999999999Z"
		{to, false},                              // "…13:00:00Z"
		{to.Add(500 * time.Millisecond), false},  // "…13:00:00.5Z", sorts before "…13:00:00Z"
		{to.Add(1500 * time.Millisecond), false}, // "…13:00:01.5Z"
	}
	want := map[string]bool{}
	for i, a := range at {
		saveAt(t, s, edges, i+1, a.t)
		if a.in {
			want[fmt.Sprintf("%s v%d", edges, i+1)] = true
		}
	}
	// A report with more versions than one BatchGetItem takes: one partition key, so one
	// segment and (small items) one page. Written raw, in batches: SaveVersion and MarkAlerted
	// one by one take seconds on moto.
	const many = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAMNY")
	alertedAt := from.Add(2 * time.Hour).Add(123 * time.Millisecond)
	var writes []types.WriteRequest
	for n := 1; n <= 230; n++ {
		want[fmt.Sprintf("%s v%d", many, n)] = true
		rcv := from.Add(time.Duration(n) * time.Second).Format(time.RFC3339Nano)
		item := func(sk, itemType string, extra ...string) types.WriteRequest {
			it := map[string]types.AttributeValue{
				"pk": str("REPORT#" + string(many)), "sk": str(sk), "item_type": str(itemType), "org_id": str("org"),
				"report_id": str(string(many)), "version": &types.AttributeValueMemberN{Value: fmt.Sprint(n)},
				"received_at": str(rcv),
			}
			for i := 0; i+1 < len(extra); i += 2 {
				it[extra[i]] = str(extra[i+1])
			}
			return types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		}
		v := item(fmt.Sprintf("V#%06d", n), "report_version", "stage", "initial", "severity", "low", "sha256", "00")
		v.PutRequest.Item["document"] = &types.AttributeValueMemberB{Value: []byte(`{}`)}
		writes = append(writes, v)
		switch {
		case n == 7: // its marker is gone
		case n%2 == 0:
			writes = append(writes, item(fmt.Sprintf("FANOUT#%06d", n), "fanout", "alerted_at", alertedAt.Format(time.RFC3339Nano)))
		default:
			writes = append(writes, item(fmt.Sprintf("FANOUT#%06d", n), "fanout", "fanout_pending", "1"))
		}
	}
	for len(writes) > 0 {
		batch := writes[:min(25, len(writes))]
		writes = writes[len(batch):]
		out, err := raw.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{raw.name: batch}})
		if err != nil || len(out.UnprocessedItems) > 0 {
			t.Fatalf("batch write: %v (%d unprocessed)", err, len(out.UnprocessedItems))
		}
	}

	got := received(t, s, from, to)
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	for k, g := range got {
		if !want[k] {
			t.Errorf("%s (received %s) is outside [%s, %s)", k, g.at.Format(time.RFC3339Nano), from, to)
		}
	}
	for n := 1; n <= 230; n++ {
		g := got[fmt.Sprintf("%s v%d", many, n)]
		wantState := dynamo.FanoutState{Marker: true}
		switch {
		case n == 7:
			wantState = dynamo.FanoutState{}
		case n%2 == 0:
			wantState = dynamo.FanoutState{Marker: true, Alerted: true, AlertedAt: alertedAt}
		}
		if g.state != wantState {
			t.Errorf("%s v%d: state %+v, want %+v", many, n, g.state, wantState)
		}
	}

	if got := received(t, s, to, to.Add(time.Hour)); len(got) != 3 {
		t.Errorf("[to, to+1h): %d versions, want 3", len(got))
	}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func TestVersionsReceivedStopsOnError(t *testing.T) {
	s := newTable(t)
	from := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for i := range 8 {
		saveAt(t, s, breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAAAST%d", i)), 1, from)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.VersionsReceived(context.Background(), from, from.Add(time.Second), func(breach.Version, dynamo.FanoutState) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("VersionsReceived = %v after %d calls, want stop after 1", err, calls)
	}
}

// TestVersionsReceivedRetriesUnprocessedKeys: BatchGetItem may answer only part of a batch
// (throttling, its 16 MB limit); the rest is asked for again. moto never does, so a middleware
// sends only the first key of each batch and hands back the others as unprocessed.
func TestVersionsReceivedRetriesUnprocessedKeys(t *testing.T) {
	batches := 0
	partial := middleware.InitializeMiddlewareFunc("partial",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			get, ok := in.Parameters.(*dynamodb.BatchGetItemInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			batches++
			var rest map[string]types.KeysAndAttributes
			for table, ka := range get.RequestItems {
				if len(ka.Keys) > 1 {
					tail := ka
					tail.Keys = ka.Keys[1:]
					rest = map[string]types.KeysAndAttributes{table: tail}
					ka.Keys = ka.Keys[:1]
					get.RequestItems[table] = ka
				}
			}
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil && rest != nil {
				out.Result.(*dynamodb.BatchGetItemOutput).UnprocessedKeys = rest
			}
			return out, md, err
		})
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(partial, middleware.Before) })
	})
	createTable(t, db, "partial")
	s := dynamo.New(db, "partial")
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	const id = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAPRT")
	for n := 1; n <= 3; n++ {
		saveAt(t, s, id, n, at)
	}
	if err := s.MarkAlerted(context.Background(), id, 2, at); err != nil {
		t.Fatal(err)
	}
	got := received(t, s, at, at.Add(time.Second))
	if len(got) != 3 || batches != 3 {
		t.Fatalf("%d versions after %d BatchGetItem calls, want 3 after 3", len(got), batches)
	}
	for n := 1; n <= 3; n++ {
		if st := got[fmt.Sprintf("%s v%d", id, n)].state; !st.Marker || st.Alerted != (n == 2) {
			t.Errorf("v%d: %+v", n, st)
		}
	}
}
