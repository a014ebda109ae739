package local

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/rs/zerolog"
)

// Functions builds the handler of a function of the template from its LogicalId: in the local
// stack, app.Handler with the local AWS config and the function's FunctionEnv.
type Functions func(logicalID string) (lambda.Handler, error)

// APIOptions tune the local API server.
type APIOptions struct {
	Stage string           // API Gateway stage; "" is "$default" (URLs without a stage prefix)
	Now   func() time.Time // the gateway's clock: event times and authorizer cache; nil is time.Now
	// The throttle's clock, nil is time.Now. Not Now: tests hold Now at a report's documented
	// time, and a throttle whose clock stands still never refills.
	ThrottleNow func() time.Time
	Log         zerolog.Logger // one access line per request, never headers nor body
}

const (
	defaultStage = "$default"
	// apiID stands in for the 10-character id API Gateway gives an API.
	apiID = "local"
	// maxRequestBody is API Gateway HTTP API's payload quota (10 MB, not adjustable).
	maxRequestBody = 10 << 20
	// requestTimeLayout is $context.requestTime's format.
	requestTimeLayout = "02/Jan/2006:15:04:05 -0700"
)

// API serves the template's HttpApi routes as API Gateway HTTP API does with Lambda proxy
// integrations (payload format 2.0): it builds the events API Gateway sends, invokes the
// functions through lambda.Handler.Invoke with those JSON bytes (the code path Lambda runs), and
// answers for the gateway itself (404, 401, 403, 413, 429, 500) with API Gateway's own bodies.
// Requests are served concurrently.
type API struct {
	routes      []apiRoute // most specific first: the first match wins
	auth        *apiAuthorizer
	stage       string
	now         func() time.Time
	throttleNow func() time.Time
	log         zerolog.Logger
	events      json.Options // how events are marshalled
}

// apiRoute is a route with its parsed path template, its function's handler and its throttle.
type apiRoute struct {
	Route
	segments []segment
	handler  lambda.Handler
	bucket   *bucket // nil: not throttled
}

// bucket is a route's token bucket: every request takes a token; tokens come back at the route's
// rate, up to its burst. It starts full, as a freshly deployed stage does.
type bucket struct {
	Throttle
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(th Throttle, now time.Time) *bucket {
	return &bucket{Throttle: th, tokens: float64(th.Burst), last: now}
}

// take reports whether a request at now may go on; when not, the gateway answers 429.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.After(b.last) {
		b.tokens = min(float64(b.Burst), b.tokens+now.Sub(b.last).Seconds()*b.Rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// segment is one /-separated part of a route's path: a literal, {name} or a greedy {name+}.
type segment struct {
	literal string
	param   string
	greedy  bool
}

// apiAuthorizer is the default Lambda authorizer with the gateway's cache of its decisions.
type apiAuthorizer struct {
	Authorizer
	handler lambda.Handler

	mu    sync.Mutex
	cache map[string]decision // by identity source value
}

// decision is what the authorizer answered, cached until until.
type decision struct {
	allowed bool
	context map[string]any
	until   time.Time
}

// NewAPI builds the route table from the template's HttpApi events and its default authorizer,
// and builds every function once, up front, so that a broken function fails here rather than on
// its first request.
func NewAPI(t *Template, fns Functions, opts APIOptions) (*API, error) {
	routes, err := t.Routes()
	if err != nil {
		return nil, err
	}
	a := &API{
		stage: cmp.Or(opts.Stage, defaultStage),
		now:   opts.Now,
		log:   opts.Log,
		events: json.JoinOptions(
			json.Deterministic(true),
			// Header values, query strings and path parameters are bytes, not necessarily UTF-8
			// (net/http passes obs-text, 0x80-0xFF, through), but an event is JSON: invalid bytes
			// become U+FFFD rather than failing the marshal, which answered such requests 500.
			jsontext.AllowInvalidUTF8(true),
			// events.APIGatewayV2HTTPRequestContext.Authentication (mTLS only) is a struct that
			// would marshal as empty strings: written as {} it is left out by its omitempty, as
			// API Gateway leaves it out without mTLS.
			json.WithMarshalers(json.MarshalToFunc(func(enc *jsontext.Encoder, v events.APIGatewayV2HTTPRequestContextAuthentication) error {
				if v != (events.APIGatewayV2HTTPRequestContextAuthentication{}) {
					return errors.ErrUnsupported // the default encoding
				}
				return enc.WriteValue(jsontext.Value("{}"))
			})),
		),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.throttleNow = opts.ThrottleNow; a.throttleNow == nil {
		a.throttleNow = time.Now
	}
	throttles, err := t.Throttles()
	if err != nil {
		return nil, err
	}
	handlers := map[string]lambda.Handler{}
	handler := func(id string) (lambda.Handler, error) {
		if h, ok := handlers[id]; ok {
			return h, nil
		}
		h, err := fns(id)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		handlers[id] = h
		return h, nil
	}

	seen := map[string]bool{}
	for _, r := range routes {
		if seen[r.key()] {
			return nil, fmt.Errorf("route %s is defined twice", r.key())
		}
		seen[r.key()] = true
		segs, err := parsePath(r.Path)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.key(), err)
		}
		h, err := handler(r.Function)
		if err != nil {
			return nil, err
		}
		rt := apiRoute{Route: r, segments: segs, handler: h}
		if th, ok := throttles[r.key()]; ok {
			rt.bucket = newBucket(th, a.throttleNow())
		}
		a.routes = append(a.routes, rt)
		if r.Auth != AuthNone && a.auth == nil {
			def, err := t.DefaultAuthorizer()
			if err != nil {
				return nil, err
			}
			if !def.SimpleResponses {
				return nil, errors.New("the default authorizer must use simple responses (EnableSimpleResponses): IAM policy responses are not reproduced locally")
			}
			h, err := handler(def.Function)
			if err != nil {
				return nil, err
			}
			a.auth = &apiAuthorizer{Authorizer: def, handler: h, cache: map[string]decision{}}
		}
	}
	slices.SortStableFunc(a.routes, moreSpecific)
	return a, nil
}

func (r Route) key() string { return r.Method + " " + r.Path }

// parsePath splits a route's path into segments; only the last may be greedy.
func parsePath(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New("path does not start with /")
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]segment, len(parts))
	for i, part := range parts {
		name, isParam := strings.CutPrefix(part, "{")
		if !isParam {
			segs[i] = segment{literal: part}
			continue
		}
		name, ok := strings.CutSuffix(name, "}")
		if !ok || name == "" {
			return nil, fmt.Errorf("bad path segment %q", part)
		}
		name, greedy := strings.CutSuffix(name, "+")
		if greedy && i != len(parts)-1 {
			return nil, fmt.Errorf("greedy %q is not the last segment", part)
		}
		segs[i] = segment{param: name, greedy: greedy}
	}
	return segs, nil
}

// moreSpecific orders routes as API Gateway prefers them: routes without a greedy variable before
// greedy ones, then literal segments before variables (leftmost first), then a method before ANY.
func moreSpecific(a, b apiRoute) int {
	if c := cmp.Compare(boolRank(a.greedy()), boolRank(b.greedy())); c != 0 {
		return c
	}
	for i := range min(len(a.segments), len(b.segments)) {
		if c := cmp.Compare(boolRank(a.segments[i].param != ""), boolRank(b.segments[i].param != "")); c != 0 {
			return c
		}
	}
	return cmp.Compare(boolRank(a.Method == "ANY"), boolRank(b.Method == "ANY"))
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r apiRoute) greedy() bool {
	return len(r.segments) > 0 && r.segments[len(r.segments)-1].greedy
}

// match reports whether the route serves method and path (already split and unescaped), with the
// path parameters it then gets.
func (r apiRoute) match(method string, parts []string) (map[string]string, bool) {
	if r.Method != method && r.Method != "ANY" {
		return nil, false
	}
	var params map[string]string
	for i, s := range r.segments {
		if i >= len(parts) {
			return nil, false
		}
		switch {
		case s.greedy:
			// {proxy+} takes at least one segment and everything after it.
			rest := strings.Join(parts[i:], "/")
			if rest == "" {
				return nil, false
			}
			params = setParam(params, s.param, rest)
			return params, true
		case s.param != "":
			if parts[i] == "" {
				return nil, false
			}
			params = setParam(params, s.param, parts[i])
		case s.literal != parts[i]:
			return nil, false
		}
	}
	return params, len(parts) == len(r.segments)
}

func setParam(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// response is an HTTP answer, from a function or from the gateway.
type response struct {
	status int
	header http.Header
	body   []byte
}

// gatewayAnswer is an answer API Gateway makes itself: {"message":"<reason phrase>"}, byte for
// byte what it sends for 400, 401, 403, 404, 413, 429, 500.
func gatewayAnswer(status int) response {
	return response{
		status: status,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   []byte(`{"message":"` + http.StatusText(status) + `"}`),
	}
}

// access is what the access log says of a request: the fields of the template's AccessLogSettings.
type access struct {
	requestID, routeKey, orgID        string
	integrationError, authorizerError string
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	now := a.now()
	acc := access{requestID: newRequestID(), routeKey: "-"}
	resp := a.serve(r, now, &acc)

	h := w.Header()
	maps.Copy(h, resp.header)
	h.Set("Apigw-Requestid", acc.requestID) // API Gateway sends it on every answer
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // no content sniffing by net/http: send what the function said
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)

	ev := a.log.Info()
	if resp.status >= 500 {
		ev = a.log.Error()
	}
	ev.Str("request_id", acc.requestID).Str("route_key", acc.routeKey).Int("status", resp.status).
		Str("request_time", now.UTC().Format(requestTimeLayout)).Dur("response_latency", time.Since(start)).
		Str("org_id", acc.orgID).Str("integration_error", acc.integrationError).Str("authorizer_error", acc.authorizerError).
		Msg("request")
}

// serve answers one request. Order of the gateway's checks: payload size, route, the route's
// throttle, identity, authorizer, then the function.
func (a *API) serve(r *http.Request, now time.Time, acc *access) response {
	if r.ContentLength > maxRequestBody {
		return gatewayAnswer(http.StatusRequestEntityTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		acc.integrationError = "read request body: " + err.Error()
		return gatewayAnswer(http.StatusBadRequest)
	}
	if len(body) > maxRequestBody {
		return gatewayAnswer(http.StatusRequestEntityTooLarge)
	}

	path, ok := a.routePath(r.URL.EscapedPath())
	if !ok {
		return gatewayAnswer(http.StatusNotFound)
	}
	rt, params, ok := a.match(r.Method, path)
	if !ok {
		return gatewayAnswer(http.StatusNotFound)
	}
	acc.routeKey = rt.key()
	// Throttling comes before authorization: a throttled request costs no authorizer call, and
	// requests that will be denied still count against the route.
	if rt.bucket != nil && !rt.bucket.take(a.throttleNow()) {
		return gatewayAnswer(http.StatusTooManyRequests)
	}
	ev := a.event(r, rt, params, body, now, acc.requestID)

	// AWS_IAM routes (the regulator's): in AWS a regulator's account assumes RegulatorReadRole
	// and signs with SigV4, and IAM decides. Locally there is no SigV4: the stand-in for IAM is
	// a regulator key (`breachctl keys create --regulator <name>`) checked by the same default
	// authorizer, which lets regulator keys on /v1/regulator/ routes only and organisation keys
	// never there. The function then sees a Lambda authorizer context, not an IAM one.
	if rt.Auth == AuthDefault || rt.Auth == AuthIAM {
		lambdaCtx, denied, ok := a.authorize(r, ev, path, now, acc)
		if !ok {
			return denied
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambdaCtx}
		acc.orgID, _ = lambdaCtx["org_id"].(string)
	}

	payload, err := json.Marshal(ev, a.events)
	if err != nil {
		acc.integrationError = "marshal event: " + err.Error()
		return gatewayAnswer(http.StatusInternalServerError)
	}
	out, err := a.invoke(r.Context(), rt.Function, rt.handler, payload)
	if err != nil {
		acc.integrationError = err.Error()
		return gatewayAnswer(http.StatusInternalServerError)
	}
	resp, err := functionResponse(out)
	if err != nil {
		acc.integrationError = fmt.Sprintf("%s: %v", rt.Function, err)
		return gatewayAnswer(http.StatusInternalServerError)
	}
	return resp
}

// routePath is the path routes are matched against: a stage other than $default is the first
// segment of every URL, as in https://{api}.execute-api.{region}.amazonaws.com/{stage}/…
func (a *API) routePath(rawPath string) (string, bool) {
	if a.stage == defaultStage {
		return rawPath, true
	}
	rest, ok := strings.CutPrefix(rawPath, "/"+a.stage)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}

// match finds the most specific route serving method and the (escaped) path.
func (a *API) match(method, escapedPath string) (apiRoute, map[string]string, bool) {
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for i, p := range parts {
		// Split before unescaping: an encoded slash (%2F) stays inside its segment.
		u, err := url.PathUnescape(p)
		if err != nil {
			return apiRoute{}, nil, false
		}
		parts[i] = u
	}
	for _, rt := range a.routes {
		if params, ok := rt.match(method, parts); ok {
			return rt, params, true
		}
	}
	return apiRoute{}, nil, false
}

// event is the payload format 2.0 event of the request, as API Gateway builds it.
func (a *API) event(r *http.Request, rt apiRoute, params map[string]string, body []byte, now time.Time, requestID string) events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	// Header names lower-cased; a header sent more than once is one comma-joined value. Cookies
	// are taken out of the headers into their own list.
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = r.Host // net/http moves Host out of the header map
	// The gateway's own forwarding headers, as it adds them in front of the function.
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			headers["x-forwarded-port"] = port
		}
	}

	var query map[string]string
	if q, _ := url.ParseQuery(r.URL.RawQuery); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}

	domain := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.key(),
			AccountID:    AccountID,
			Stage:        a.stage,
			RequestID:    requestID,
			APIID:        apiID,
			DomainName:   r.Host,
			DomainPrefix: prefix,
			Time:         now.UTC().Format(requestTimeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if textual(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// textual reports whether API Gateway HTTP API passes a body of this content type as text. It
// base64-encodes every other body, a missing content type and application/x-www-form-urlencoded
// included (checked against AWS: github.com/ministackorg/ministack pull request 766).
func textual(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript":
		return true
	}
	return strings.HasPrefix(mt, "text/")
}

// authorizerEvent is the authorizer's event as API Gateway writes it: what the request lacks is
// left out, where events.APIGatewayV2CustomAuthorizerV2Request (no omitempty) would write [] or {}.
type authorizerEvent struct {
	events.APIGatewayV2CustomAuthorizerV2Request
	Cookies               []string          `json:"cookies,omitempty"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	StageVariables        map[string]string `json:"stageVariables,omitempty"`
}

// authorize applies the default authorizer to the request as API Gateway does: no identity is a
// 401 without calling the authorizer; a cached decision for the identity is reused for the
// authorizer's TTL (denials too); a failed or unreadable answer is a 500 and is not cached.
func (a *API) authorize(r *http.Request, ev events.APIGatewayV2HTTPRequest, path string, now time.Time, acc *access) (map[string]any, response, bool) {
	header := strings.Join(r.Header.Values(a.auth.IdentityHeader), ",")
	if header == "" {
		return nil, gatewayAnswer(http.StatusUnauthorized), false
	}
	// The identity sources, in the template's order: the header, then the context variables. The
	// gateway caches a decision per combination of their values.
	sources := []string{header}
	for range a.auth.IdentityContext { // only routeKey is allowed (Template.DefaultAuthorizer)
		sources = append(sources, ev.RouteKey)
	}
	identity := strings.Join(sources, "\x00")
	d, ok := a.auth.cached(identity, now)
	if !ok {
		req := authorizerEvent{
			APIGatewayV2CustomAuthorizerV2Request: events.APIGatewayV2CustomAuthorizerV2Request{
				Version:        "2.0",
				Type:           "REQUEST",
				RouteArn:       fmt.Sprintf("arn:%s:execute-api:%s:%s:%s/%s/%s%s", Partition, Region, AccountID, apiID, a.stage, r.Method, path),
				IdentitySource: sources,
				RouteKey:       ev.RouteKey,
				RawPath:        ev.RawPath,
				RawQueryString: ev.RawQueryString,
				Headers:        ev.Headers,
				RequestContext: ev.RequestContext,
			},
			Cookies:               ev.Cookies,
			QueryStringParameters: ev.QueryStringParameters,
			PathParameters:        ev.PathParameters,
		}
		payload, err := json.Marshal(req, a.events)
		if err != nil {
			acc.authorizerError = "marshal authorizer event: " + err.Error()
			return nil, gatewayAnswer(http.StatusInternalServerError), false
		}
		out, err := a.invoke(r.Context(), a.auth.Function, a.auth.handler, payload)
		if err == nil {
			d, err = simpleResponse(out)
		}
		if err != nil {
			acc.authorizerError = err.Error()
			return nil, gatewayAnswer(http.StatusInternalServerError), false
		}
		a.auth.store(identity, d, now)
	}
	if !d.allowed {
		return nil, gatewayAnswer(http.StatusForbidden), false
	}
	return d.context, response{}, true
}

// simpleResponse reads an authorizer's simple response: {"isAuthorized": bool, "context": {…}}.
func simpleResponse(out []byte) (decision, error) {
	var resp struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return decision{}, fmt.Errorf("authorizer response: %w", err)
	}
	if resp.IsAuthorized == nil {
		return decision{}, errors.New("authorizer response has no isAuthorized")
	}
	return decision{allowed: *resp.IsAuthorized, context: resp.Context}, nil
}

func (c *apiAuthorizer) cached(identity string, now time.Time) (decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.cache[identity]
	if ok && !now.Before(d.until) {
		delete(c.cache, identity)
		return decision{}, false
	}
	return d, ok
}

func (c *apiAuthorizer) store(identity string, d decision, now time.Time) {
	if c.TTL <= 0 {
		return // ReauthorizeEvery 0: the gateway calls the authorizer on every request
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drop what has expired, so that a stream of distinct keys cannot grow the cache for ever.
	maps.DeleteFunc(c.cache, func(_ string, d decision) bool { return !now.Before(d.until) })
	d.until = now.Add(c.TTL)
	c.cache[identity] = d
}

// invoke runs a function with one event. A panic is the function's failure, answered 500 by the
// caller, never the server's: it is logged with its stack here.
func (a *API) invoke(ctx context.Context, function string, h lambda.Handler, payload []byte) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error().Str("function", function).Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack())).Msg("function panicked")
			err = fmt.Errorf("%s panicked: %v", function, v)
		}
	}()
	out, err = h.Invoke(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", function, err)
	}
	return out, nil
}

// functionResponse turns a function's output into the HTTP answer, as API Gateway reads payload
// format 2.0: a JSON object with statusCode is a structured response; any other JSON value is the
// body of a 200 with content-type application/json (a JSON string being the body's text itself).
func functionResponse(out []byte) (response, error) {
	v := jsontext.Value(bytes.TrimSpace(out))
	if !v.IsValid() {
		return response{}, errors.New("output is not valid JSON")
	}
	if v.Kind() == '{' {
		var members map[string]jsontext.Value
		if err := json.Unmarshal(v, &members); err != nil {
			return response{}, fmt.Errorf("output: %w", err)
		}
		if _, ok := members["statusCode"]; ok {
			return structuredResponse(v)
		}
	}
	body := []byte(v)
	if v.Kind() == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return response{}, fmt.Errorf("output: %w", err)
		}
		body = []byte(s)
	}
	return response{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: body}, nil
}

func structuredResponse(v jsontext.Value) (response, error) {
	var fr events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(v, &fr); err != nil {
		return response{}, fmt.Errorf("response: %w", err)
	}
	if fr.StatusCode < 100 || fr.StatusCode > 599 {
		return response{}, fmt.Errorf("statusCode %d is not an HTTP status", fr.StatusCode)
	}
	h := http.Header{}
	for k, v := range fr.Headers {
		h.Set(k, v)
	}
	for k, vs := range fr.MultiValueHeaders {
		for _, v := range vs {
			if !slices.Contains(h.Values(k), v) { // a pair in both maps is sent once
				h.Add(k, v)
			}
		}
	}
	for _, c := range fr.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Del("Content-Length") // the server sets it from the body it actually sends
	body := []byte(fr.Body)
	if fr.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(fr.Body)
		if err != nil {
			return response{}, fmt.Errorf("response body: %w", err)
		}
		body = b
	}
	return response{status: fr.StatusCode, header: h, body: body}, nil
}

// newRequestID draws an id shaped like API Gateway's $context.requestId: 11 random bytes in
// base64, such as "B5sQpjBzCGYEJxw=".
func newRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b[:])
}
