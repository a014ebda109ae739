package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/auth"
)

// fakeKeys is the in-memory Keys port: a map, or a failure for every lookup.
type fakeKeys struct {
	keys map[string]auth.Key
	err  error
}

func (f fakeKeys) Key(_ context.Context, id string) (auth.Key, error) {
	if f.err != nil {
		return auth.Key{}, f.err
	}
	k, ok := f.keys[id]
	if !ok {
		return auth.Key{}, fmt.Errorf("key %s: %w", id, auth.ErrNotFound)
	}
	return k, nil
}

var now = time.Date(2026, 11, 21, 10, 15, 30, 0, time.UTC)

func clock() time.Time { return now }

// newKey makes an organisation key, changed by edit when it is not nil.
func newKey(t *testing.T, edit func(*auth.Key)) (auth.Key, string) {
	t.Helper()
	k, plaintext, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.Principal, k.OrgID, k.CreatedAt = auth.PrincipalOrganisation, "exemple-sa", now.Add(-time.Hour)
	if edit != nil {
		edit(&k)
	}
	return k, plaintext
}

func request(id string, identity ...string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:        "2.0",
		Type:           "REQUEST",
		IdentitySource: identity,
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: id},
	}
}

func onRoute(routeKey string, req events.APIGatewayV2CustomAuthorizerV2Request) events.APIGatewayV2CustomAuthorizerV2Request {
	req.RouteKey = routeKey
	req.IdentitySource = append(req.IdentitySource, routeKey) // the template's second identity source
	return req
}

func TestAuthorizer(t *testing.T) {
	org, orgKey := newKey(t, nil)
	regulator, regulatorKey := newKey(t, func(k *auth.Key) {
		k.Principal, k.OrgID, k.Regulator = auth.PrincipalRegulator, "", "cnil"
	})
	expiring, expiringKey := newKey(t, func(k *auth.Key) { k.ExpiresAt = now.Add(time.Second) })
	expired, expiredKey := newKey(t, func(k *auth.Key) { k.ExpiresAt = now })
	revoked, revokedKey := newKey(t, func(k *auth.Key) { k.RevokedAt = now.Add(-time.Minute) })
	_, unknownKey := newKey(t, nil)
	corrupt, corruptKey := newKey(t, func(k *auth.Key) { k.OrgID = "" })
	// Same id as org, another secret: what a guess at a known id looks like.
	_, other := newKey(t, nil)
	wrongSecret := orgKey[:len("bik_0123456789abcdef_")] + other[len("bik_0123456789abcdef_"):]

	keys := fakeKeys{keys: map[string]auth.Key{}}
	for _, k := range []auth.Key{org, regulator, expiring, expired, revoked, corrupt} {
		keys.keys[k.ID] = k
	}
	var logs bytes.Buffer
	a := auth.NewAuthorizer(keys, clock, zerolog.New(&logs).Level(zerolog.DebugLevel))

	allowed := func(ctx map[string]any) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: ctx}
	}
	denied := events.APIGatewayV2CustomAuthorizerSimpleResponse{}

	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2CustomAuthorizerV2Request
		want   events.APIGatewayV2CustomAuthorizerSimpleResponse
		reason string // in the log, the only place a denial says why
	}{
		{"organisation key", request("r1", "Bearer "+orgKey),
			allowed(map[string]any{"principal": "organisation", "org_id": "exemple-sa", "key_id": org.ID}), ""},
		{"regulator key on a regulator route", onRoute("GET /v1/regulator/reports/{id}", request("r2", "Bearer "+regulatorKey)),
			allowed(map[string]any{"principal": "regulator", "regulator": "cnil", "key_id": regulator.ID}), ""},
		{"regulator key on an organisation's route", onRoute("POST /v1/reports", request("r2b", "Bearer "+regulatorKey)), denied, "route"},
		{"organisation key on a regulator route", onRoute("GET /v1/regulator/reports/{id}", request("r2c", "Bearer "+orgKey)), denied, "route"},
		{"key expiring later", request("r3", "bearer "+expiringKey),
			allowed(map[string]any{"principal": "organisation", "org_id": "exemple-sa", "key_id": expiring.ID}), ""},
		{"header when no identity source", events.APIGatewayV2CustomAuthorizerV2Request{
			Headers: map[string]string{"authorization": "Bearer " + orgKey}},
			allowed(map[string]any{"principal": "organisation", "org_id": "exemple-sa", "key_id": org.ID}), ""},
		{"no key at all", request("r4"), denied, "malformed"},
		{"empty identity", request("r5", ""), denied, "malformed"},
		{"malformed", request("r6", "Bearer  "+orgKey), denied, "malformed"},
		{"key without scheme", request("r7", orgKey), denied, "malformed"},
		{"unknown", request("r8", "Bearer "+unknownKey), denied, "unknown"},
		{"wrong secret", request("r9", "Bearer "+wrongSecret), denied, "wrong_secret"},
		{"revoked", request("r10", "Bearer "+revokedKey), denied, "revoked"},
		{"expired at this instant", request("r11", "Bearer "+expiredKey), denied, "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			got, err := a.Handle(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Handle = %+v, want %+v", got, tc.want)
			}
			line := lastLine(t, &logs)
			if line["request_id"] != tc.req.RequestContext.RequestID {
				t.Errorf("log %v lacks request_id %q", line, tc.req.RequestContext.RequestID)
			}
			if reason, _ := line["reason"].(string); reason != tc.reason {
				t.Errorf("log reason = %v, want %q", line["reason"], tc.reason)
			}
		})
	}

	t.Run("a stored key without its org is an error, not an allow", func(t *testing.T) {
		got, err := a.Handle(context.Background(), request("r12", "Bearer "+corruptKey))
		if err == nil || got.IsAuthorized {
			t.Fatalf("Handle = %+v, %v; want an error and no allow", got, err)
		}
	})

	t.Run("logs hold key ids, never secrets", func(t *testing.T) {
		logs.Reset()
		for _, key := range []string{orgKey, regulatorKey, expiredKey, revokedKey, unknownKey, wrongSecret, "Bearer  " + orgKey, orgKey + "0"} {
			if _, err := a.Handle(context.Background(), request("r13", "Bearer "+key)); err != nil {
				t.Fatal(err)
			}
		}
		out := logs.String()
		for _, key := range []string{orgKey, regulatorKey, expiredKey, revokedKey, unknownKey, wrongSecret} {
			secret := key[len(key)-64:]
			if strings.Contains(out, secret) || strings.Contains(out, secret[:16]) {
				t.Errorf("the log holds the secret of %s…:\n%s", key[:20], out)
			}
		}
		if !strings.Contains(out, `"key_id":"`+org.ID+`"`) {
			t.Errorf("the log lacks key_id %s:\n%s", org.ID, out)
		}
	})
}

func TestAuthorizerLookupFailureIsAnError(t *testing.T) {
	down := errors.New("dynamodb: connection refused")
	var logs bytes.Buffer
	a := auth.NewAuthorizer(fakeKeys{err: down}, clock, zerolog.New(&logs))
	_, key := newKey(t, nil)
	got, err := a.Handle(context.Background(), request("r1", "Bearer "+key))
	if !errors.Is(err, down) || got.IsAuthorized {
		t.Fatalf("Handle = %+v, %v; want no allow and an error wrapping %v", got, err, down)
	}
	if line := lastLine(t, &logs); line["level"] != "error" || line["key_id"] == nil {
		t.Errorf("the failure is not logged as an error with its key_id: %v", line)
	}
}

// TestAuthorizerEvent runs the sample event that `sam local invoke -e` uses, decoded as the
// Lambda runtime decodes it.
func TestAuthorizerEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/authorize.json")
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2CustomAuthorizerV2Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a misspelt field in the sample would otherwise pass unseen
	if err := dec.Decode(&req); err != nil {
		t.Fatalf("decode events/authorize.json: %v", err)
	}
	c, err := auth.ParseBearer(req.IdentitySource[0])
	if err != nil {
		t.Fatalf("the sample's key is malformed: %v", err)
	}
	plaintext := c.Plaintext()
	// secret_sha256 is the SHA-256 of the secret's hex text (the part after the second underscore).
	stored := auth.Key{ID: c.ID, Principal: auth.PrincipalOrganisation, OrgID: "exemple-sa",
		SecretSHA256: sha256.Sum256([]byte(plaintext[strings.LastIndexByte(plaintext, '_')+1:]))}

	for _, tc := range []struct {
		name string
		keys map[string]auth.Key
		want bool
	}{
		{"key provisioned", map[string]auth.Key{c.ID: stored}, true},
		{"key not provisioned", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := auth.NewAuthorizer(fakeKeys{keys: tc.keys}, clock, zerolog.New(&logs))
			got, err := a.Handle(context.Background(), req)
			if err != nil || got.IsAuthorized != tc.want {
				t.Fatalf("Handle = %+v, %v; want IsAuthorized %v", got, err, tc.want)
			}
			if line := lastLine(t, &logs); line["request_id"] != req.RequestContext.RequestID || line["key_id"] != c.ID {
				t.Errorf("log %v lacks the request id or key id", line)
			}
		})
	}
}

// lastLine decodes the last JSON log line written to buf.
func lastLine(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	var last string
	for s := bufio.NewScanner(bytes.NewReader(buf.Bytes())); s.Scan(); {
		last = s.Text()
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(last), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", last, err)
	}
	return line
}
