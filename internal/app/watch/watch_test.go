package watch_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/watch"
	"github.com/breach-intake/intake/internal/local"
)

// The function refuses to start without its table or topic, naming what is missing.
func TestDeadlineWatchNeedsItsEnvironment(t *testing.T) {
	for _, missing := range []string{"TABLE_NAME", "ALERT_TOPIC_ARN"} {
		env := map[string]string{"TABLE_NAME": "t", "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-3:123456789012:a"}
		delete(env, missing)
		_, err := watch.DeadlineWatch(app.Runtime{AWS: local.Config("http://127.0.0.1:1"), Env: func(n string) string { return env[n] },
			Log: zerolog.New(io.Discard), Clock: time.Now})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}
