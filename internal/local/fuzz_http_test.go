package local_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/audit/audittest"
	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/local"
)

// The fuzzed stack's one organisation and its key. The key is drawn from fixed bytes, so that the
// seeds (and the committed corpus) can carry it and the fuzzer starts from authorised requests.
var (
	fuzzOrg      = breach.Organisation{ID: "fuzz-org", LegalName: "Organisation fuzz", Country: "FR"}
	fuzzKeyBytes = strings.Repeat("fuzzkey!", 5) // 8 bytes of key id, 32 of secret
	fuzzKey      = fixedKey()
)

func fixedKey() auth.Key {
	k, _, err := auth.NewKey(strings.NewReader(fuzzKeyBytes))
	if err != nil {
		panic(err)
	}
	k.Principal, k.OrgID, k.CreatedAt = auth.PrincipalOrganisation, string(fuzzOrg.ID), exampleTime.AddDate(0, -1, 0)
	return k
}

// fuzzKeyText is the key's plaintext, as an organisation sends it.
func fuzzKeyText() string {
	b := []byte(fuzzKeyBytes)
	return "bik_" + hex.EncodeToString(b[:8]) + "_" + hex.EncodeToString(b[8:])
}

// oneKey is an auth.Keys holding one key.
type oneKey struct{ key auth.Key }

func (k oneKey) Key(_ context.Context, id string) (auth.Key, error) {
	if id != k.key.ID {
		return auth.Key{}, fmt.Errorf("key %s: %w", id, auth.ErrNotFound)
	}
	return k.key, nil
}

// fuzzAPI is the local API server of the real template with the real authorizer, submit and read
// handlers, over in-memory stores: the whole HTTP path without AWS. A new one per request, so that
// an input's answer never depends on the inputs before it (idempotency keys, authorizer cache,
// throttles).
func fuzzAPI(tb testing.TB, tpl *local.Template, logs *bytes.Buffer) *local.API {
	clock := func() time.Time { return exampleTime }
	log := zerolog.New(logs)
	store := breachtest.NewStore(fuzzOrg)
	trail := audit.NewTrail(audittest.NewStore(), clock)
	cursors, err := breach.NewCursors(bytes.Repeat([]byte("c"), 32))
	if err != nil {
		tb.Fatal(err)
	}
	reader := breach.NewReader(store, cursors)
	fns := func(id string) (lambda.Handler, error) {
		switch id {
		case "SubmitReportFunction":
			return apigw.SubmitReport(breach.NewIntake(store, clock, breach.ULIDs()), trail, log), nil
		case "ReadReportsFunction":
			return apigw.ReadReports(func(context.Context) (*breach.Reader, error) { return reader, nil }, trail, log), nil
		case "AuthorizeFunction":
			return lambda.NewHandler(auth.NewAuthorizer(oneKey{fuzzKey}, clock, log).Handle), nil
		}
		return nil, fmt.Errorf("no function %s in the fuzzed stack", id)
	}
	api, err := local.NewAPI(tpl, fns, local.APIOptions{Now: clock, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// rawRequest writes an HTTP/1.1 request; headers are name, value pairs.
func rawRequest(method, target string, body []byte, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n", method, target)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

type fuzzSeed struct {
	name   string
	raw    []byte
	status int // what the seed must be answered, so that the seeds stay meaningful
}

// fuzzSeeds are real requests, one per kind of answer.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	key := "Bearer " + fuzzKeyText()
	post := func(body []byte, headers ...string) []byte {
		return rawRequest("POST", "/v1/reports", body, headers...)
	}
	gdpr := readExample(tb, "gdpr-minimal.json")
	seeds := []fuzzSeed{
		{"no key", post(gdpr, "Content-Type", "application/json", "Idempotency-Key", "k1"), 401},
		{"a malformed key", post(gdpr, "Authorization", "Bearer bik_nope", "Content-Type", "application/json", "Idempotency-Key", "k1"), 403},
		{"an unknown key", post(gdpr, "Authorization", "Bearer bik_0123456789abcdef_"+strings.Repeat("0", 64), "Content-Type", "application/json", "Idempotency-Key", "k1"), 403},
		{"the wrong content type", post(gdpr, "Authorization", key, "Content-Type", "text/plain", "Idempotency-Key", "k1"), 415},
		{"a body over 256 KiB", post(append([]byte(`{"consequences":"`), append(bytes.Repeat([]byte("x"), breach.MaxBodyBytes), '"', '}')...),
			"Authorization", key, "Content-Type", "application/json", "Idempotency-Key", "k1"), 413},
		{"a body over the gateway's 10 MB", []byte("POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: " + key +
			"\r\nContent-Type: application/json\r\nContent-Length: 10485761\r\n\r\n{}"), 413},
		{"invalid JSON", post([]byte(`{"regimes":["gdpr"],"regimes":["nis2"]}`), "Authorization", key, "Content-Type", "application/json", "Idempotency-Key", "k1"), 400},
		{"the health check", rawRequest("GET", "/v1/health", nil), 200},
		{"an unknown route", rawRequest("GET", "/v1/nothing", nil, "Authorization", key), 404},
		{"a list", rawRequest("GET", "/v1/reports?limit=5", nil, "Authorization", key), 200},
		{"a forged cursor", rawRequest("GET", "/v1/reports?cursor=AAAA", nil, "Authorization", key), 400},
		{"an unknown report", rawRequest("GET", "/v1/reports/01KAAAAAAAAAAAAAAAAAAAAAAA", nil, "Authorization", key), 404},
		{"an unknown version", rawRequest("GET", "/v1/reports/01KAAAAAAAAAAAAAAAAAAAAAAA/versions/2", nil, "Authorization", key), 404},
		{"an organisation on the regulator route", rawRequest("GET", "/v1/regulator/reports/01KAAAAAAAAAAAAAAAAAAAAAAA", nil, "Authorization", key), 403},
		{"a supplement to an unknown report", rawRequest("POST", "/v1/reports/01KAAAAAAAAAAAAAAAAAAAAAAA/supplements", gdpr,
			"Authorization", key, "Content-Type", "application/json", "Idempotency-Key", "k1", "If-Match", "1"), 404},
	}
	examples, err := filepath.Glob("../breach/testdata/*.json")
	if err != nil || len(examples) == 0 {
		tb.Fatalf("no examples in ../breach/testdata: %v", err)
	}
	for _, path := range examples {
		seeds = append(seeds, fuzzSeed{"a valid " + filepath.Base(path),
			post(readExample(tb, filepath.Base(path)), "Authorization", key, "Content-Type", "application/json", "Idempotency-Key", filepath.Base(path)), 201})
	}
	return seeds
}

func readExample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../breach/testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// serveRaw serves raw bytes as one HTTP/1.1 request; ok is false when they do not parse as one
// (net/http answers those 400 itself, before any handler).
func serveRaw(api *local.API, raw []byte) (*httptest.ResponseRecorder, bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	req.RemoteAddr = "192.0.2.10:50000" // as net/http's server sets it
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec, true
}

// TestFuzzHTTPSeeds keeps the seeds what they claim to be: a seed answered 403 for a mistyped key
// would leave the fuzzer outside the authorised path.
func TestFuzzHTTPSeeds(t *testing.T) {
	tpl := loadReal(t)
	for _, s := range fuzzSeeds(t) {
		var logs bytes.Buffer
		rec, ok := serveRaw(fuzzAPI(t, tpl, &logs), s.raw)
		if !ok {
			t.Errorf("%s: not an HTTP request", s.name)
			continue
		}
		if rec.Code != s.status {
			t.Errorf("%s: %d %s, want %d\n%s", s.name, rec.Code, rec.Body, s.status, logs.String())
		}
	}
}

// FuzzHTTP sends raw bytes through the whole HTTP path: net/http's request parser, the local API
// server of the real template (routes, gateway checks, throttles, events), the real authorizer
// and the real submit and read handlers with their decoding, validation, storage and audit trail.
// Whatever the bytes, it answers:
// never a panic, never a 5xx, and every 4xx is either the gateway's {"message":…} or our
// {"error":{…}}.
func FuzzHTTP(f *testing.F) {
	tpl, err := local.LoadTemplate(templatePath)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds(f) {
		f.Add(s.raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var logs bytes.Buffer
		rec, ok := serveRaw(fuzzAPI(t, tpl, &logs), raw)
		if !ok {
			return
		}
		body := rec.Body.Bytes()
		if rec.Code < 200 || rec.Code >= 500 {
			t.Fatalf("status %d: %s\nlogs:\n%s", rec.Code, body, logs.String())
		}
		if rec.Code >= 400 {
			if err := checkErrorBody(rec.Code, body); err != nil {
				t.Fatalf("status %d: %v: %s\nlogs:\n%s", rec.Code, err, body, logs.String())
			}
		}
	})
}

// checkErrorBody says whether a 4xx body is the gateway's {"message":"<reason>"} or our
// {"error":{"code":…,"message":…,"request_id":…}}.
func checkErrorBody(status int, body []byte) error {
	if string(body) == `{"message":"`+http.StatusText(status)+`"}` {
		return nil
	}
	var e struct {
		Error *struct {
			Code      string          `json:"code"`
			Message   string          `json:"message"`
			RequestID string          `json:"request_id"`
			Fields    json.RawMessage `json:"fields"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("neither the gateway's answer nor an error object: %w", err)
	}
	if e.Error == nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		return fmt.Errorf("an error object without code, message or request_id")
	}
	return nil
}
