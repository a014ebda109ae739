package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/go-json-experiment/json"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
)

// apiTemplate has one route of each kind the local API server must reproduce.
const apiTemplate = `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], ReauthorizeEvery: 60}
  AuthFn:
    Type: AWS::Serverless::Function
  AppFn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Submit: {Type: HttpApi, Properties: {Method: POST, Path: /v1/reports}}
        Report: {Type: HttpApi, Properties: {Method: GET, Path: "/v1/reports/{id}"}}
        Export: {Type: HttpApi, Properties: {Method: GET, Path: /v1/reports/export}}
        Version: {Type: HttpApi, Properties: {Method: GET, Path: "/v1/reports/{id}/versions/{n}"}}
        Regulator: {Type: HttpApi, Properties: {Method: GET, Path: "/v1/regulator/reports/{id}", Auth: {Authorizer: AWS_IAM}}}
        Health: {Type: HttpApi, Properties: {Method: GET, Path: /v1/health, Auth: {Authorizer: NONE}}}
        Files: {Type: HttpApi, Properties: {Method: GET, Path: "/files/{proxy+}", Auth: {Authorizer: NONE}}}
`

// fn is a fake function: it records every event it gets and answers with respond.
type fn struct {
	mu      sync.Mutex
	events  [][]byte
	respond func(event []byte) ([]byte, error)
}

func (f *fn) Invoke(_ context.Context, event []byte) ([]byte, error) {
	f.mu.Lock()
	f.events = append(f.events, bytes.Clone(event))
	f.mu.Unlock()
	return f.respond(event)
}

func (f *fn) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

func (f *fn) last(t *testing.T) []byte {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		t.Fatal("function not invoked")
	}
	return f.events[len(f.events)-1]
}

func answer(s string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return []byte(s), nil }
}

const (
	allow    = `{"isAuthorized":true,"context":{"principal":"organisation","org_id":"exemple-sa","key_id":"7b2d5f53eec30455"}}`
	okReply  = `{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"ok\":true}"}`
	bearer   = "Bearer bik_7b2d5f53eec30455_26d3ad6ec6ad3e396c99c0495cd96289fe82d75dfda34a4eea3e3dfd32183709"
	tooLarge = 10 << 20
)

var t0 = time.Date(2026, 11, 21, 10, 15, 30, 123456789, time.UTC)

// clock is a settable clock for the gateway.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

type stack struct {
	api      *local.API
	app, key *fn
	clock    *clock
	log      *bytes.Buffer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{app: &fn{respond: answer(okReply)}, key: &fn{respond: answer(allow)}, clock: &clock{now: t0}, log: &bytes.Buffer{}}
	fns := map[string]lambda.Handler{"AppFn": s.app, "AuthFn": s.key}
	api, err := local.NewAPI(parse(t, apiTemplate), func(id string) (lambda.Handler, error) {
		if h, ok := fns[id]; ok {
			return h, nil
		}
		return nil, errors.New("no such function")
	}, local.APIOptions{Now: s.clock.Now, Log: zerolog.New(&lockedWriter{w: s.log})})
	if err != nil {
		t.Fatal(err)
	}
	s.api = api
	return s
}

// lockedWriter lets concurrent requests share the test's log buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do serves one request; headers are name, value pairs.
func (s *stack) do(method, target string, body []byte, headers ...string) *http.Response {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.api.ServeHTTP(w, r)
	return w.Result()
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gatewayAnswer checks an answer API Gateway makes itself, byte for byte.
func gatewayAnswer(t *testing.T, resp *http.Response, status int, body string) {
	t.Helper()
	if got := readBody(t, resp); resp.StatusCode != status || got != body {
		t.Errorf("answer %d %s, want %d %s", resp.StatusCode, got, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q, want application/json", ct)
	}
	if resp.Header.Get("Apigw-Requestid") == "" {
		t.Error("no apigw-requestid header")
	}
}

const (
	unauthorized = `{"message":"Unauthorized"}`
	forbidden    = `{"message":"Forbidden"}`
	notFound     = `{"message":"Not Found"}`
	internal     = `{"message":"Internal Server Error"}`
	entityLarge  = `{"message":"Request Entity Too Large"}`
)

func decodeEvent(t *testing.T, raw []byte) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev, json.RejectUnknownMembers(true)); err != nil {
		t.Fatalf("event does not decode: %v\n%s", err, raw)
	}
	return ev
}

func TestAPIEventIsAPIGateways(t *testing.T) {
	s := newStack(t)
	resp := s.do("GET", "http://127.0.0.1:3000/v1/reports/01JD00000000000000000000AB/versions/2?limit=5&tag=a&tag=b", nil,
		"Authorization", bearer, "X-Multi", "1", "X-Multi", "2", "Cookie", "a=1; b=2", "User-Agent", "curl/8.5.0")
	if resp.StatusCode != 200 || readBody(t, resp) != `{"ok":true}` {
		t.Fatalf("status %d", resp.StatusCode)
	}
	requestID := resp.Header.Get("Apigw-Requestid")
	if len(requestID) != 16 || !strings.HasSuffix(requestID, "=") {
		t.Errorf("apigw-requestid %q is not shaped like API Gateway's", requestID)
	}

	raw := s.app.last(t)
	ev := decodeEvent(t, raw)
	const routeKey = "GET /v1/reports/{id}/versions/{n}"
	want := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               "/v1/reports/01JD00000000000000000000AB/versions/2",
		RawQueryString:        "limit=5&tag=a&tag=b",
		Cookies:               []string{"a=1", "b=2"},
		QueryStringParameters: map[string]string{"limit": "5", "tag": "a,b"},
		PathParameters:        map[string]string{"id": "01JD00000000000000000000AB", "n": "2"},
		Headers: map[string]string{
			"authorization":     bearer,
			"x-multi":           "1,2",
			"user-agent":        "curl/8.5.0",
			"host":              "127.0.0.1:3000",
			"x-forwarded-for":   "192.0.2.1",
			"x-forwarded-proto": "http",
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   "127.0.0.1:3000",
			DomainPrefix: "127",
			Time:         "21/Nov/2026:10:15:30 +0000",
			TimeEpoch:    t0.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "GET", Path: "/v1/reports/01JD00000000000000000000AB/versions/2", Protocol: "HTTP/1.1",
				SourceIP: "192.0.2.1", UserAgent: "curl/8.5.0",
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
				"principal": "organisation", "org_id": "exemple-sa", "key_id": "7b2d5f53eec30455",
			}},
		},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event\n%+v\nwant\n%+v\nraw %s", ev, want, raw)
	}
	// What API Gateway leaves out when the request has none of it.
	for _, absent := range []string{`"body"`, `"authentication"`, `"stageVariables"`} {
		if bytes.Contains(raw, []byte(absent)) {
			t.Errorf("event holds %s: %s", absent, raw)
		}
	}

	t.Run("the authorizer gets a REQUEST event", func(t *testing.T) {
		raw := s.key.last(t)
		var ev events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(raw, &ev, json.RejectUnknownMembers(true)); err != nil {
			t.Fatalf("authorizer event does not decode: %v\n%s", err, raw)
		}
		if ev.Version != "2.0" || ev.Type != "REQUEST" || ev.RouteKey != routeKey ||
			ev.RouteArn != "arn:aws:execute-api:eu-west-3:123456789012:local/$default/GET/v1/reports/01JD00000000000000000000AB/versions/2" ||
			!reflect.DeepEqual(ev.IdentitySource, []string{bearer}) || ev.Headers["authorization"] != bearer ||
			ev.PathParameters["id"] != "01JD00000000000000000000AB" || ev.RequestContext.RequestID != requestID ||
			ev.RequestContext.Authorizer != nil {
			t.Errorf("authorizer event %s", raw)
		}
		if bytes.Contains(raw, []byte(`"stageVariables"`)) {
			t.Errorf("authorizer event holds stageVariables: %s", raw)
		}
	})

	t.Run("one access line, without headers", func(t *testing.T) {
		var line struct {
			RequestID string `json:"request_id"`
			RouteKey  string `json:"route_key"`
			Status    int    `json:"status"`
			OrgID     string `json:"org_id"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(s.log.Bytes()), &line); err != nil {
			t.Fatalf("log %s: %v", s.log, err)
		}
		if line.RequestID != requestID || line.RouteKey != routeKey || line.Status != 200 || line.OrgID != "exemple-sa" {
			t.Errorf("access line %s", s.log)
		}
		if strings.Contains(s.log.String(), "bik_") || strings.Contains(s.log.String(), "curl") {
			t.Errorf("access line holds a header: %s", s.log)
		}
	})
}

func TestAPIRouting(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		routeKey     string // "" expects the gateway's 404
		params       map[string]string
	}{
		{"POST", "/v1/reports", "POST /v1/reports", nil},
		{"GET", "/v1/reports/abc", "GET /v1/reports/{id}", map[string]string{"id": "abc"}},
		{"GET", "/v1/reports/export", "GET /v1/reports/export", nil}, // a literal beats a variable
		{"GET", "/v1/reports/a%2Fb", "GET /v1/reports/{id}", map[string]string{"id": "a/b"}},
		{"GET", "/files/a/b/c.txt", "GET /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"GET", "/v1/health", "GET /v1/health", nil},
		{"GET", "/files", "", nil},
		{"GET", "/files/", "", nil},
		{"GET", "/v1/unknown", "", nil},
		{"DELETE", "/v1/reports", "", nil}, // a wrong method is a 404 too, never a 405
		{"GET", "/v1/reports", "", nil},
		{"GET", "/v1/health/", "", nil},
		{"GET", "/v1/reports//versions/1", "", nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			s := newStack(t)
			resp := s.do(tc.method, tc.path, nil, "Authorization", bearer)
			if tc.routeKey == "" {
				gatewayAnswer(t, resp, 404, notFound)
				if s.app.calls()+s.key.calls() != 0 {
					t.Error("a function was invoked")
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			ev := decodeEvent(t, s.app.last(t))
			if ev.RouteKey != tc.routeKey || ev.RequestContext.RouteKey != tc.routeKey || !reflect.DeepEqual(ev.PathParameters, tc.params) {
				t.Errorf("routeKey %q, pathParameters %v; want %q, %v", ev.RouteKey, ev.PathParameters, tc.routeKey, tc.params)
			}
		})
	}
}

func TestAPIStage(t *testing.T) {
	app := &fn{respond: answer(okReply)}
	api, err := local.NewAPI(parse(t, apiTemplate), func(string) (lambda.Handler, error) { return app, nil },
		local.APIOptions{Stage: "dev", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/dev/v1/health", nil))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if ev := decodeEvent(t, app.last(t)); ev.RequestContext.Stage != "dev" || ev.RawPath != "/dev/v1/health" || ev.RouteKey != "GET /v1/health" {
		t.Errorf("stage %q rawPath %q routeKey %q", ev.RequestContext.Stage, ev.RawPath, ev.RouteKey)
	}
	w = httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/v1/health", nil))
	if w.Code != 404 {
		t.Errorf("without the stage prefix: status %d, want 404", w.Code)
	}
}

func TestAPIRequestBody(t *testing.T) {
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		base64            bool
	}{
		{"json", "application/json", []byte(`{"é":1}`), false},
		{"json utf-8", "application/json; charset=utf-8", []byte(`{}`), false},
		{"text", "text/plain", []byte("hello"), false},
		{"xml", "application/xml", []byte("<a/>"), false},
		{"javascript", "application/javascript", []byte("f()"), false},
		{"binary", "application/octet-stream", []byte{0, 1, 2, 0xff}, true},
		{"form", "application/x-www-form-urlencoded", []byte("a=1"), true},
		{"no content type", "", []byte(`{}`), true},
		{"json that is not UTF-8", "application/json", []byte{'"', 0xff, '"'}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			headers := []string{"Authorization", bearer}
			if tc.contentType != "" {
				headers = append(headers, "Content-Type", tc.contentType)
			}
			if resp := s.do("POST", "/v1/reports", tc.body, headers...); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			ev := decodeEvent(t, s.app.last(t))
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				var err error
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatal(err)
				}
			}
			if ev.IsBase64Encoded != tc.base64 || !bytes.Equal(got, tc.body) {
				t.Errorf("isBase64Encoded %v body %q, want %v %q", ev.IsBase64Encoded, got, tc.base64, tc.body)
			}
		})
	}

	t.Run("over 10 MB: 413, nothing invoked", func(t *testing.T) {
		s := newStack(t)
		resp := s.do("POST", "/v1/reports", make([]byte, tooLarge+1), "Authorization", bearer, "Content-Type", "application/json")
		gatewayAnswer(t, resp, 413, entityLarge)
		if s.app.calls()+s.key.calls() != 0 {
			t.Error("a function was invoked")
		}
	})
	t.Run("over 10 MB without a Content-Length: 413", func(t *testing.T) {
		s := newStack(t)
		body := io.MultiReader(bytes.NewReader(make([]byte, tooLarge)), strings.NewReader("x")) // length unknown
		r := httptest.NewRequest("POST", "/v1/reports", body)
		r.Header.Set("Authorization", bearer)
		w := httptest.NewRecorder()
		s.api.ServeHTTP(w, r)
		gatewayAnswer(t, w.Result(), 413, entityLarge)
		if s.app.calls()+s.key.calls() != 0 {
			t.Error("a function was invoked")
		}
	})
	t.Run("exactly 10 MB passes", func(t *testing.T) {
		s := newStack(t)
		if resp := s.do("POST", "/v1/reports", bytes.Repeat([]byte("a"), tooLarge), "Authorization", bearer, "Content-Type", "text/plain"); resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestAPIAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name      string
		headers   []string
		authorize func([]byte) ([]byte, error)
		status    int
		body      string
		invoked   bool // the authorizer
	}{
		{"no header", nil, answer(allow), 401, unauthorized, false},
		{"empty header", []string{"Authorization", ""}, answer(allow), 401, unauthorized, false},
		{"denied", []string{"Authorization", "Bearer nope"}, answer(`{"isAuthorized":false}`), 403, forbidden, true},
		{"authorizer error", []string{"Authorization", bearer}, func([]byte) ([]byte, error) { return nil, errors.New("table unreachable") }, 500, internal, true},
		{"authorizer answers no JSON", []string{"Authorization", bearer}, answer(`not json`), 500, internal, true},
		{"authorizer answers no decision", []string{"Authorization", bearer}, answer(`{"context":{}}`), 500, internal, true},
		{"authorizer panics", []string{"Authorization", bearer}, func([]byte) ([]byte, error) { panic("boom") }, 500, internal, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.key.respond = tc.authorize
			gatewayAnswer(t, s.do("POST", "/v1/reports", []byte(`{}`), tc.headers...), tc.status, tc.body)
			if got := s.key.calls() > 0; got != tc.invoked {
				t.Errorf("authorizer invoked: %v, want %v", got, tc.invoked)
			}
			if s.app.calls() != 0 {
				t.Error("the route's function was invoked")
			}
		})
	}

	t.Run("AWS_IAM routes take the default authorizer locally", func(t *testing.T) {
		s := newStack(t)
		gatewayAnswer(t, s.do("GET", "/v1/regulator/reports/abc", nil), 401, unauthorized)
		if resp := s.do("GET", "/v1/regulator/reports/abc", nil, "Authorization", bearer); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ev := decodeEvent(t, s.app.last(t)); ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.Lambda["key_id"] != "7b2d5f53eec30455" {
			t.Errorf("authorizer context %+v", ev.RequestContext.Authorizer)
		}
	})

	t.Run("NONE routes skip the authorizer", func(t *testing.T) {
		s := newStack(t)
		if resp := s.do("GET", "/v1/health", nil); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		raw := s.app.last(t)
		if s.key.calls() != 0 || decodeEvent(t, raw).RequestContext.Authorizer != nil || bytes.Contains(raw, []byte(`"authorizer"`)) {
			t.Errorf("authorizer involved: %d calls, event %s", s.key.calls(), raw)
		}
	})
}

func TestAPIAuthorizerCache(t *testing.T) {
	s := newStack(t)
	request := func(key string) int {
		t.Helper()
		return s.do("POST", "/v1/reports", []byte(`{}`), "Authorization", key).StatusCode
	}
	if request(bearer) != 200 || request(bearer) != 200 {
		t.Fatal("not allowed")
	}
	if n := s.key.calls(); n != 1 {
		t.Errorf("authorizer invoked %d times for two requests within the TTL, want 1", n)
	}
	s.clock.Set(t0.Add(59 * time.Second))
	request(bearer)
	if n := s.key.calls(); n != 1 {
		t.Errorf("authorizer invoked %d times before the TTL passed, want 1", n)
	}
	if ev := decodeEvent(t, s.app.last(t)); ev.RequestContext.Authorizer.Lambda["org_id"] != "exemple-sa" {
		t.Errorf("a cached decision lost its context: %+v", ev.RequestContext.Authorizer)
	}
	s.clock.Set(t0.Add(60 * time.Second))
	request(bearer)
	if n := s.key.calls(); n != 2 {
		t.Errorf("authorizer invoked %d times once the TTL passed, want 2", n)
	}

	t.Run("per identity, denials included", func(t *testing.T) {
		s.key.respond = answer(`{"isAuthorized":false}`)
		before := s.key.calls()
		if request("Bearer other") != 403 || request("Bearer other") != 403 {
			t.Fatal("not denied")
		}
		if n := s.key.calls() - before; n != 1 {
			t.Errorf("authorizer invoked %d times for a denied identity, want 1", n)
		}
	})

	t.Run("failures are not cached", func(t *testing.T) {
		s.key.respond = func([]byte) ([]byte, error) { return nil, errors.New("down") }
		before := s.key.calls()
		request("Bearer third")
		s.key.respond = answer(allow)
		if request("Bearer third") != 200 || s.key.calls()-before != 2 {
			t.Error("a failed authorization was cached")
		}
	})
}

func TestAPIAuthorizerWithoutCache(t *testing.T) {
	key := &fn{respond: answer(allow)}
	app := &fn{respond: answer(okReply)}
	src := strings.Replace(apiTemplate, "ReauthorizeEvery: 60", "ReauthorizeEvery: 0", 1)
	api, err := local.NewAPI(parse(t, src), func(id string) (lambda.Handler, error) {
		if id == "AuthFn" {
			return key, nil
		}
		return app, nil
	}, local.APIOptions{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := httptest.NewRequest("POST", "/v1/reports", nil)
		r.Header.Set("Authorization", bearer)
		api.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := key.calls(); n != 2 {
		t.Errorf("authorizer invoked %d times with ReauthorizeEvery 0, want 2", n)
	}
}

func TestAPIFunctionResponse(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		fail         error
		status       int
		headers      http.Header
		body         string
	}{
		{"structured", `{"statusCode":201,"headers":{"content-type":"application/json","location":"/v1/reports/1"},"multiValueHeaders":{"x-m":["a","b"]},"cookies":["c=1; Secure","d=2"],"body":"{\"id\":1}"}`,
			nil, 201, http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/reports/1"}, "X-M": {"a", "b"}, "Set-Cookie": {"c=1; Secure", "d=2"}}, `{"id":1}`},
		{"base64 body", `{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"isBase64Encoded":true,"body":"AAEC/w=="}`,
			nil, 200, http.Header{"Content-Type": {"application/octet-stream"}}, "\x00\x01\x02\xff"},
		{"plain JSON object", `{"status":"ok"}`, nil, 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok"}`},
		{"plain JSON string", `"Hello from Lambda!"`, nil, 200, http.Header{"Content-Type": {"application/json"}}, `Hello from Lambda!`},
		{"plain JSON number", `42`, nil, 200, http.Header{"Content-Type": {"application/json"}}, `42`},
		{"no content type: none sniffed", `{"statusCode":204}`, nil, 204, http.Header{}, ""},
		{"handler error", "", errors.New("boom"), 500, nil, internal},
		{"not JSON", `{"statusCode":`, nil, 500, nil, internal},
		{"statusCode of the wrong type", `{"statusCode":"200"}`, nil, 500, nil, internal},
		{"statusCode out of range", `{"statusCode":1000}`, nil, 500, nil, internal},
		{"bad base64", `{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`, nil, 500, nil, internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.app.respond = func([]byte) ([]byte, error) { return []byte(tc.output), tc.fail }
			resp := s.do("GET", "/v1/health", nil)
			if tc.headers == nil {
				gatewayAnswer(t, resp, tc.status, tc.body)
				return
			}
			if got := readBody(t, resp); resp.StatusCode != tc.status || got != tc.body {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.body)
			}
			got := resp.Header.Clone()
			got.Del("Apigw-Requestid")
			for k, vs := range got {
				if len(vs) == 0 { // httptest keeps the nil that stops net/http sniffing; nothing is sent
					delete(got, k)
				}
			}
			if !reflect.DeepEqual(got, tc.headers) {
				t.Errorf("headers %v, want %v", got, tc.headers)
			}
		})
	}
}

func TestAPISurvivesAPanic(t *testing.T) {
	s := newStack(t)
	s.app.respond = func([]byte) ([]byte, error) { panic("nil map") }
	gatewayAnswer(t, s.do("GET", "/v1/health", nil), 500, internal)
	if !strings.Contains(s.log.String(), "function panicked") || !strings.Contains(s.log.String(), "nil map") {
		t.Errorf("panic not logged: %s", s.log)
	}
	s.app.respond = answer(okReply)
	if resp := s.do("GET", "/v1/health", nil); resp.StatusCode != 200 {
		t.Errorf("after a panic: status %d", resp.StatusCode)
	}
}

// Run with -race: requests share the route table, the handlers and the authorizer cache.
func TestAPIConcurrentRequests(t *testing.T) {
	s := newStack(t)
	srv := httptest.NewServer(s.api)
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/reports", strings.NewReader(`{}`))
			req.Header.Set("Authorization", bearer+string(rune('a'+i%4)))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := s.app.calls(); n != 32 {
		t.Errorf("function invoked %d times, want 32", n)
	}
}

func TestNewAPI(t *testing.T) {
	t.Run("every function is built once, up front", func(t *testing.T) {
		built := map[string]int{}
		_, err := local.NewAPI(parse(t, apiTemplate), func(id string) (lambda.Handler, error) {
			built[id]++
			return &fn{respond: answer(okReply)}, nil
		}, local.APIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"AppFn": 1, "AuthFn": 1}; !reflect.DeepEqual(built, want) {
			t.Errorf("built %v, want %v", built, want)
		}
	})
	for _, tc := range []struct{ name, src, fails, want string }{
		{"a function that cannot be built", apiTemplate, "AuthFn", "function AuthFn: no"},
		{"IAM policy responses", strings.Replace(apiTemplate, "EnableSimpleResponses: true", "EnableSimpleResponses: false", 1), "", "simple responses"},
		{"a route twice", strings.Replace(apiTemplate, "{Method: GET, Path: /v1/reports/export}", "{Method: POST, Path: /v1/reports}", 1), "", "defined twice"},
		{"a greedy variable inside the path", strings.Replace(apiTemplate, `"/files/{proxy+}"`, `"/files/{proxy+}/x"`, 1), "", "not the last segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := local.NewAPI(parse(t, tc.src), func(id string) (lambda.Handler, error) {
				if id == tc.fails {
					return nil, errors.New("no")
				}
				return &fn{respond: answer(okReply)}, nil
			}, local.APIOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}

func TestFunctionEnv(t *testing.T) {
	tpl := loadReal(t)
	env, err := local.FunctionEnv(tpl, "SubmitReportFunction", map[string]string{"ReportsTable": "s-ReportsTable", "ReceiptKey": "alias/s/receipts"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"LOG_LEVEL": "info", "TABLE_NAME": "s-ReportsTable", "RECEIPT_KEY_ID": "alias/s/receipts", "RECEIPT_PREVIOUS_KEY_IDS": ""}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env %v, want %v", env, want)
	}
	if _, err := local.FunctionEnv(tpl, "SubmitReportFunction", map[string]string{"ReceiptKey": "k"}); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Errorf("unresolvable variable: error %v", err)
	}
	if _, err := local.FunctionEnv(tpl, "ReportsTable", nil); err == nil {
		t.Error("a table has no function environment")
	}
}

// Integration: the real template and handlers on a private moto_server, over real HTTP.
func TestAPIServesTheTemplate(t *testing.T) {
	ctx := context.Background()
	st := newLiveStack(t, breach.SystemClock())
	db, table := st.db, st.table
	org := breach.Organisation{ID: "mutuelle-exemple", LegalName: "Mutuelle Exemple", SIREN: "775685019", Country: "FR"}
	key := st.orgKey(t, org)
	report, err := os.ReadFile("../breach/testdata/processor-late.json")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body []byte, headers ...string) (int, string) {
		t.Helper()
		return st.call(t, method, path, body, headers...)
	}
	submit := []string{"Authorization", "Bearer " + key, "Content-Type", "application/json", "Idempotency-Key", "api-test-1"}

	status, first := call("POST", "/v1/reports", report, submit...)
	if status != 201 {
		t.Fatalf("POST /v1/reports: %d %s", status, first)
	}
	var receipt struct {
		ID     string `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(first), &receipt); err != nil {
		t.Fatal(err)
	}
	item, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "REPORT#" + receipt.ID},
		"sk": &types.AttributeValueMemberS{Value: "V#000001"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	doc, ok := item.Item["document"].(*types.AttributeValueMemberB)
	if !ok {
		t.Fatalf("version item has no binary document: %v", item.Item)
	}
	if sum := sha256.Sum256(doc.Value); hex.EncodeToString(sum[:]) != receipt.SHA256 {
		t.Errorf("receipt sha256 %s is not the stored document's", receipt.SHA256)
	}

	if status, again := call("POST", "/v1/reports", report, submit...); status != 200 || again != first {
		t.Errorf("replay: %d %s, want 200 with the first receipt", status, again)
	}
	if status, body := call("POST", "/v1/reports", report, submit[2:]...); status != 401 || body != unauthorized {
		t.Errorf("no key: %d %s", status, body)
	}
	wrong := "Bearer " + key[:len(key)-1] + "0"
	if strings.HasSuffix(key, "0") {
		wrong = "Bearer " + key[:len(key)-1] + "1"
	}
	if status, body := call("POST", "/v1/reports", report, append([]string{"Authorization", wrong}, submit[2:]...)...); status != 403 || body != forbidden {
		t.Errorf("bad key: %d %s", status, body)
	}
	if status, body := call("GET", "/v1/health", nil); status != 200 {
		t.Errorf("health: %d %s", status, body)
	}
}

// throttledTemplate is apiTemplate with stage throttling: 2 at once and 1 a second on the report
// route, 5 and 5 on every other route.
var throttledTemplate = strings.Replace(apiTemplate, `
  AuthFn:`, `
      DefaultRouteSettings: {ThrottlingBurstLimit: 5, ThrottlingRateLimit: 5}
      RouteSettings:
        "GET /v1/reports/{id}": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 1, DetailedMetricsEnabled: true}
  AuthFn:`, 1)

const tooMany = `{"message":"Too Many Requests"}`

func TestAPIThrottling(t *testing.T) {
	if throttledTemplate == apiTemplate {
		t.Fatal("the throttling was not added to the template")
	}
	newThrottled := func(t *testing.T) (*stack, *clock) {
		t.Helper()
		s := &stack{app: &fn{respond: answer(okReply)}, key: &fn{respond: answer(allow)}, clock: &clock{now: t0}, log: &bytes.Buffer{}}
		throttle := &clock{now: t0}
		api, err := local.NewAPI(parse(t, throttledTemplate), func(id string) (lambda.Handler, error) {
			return map[string]*fn{"AppFn": s.app, "AuthFn": s.key}[id], nil
		}, local.APIOptions{Now: s.clock.Now, ThrottleNow: throttle.Now, Log: zerolog.New(&lockedWriter{w: s.log})})
		if err != nil {
			t.Fatal(err)
		}
		s.api = api
		return s, throttle
	}
	get := func(s *stack) *http.Response { return s.do("GET", "/v1/reports/r1", nil, "Authorization", bearer) }

	t.Run("over the burst: the gateway's 429, before the authorizer and the function", func(t *testing.T) {
		s, _ := newThrottled(t)
		for i := range 2 {
			if resp := get(s); resp.StatusCode != 200 {
				t.Fatalf("request %d within the burst: %d", i+1, resp.StatusCode)
			}
		}
		app, key := s.app.calls(), s.key.calls()
		gatewayAnswer(t, get(s), 429, tooMany)
		// Throttled even without a key: the throttle comes first.
		gatewayAnswer(t, s.do("GET", "/v1/reports/r1", nil), 429, tooMany)
		if s.app.calls() != app || s.key.calls() != key {
			t.Error("a throttled request reached the authorizer or the function")
		}
		if !strings.Contains(s.log.String(), `"status":429`) || !strings.Contains(s.log.String(), `"route_key":"GET /v1/reports/{id}"`) {
			t.Errorf("the access log does not show the 429 on its route:\n%s", s.log)
		}
	})

	t.Run("each route has its own bucket", func(t *testing.T) {
		s, _ := newThrottled(t)
		for range 3 {
			get(s)
		}
		for i := range 5 { // the default route settings: 5 at once
			if resp := s.do("GET", "/v1/reports/r1/versions/1", nil, "Authorization", bearer); resp.StatusCode != 200 {
				t.Fatalf("another route, request %d: %d", i+1, resp.StatusCode)
			}
		}
		gatewayAnswer(t, s.do("GET", "/v1/reports/r1/versions/1", nil, "Authorization", bearer), 429, tooMany)
		// Unmatched paths take no token and stay 404.
		gatewayAnswer(t, s.do("GET", "/v1/nowhere", nil), 404, notFound)
	})

	t.Run("tokens come back at the rate, up to the burst", func(t *testing.T) {
		s, throttle := newThrottled(t)
		for range 3 {
			get(s)
		}
		throttle.Set(t0.Add(999 * time.Millisecond))
		gatewayAnswer(t, get(s), 429, tooMany)
		throttle.Set(t0.Add(time.Second)) // one token a second
		if resp := get(s); resp.StatusCode != 200 {
			t.Fatalf("after a second: %d", resp.StatusCode)
		}
		gatewayAnswer(t, get(s), 429, tooMany)
		throttle.Set(t0.Add(time.Hour)) // never more than the burst
		for i := range 2 {
			if resp := get(s); resp.StatusCode != 200 {
				t.Fatalf("after an hour, request %d: %d", i+1, resp.StatusCode)
			}
		}
		gatewayAnswer(t, get(s), 429, tooMany)
	})

	t.Run("concurrent requests share the bucket", func(t *testing.T) {
		s, _ := newThrottled(t)
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				code := s.do("POST", "/v1/reports", []byte(`{}`), "Authorization", bearer).StatusCode
				mu.Lock()
				statuses[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if want := map[int]int{200: 5, 429: 15}; !reflect.DeepEqual(statuses, want) {
			t.Errorf("statuses %v, want %v", statuses, want)
		}
	})

	t.Run("a template without throttling throttles nothing", func(t *testing.T) {
		s := newStack(t)
		for i := range 200 {
			if resp := get(s); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i+1, resp.StatusCode)
			}
		}
	})
}
