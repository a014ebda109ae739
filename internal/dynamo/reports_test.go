package dynamo_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// headOf is the head version v writes when it is the report's only news: received and updated
// when v was, GDPR only.
func headOf(v breach.Version) breach.ReportHead {
	return breach.ReportHead{Org: v.OrgID, ID: v.ReportID, Latest: v.Number, Regimes: []breach.Regime{breach.GDPR},
		AwareAt: v.ReceivedAt.Add(-time.Hour), Covered: breach.Coverage{breach.StageGDPRNotification: v.ReceivedAt},
		ReceivedAt: v.ReceivedAt, UpdatedAt: v.ReceivedAt, Stage: v.Stage, Severity: v.Severity, Late: v.Late}
}

// saveReport stores version n of org's report id, with its head, under a key of its own.
func saveReport(t testing.TB, s *dynamo.Store, org breach.OrgID, id breach.ReportID, n int, at time.Time, doc []byte) breach.Version {
	t.Helper()
	v := breach.Version{OrgID: org, ReportID: id, Number: n, Stage: breach.StageInitial, ReceivedAt: at,
		Severity: breach.Low, Document: doc, SHA256: fmt.Sprintf("%064x", n)}
	if n > 1 {
		v.Stage = breach.StageSupplementary
	}
	rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: org, Route: breach.RouteSubmit, Key: fmt.Sprintf("%s-%d", id, n)},
		RequestSHA256: "aa", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
	if prior, err := s.SaveVersion(context.Background(), v, headOf(v), rec, at); err != nil || prior != nil {
		t.Fatalf("save %s v%d: %v, %v", id, n, prior, err)
	}
	return v
}

// TestHeadItem: what a head is in the table, attribute by attribute: the listing, the
// supplement's checks and IAM's leading keys all rest on it.
func TestHeadItem(t *testing.T) {
	ctx := context.Background()
	s, raw := newRawTable(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 500_000_000, time.UTC)
	const id = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAHD1")
	v := breach.Version{OrgID: "org-a", ReportID: id, Number: 1, Stage: breach.StageInitial, ReceivedAt: at,
		Severity: breach.High, Document: []byte(`{}`), SHA256: "00"}
	head := breach.ReportHead{Org: "org-a", ID: id, Latest: 1, Regimes: []breach.Regime{breach.NIS2, breach.GDPR},
		AwareAt:    time.Date(2026, 11, 21, 11, 0, 0, 0, time.FixedZone("CET", 3600)), // 10:00Z
		Covered:    breach.Coverage{breach.StageGDPRNotification: at, breach.StageNIS2EarlyWarning: at},
		ReceivedAt: at, UpdatedAt: at, Stage: breach.StageInitial, Severity: breach.High, Late: true}
	rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: "org-a", Route: breach.RouteSubmit, Key: "k"},
		RequestSHA256: "aa", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
	if _, err := s.SaveVersion(ctx, v, head, rec, at); err != nil {
		t.Fatal(err)
	}
	want := map[string]types.AttributeValue{
		"pk": str("REPORTS#org-a"), "sk": str("REPORT#" + string(id)), "item_type": str("report_head"),
		"org_id": str("org-a"), "report_id": str(string(id)), "latest": &types.AttributeValueMemberN{Value: "1"},
		"regimes":  &types.AttributeValueMemberL{Value: []types.AttributeValue{str("nis2"), str("gdpr")}},
		"aware_at": str("2026-11-21T10:00:00.000000000Z"),
		"covered": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"gdpr.notification": str("2026-11-21T12:00:00.500000000Z"), "nis2.early_warning": str("2026-11-21T12:00:00.500000000Z"),
		}},
		"received_at": str("2026-11-21T12:00:00.500000000Z"), "updated_at": str("2026-11-21T12:00:00.500000000Z"),
		"stage": str("initial"), "severity": str("high"), "late": &types.AttributeValueMemberBOOL{Value: true},
		// nis2.notification is open: the head is in the deadline watch's index until it is due.
		"deadline_watch": str("open"), "open_due": str("2026-11-24T10:00:00.000000000Z"),
	}
	got := raw.item(t, "REPORTS#org-a", "REPORT#"+string(id))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("head item:\n got %#v\nwant %#v", got, want)
	}
	// No fanout_pending: the head stays out of the pending index, and out of the stream filter
	// (item_type report_version) and reconcile's scan.
	if _, ok := got["fanout_pending"]; ok {
		t.Fatal("head carries fanout_pending")
	}
	if h, err := s.Head(ctx, "org-a", id); err != nil || !breachtest.SameHead(h, head) {
		t.Fatalf("Head = %+v, %v; want %+v", h, err, head)
	}

	// Empty regimes and coverage are stored empty, and read back so.
	const bare = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAHD2")
	v.ReportID, head.ID, head.Regimes, head.Covered = bare, bare, nil, nil
	rec.Key.Key = "k2"
	if _, err := s.SaveVersion(ctx, v, head, rec, at); err != nil {
		t.Fatal(err)
	}
	item := raw.item(t, "REPORTS#org-a", "REPORT#"+string(bare))
	if l, ok := item["regimes"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 0 {
		t.Fatalf("regimes of a bare head: %#v", item["regimes"])
	}
	if m, ok := item["covered"].(*types.AttributeValueMemberM); !ok || len(m.Value) != 0 {
		t.Fatalf("covered of a bare head: %#v", item["covered"])
	}
	if h, err := s.Head(ctx, "org-a", bare); err != nil || !breachtest.SameHead(h, head) {
		t.Fatalf("bare Head = %+v, %v", h, err)
	}

	// A head that does not describe the version is refused before anything is written.
	v.ReportID, head.ID, head.Latest = "01JAAAAAAAAAAAAAAAAAAAAHD3", "01JAAAAAAAAAAAAAAAAAAAAHD3", 2
	rec.Key.Key = "k3"
	if _, err := s.SaveVersion(ctx, v, head, rec, at); err == nil || breach.ErrorCode(err) == breach.VersionConflict {
		t.Fatalf("mismatched head: %v, want an internal error", err)
	}
	if item := raw.item(t, "REPORT#01JAAAAAAAAAAAAAAAAAAAAHD3", "V#000001"); item != nil {
		t.Fatal("version of a refused save was written")
	}
}

// TestConcurrentSupplements: supplements made from the same head race; the table keeps one and
// refuses the others with version_conflict: never two versions n, never a head that skips or
// loses one. Run on moto (the local config sends it one call at a time) and on DynamoDB Local,
// which takes the racers' transactions concurrently.
func TestConcurrentSupplements(t *testing.T) {
	for _, backend := range []struct {
		name   string
		config func(t *testing.T) aws.Config
	}{
		{"moto", func(t *testing.T) aws.Config { return localtest.Config(t, localtest.Moto(t)) }},
		{"DynamoDB Local", func(t *testing.T) aws.Config {
			ddb := localtest.DynamoDBLocal(t)
			return local.ConfigFor(local.Endpoints{AWS: ddb, DynamoDB: ddb})
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			db := dynamodb.NewFromConfig(backend.config(t))
			createTable(t, db, "race")
			s := dynamo.New(db, "race")
			for round := range 5 {
				id := breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAAARC%d", round))
				race(t, s, id)
			}
		})
	}
}

// race saves version 1 of id, then eight different version 2 at once.
func race(t *testing.T, s *dynamo.Store, id breach.ReportID) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	saveReport(t, s, "org", id, 1, at, []byte(`{"v":1}`))
	const racers = 8
	errs := make([]error, racers)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range racers {
		wg.Go(func() {
			v := breach.Version{OrgID: "org", ReportID: id, Number: 2, Stage: breach.StageSupplementary,
				ReceivedAt: at.Add(time.Duration(i+1) * time.Second), Severity: breach.Low,
				Document: fmt.Appendf(nil, `{"racer":%d}`, i), SHA256: fmt.Sprintf("%064x", i)}
			rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: "org", Route: breach.RouteSupplement, ReportID: id, Key: fmt.Sprint(i)},
				RequestSHA256: "aa", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
			start.Wait()
			_, errs[i] = s.SaveVersion(ctx, v, headOf(v), rec, v.ReceivedAt)
		})
	}
	start.Done()
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("%s: racers %d and %d both stored version 2", id, winner, i)
		case breach.ErrorCode(err) != breach.VersionConflict:
			t.Fatalf("%s: racer %d: %v, want version_conflict", id, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no racer stored version 2: %v", id, errs)
	}
	h, err := s.Head(ctx, "org", id)
	if err != nil || h.Latest != 2 || !h.UpdatedAt.Equal(at.Add(time.Duration(winner+1)*time.Second)) {
		t.Fatalf("%s: head %+v, %v; want racer %d's version 2", id, h, err, winner)
	}
	v2, err := s.Version(ctx, id, 2)
	if err != nil || string(v2.Document) != fmt.Sprintf(`{"racer":%d}`, winner) {
		t.Fatalf("%s: version 2 = %s, %v; want racer %d's", id, v2.Document, err, winner)
	}
	for i := range racers {
		rec, err := s.Idempotency(ctx, breach.IdempotencyKey{Org: "org", Route: breach.RouteSupplement, ReportID: id, Key: fmt.Sprint(i)}, at)
		if err != nil || (rec != nil) != (i == winner) {
			t.Fatalf("%s: racer %d's idempotency record: %+v, %v", id, i, rec, err)
		}
	}
}

// TestReportsPages: listings longer than one Query answers. 250 reports listed 100 at a time
// (the API's largest page), and again with every Query cut short at 7 items, as DynamoDB cuts a
// page at 1 MB read: the pages are the same, whole, and `more` is right at the end.
func TestReportsPages(t *testing.T) {
	ctx := context.Background()
	var short bool
	cut := middleware.InitializeMiddlewareFunc("cut", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if q, ok := in.Parameters.(*dynamodb.QueryInput); ok && short && aws.ToInt32(q.Limit) > 7 {
			q.Limit = aws.Int32(7)
		}
		return next.HandleInitialize(ctx, in)
	})
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(cut, middleware.Before) })
	})
	createTable(t, db, "pages")
	s, raw := dynamo.New(db, "pages"), rawTable{db: db, name: "pages"}
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

	// One head written by SaveVersion, the others copied from it in batches (250 transactions
	// take a long while on moto, which copies the table for each).
	const reports = 250
	id := func(i int) breach.ReportID { return breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAA%04d", i)) }
	saveReport(t, s, "org", id(0), 1, at, []byte(`{}`))
	saveReport(t, s, "other-org", "01JZZZZZZZZZZZZZZZZZZZZZZZ", 1, at, []byte(`{}`)) // sorts after all of org's
	model := raw.item(t, "REPORTS#org", "REPORT#"+string(id(0)))
	var writes []types.WriteRequest
	for i := 1; i < reports; i++ {
		item := map[string]types.AttributeValue{}
		for k, v := range model {
			item[k] = v
		}
		item["sk"] = &types.AttributeValueMemberS{Value: "REPORT#" + string(id(i))}
		item["report_id"] = &types.AttributeValueMemberS{Value: string(id(i))}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for len(writes) > 0 {
		batch := writes[:min(25, len(writes))]
		writes = writes[len(batch):]
		out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"pages": batch}})
		if err != nil || len(out.UnprocessedItems) > 0 {
			t.Fatalf("batch write: %v (%d unprocessed)", err, len(out.UnprocessedItems))
		}
	}

	for _, short = range []bool{false, true} {
		var listed []breach.ReportID
		var sizes []int
		var after breach.ReportID
		for page := 0; ; page++ {
			heads, more, err := s.Reports(ctx, "org", after, 100)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(heads))
			for _, h := range heads {
				if h.Org != "org" || h.Latest != 1 {
					t.Fatalf("listed %+v", h)
				}
				listed = append(listed, h.ID)
			}
			if !more {
				break
			}
			if page > 3 {
				t.Fatalf("short %v: more after %d pages", short, page)
			}
			after = heads[len(heads)-1].ID
		}
		if !slices.Equal(sizes, []int{100, 100, 50}) {
			t.Errorf("short %v: pages of %v, want 100, 100, 50", short, sizes)
		}
		var want []breach.ReportID
		for i := reports - 1; i >= 0; i-- {
			want = append(want, id(i))
		}
		if !slices.Equal(listed, want) {
			t.Errorf("short %v: listed %d reports, not the %d newest first", short, len(listed), reports)
		}
		// A page ending exactly at the last report says so.
		if heads, more, err := s.Reports(ctx, "org", id(100), 100); err != nil || len(heads) != 100 || more {
			t.Errorf("short %v: the last 100: %d heads, more %v, %v", short, len(heads), more, err)
		}
		// Going on from an id that is not a report (a cursor is authenticated, so this does not
		// happen; the table still starts at its position).
		if heads, _, err := s.Reports(ctx, "org", id(10)+"Z", 3); err != nil || len(heads) != 3 || heads[0].ID != id(10) {
			t.Errorf("short %v: after a position between reports: %+v, %v", short, heads, err)
		}
	}
}

// TestVersionsLeaveDocumentsOut: listing versions reads no document. Each version holds 300 KB,
// so a Query page holds three at most (1 MB read) and the listing goes on page after page; a
// middleware looks at what the table sent back.
func TestVersionsLeaveDocumentsOut(t *testing.T) {
	ctx := context.Background()
	var pages, items int
	var documents []string
	look := middleware.InitializeMiddlewareFunc("look", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		if q, ok := out.Result.(*dynamodb.QueryOutput); ok && err == nil {
			pages++
			items += len(q.Items)
			for _, item := range q.Items {
				for name := range item {
					if name == "document" {
						documents = append(documents, name)
					}
				}
			}
		}
		return out, md, err
	})
	db := dynamodb.NewFromConfig(localtest.Config(t, localtest.Moto(t)), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(look, middleware.Before) })
	})
	createTable(t, db, "versions")
	s := dynamo.New(db, "versions")
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	const id = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAVD1")
	var saved []breach.Version
	for n := 1; n <= 7; n++ {
		doc := append(fmt.Appendf(nil, `{"n":%d,"pad":"`, n), bytes.Repeat([]byte{'x'}, 300_000)...)
		saved = append(saved, saveReport(t, s, "org", id, n, at.Add(time.Duration(n)*time.Minute), append(doc, `"}`...)))
	}
	got, err := s.Versions(ctx, id)
	if err != nil || len(got) != len(saved) {
		t.Fatalf("Versions = %d, %v; want %d", len(got), err, len(saved))
	}
	for i, v := range saved {
		if want := v.Info(); !reflect.DeepEqual(got[i], want) {
			t.Errorf("version %d: %+v, want %+v", i+1, got[i], want)
		}
	}
	if len(documents) > 0 || items != len(saved) || pages < 2 {
		t.Fatalf("Query answers: %d pages, %d items, %d documents; want several pages, %d items, no document",
			pages, items, len(documents), len(saved))
	}
}

// TestOwner reads version 1's organisation, whatever the versions after it.
func TestOwner(t *testing.T) {
	s := newTable(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	const id = breach.ReportID("01JAAAAAAAAAAAAAAAAAAAAOW1")
	saveReport(t, s, "org-a", id, 1, at, []byte(`{}`))
	saveReport(t, s, "org-a", id, 2, at.Add(time.Hour), []byte(`{}`))
	if org, err := s.Owner(context.Background(), id); err != nil || org != "org-a" {
		t.Fatalf("Owner = %q, %v", org, err)
	}
}

// TestScanLeavesHeadsOut: reconcile's scan of versions received in a window meets heads whose
// received_at is in it, and passes over them.
func TestScanLeavesHeadsOut(t *testing.T) {
	s := newTable(t)
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		saveReport(t, s, "org", breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAAASH%d", i)), 1, at, []byte(`{}`))
	}
	got := received(t, s, at, at.Add(time.Second))
	if len(got) != 3 {
		t.Fatalf("%d versions in the window, want 3: %v", len(got), got)
	}
}
