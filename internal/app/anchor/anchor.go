// Package anchor builds the audit-anchor function: on its schedule, the head of every audit
// chain in the table, written to the Object Lock archive. It lives apart from internal/app so
// that the intake's functions do not link the S3 client.
package anchor

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/dynamo"
)

// Handler is the audit-anchor function's Lambda handler; its scheduled event carries nothing it
// needs.
type Handler func(ctx context.Context, scheduled events.EventBridgeEvent) error

// Writer is one run of the function: the anchor of every chain's head, now, stored in the
// archive. `breachctl audit anchor` runs it too.
type Writer func(ctx context.Context) (audit.Anchor, error)

// NewWriter builds a Writer from the function's environment: TABLE_NAME, ARCHIVE_BUCKET,
// ARCHIVE_KMS_KEY_ID, ARCHIVE_LOCK_MODE, ARCHIVE_RETENTION_DAYS (as process-report's).
func NewWriter(rt app.Runtime) (Writer, error) {
	var vars [5]string
	for i, name := range []string{"TABLE_NAME", "ARCHIVE_BUCKET", "ARCHIVE_KMS_KEY_ID", "ARCHIVE_LOCK_MODE", "ARCHIVE_RETENTION_DAYS"} {
		v, err := app.Required(rt.Env, name)
		if err != nil {
			return nil, err
		}
		vars[i] = v
	}
	table, bucket, key := vars[0], vars[1], vars[2]
	mode, retention, err := archive.ParseRetention(vars[3], vars[4])
	if err != nil {
		return nil, err
	}
	store := dynamo.NewAuditStore(dynamodb.NewFromConfig(rt.AWS), table)
	arch := archive.New(s3.NewFromConfig(rt.AWS), bucket, key, mode, retention, rt.Clock)
	return func(ctx context.Context) (audit.Anchor, error) {
		return audit.WriteAnchor(ctx, store, arch, rt.Clock())
	}, nil
}

// AuditAnchor is the audit-anchor function.
func AuditAnchor(rt app.Runtime) (Handler, error) {
	write, err := NewWriter(rt)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ events.EventBridgeEvent) error {
		a, err := write(ctx)
		if err != nil {
			// Returned, so the function's Errors alarm fires; the next run anchors again.
			rt.Log.Error().Err(err).Msg("audit anchor")
			return err
		}
		var entries int64
		for _, h := range a.Heads {
			entries += h.Seq
		}
		rt.Log.Info().Str("key", archive.AnchorKey(a.At)).Int("chains", len(a.Heads)).Int64("entries", entries).Msg("audit anchor written")
		return nil
	}, nil
}
