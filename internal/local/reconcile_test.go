package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/reconcile"
)

// TestReconcile: reports through the local API and process-report reconcile clean; then a lost
// alert record and a second object version under an archive key are each reported, and nothing
// else.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	key := st.orgKey(t, fanoutOrg)
	start := time.Now().Add(-time.Second)
	var ids []breach.ReportID
	for i := range 3 {
		ids = append(ids, st.submit(t, key, fmt.Sprintf("reconcile-%d", i)).ID)
	}
	if err := st.poller(t, st.streamSource(t)).Drain(ctx); err != nil {
		t.Fatal(err)
	}

	s3c := s3.NewFromConfig(st.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := st.names["ArchiveBucket"]
	arch := archive.New(s3c, bucket, "", "", 0, time.Now)
	run := func() reconcile.Summary {
		t.Helper()
		versions := func(ctx context.Context, fn func(breach.Version, dynamo.FanoutState) error) error {
			return st.store.VersionsReceived(ctx, start, time.Now().Add(time.Second), fn)
		}
		sum, err := reconcile.Run(ctx, versions, arch, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := run(); sum.Versions != 3 || sum.Archived != 3 || sum.Alerted != 3 || len(sum.Discrepancies) != 0 {
		t.Fatalf("after the fan-out: %+v, want 3 versions archived and alerted, no discrepancy", sum)
	}

	// The alert record of the first report lost.
	if _, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(st.table),
		Key: map[string]dbtypes.AttributeValue{
			"pk": &dbtypes.AttributeValueMemberS{Value: "REPORT#" + string(ids[0])},
			"sk": &dbtypes.AttributeValueMemberS{Value: "FANOUT#000001"},
		},
		UpdateExpression: aws.String("REMOVE alerted_at"),
	}); err != nil {
		t.Fatal(err)
	}
	// A second version under the second report's key, written past the archive: the same bytes,
	// so only the count of versions tells (GOVERNANCE retention lets a new version in).
	k := st.archiveKey(ids[1])
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(doc),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
		ObjectLockMode:    s3types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(24 * time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}

	sum := run()
	if sum.Versions != 3 || sum.Archived != 3 || sum.Alerted != 2 || len(sum.Discrepancies) != 2 {
		t.Fatalf("after the damage: %+v, want 3 versions, 3 archived, 2 alerted, 2 discrepancies", sum)
	}
	for _, want := range []reconcile.Discrepancy{
		{ReportID: ids[0], Version: 1, Problem: "not alerted"},
		{ReportID: ids[1], Version: 1, Problem: "2 object versions under the key"},
	} {
		found := false
		for _, d := range sum.Discrepancies {
			// A version this fresh is also said to be possibly in flight.
			found = found || d.ReportID == want.ReportID && d.Version == want.Version && strings.HasPrefix(d.Problem, want.Problem)
		}
		if !found {
			t.Errorf("no discrepancy %+v in %+v", want, sum.Discrepancies)
		}
	}
}
