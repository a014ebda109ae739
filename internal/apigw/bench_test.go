package apigw_test

import (
	"context"
	stdjson "encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// discardStore accepts every write, so the benchmark measures the handler, not a map. The
// methods a first report does not call are the nil interface's.
type discardStore struct{ breach.Store }

func (discardStore) Organisation(context.Context, breach.OrgID) (breach.Organisation, error) {
	return testOrg, nil
}

func (discardStore) Idempotency(context.Context, breach.IdempotencyKey, time.Time) (*breach.IdempotencyRecord, error) {
	return nil, nil
}

func (discardStore) SaveVersion(context.Context, breach.Version, breach.ReportHead, breach.IdempotencyRecord, time.Time) (*breach.IdempotencyRecord, error) {
	return nil, nil
}

// BenchmarkSubmitInvocation is one whole invocation as Lambda runs it: the raw API Gateway event
// bytes of a 6.7 KB report through lambda.NewHandler(...).Invoke to the response bytes, its
// audit entry appended (digest and all) to the in-memory audit store, its metrics recorded and
// flushed (two EMF lines, into io.Discard) as internal/app/submit wraps the handler.
func BenchmarkSubmitInvocation(b *testing.B) {
	req := sampleEvent(b)
	req.Body = string(readFile(b, "../breach/testdata/report-6k7.json"))
	raw, err := stdjson.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	in := breach.NewIntake(discardStore{}, func() time.Time { return now }, breach.ULIDs())
	entries := &freshAudit{Store: audittest.NewStore()}
	trail := audit.NewTrail(entries, func() time.Time { return now })
	m, err := metrics.New(io.Discard, "SubmitReportFunction", func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	h := lambda.NewHandler(apigw.Handler(metrics.Wrap(m, apigw.SubmitReport(in, trail, zerolog.New(io.Discard)))))
	ctx := context.Background()
	out, err := h.Invoke(ctx, raw)
	if err != nil || !stdjson.Valid(out) || !containsStatus(out, 201) {
		b.Fatalf("warm-up invocation: %s, %v", out, err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%freshAuditEvery == 0 {
			entries.Store = audittest.NewStore()
		}
		if _, err := h.Invoke(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// freshAudit is the in-memory audit store, replaced every freshAuditEvery invocations: every
// invocation appends to the same chain, and the fake finds a chain's head by looking at all its
// entries, so a chain as long as the benchmark would make the benchmark measure the fake.
type freshAudit struct{ *audittest.Store }

const freshAuditEvery = 64

func containsStatus(out []byte, code int) bool {
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	return stdjson.Unmarshal(out, &resp) == nil && resp.StatusCode == code
}
