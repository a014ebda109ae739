package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

const testKey = "bik_test_secret"

// fakeAPI stands in for POST /v1/reports: it validates bodies with the real parser, stores each
// Idempotency-Key's receipt and replays it (200) for the same body, as the intake does. fault
// chooses what happens to a request: k is the rank of its key's first arrival (1, 2, …) and
// attempt counts that key's requests (1 for the first).
type fakeAPI struct {
	t     *testing.T
	fault func(k, attempt int) string // "", "503 after storing", "drop", or a status and body to answer

	mu       sync.Mutex
	bodies   map[string][]string // key → SHA-256 of every body received with it
	rank     map[string]int
	receipts map[string][]byte
}

func newFakeAPI(t *testing.T, fault func(k, attempt int) string) (*fakeAPI, *httptest.Server) {
	api := &fakeAPI{t: t, fault: fault, bodies: map[string][]string{}, rank: map[string]int{}, receipts: map[string][]byte{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, srv
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || r.URL.Path != "/v1/reports" || r.Header.Get("Authorization") != "Bearer "+testKey ||
		r.Header.Get("Content-Type") != "application/json" || key == "" {
		a.t.Errorf("unexpected request %s %s %v", r.Method, r.URL, r.Header)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	sum := sha256.Sum256(body)
	a.mu.Lock()
	if _, ok := a.rank[key]; !ok {
		a.rank[key] = len(a.rank) + 1
	}
	a.bodies[key] = append(a.bodies[key], hex.EncodeToString(sum[:]))
	k, attempt := a.rank[key], len(a.bodies[key])
	prior := a.receipts[key]
	a.mu.Unlock()

	fault := ""
	if a.fault != nil {
		fault = a.fault(k, attempt)
	}
	switch {
	case fault == "drop":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case fault != "" && fault != "503 after storing":
		status, answer, _ := strings.Cut(fault, " ")
		w.Header().Set("Content-Type", "application/json")
		var code int
		fmt.Sscan(status, &code)
		w.WriteHeader(code)
		io.WriteString(w, answer)
		return
	case prior != nil:
		w.WriteHeader(http.StatusOK)
		w.Write(prior)
		return
	}
	if _, err := breach.NewParser().Parse(body, testOrg, time.Now()); err != nil {
		a.t.Errorf("the generator's body was refused: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"validation_failed"}}`)
		return
	}
	receipt, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("R%05d", k), "version": 1, "status": "received", "sha256": hex.EncodeToString(sum[:])})
	a.mu.Lock()
	a.receipts[key] = receipt
	a.mu.Unlock()
	if fault == "503 after storing" { // stored, but the answer is lost: the nastiest failure
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":"internal","message":"internal error"}}`)
		return
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(receipt)
}

func (a *fakeAPI) seen() map[string][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.bodies)
}

// fastRetries shortens the backoff so that tests of retries take milliseconds.
func fastRetries(t *testing.T) {
	first, most := firstBackoff, maxBackoff
	firstBackoff, maxBackoff = time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { firstBackoff, maxBackoff = first, most })
}

func TestRunAllAccepted(t *testing.T) {
	api, srv := newFakeAPI(t, nil)
	var progress, receipts bytes.Buffer
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 60, Concurrency: 6, Seed: 1,
		Timeout: time.Minute, Progress: &progress, Receipts: &receipts})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 60 || res.Accepted != 60 || res.Created != 60 || res.Rejected != 0 || res.Failed != 0 || res.Retries != 0 {
		t.Fatalf("result %+v", res)
	}
	if l := res.Latency; l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max || res.Throughput <= 0 {
		t.Errorf("latency %+v, throughput %v", l, res.Throughput)
	}
	seen := api.seen()
	if len(seen) != 60 {
		t.Errorf("the server saw %d keys, want 60", len(seen))
	}
	for k, sums := range seen {
		if len(sums) != 1 {
			t.Errorf("key %s sent %d times", k, len(sums))
		}
	}
	// Receipts: one JSON line per accepted report, and the same in the result.
	sc := bufio.NewScanner(&receipts)
	lines := 0
	for sc.Scan() {
		var rc Receipt
		if err := json.Unmarshal(sc.Bytes(), &rc); err != nil || rc.Status != 201 || rc.ID == "" || rc.Version != 1 ||
			len(rc.SHA256) != 64 || seen[rc.IdempotencyKey] == nil || seen[rc.IdempotencyKey][0] != rc.SHA256 {
			t.Errorf("receipt line %q (%v)", sc.Text(), err)
		}
		lines++
	}
	if lines != 60 || len(res.Receipts) != 60 {
		t.Errorf("%d receipt lines, %d receipts in the result", lines, len(res.Receipts))
	}
	// Not a terminal: a line every 10%.
	out := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(out) != 10 || !strings.Contains(out[9], "60/60 100%") || strings.Contains(progress.String(), "\r") {
		t.Errorf("progress:\n%s", progress.String())
	}
	var summary bytes.Buffer
	res.WriteSummary(&summary)
	for _, want := range []string{"accepted    60 (201: 60, 200 replayed: 0)", "failed      0", "throughput", "p99"} {
		if !strings.Contains(summary.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, summary.String())
		}
	}
}

// TestRunRetriesWithTheSameKeyAndBody: every 3rd report is stored but answered 503 (the answer
// is lost), and one connection is dropped before an answer: each is retried with the same key
// and the same bytes, and every report ends accepted (201, or 200 when the first attempt had
// been stored).
func TestRunRetriesWithTheSameKeyAndBody(t *testing.T) {
	fastRetries(t)
	api, srv := newFakeAPI(t, func(k, attempt int) string {
		switch {
		case attempt > 1:
			return ""
		case k%3 == 0:
			return "503 after storing"
		case k == 4:
			return "drop"
		}
		return ""
	})
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 30, Concurrency: 4, Seed: 2, MaxBytes: 20_000, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 30 || res.Failed != 0 || res.Rejected != 0 || res.Retries != 11 || res.Created != 20 || res.Replayed != 10 {
		t.Fatalf("accepted %d (201 %d, 200 %d), failed %d, rejected %d, retries %d; want 30 (20, 10), 0, 0, 11",
			res.Accepted, res.Created, res.Replayed, res.Failed, res.Rejected, res.Retries)
	}
	twice := 0
	for k, sums := range api.seen() {
		switch {
		case len(sums) == 2 && sums[0] == sums[1]:
			twice++
		case len(sums) != 1:
			t.Errorf("key %s: bodies %v", k, sums)
		}
	}
	if twice != 11 {
		t.Errorf("%d keys sent twice with the same body, want 11", twice)
	}
}

// TestRunCountsRejections: a 4xx (but 429) is the answer, not a failure to retry.
func TestRunCountsRejections(t *testing.T) {
	fastRetries(t)
	api, srv := newFakeAPI(t, func(k, _ int) string {
		switch {
		case k%5 == 0:
			return `400 {"error":{"code":"validation_failed","fields":[]}}`
		case k == 2:
			return `403 {"message":"Forbidden"}`
		case k == 3:
			return `422 {"error":{"code":"late_reason_required"}}`
		case k == 4:
			return `404 {"message":"Not Found"}`
		}
		return ""
	})
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 20, Concurrency: 3, MaxBytes: 8192})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"400 validation_failed": 4, "403 Forbidden": 1, "422 late_reason_required": 1, "404 Not Found": 1}
	if res.Rejected != 7 || res.Accepted != 13 || res.Retries != 0 || res.Failed != 0 || !maps.Equal(res.RejectedBy, want) {
		t.Fatalf("rejected %d %v, accepted %d, retries %d, failed %d", res.Rejected, res.RejectedBy, res.Accepted, res.Retries, res.Failed)
	}
	for k, sums := range api.seen() {
		if len(sums) != 1 {
			t.Errorf("key %s sent %d times", k, len(sums))
		}
	}
}

// TestRunRetriesThrottled: a 429 (the gateway's throttling) is retried with the same key and
// bytes, on a budget of its own: more 429s than maxAttempts still end accepted, and only a report
// throttled maxThrottled times is given up.
func TestRunRetriesThrottled(t *testing.T) {
	fastRetries(t)
	const tooMany = `429 {"message":"Too Many Requests"}`
	api, srv := newFakeAPI(t, func(k, attempt int) string {
		switch {
		case k == 1:
			return tooMany // for ever
		case k%2 == 0 && attempt <= maxAttempts+2:
			return tooMany
		case k == 3 && attempt == 1:
			return `503 {"message":"Service Unavailable"}`
		case k == 3 && attempt <= 3:
			return tooMany
		}
		return ""
	})
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 9, Concurrency: 3, MaxBytes: 8192, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Reports 2, 4, 6, 8: maxAttempts+2 throttles each; 3: a 503 then two throttles; 1: maxThrottled.
	throttled := 4*(maxAttempts+2) + 2 + maxThrottled
	if res.Accepted != 8 || res.Created != 8 || res.Failed != 1 || res.FailedBy["429 Too Many Requests"] != 1 || res.Rejected != 0 ||
		// One retry per 429 but report 1's last, plus one for report 3's 503: as many as 429s.
		res.Throttled != throttled || res.Retries != throttled {
		t.Fatalf("accepted %d (201 %d), failed %d %v, rejected %d, throttled %d, retries %d; want 8 (8), 1 429, 0, %d, %d",
			res.Accepted, res.Created, res.Failed, res.FailedBy, res.Rejected, res.Throttled, res.Retries, throttled, throttled)
	}
	for k, sums := range api.seen() {
		for _, sum := range sums[1:] {
			if sum != sums[0] {
				t.Fatalf("key %s was retried with another body", k)
			}
		}
	}
	var summary strings.Builder
	res.WriteSummary(&summary)
	if want := fmt.Sprintf("retries     %d (after a 429: %d)", res.Retries, throttled); !strings.Contains(summary.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, summary.String())
	}
}

// TestRunGivesUp: a report that gets only 5xx or network errors is sent maxAttempts times, then
// counted as failed with its last error.
func TestRunGivesUp(t *testing.T) {
	fastRetries(t)
	api, srv := newFakeAPI(t, func(int, int) string { return `502 {"message":"Internal Server Error"}` })
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 3, Concurrency: 3, MaxBytes: 8192})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 3 || res.FailedBy["502 Internal Server Error"] != 3 || res.Retries != 3*(maxAttempts-1) || res.Accepted != 0 {
		t.Fatalf("failed %d %v, retries %d", res.Failed, res.FailedBy, res.Retries)
	}
	for k, sums := range api.seen() {
		if len(sums) != maxAttempts {
			t.Errorf("key %s sent %d times", k, len(sums))
		}
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	res, err = Run(t.Context(), Config{URL: dead.URL, Key: testKey, N: 2, Concurrency: 2, MaxBytes: 8192})
	if err != nil || res.Failed != 2 || len(res.FailedBy) != 1 {
		t.Fatalf("closed port: %v, %+v", err, res)
	}
	for label := range res.FailedBy {
		if !strings.Contains(label, "connection refused") || strings.Contains(label, dead.URL) {
			t.Errorf("failure label %q", label)
		}
	}
}

// TestRunStopsPromptly: cancelling the context or reaching the timeout ends a run against a
// server that never answers, within moments, and says why.
func TestRunStopsPromptly(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices when the client goes
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	})
	srv := httptest.NewServer(hang)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, Config{URL: srv.URL, Key: testKey, N: 1000, Concurrency: 8, MaxBytes: 8192})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("after cancel: %v in %s", err, time.Since(start))
	}
	if res.Sent > 8 || res.Accepted != 0 || res.Failed != res.Sent {
		t.Errorf("sent %d, accepted %d, failed %d", res.Sent, res.Accepted, res.Failed)
	}

	start = time.Now()
	_, err = Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 1000, Concurrency: 8, MaxBytes: 8192, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("after timeout: %v in %s", err, time.Since(start))
	}
}

// TestRunSendsOnlyToItsURL: a redirect is an answer, never followed.
func TestRunSendsOnlyToItsURL(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.RedirectHandler(other.URL+"/v1/reports", http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	res, err := Run(t.Context(), Config{URL: srv.URL, Key: testKey, N: 2, MaxBytes: 8192})
	if err != nil || res.Rejected != 2 || res.RejectedBy["307"] != 2 || elsewhere.Load() != 0 {
		t.Fatalf("%v: rejected %v, requests elsewhere %d", err, res.RejectedBy, elsewhere.Load())
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:3000", Key: testKey, N: 1}
	for name, c := range map[string]func(*Config){
		"no scheme":        func(c *Config) { c.URL = "127.0.0.1:3000" },
		"ftp":              func(c *Config) { c.URL = "ftp://127.0.0.1/" },
		"query":            func(c *Config) { c.URL = "http://127.0.0.1:3000/?x=1" },
		"no key":           func(c *Config) { c.Key = "" },
		"key with newline": func(c *Config) { c.Key = testKey + "\n" },
		"N 0":              func(c *Config) { c.N = 0 },
		"N too big":        func(c *Config) { c.N = MaxN + 1 },
		"max bytes small":  func(c *Config) { c.MaxBytes = 100 },
		"max bytes big":    func(c *Config) { c.MaxBytes = breach.MaxBodyBytes + 1 },
	} {
		cfg := ok
		c(&cfg)
		if _, err := cfg.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := ok
	cfg.URL = "http://127.0.0.1:3000/stage/"
	if endpoint, err := cfg.check(); err != nil || endpoint != "http://127.0.0.1:3000/stage/v1/reports" || cfg.Concurrency != 1 || cfg.MaxBytes != breach.MaxBodyBytes {
		t.Errorf("%q, %v, %+v", endpoint, err, cfg)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	var hundred []int
	for i := 100; i >= 1; i-- { // unsorted: latencyOf sorts
		hundred = append(hundred, i)
	}
	for _, c := range []struct {
		in   []time.Duration
		want Latency
	}{
		{ms(hundred...), Latency{50 * time.Millisecond, 95 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}},
		{ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), Latency{5 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}},
		{ms(7), Latency{7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond}},
		{nil, Latency{}},
	} {
		if got := latencyOf(c.in); got != c.want {
			t.Errorf("latencyOf(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
	// 1,000 values: p99 is the 990th.
	var thousand []time.Duration
	for i := 1; i <= 1000; i++ {
		thousand = append(thousand, time.Duration(i))
	}
	if got := percentile(thousand, 99); got != 990 {
		t.Errorf("p99 of 1..1000 = %d, want 990", got)
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n <= maxAttempts; n++ {
		d := min(firstBackoff<<(n-1), maxBackoff)
		for range 100 {
			if b := backoff(n); b < d/2 || b > d {
				t.Fatalf("backoff(%d) = %s, want %s…%s", n, b, d/2, d)
			}
		}
	}
}
