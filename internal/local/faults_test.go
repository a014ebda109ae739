package local_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // String() of the parsed rules, or for an error a part of its message
		err  bool
	}{
		{"", "", false},
		{"  ", "", false},
		{"s3.PutObject=0.1,sns.Publish=0.1,dynamodb=0.1", "s3.PutObject=0.1:after,sns.Publish=0.1:after,dynamodb=0.1:after", false},
		{" dynamodb.PutItem=1:before , sqs=0:timeout", "dynamodb.PutItem=1:before,sqs=0:timeout", false},
		{"dynamodb=0.05:timeout,dynamodb.TransactWriteItems=0.5", "dynamodb=0.05:timeout,dynamodb.TransactWriteItems=0.5:after", false},
		{"kms=0.1", `"kms=0.1": unknown service "kms"`, true},
		{"S3=0.1", `unknown service "S3"`, true},
		{"s3.PutObjekt=0.1", `"s3.PutObjekt=0.1": s3 has no operation "PutObjekt"`, true},
		{"s3.Options=0.1", `s3 has no operation "Options"`, true}, // a method, not an operation
		{"s3.=0.1", `s3 has no operation ""`, true},
		{"s3.PutObject=1.5", `"s3.PutObject=1.5": fraction "1.5" is not a number from 0 to 1`, true},
		{"s3.PutObject=-0.1", `fraction "-0.1"`, true},
		{"s3.PutObject=NaN", `fraction "NaN"`, true},
		{"s3.PutObject=10%", `fraction "10%"`, true},
		{"s3.PutObject=0.1:later", `"s3.PutObject=0.1:later": unknown mode "later"`, true},
		{"s3.PutObject=0.1:", `unknown mode ""`, true},
		{"s3.PutObject", `"s3.PutObject": want <service>`, true},
		{"s3=0.1,,sns=0.1", `fault rule "": want`, true},
		{"s3=0.1,", `fault rule "": want`, true},
		{"sns=0.1,sns=0.2:before", `"sns=0.2:before": sns has another rule`, true},
	} {
		f, err := local.ParseFaults(tc.spec, 1)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ParseFaults(%q) = %v, want an error with %s", tc.spec, err, tc.want)
		case !tc.err && err != nil:
			t.Errorf("ParseFaults(%q): %v", tc.spec, err)
		case !tc.err && f.String() != tc.want:
			t.Errorf("ParseFaults(%q) = %s, want %s", tc.spec, f.String(), tc.want)
		}
	}
}

// okHTTP answers every request 200 {} without a network: enough for DynamoDB's PutItem and
// GetItem, so that fractions can be measured over many calls quickly.
type okHTTP struct{}

func (okHTTP) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

// noRetries makes each call one attempt, so that a caller sees every fault.
func noRetries() aws.Retryer { return aws.NopRetryer{} }

// fakeDynamo is a DynamoDB client over okHTTP with the faults of spec.
func fakeDynamo(t *testing.T, spec string, seed int64) (*dynamodb.Client, *local.Faults) {
	t.Helper()
	f, err := local.ParseFaults(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	cfg := local.Config("http://dynamodb.invalid")
	cfg.HTTPClient, cfg.Retryer = okHTTP{}, noRetries
	return dynamodb.NewFromConfig(f.Apply(cfg)), f
}

var anyItem = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}

// failures calls GetItem and PutItem n times each, in turn, and says which calls failed (G, P)
// or not (.).
func failures(t *testing.T, db *dynamodb.Client, n int) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for range n {
		_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: anyItem})
		b.WriteByte(outcome(t, 'G', err))
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: anyItem})
		b.WriteByte(outcome(t, 'P', err))
	}
	return b.String()
}

func outcome(t *testing.T, op byte, err error) byte {
	t.Helper()
	if err == nil {
		return '.'
	}
	var fe *local.FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("not an injected fault: %v", err)
	}
	return op
}

func TestFaultFractions(t *testing.T) {
	const n = 1000
	db, f := fakeDynamo(t, "dynamodb.GetItem=0.1:before,dynamodb=0.5,sns=1", 42)
	got := failures(t, db, n)
	counts := f.Counts()
	for _, tc := range []struct {
		op       byte
		key      string
		fraction float64
	}{{'G', "dynamodb.GetItem", 0.1}, {'P', "dynamodb.PutItem", 0.5}} {
		failed := strings.Count(got, string(tc.op))
		// Within 5 standard deviations of the binomial: a false alarm about once in 3 million runs.
		if tol := 5 * math.Sqrt(n*tc.fraction*(1-tc.fraction)); math.Abs(float64(failed)-n*tc.fraction) > tol {
			t.Errorf("%s failed %d times in %d, want %v ± %.0f", tc.key, failed, n, n*tc.fraction, tol)
		}
		if counts[tc.key] != failed {
			t.Errorf("Counts()[%s] = %d, callers saw %d", tc.key, counts[tc.key], failed)
		}
	}

	t.Run("0 never fails, 1 always does", func(t *testing.T) {
		db, _ := fakeDynamo(t, "dynamodb.GetItem=0,dynamodb.PutItem=1", 1)
		if got, want := failures(t, db, 100), strings.Repeat(".P", 100); got != want {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("the same seed, the same faults", func(t *testing.T) {
		spec := "dynamodb=0.3"
		a, _ := fakeDynamo(t, spec, 7)
		b, _ := fakeDynamo(t, spec, 7)
		c, _ := fakeDynamo(t, spec, 8)
		first, second, other := failures(t, a, 200), failures(t, b, 200), failures(t, c, 200)
		if first != second {
			t.Fatalf("seed 7 gave\n%s\nthen\n%s", first, second)
		}
		if first == other {
			t.Fatalf("seeds 7 and 8 gave the same faults: %s", first)
		}
	})
	t.Run("concurrent calls", func(t *testing.T) {
		db, f := fakeDynamo(t, "dynamodb=0.5", 3)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: anyItem}); err != nil {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := f.Counts()["dynamodb.GetItem"]; int64(got) != failed.Load() {
			t.Fatalf("Counts() says %d faults, callers saw %d", got, failed.Load())
		}
	})
	t.Run("Apply leaves its config as it is", func(t *testing.T) {
		f, err := local.ParseFaults("dynamodb=1:before", 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg := local.Config("http://dynamodb.invalid")
		cfg.HTTPClient, cfg.Retryer = okHTTP{}, noRetries
		_ = dynamodb.NewFromConfig(f.Apply(cfg))
		if got := failures(t, dynamodb.NewFromConfig(cfg), 10); got != strings.Repeat("..", 10) {
			t.Fatalf("the unfaulted config's client failed: %s", got)
		}
	})
	t.Run("the SDK's retryer sees every fault", func(t *testing.T) {
		f, err := local.ParseFaults("dynamodb.GetItem=1:before", 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg := local.Config("http://dynamodb.invalid")
		cfg.HTTPClient = okHTTP{}
		cfg.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}
		_, err = dynamodb.NewFromConfig(f.Apply(cfg)).GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"), Key: anyItem})
		var fe *local.FaultError
		var exhausted *retry.MaxAttemptsError
		if !errors.As(err, &fe) || !errors.As(err, &exhausted) {
			t.Fatalf("err = %v, want the fault after the retryer's last attempt", err)
		}
		if got := f.Counts()["dynamodb.GetItem"]; got != retry.DefaultMaxAttempts {
			t.Fatalf("%d faults injected, want one per attempt: %d", got, retry.DefaultMaxAttempts)
		}
	})
}

// TestFaultModes runs each mode against moto: whether the call took effect is read back through
// a client without faults.
func TestFaultModes(t *testing.T) {
	cfg := localtest.Config(t, localtest.Moto(t))
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	table := aws.String("faults")
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	// put writes item pk through a client whose every PutItem fails in mode, one attempt per call.
	put := func(t *testing.T, ctx context.Context, mode, pk string) error {
		f, err := local.ParseFaults("dynamodb.PutItem=1:"+mode, 1)
		if err != nil {
			t.Fatal(err)
		}
		faulty := f.Apply(cfg)
		faulty.Retryer = noRetries
		_, err = dynamodb.NewFromConfig(faulty).PutItem(ctx, &dynamodb.PutItemInput{TableName: table,
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}}})
		if err == nil {
			t.Fatal("PutItem succeeded")
		}
		var fe *local.FaultError
		if !errors.As(err, &fe) || fe.Mode != mode || fe.Operation != "dynamodb.PutItem" {
			t.Fatalf("err = %v, want an injected %s fault on dynamodb.PutItem", err, mode)
		}
		if got := f.Counts(); got["dynamodb.PutItem"] != 1 || len(got) != 1 {
			t.Fatalf("Counts() = %v", got)
		}
		return err
	}
	exists := func(t *testing.T, pk string) bool {
		t.Helper()
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item != nil
	}

	t.Run("after: the item is written although the call failed", func(t *testing.T) {
		put(t, ctx, "after", "after")
		if !exists(t, "after") {
			t.Fatal("the item is missing")
		}
	})
	t.Run("before: the item is not written", func(t *testing.T) {
		put(t, ctx, "before", "before")
		if exists(t, "before") {
			t.Fatal("the item exists")
		}
	})
	t.Run("timeout: the caller's deadline ends the wait", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := put(t, short, "timeout", "timeout-deadline")
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("returned after %s, want about the caller's 300 ms", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's deadline", err)
		}
		if !exists(t, "timeout-deadline") {
			t.Fatal("the item is missing")
		}
	})
	t.Run("timeout: without a deadline, FaultTimeout", func(t *testing.T) {
		start := time.Now()
		err := put(t, ctx, "timeout", "timeout-fixed")
		if took := time.Since(start); took < local.FaultTimeout || took > local.FaultTimeout+2*time.Second {
			t.Fatalf("returned after %s, want %s", took, local.FaultTimeout)
		}
		var timeout interface{ Timeout() bool }
		if !errors.As(err, &timeout) || !timeout.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if !exists(t, "timeout-fixed") {
			t.Fatal("the item is missing")
		}
	})
}
