package apigw_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/receipt"
)

// signedHandler is submit-report as internal/app/submit builds it: receipts signed by current,
// and the public-key route publishing current then previous.
func signedHandler(store breach.Store, keys apigw.PublicKeys, current *breachtest.Signer, logs *bytes.Buffer) apigw.Handler {
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(store, func() time.Time { return now }, ids, breach.SignReceipts(current))
	log := zerolog.New(logs)
	return apigw.ReceiptKeys(keys, apigw.SubmitReport(in, audit.NewTrail(audittest.NewStore(), func() time.Time { return now }), log), log)
}

func TestSignedReceiptsVerifyWithThePublishedKeys(t *testing.T) {
	ctx := context.Background()
	current, previous := breachtest.NewSigner("key-2"), breachtest.NewSigner("key-1")
	published := func(context.Context) ([]receipt.PublicKey, error) {
		return []receipt.PublicKey{{KeyID: current.ID, Key: &current.Key.PublicKey}, {KeyID: previous.ID, Key: &previous.Key.PublicKey}}, nil
	}
	var logs bytes.Buffer
	h := signedHandler(breachtest.NewStore(testOrg), published, current, &logs)

	created, err := h(ctx, sampleEvent(t))
	if err != nil || created.StatusCode != 201 {
		t.Fatalf("%d %s, %v", created.StatusCode, created.Body, err)
	}
	replayed, err := h(ctx, sampleEvent(t))
	if err != nil || replayed.StatusCode != 200 || replayed.Body != created.Body {
		t.Fatalf("replay %d %s, %v; want the first receipt byte for byte", replayed.StatusCode, replayed.Body, err)
	}

	keys, err := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/receipts/public-key",
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-keys"}})
	if err != nil || keys.StatusCode != 200 || keys.Headers["content-type"] != "application/x-pem-file" ||
		keys.Headers["cache-control"] != "public, max-age=300" {
		t.Fatalf("public keys: %d %v %s, %v", keys.StatusCode, keys.Headers, keys.Body, err)
	}
	if strings.Index(keys.Body, "key_id: key-2") > strings.Index(keys.Body, "key_id: key-1") {
		t.Errorf("the current key is not first:\n%s", keys.Body)
	}
	parsed, err := receipt.ParsePEM([]byte(keys.Body))
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := receipt.Verify([]byte(created.Body), parsed); err != nil || rc.KeyID != "key-2" {
		t.Fatalf("the receipt does not verify with the published keys: %v\n%s", err, created.Body)
	}
}

func TestPublicKeyFailure(t *testing.T) {
	ctx := context.Background()
	fail := true
	k := breachtest.NewSigner("key-1")
	keys := func(context.Context) ([]receipt.PublicKey, error) {
		if fail {
			return nil, errors.New("KMS GetPublicKey of key key-1: AccessDeniedException")
		}
		return []receipt.PublicKey{{KeyID: k.ID, Key: &k.Key.PublicKey}}, nil
	}
	var logs bytes.Buffer
	h := signedHandler(breachtest.NewStore(testOrg), keys, k, &logs)
	req := events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/receipts/public-key", RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1"}}
	resp, err := h(ctx, req)
	if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, `"code":"internal"`) || strings.Contains(resp.Body, "AccessDenied") {
		t.Fatalf("%d %s, %v; want a 500 that leaks nothing", resp.StatusCode, resp.Body, err)
	}
	if !strings.Contains(logs.String(), "AccessDeniedException") || !strings.Contains(logs.String(), `"request_id":"req-1"`) {
		t.Errorf("the cause is not logged: %s", logs.String())
	}
	fail = false
	if resp, err := h(ctx, req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the next request: %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	// Other routes go to the submit handler, unknown ones included.
	if resp, _ := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/health"}); resp.StatusCode != 200 || resp.Body != `{"status":"ok"}` {
		t.Errorf("health: %d %s", resp.StatusCode, resp.Body)
	}
	if resp, _ := h(ctx, events.APIGatewayV2HTTPRequest{RouteKey: "GET /v1/receipts/private-key"}); resp.StatusCode != 404 {
		t.Errorf("unknown route: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestSigningFailureIsA500: nothing stored, nothing leaked, the client may retry with its key.
func TestSigningFailureIsA500(t *testing.T) {
	k := breachtest.NewSigner("key-1")
	k.Err = errors.New("KMS Sign with key key-1: ThrottlingException")
	store := breachtest.NewStore(testOrg)
	var logs bytes.Buffer
	h := signedHandler(store, nil, k, &logs)
	resp, err := h(context.Background(), sampleEvent(t))
	if err != nil || resp.StatusCode != 500 || strings.Contains(resp.Body, "Throttling") {
		t.Fatalf("%d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if len(store.Stored("01KAKZ7Q1W5Q7Y3X2V8N4M6P0R")) != 0 {
		t.Fatal("a version was stored without its signed receipt")
	}
	k.Err = nil
	if resp, err := h(context.Background(), sampleEvent(t)); err != nil || resp.StatusCode != 201 {
		t.Fatalf("retry: %d %s, %v", resp.StatusCode, resp.Body, err)
	}
}
