// Package watch builds the deadline-watch function: every 15 minutes, the reports of the sparse
// index of open deadline stages whose stage is past due, alerted once per report and stage on the
// SNS alert topic (breach.Watch).
package watch

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/breach-intake/intake/internal/alert"
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
)

// Handler is deadline-watch's Lambda handler; its scheduled event carries nothing it needs.
type Handler func(ctx context.Context, scheduled json.RawMessage) error

// batch bounds the reports one run reads from the index; the next run takes the rest.
const batch = 500

// DeadlineWatch is the deadline-watch function. A failure is returned, so that the function's
// Errors alarm fires, once every other report was tried; the next run retries it (Lambda does
// not: the template sets no retry, and a retry minutes later would find the failed run's claims
// still held).
func DeadlineWatch(rt app.Runtime) (Handler, error) {
	var vars [2]string
	for i, name := range []string{"TABLE_NAME", "ALERT_TOPIC_ARN"} {
		v, err := app.Required(rt.Env, name)
		if err != nil {
			return nil, err
		}
		vars[i] = v
	}
	store := dynamo.New(dynamodb.NewFromConfig(rt.AWS), vars[0])
	w := breach.NewWatch(store, store, alert.New(sns.NewFromConfig(rt.AWS), vars[1]), rt.Clock)
	return func(ctx context.Context, _ json.RawMessage) error {
		res, err := w.Run(ctx, batch)
		ev := rt.Log.Info()
		if err != nil {
			ev = rt.Log.Error().Err(err)
		}
		ev.Int("reports", res.Reports).Int("alerted", res.Alerted).Int("closed", res.Closed).Msg("deadline watch")
		return err
	}, nil
}
