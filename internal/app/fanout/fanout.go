// Package fanout builds the fan-out functions, process-report and sweep: the table's stream (or
// the pending index) to the S3 archive, the processors' groups and the SNS alert topic.
package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/breach-intake/intake/internal/alert"
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/stream"
)

// fanout builds the fan-out over the table, the archive bucket and the alert topic.
func fanout(rt app.Runtime) (*breach.Fanout, error) {
	var vars [6]string
	for i, name := range []string{"TABLE_NAME", "ARCHIVE_BUCKET", "ARCHIVE_KMS_KEY_ID", "ARCHIVE_LOCK_MODE", "ARCHIVE_RETENTION_DAYS", "ALERT_TOPIC_ARN"} {
		v, err := app.Required(rt.Env, name)
		if err != nil {
			return nil, err
		}
		vars[i] = v
	}
	table, bucket, key, mode, days, topic := vars[0], vars[1], vars[2], vars[3], vars[4], vars[5]
	retentionDays, err := strconv.Atoi(days)
	if err != nil || retentionDays < 1 {
		return nil, fmt.Errorf("ARCHIVE_RETENTION_DAYS %q is not a number of days", days)
	}
	lockMode := s3types.ObjectLockMode(mode)
	if !slices.Contains(lockMode.Values(), lockMode) {
		return nil, fmt.Errorf("ARCHIVE_LOCK_MODE %q is not one of %v", mode, lockMode.Values())
	}
	store := dynamo.New(dynamodb.NewFromConfig(rt.AWS), table)
	arch := archive.New(s3.NewFromConfig(rt.AWS), bucket, key, lockMode, time.Duration(retentionDays)*24*time.Hour, rt.Clock)
	return breach.NewFanout(store, store, store, arch, alert.New(sns.NewFromConfig(rt.AWS), topic), rt.Clock), nil
}

// ProcessReport is the process-report function: the table's stream to the archive and alerts.
// Each invocation's metrics (a batch's) are flushed when it ends.
func ProcessReport(rt app.Runtime) (stream.Handler, error) {
	f, err := fanout(rt)
	if err != nil {
		return nil, err
	}
	return metrics.Wrap(rt.Metrics, stream.ProcessReport(f, dynamo.VersionFromItem, rt.Log)), nil
}

// Sweep is the sweep function: the fan-out of versions the stream did not deliver. Each run's
// metrics are flushed when it ends.
func Sweep(rt app.Runtime) (stream.SweepHandler, error) {
	f, err := fanout(rt)
	if err != nil {
		return nil, err
	}
	h := stream.Sweep(f, rt.Log)
	return func(ctx context.Context, ev json.RawMessage) error {
		rec := rt.Metrics.Record()
		defer rec.Flush() // metrics never fail a run: its error is dropped
		return h(metrics.NewContext(ctx, rec), ev)
	}, nil
}
