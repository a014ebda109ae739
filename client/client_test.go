package client_test

import (
	"context"
	"encoding/json"
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

	"github.com/breach-intake/intake/client"
	"github.com/breach-intake/intake/internal/breach"
)

// receiptBody is a receipt as the API writes it.
const receiptBody = `{"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0CD","version":1,"status":"received","received_at":"2026-11-21T12:00:00.123456789Z",` +
	`"stage":"initial","severity":"medium","late":false,"deadlines":[{"due_at":"2026-11-24T10:00:00Z","met":true,"stage":"gdpr.notification"}],` +
	`"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`

// attempt is what a fake API saw of one request.
type attempt struct {
	method, path, query string
	uri                 string // as sent, escapes included
	header              http.Header
	body                string
	at                  time.Time
}

// fakeAPI answers each request with the next of answers (the last one again once they run out)
// and records what it received. An answer of status 0 drops the connection without answering.
type fakeAPI struct {
	mu       sync.Mutex
	attempts []attempt
	answers  []fakeAnswer
}

type fakeAnswer struct {
	status int
	body   string
	header []string // name, value pairs
}

func newFakeAPI(t *testing.T, answers ...fakeAnswer) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.attempts)
	f.attempts = append(f.attempts, attempt{r.Method, r.URL.Path, r.URL.RawQuery, r.RequestURI, r.Header.Clone(), string(b), time.Now()})
	a := f.answers[min(n, len(f.answers)-1)]
	f.mu.Unlock()
	if a.status == 0 {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for i := 0; i+1 < len(a.header); i += 2 {
		w.Header().Set(a.header[i], a.header[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fakeAPI) seen() []attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]attempt(nil), f.attempts...)
}

// fast is a client that retries without waiting long.
func fast(srv *httptest.Server, opts ...client.Option) *client.Client {
	return client.New(srv.URL, "bik_test_secret", append([]client.Option{client.WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)...)
}

func report(t *testing.T, name string) client.Report {
	t.Helper()
	b, err := os.ReadFile("../internal/breach/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var r client.Report
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s into client.Report: %v", name, err)
	}
	return r
}

func TestSubmitRetriesWithTheSameKey(t *testing.T) {
	api, srv := newFakeAPI(t,
		fakeAnswer{status: 0}, // the connection drops: the report may or may not be stored
		fakeAnswer{status: 503, body: `{"message":"Service Unavailable"}`},
		fakeAnswer{status: 500, body: `{"error":{"code":"internal","message":"internal error","request_id":"r-2"}}`},
		fakeAnswer{status: 201, body: receiptBody})
	rc, err := fast(srv).Submit(t.Context(), report(t, "gdpr-minimal.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := api.seen()
	if len(seen) != 4 {
		t.Fatalf("%d attempts, want 4", len(seen))
	}
	key := seen[0].header.Get("Idempotency-Key")
	if len(key) != 32 || strings.Trim(key, "0123456789abcdef") != "" {
		t.Errorf("Idempotency-Key %q: want 128 bits in hex", key)
	}
	for i, a := range seen {
		if a.method != "POST" || a.path != "/v1/reports" || a.header.Get("Idempotency-Key") != key || a.body != seen[0].body ||
			a.header.Get("Authorization") != "Bearer bik_test_secret" || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d: %s %s %v %s", i+1, a.method, a.path, a.header, a.body)
		}
	}
	if rc.IdempotencyKey != key || rc.Replayed || string(rc.Raw) != receiptBody {
		t.Errorf("receipt key %q replayed %v raw %s", rc.IdempotencyKey, rc.Replayed, rc.Raw)
	}
	met := true
	want := client.Receipt{ID: "01KAZ3J8Q4V2M7X9R5T6Y1B0CD", Version: 1, Status: "received",
		ReceivedAt: time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC), Stage: "initial", Severity: "medium",
		Deadlines: []client.Deadline{{Stage: "gdpr.notification", DueAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Met: &met}},
		SHA256:    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Raw:       rc.Raw, IdempotencyKey: key}
	if !reflect.DeepEqual(rc, want) {
		t.Errorf("receipt\n%+v\nwant\n%+v", rc, want)
	}

	t.Run("each call has its own key", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 201, body: receiptBody})
		c := fast(srv)
		for range 2 {
			if _, err := c.SubmitJSON(t.Context(), []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if seen := api.seen(); seen[0].header.Get("Idempotency-Key") == seen[1].header.Get("Idempotency-Key") {
			t.Error("two calls sent the same Idempotency-Key")
		}
	})

	t.Run("a key the caller gives, and its replay", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 200, body: receiptBody})
		rc, err := fast(srv).SubmitJSON(t.Context(), []byte(`{"raw": true}`), client.WithIdempotencyKey("order-1234"))
		if err != nil {
			t.Fatal(err)
		}
		a := api.seen()[0]
		if a.header.Get("Idempotency-Key") != "order-1234" || a.body != `{"raw": true}` || !rc.Replayed || rc.IdempotencyKey != "order-1234" {
			t.Errorf("sent %v %s; receipt replayed %v key %s", a.header, a.body, rc.Replayed, rc.IdempotencyKey)
		}
	})
}

func TestGivesUpAfterItsAttempts(t *testing.T) {
	api, srv := newFakeAPI(t, fakeAnswer{status: 502, body: `{"message":"Internal Server Error"}`, header: []string{"Apigw-Requestid", "gw-1"}})
	_, err := fast(srv, client.WithRetries(2)).SubmitJSON(t.Context(), []byte(`{}`))
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Message != "Internal Server Error" || e.RequestID != "gw-1" {
		t.Fatalf("err %v", err)
	}
	if n := len(api.seen()); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %q does not say how often it tried", err)
	}

	t.Run("network errors too", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 0})
		_, err := fast(srv).Get(t.Context(), "01KAZ3J8Q4V2M7X9R5T6Y1B0CD")
		if err == nil || errors.As(err, &e) || len(api.seen()) != client.DefaultAttempts {
			t.Fatalf("%d attempts, err %v", len(api.seen()), err)
		}
	})
	t.Run("no retries", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 503, body: `{}`})
		if _, err := fast(srv, client.WithRetries(0)).SubmitJSON(t.Context(), []byte(`{}`)); err == nil || len(api.seen()) != 1 {
			t.Fatalf("%d attempts, err %v", len(api.seen()), err)
		}
	})
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer fakeAnswer
		want   client.Error
	}{
		{"invalid fields", fakeAnswer{status: 400, body: `{"error":{"code":"validation_failed","message":"the report has invalid fields","request_id":"r-1",` +
			`"fields":[{"field":"incident.aware_at","rule":"required"},{"field":"data.data_categories[2]","rule":"enum"}]}}`},
			client.Error{Status: 400, Code: "validation_failed", Message: "the report has invalid fields", RequestID: "r-1",
				Fields: []client.FieldError{{"incident.aware_at", "required"}, {"data.data_categories[2]", "enum"}}}},
		{"a stale If-Match", fakeAnswer{status: 409, body: `{"error":{"code":"version_conflict","message":"stale","request_id":"r-2"}}`},
			client.Error{Status: 409, Code: "version_conflict", Message: "stale", RequestID: "r-2"}},
		{"a key reused", fakeAnswer{status: 422, body: `{"error":{"code":"idempotency_key_reused","message":"other body","request_id":"r-3"}}`},
			client.Error{Status: 422, Code: "idempotency_key_reused", Message: "other body", RequestID: "r-3"}},
		{"late", fakeAnswer{status: 422, body: `{"error":{"code":"late_reason_required","message":"late","request_id":"r-4","fields":[{"field":"late_reason","rule":"required_if_late"}]}}`},
			client.Error{Status: 422, Code: "late_reason_required", Message: "late", RequestID: "r-4", Fields: []client.FieldError{{"late_reason", "required_if_late"}}}},
		{"no key", fakeAnswer{status: 401, body: `{"message":"Unauthorized"}`, header: []string{"Apigw-Requestid", "gw-5"}},
			client.Error{Status: 401, Message: "Unauthorized", RequestID: "gw-5"}},
		{"a bad key", fakeAnswer{status: 403, body: `{"message":"Forbidden"}`, header: []string{"Apigw-Requestid", "gw-6"}},
			client.Error{Status: 403, Message: "Forbidden", RequestID: "gw-6"}},
		{"no such route", fakeAnswer{status: 404, body: `{"message":"Not Found"}`}, client.Error{Status: 404, Message: "Not Found"}},
		{"not ours", fakeAnswer{status: 400, body: `<html>Bad Request</html>`}, client.Error{Status: 400, Message: "Bad Request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, srv := newFakeAPI(t, tc.answer, fakeAnswer{status: 201, body: receiptBody})
			_, err := fast(srv).Submit(t.Context(), report(t, "gdpr-minimal.json"))
			var e *client.Error
			if !errors.As(err, &e) || !reflect.DeepEqual(*e, tc.want) {
				t.Fatalf("err %#v, want %#v", err, tc.want)
			}
			if n := len(api.seen()); n != 1 {
				t.Fatalf("%d attempts, want 1", n)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := &client.Error{Status: 400, Code: "validation_failed", Message: "the report has invalid fields", RequestID: "r-1",
		Fields: []client.FieldError{{"incident.aware_at", "required"}, {"regimes[1]", "enum"}}}
	want := "400 validation_failed: the report has invalid fields (incident.aware_at required, regimes[1] enum) [request r-1]"
	if e.Error() != want {
		t.Errorf("%s\nwant\n%s", e, want)
	}
	if got := (&client.Error{Status: 403, Message: "Forbidden"}).Error(); got != "403: Forbidden" {
		t.Errorf("gateway error: %s", got)
	}
	wrapped := errors.Join(errors.New("context"), &client.Error{Status: 404, Code: "not_found"})
	if !client.IsNotFound(wrapped) || client.IsConflict(wrapped) || client.IsNotFound(errors.New("404")) {
		t.Error("predicates")
	}
}

func TestRetryAfter(t *testing.T) {
	api, srv := newFakeAPI(t,
		fakeAnswer{status: 429, body: `{"message":"Too Many Requests"}`, header: []string{"Retry-After", "1"}},
		fakeAnswer{status: 201, body: receiptBody})
	if _, err := fast(srv).SubmitJSON(t.Context(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	seen := api.seen()
	if len(seen) != 2 || seen[1].at.Sub(seen[0].at) < time.Second {
		t.Fatalf("%d attempts; the second %v after the first, want ≥ 1s", len(seen), seen[len(seen)-1].at.Sub(seen[0].at))
	}
	if seen[0].header.Get("Idempotency-Key") != seen[1].header.Get("Idempotency-Key") {
		t.Error("the retry changed the key")
	}

	t.Run("as an HTTP date", func(t *testing.T) {
		api, srv := newFakeAPI(t,
			fakeAnswer{status: 503, body: `{}`, header: []string{"Retry-After", time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)}},
			fakeAnswer{status: 201, body: receiptBody})
		if _, err := fast(srv).SubmitJSON(t.Context(), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		// HTTP dates have whole seconds: the wait is over one.
		if seen := api.seen(); len(seen) != 2 || seen[1].at.Sub(seen[0].at) < time.Second {
			t.Fatalf("%d attempts, waited %v", len(seen), seen[len(seen)-1].at.Sub(seen[0].at))
		}
	})
	t.Run("longer than the client waits", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 429, body: `{"message":"Too Many Requests"}`, header: []string{"Retry-After", "3600"}})
		start := time.Now()
		_, err := fast(srv).SubmitJSON(t.Context(), []byte(`{}`))
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 429 || e.Message != "Too Many Requests" || len(api.seen()) != 1 || time.Since(start) > time.Second {
			t.Fatalf("err %v after %d attempts", err, len(api.seen()))
		}
	})
	t.Run("longer than the context allows", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 429, body: `{"message":"Too Many Requests"}`, header: []string{"Retry-After", "30"}})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := fast(srv).SubmitJSON(ctx, []byte(`{}`))
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 429 || len(api.seen()) != 1 || ctx.Err() != nil {
			t.Fatalf("err %v after %d attempts", err, len(api.seen()))
		}
	})
}

func TestContextCancel(t *testing.T) {
	t.Run("between attempts", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 503, body: `{}`})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := client.New(srv.URL, "k", client.WithBackoff(time.Minute, time.Minute)).SubmitJSON(ctx, []byte(`{}`))
		var e *client.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Status != 503 || time.Since(start) > 5*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
		if n := len(api.seen()); n != 1 {
			t.Errorf("%d attempts", n)
		}
	})
	t.Run("during an attempt", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := fast(srv).Get(ctx, "01KAZ3J8Q4V2M7X9R5T6Y1B0CD")
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 201, body: receiptBody})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := fast(srv).SubmitJSON(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) || len(api.seen()) != 0 {
			t.Fatalf("err %v, %d attempts", err, len(api.seen()))
		}
	})
}

func TestSupplement(t *testing.T) {
	api, srv := newFakeAPI(t, fakeAnswer{status: 201, body: strings.Replace(receiptBody, `"version":1`, `"version":2`, 1)})
	r := report(t, "processor-late.json")
	rc, err := fast(srv).Supplement(t.Context(), "01KAZ3J8Q4V2M7X9R5T6Y1B0CD", 1, "supplementary", r)
	if err != nil || rc.Version != 2 {
		t.Fatalf("%+v %v", rc, err)
	}
	a := api.seen()[0]
	if a.method != "POST" || a.path != "/v1/reports/01KAZ3J8Q4V2M7X9R5T6Y1B0CD/supplements" || a.header.Get("If-Match") != "1" || a.header.Get("Idempotency-Key") == "" {
		t.Fatalf("%s %s %v", a.method, a.path, a.header)
	}
	var body struct {
		Stage string `json:"stage"`
		client.Report
	}
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.Stage != "supplementary" || !reflect.DeepEqual(body.Report, r) {
		t.Fatalf("body %s: %v", a.body, err)
	}
}

func TestReads(t *testing.T) {
	doc := `{"deadlines":[],"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0CD","late":false,"org_id":"org-a","received_at":"2026-11-21T12:00:00.5Z",` +
		`"report":{"data":{"data_categories":["contact"],"subjects_affected":12,"subjects_estimate":"exact"},"regimes":["gdpr"]},` +
		`"schema_version":1,"severity":"low","stage":"initial","version":1}`
	view := `{"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0CD","version":1,"latest":` + doc + `,"versions":[{"version":1,"stage":"initial",` +
		`"received_at":"2026-11-21T12:00:00.5Z","severity":"low","late":false,"sha256":"abc"}]}`

	t.Run("a version, byte for byte", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 200, body: doc})
		d, err := fast(srv).Version(t.Context(), "01KAZ3J8Q4V2M7X9R5T6Y1B0CD", 1)
		if err != nil || string(d.Raw) != doc || d.Report.Data.SubjectsAffected != 12 || d.OrgID != "org-a" || d.SchemaVersion != 1 {
			t.Fatalf("%+v %v", d, err)
		}
		if a := api.seen()[0]; a.method != "GET" || a.path != "/v1/reports/01KAZ3J8Q4V2M7X9R5T6Y1B0CD/versions/1" || a.header.Get("Idempotency-Key") != "" {
			t.Errorf("%s %s %v", a.method, a.path, a.header)
		}
	})
	t.Run("a report", func(t *testing.T) {
		_, srv := newFakeAPI(t, fakeAnswer{status: 200, body: view})
		v, err := fast(srv).Get(t.Context(), "01KAZ3J8Q4V2M7X9R5T6Y1B0CD")
		if err != nil || v.Version != 1 || string(v.Latest.Raw) != doc || len(v.Versions) != 1 || v.Versions[0].SHA256 != "abc" {
			t.Fatalf("%+v %v", v, err)
		}
	})
	t.Run("an id is one path segment", func(t *testing.T) {
		api, srv := newFakeAPI(t, fakeAnswer{status: 404, body: `{"error":{"code":"not_found","message":"no such report","request_id":"r"}}`})
		_, err := fast(srv).Get(t.Context(), "../reports?limit=1")
		if !client.IsNotFound(err) {
			t.Fatal(err)
		}
		if a := api.seen()[0]; a.uri != "/v1/reports/..%2Freports%3Flimit=1" || a.query != "" {
			t.Errorf("sent %s", a.uri)
		}
	})
}

func TestReportsIterator(t *testing.T) {
	pages := map[string]string{
		"":   `{"items":[{"id":"C","version":2},{"id":"B","version":1}],"next_cursor":"c1"}`,
		"c1": `{"items":[{"id":"A","version":1}],"next_cursor":null}`,
	}
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		if r.URL.Path != "/v1/reports" || r.Header.Get("Authorization") == "" {
			w.WriteHeader(404)
			return
		}
		page, ok := pages[r.URL.Query().Get("cursor")]
		if !ok {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"code":"validation_failed","message":"bad cursor","request_id":"r","fields":[{"field":"query.cursor","rule":"format"}]}}`)
			return
		}
		io.WriteString(w, page)
	}))
	defer srv.Close()
	c := fast(srv)

	var ids []string
	for s, err := range c.Reports(t.Context(), 2) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "C,B,A" || strings.Join(queries, " ") != "limit=2 cursor=c1&limit=2" {
		t.Fatalf("ids %v, queries %v", ids, queries)
	}

	t.Run("stopping early reads no further page", func(t *testing.T) {
		queries = nil
		for range c.Reports(t.Context(), 0) {
			break
		}
		if len(queries) != 1 || queries[0] != "" {
			t.Fatalf("queries %v", queries)
		}
	})
	t.Run("a failure ends it", func(t *testing.T) {
		p, err := c.List(t.Context(), "forged", 0)
		var e *client.Error
		if !errors.As(err, &e) || e.Fields[0].Field != "query.cursor" || p.Items != nil {
			t.Fatalf("%+v %v", p, err)
		}
		pages[""] = `{"items":[{"id":"C"}],"next_cursor":"forged"}`
		var got []string
		var errs int
		for s, err := range c.Reports(t.Context(), 0) {
			if err != nil {
				errs++
				continue
			}
			got = append(got, s.ID)
		}
		if strings.Join(got, ",") != "C" || errs != 1 {
			t.Fatalf("got %v and %d errors", got, errs)
		}
	})
}

func TestHealth(t *testing.T) {
	api, srv := newFakeAPI(t, fakeAnswer{status: 200, body: `{"status":"ok"}`})
	if err := fast(srv).Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a := api.seen()[0]; a.path != "/v1/health" || a.header.Get("Authorization") != "" {
		t.Errorf("%s %v: the key goes only where it is needed", a.path, a.header)
	}
}

func TestOptions(t *testing.T) {
	api, srv := newFakeAPI(t, fakeAnswer{status: 201, body: receiptBody})
	var used bool
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	if _, err := client.New(srv.URL+"/", "k", client.WithHTTPClient(hc), client.WithUserAgent("acme-dpo/2.0")).SubmitJSON(t.Context(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if a := api.seen()[0]; !used || a.header.Get("User-Agent") != "acme-dpo/2.0" || a.path != "/v1/reports" {
		t.Errorf("used %v, %s %v", used, a.path, a.header)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestReportMirrorsTheContract: every shared example decodes into client.Report with no field
// left over, and what the client sends from it is the same report to the server's parser.
func TestReportMirrorsTheContract(t *testing.T) {
	org := breach.Organisation{ID: "org-a", LegalName: "Org A", Country: "FR"}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"gdpr-minimal.json", "nis2-health-ransomware.json", "processor-late.json"} {
		t.Run(name, func(t *testing.T) {
			original, err := os.ReadFile("../internal/breach/testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			sent, err := json.Marshal(report(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := withoutEmpty(t, sent), withoutEmpty(t, original); !reflect.DeepEqual(got, want) {
				t.Fatalf("sent\n%v\nthe example\n%v", got, want)
			}
			if _, err := breach.NewParser().Parse(sent, org, now); err != nil {
				t.Fatalf("the server refuses what the client sends: %v", err)
			}
		})
	}
	t.Run("optional fields left out are not sent", func(t *testing.T) {
		b, err := json.Marshal(client.Report{})
		if err != nil {
			t.Fatal(err)
		}
		for _, absent := range []string{"processor", "occurred_at", "discovered_at", "ongoing", "cross_border", "member_states",
			"records_affected", "subject_categories", "subjects_informed", "late_reason", "consequences", "phone", "siren", "planned"} {
			if strings.Contains(string(b), `"`+absent+`"`) {
				t.Errorf("%s sent: %s", absent, b)
			}
		}
	})
}

// withoutEmpty decodes JSON, dropping empty arrays (the client leaves an empty member_states out).
func withoutEmpty(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var clean func(any) any
	clean = func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		for k, x := range m {
			if a, ok := x.([]any); ok && len(a) == 0 {
				delete(m, k)
				continue
			}
			m[k] = clean(x)
		}
		return m
	}
	return clean(v)
}
