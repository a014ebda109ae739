// Package reads builds the read-reports function. It lives apart from internal/app so that the
// functions that need no KMS (authorize, process-report, sweep, …) do not link the KMS client and
// pay its package initialisation at every cold start (service/kms is pinned at v1.60.0, the last
// release without schema tables built at init, for the same reason).
package reads

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/metrics"
)

// ReadReports is the read-reports function: organisations' own reports, any report to a
// regulator, each answer appended to the audit trail. TABLE_NAME is the table; CURSOR_KEY_ID
// names the KMS HMAC key (id, ARN or alias) whose MAC of a fixed message is the list cursors'
// key. Each invocation's metrics are flushed when it ends.
func ReadReports(rt app.Runtime) (apigw.Handler, error) {
	table, err := app.Required(rt.Env, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	keyID, err := app.Required(rt.Env, "CURSOR_KEY_ID")
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(rt.AWS)
	store := dynamo.New(db, table)
	trail := audit.NewTrail(dynamo.NewAuditStore(db, table), rt.Clock)
	mac := kms.NewFromConfig(rt.AWS)
	readers := onFirstUse(func(ctx context.Context) (*breach.Reader, error) {
		key, err := cursorKey(ctx, mac, keyID)
		if err != nil {
			return nil, err
		}
		cursors, err := breach.NewCursors(key)
		if err != nil {
			return nil, fmt.Errorf("cursor key from KMS key %s: %w", keyID, err)
		}
		return breach.NewReader(store, cursors), nil
	})
	return apigw.Handler(metrics.Wrap(rt.Metrics, apigw.ReadReports(readers, trail, rt.Log))), nil
}

// cursorMessage is what KMS MACs to derive the cursor key: every instance gets the same key,
// and the secret is neither stored nor passed in the environment. Changing it (or the KMS key)
// invalidates the cursors in circulation, which costs a client a restarted listing, nothing more.
const cursorMessage = "breach-intake cursor key v1"

// cursorKey derives the list cursors' HMAC key from the KMS key keyID.
func cursorKey(ctx context.Context, client *kms.Client, keyID string) ([]byte, error) {
	out, err := client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(keyID),
		MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256,
		Message:      []byte(cursorMessage),
	})
	if err != nil {
		return nil, fmt.Errorf("derive the cursor key from KMS key %s: %w", keyID, err)
	}
	return out.Mac, nil
}

// onFirstUse builds a value at its first use rather than at start-up, and again after a failed
// try. The Reader needs a KMS call: made at start-up, it would lengthen every cold start before
// the first poll and, on a KMS error, fail the start itself (Lambda retrying the whole init, the
// gateway answering its own 500s) instead of one request, answered by us and audited. Safe for
// concurrent use (the local stack serves requests concurrently); a success is kept for the
// life of the instance.
func onFirstUse[T any](build func(context.Context) (T, error)) func(context.Context) (T, error) {
	var (
		mu    sync.Mutex
		value T
		done  bool
	)
	return func(ctx context.Context) (T, error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return value, nil
		}
		v, err := build(ctx)
		if err != nil {
			return v, err
		}
		value, done = v, true
		return value, nil
	}
}
