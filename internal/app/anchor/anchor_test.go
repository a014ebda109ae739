package anchor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/anchor"
	"github.com/breach-intake/intake/internal/archive"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

var at = time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)

func TestAuditAnchorNeedsItsEnvironment(t *testing.T) {
	full := map[string]string{"TABLE_NAME": "t", "ARCHIVE_BUCKET": "b", "ARCHIVE_KMS_KEY_ID": "k",
		"ARCHIVE_LOCK_MODE": "GOVERNANCE", "ARCHIVE_RETENTION_DAYS": "1"}
	for name, value := range map[string]string{"TABLE_NAME": "", "ARCHIVE_BUCKET": "", "ARCHIVE_KMS_KEY_ID": "",
		"ARCHIVE_LOCK_MODE": "governance", "ARCHIVE_RETENTION_DAYS": "one"} {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		env[name] = value
		rt := app.Runtime{Env: func(n string) string { return env[n] }, Log: zerolog.Nop(), Clock: func() time.Time { return at }}
		if _, err := anchor.AuditAnchor(rt); err == nil {
			t.Errorf("%s=%q: built", name, value)
		}
	}
}

// TestAuditAnchor runs the function with the template's environment on the local stack's
// resources, with the scheduled event of events/: the anchor lands in the archive.
func TestAuditAnchor(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tmpl, err := local.LoadTemplate("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := local.FunctionEnv(tmpl, "AuditAnchorFunction", names)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.NewAuditStore(dynamodb.NewFromConfig(cfg), names["ReportsTable"])
	e, err := audit.NewTrail(store, func() time.Time { return at.Add(-time.Minute) }).Append(ctx, audit.Entry{Chain: "acme", Route: "GET /v1/reports"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h, err := anchor.AuditAnchor(app.Runtime{AWS: cfg, Env: func(n string) string { return vars[n] },
		Log: zerolog.New(&logs), Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../../events/sweep.json") // a scheduled event; its rule's name does not matter
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if err := h(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"key":"anchors/2026-11-21T13:00:00.000000000Z.json","chains":1,"entries":1,"message":"audit anchor written"`) {
		t.Errorf("log: %s", logs.String())
	}
	arch := archive.New(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), names["ArchiveBucket"], "", "", 0, time.Now)
	var got []audit.Anchor
	if err := arch.EachAnchor(ctx, func(a audit.Anchor) error { got = append(got, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Heads) != 1 || got[0].Heads[0] != (audit.Head{Chain: "acme", Seq: 1, SHA256: e.SHA256}) {
		t.Fatalf("anchors %+v", got)
	}
}
