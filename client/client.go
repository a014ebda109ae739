// Package client is a Go client of the breach-report intake API (API.md): submit reports and
// supplements, read them back, list them.
//
// Every POST carries an Idempotency-Key, made per call and sent again, unchanged, with every retry
// of that call: a report is stored once however many times the network fails. Network errors,
// 5xx and 429 answers are retried with exponential, jittered backoff, or after their Retry-After
// when they have one; no other answer is. Answers that are not a success are *Error values.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of New.
const (
	DefaultAttempts   = 4                      // one call sends at most this many requests
	DefaultBackoff    = 200 * time.Millisecond // the wait before the first retry, doubled with each
	DefaultMaxBackoff = 5 * time.Second        // the longest wait between two attempts
	DefaultTimeout    = 30 * time.Second       // of one attempt, with the default HTTP client
	// MaxRetryAfter is the longest Retry-After a call waits for; a longer one ends the call with
	// the answer that asked for it.
	MaxRetryAfter = time.Minute
)

// maxAnswerBytes bounds what the client reads of an answer: a stored document is at most 256 KiB
// of report and some computed fields, a page at most 100 summaries.
const maxAnswerBytes = 8 << 20

// Client calls the intake API with one organisation's key. It is safe for concurrent use.
type Client struct {
	base       string
	key        string
	http       *http.Client
	attempts   int
	backoff    time.Duration
	maxBackoff time.Duration
	userAgent  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests with hc instead of a client with a DefaultTimeout per attempt that
// follows no redirects.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetries sets how many times a call is retried after its first attempt (0: never).
func WithRetries(n int) Option { return func(c *Client) { c.attempts = 1 + max(0, n) } }

// WithBackoff sets the wait before the first retry and the longest wait; each wait is drawn
// between half and all of min(first·2^(retry-1), longest).
func WithBackoff(first, longest time.Duration) Option {
	return func(c *Client) { c.backoff, c.maxBackoff = max(0, first), max(0, first, longest) }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New is a client of the API at baseURL ("http://127.0.0.1:3000", or a deployed stack's ApiUrl)
// calling with apiKey ("bik_…").
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base: strings.TrimRight(baseURL, "/"),
		key:  apiKey,
		http: &http.Client{
			Timeout: DefaultTimeout,
			// The key goes only where it was meant to go.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		attempts:   DefaultAttempts,
		backoff:    DefaultBackoff,
		maxBackoff: DefaultMaxBackoff,
		userAgent:  "breach-intake-go-client/1",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// CallOption configures one call.
type CallOption func(*call)

type call struct {
	idempotencyKey string
}

// WithIdempotencyKey sends key (1–128 printable ASCII) as the call's Idempotency-Key instead of a
// new random one. Use it to retry a call later, in another process: the API answers the first
// receipt (Receipt.Replayed) rather than storing the report again.
func WithIdempotencyKey(key string) CallOption { return func(c *call) { c.idempotencyKey = key } }

// NewIdempotencyKey is a random key: 128 bits in hex. Keep it with what you send to be able to
// retry with WithIdempotencyKey.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Submit files a first report.
func (c *Client) Submit(ctx context.Context, r Report, opts ...CallOption) (Receipt, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return Receipt{}, fmt.Errorf("client: encode report: %w", err)
	}
	return c.SubmitJSON(ctx, body, opts...)
}

// SubmitJSON files a first report given as its JSON body, sent byte for byte.
func (c *Client) SubmitJSON(ctx context.Context, body []byte, opts ...CallOption) (Receipt, error) {
	return c.post(ctx, "/v1/reports", body, "", opts)
}

// Supplement files a new version of report id: the full report as it now stands, for stage
// ("supplementary", "nis2.notification", "dora.final"…). ifMatch is the report's latest version
// number; when another version came in since, the answer is a conflict (IsConflict).
func (c *Client) Supplement(ctx context.Context, id string, ifMatch int, stage string, r Report, opts ...CallOption) (Receipt, error) {
	body, err := json.Marshal(struct {
		Stage string `json:"stage"`
		Report
	}{stage, r})
	if err != nil {
		return Receipt{}, fmt.Errorf("client: encode supplement: %w", err)
	}
	return c.post(ctx, reportPath(id)+"/supplements", body, strconv.Itoa(ifMatch), opts)
}

// Get reads one of the organisation's reports: its latest version and the list of versions.
func (c *Client) Get(ctx context.Context, id string) (ReportView, error) {
	var v ReportView
	err := c.getJSON(ctx, reportPath(id), &v)
	return v, err
}

// Version reads version n of report id as it was stored: Document.Raw holds its bytes, whose
// SHA-256 (Document.SHA256) is the sha256 of that version's receipt.
func (c *Client) Version(ctx context.Context, id string, n int) (Document, error) {
	var d Document
	err := c.getJSON(ctx, reportPath(id)+"/versions/"+strconv.Itoa(n), &d)
	return d, err
}

// List reads one page of the organisation's reports, newest first, from cursor ("" for the first
// page) with at most limit items (1–100; 0 for the API's default, 20).
func (c *Client) List(ctx context.Context, cursor string, limit int) (Page, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/reports"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p Page
	err := c.getJSON(ctx, path, &p)
	return p, err
}

// Reports iterates over all the organisation's reports, newest first, reading pages of limit
// items as it goes. A failure is yielded once, with a zero summary, and ends the iteration.
func (c *Client) Reports(ctx context.Context, limit int) iter.Seq2[ReportSummary, error] {
	return func(yield func(ReportSummary, error) bool) {
		cursor := ""
		for {
			p, err := c.List(ctx, cursor, limit)
			if err != nil {
				yield(ReportSummary{}, err)
				return
			}
			for _, s := range p.Items {
				if !yield(s, nil) {
					return
				}
			}
			if p.NextCursor == "" {
				return
			}
			cursor = p.NextCursor
		}
	}
}

// Health checks that the API answers GET /v1/health (no key needed).
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/v1/health"})
	return err
}

func reportPath(id string) string { return "/v1/reports/" + url.PathEscape(id) }

func (c *Client) post(ctx context.Context, path string, body []byte, ifMatch string, opts []CallOption) (Receipt, error) {
	var cl call
	for _, o := range opts {
		o(&cl)
	}
	if cl.idempotencyKey == "" {
		cl.idempotencyKey = NewIdempotencyKey()
	}
	a, err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, auth: true,
		idempotencyKey: cl.idempotencyKey, ifMatch: ifMatch})
	if err != nil {
		return Receipt{}, err
	}
	var rc Receipt
	if err := json.Unmarshal(a.body, &rc); err != nil {
		return Receipt{}, fmt.Errorf("client: POST %s: the receipt: %w", path, err)
	}
	rc.Raw, rc.Replayed, rc.IdempotencyKey = a.body, a.status == http.StatusOK, cl.idempotencyKey
	return rc, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	a, err := c.do(ctx, request{method: http.MethodGet, path: path, auth: true})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("client: GET %s: the answer: %w", path, err)
	}
	return nil
}

type request struct {
	method, path   string
	body           []byte // nil: none
	auth           bool
	idempotencyKey string
	ifMatch        string
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends r until it gets an answer that is not worth retrying or runs out of attempts. It
// returns a 2xx answer, an *Error for any other, or the last network error.
func (c *Client) do(ctx context.Context, r request) (answer, error) {
	for attempt := 1; ; attempt++ {
		a, err := c.send(ctx, r)
		if err == nil && a.status >= 200 && a.status < 300 {
			return a, nil
		}
		wait, waitGiven := time.Duration(0), false
		var p permanent
		switch {
		case ctx.Err() != nil:
			return answer{}, fmt.Errorf("client: %s %s: %w", r.method, r.path, context.Cause(ctx))
		case errors.As(err, &p):
			return answer{}, p.error
		case err == nil:
			err = errorFrom(a.status, a.header, a.body)
			if !retryable(a.status) {
				return answer{}, err
			}
			if wait, waitGiven = retryAfter(a.header.Get("Retry-After"), time.Now()); wait > MaxRetryAfter {
				return answer{}, err
			}
		}
		if attempt >= c.attempts {
			if attempt > 1 {
				return answer{}, fmt.Errorf("client: %s %s: %d attempts: %w", r.method, r.path, attempt, err)
			}
			if _, ok := err.(*Error); ok {
				return answer{}, err
			}
			return answer{}, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
		}
		if !waitGiven {
			wait = c.backoffBefore(attempt)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// No time left to try again: the last failure says more than a timeout would.
			return answer{}, fmt.Errorf("client: %s %s: no time left for attempt %d: %w", r.method, r.path, attempt+1, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return answer{}, fmt.Errorf("client: %s %s: %w (after: %w)", r.method, r.path, context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// permanent is a failure no retry can mend: a request that cannot be built, an answer too large
// to read.
type permanent struct{ error }

// send makes one attempt.
func (c *Client) send(ctx context.Context, r request) (answer, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+r.path, body)
	if err != nil {
		return answer{}, permanent{fmt.Errorf("client: %w", err)}
	}
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.auth && c.key != "" { // without a key, the API's answer says so (401)
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, unwrapURLError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer: %w", err)
	}
	if len(b) > maxAnswerBytes {
		return answer{}, permanent{fmt.Errorf("client: %s %s: an answer over %d bytes", r.method, r.path, maxAnswerBytes)}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// unwrapURLError drops what *url.Error adds (method and URL: the caller's error says them).
func unwrapURLError(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

// retryable are the answers that another attempt may change: throttling and server failures.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// backoffBefore is the wait before attempt+1: exponential, capped, with jitter so that clients
// failed together do not retry together.
func (c *Client) backoffBefore(attempt int) time.Duration {
	d := c.maxBackoff
	if attempt-1 < 32 {
		d = min(c.backoff<<(attempt-1), c.maxBackoff)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + mrand.N(d/2+1)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
