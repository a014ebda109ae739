package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	randv2 "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

const (
	// maxAttempts bounds the sends of one report that fail (network errors, 5xx): with the
	// backoff below, at most about 5 s of waits.
	maxAttempts = 8
	// maxThrottled bounds the 429s of one report. A 429 is the gateway asking the client to slow
	// down, not a failure: it has its own, larger budget, under a minute of waits at the cap.
	maxThrottled = 32
	// attemptTimeout bounds one request, so that a server that never answers is retried.
	attemptTimeout = 30 * time.Second
	// MaxN bounds a run's count: load is a measuring tool, not a flood.
	MaxN = 1_000_000
)

// firstBackoff is the wait before the first retry; it doubles with each one up to maxBackoff
// (tests shorten both).
var firstBackoff, maxBackoff = 50 * time.Millisecond, 2 * time.Second

// Config is one load run.
type Config struct {
	URL         string        // the API's base URL; reports go to URL + "/v1/reports"
	Key         string        // an organisation API key
	N           int           // reports to send, 1…MaxN
	Concurrency int           // concurrent clients (default 1)
	MaxBytes    int           // largest body (default and at most 256 KiB; at least MinMaxBytes)
	Seed        int64         // report i of a seed is the same in every run (but for timestamps)
	Timeout     time.Duration // stops the whole run (0: only ctx does)
	Progress    io.Writer     // a progress bar: one redrawn line on a terminal, else a line per 10% (nil: none)
	Receipts    io.Writer     // one JSON line per accepted report (nil: none)
}

// Receipt is what a run keeps of an accepted report: enough to find it in the store, the
// archive and the alerts (reconciliation).
type Receipt struct {
	IdempotencyKey string `json:"idempotency_key"`
	Status         int    `json:"status"` // 201, or 200 for a replay
	ID             string `json:"id"`
	Version        int    `json:"version"`
	SHA256         string `json:"sha256"`
}

// Result is what a run measured.
type Result struct {
	URL         string
	N           int
	Concurrency int
	Sent        int            // reports sent at least once
	Accepted    int            // answered 201 or 200
	Created     int            // of which 201
	Replayed    int            // of which 200: an earlier attempt had been stored
	Rejected    int            // answered 4xx but 429 (or another non-5xx status): not retried
	RejectedBy  map[string]int // "400 validation_failed", "403 Forbidden"
	Failed      int            // given up: network errors, 5xx or 429 on every attempt, or stopped
	FailedBy    map[string]int // the last error of each failed report
	Retries     int            // sends after the first, over all reports
	Throttled   int            // 429 answers (the gateway's throttling), each followed by a retry or a give-up
	Elapsed     time.Duration
	Throughput  float64 // accepted reports per second
	Latency     Latency // of answered reports, first send to final answer
	Receipts    []Receipt
}

// Latency holds nearest-rank percentiles.
type Latency struct{ P50, P95, P99, Max time.Duration }

// outcome is the end of one report.
type outcome struct {
	status    int    // the final answer's, 0 when failed
	label     string // "403 Forbidden" for a rejection, the last error for a failure
	receipt   Receipt
	attempts  int // sends
	failures  int // of which network errors and 5xx
	throttled int // of which 429
	latency   time.Duration
}

// Run sends cfg.N generated reports with cfg.Concurrency clients and measures them. It stops
// early when ctx ends or cfg.Timeout passes, returning what it measured and the reason.
func Run(ctx context.Context, cfg Config) (Result, error) {
	endpoint, err := cfg.check()
	if err != nil {
		return Result{}, err
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	// A run id in every Idempotency-Key: another run with the same seed sends other bodies (the
	// timestamps move), and must not collide with this one's keys (422 idempotency_key_reused).
	var id [6]byte
	_, _ = rand.Read(id[:])
	runID := hex.EncodeToString(id[:])

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Concurrency // keep one connection per client
	client := &http.Client{
		Transport: transport,
		Timeout:   attemptTimeout,
		// Never follow a redirect: load sends only to the URL it was given.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer transport.CloseIdleConnections()

	res := Result{URL: endpoint, N: cfg.N, Concurrency: cfg.Concurrency, RejectedBy: map[string]int{}, FailedBy: map[string]int{}}
	jobs := make(chan int)
	outcomes := make(chan outcome)
	var workers sync.WaitGroup
	for range cfg.Concurrency {
		workers.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					continue // handed out as the run stopped: never sent
				}
				outcomes <- send(ctx, client, endpoint, cfg, fmt.Sprintf("load-%s-%07d", runID, i), i)
			}
		})
	}
	go func() {
		// Hand out reports until all are out or the run stops; a worker's send stops promptly
		// at ctx's end, so the outcomes close soon after.
		defer func() { close(jobs); workers.Wait(); close(outcomes) }()
		for i := range cfg.N {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	start := time.Now()
	bar := newProgress(cfg.Progress, cfg.N)
	var latencies []time.Duration
	var receiptsErr error
	for o := range outcomes {
		res.record(o)
		if o.status != 0 {
			latencies = append(latencies, o.latency)
		}
		if o.receipt.ID != "" && cfg.Receipts != nil && receiptsErr == nil {
			line, _ := json.Marshal(o.receipt)
			_, receiptsErr = cfg.Receipts.Write(append(line, '\n'))
		}
		bar.update(res, time.Since(start))
	}
	res.Elapsed = time.Since(start)
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Throughput = float64(res.Accepted) / s
	}
	res.Latency = latencyOf(latencies)
	slices.SortFunc(res.Receipts, func(a, b Receipt) int { return strings.Compare(a.IdempotencyKey, b.IdempotencyKey) })
	bar.finish(res, res.Elapsed)
	if done := res.Accepted + res.Rejected; done < cfg.N && ctx.Err() != nil {
		return res, fmt.Errorf("load: stopped with %d of %d reports answered: %w", done, cfg.N, context.Cause(ctx))
	}
	if receiptsErr != nil {
		return res, fmt.Errorf("load: write receipts: %w", receiptsErr)
	}
	return res, nil
}

func (c *Config) check() (endpoint string, err error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("load: URL %q: want http(s)://host[:port][/base path]", c.URL)
	}
	switch {
	case c.Key == "" || strings.ContainsFunc(c.Key, func(r rune) bool { return r < 0x21 || r > 0x7e }):
		return "", errors.New("load: an API key (printable ASCII, no spaces) is required")
	case c.N < 1 || c.N > MaxN:
		return "", fmt.Errorf("load: N %d: want 1…%d", c.N, MaxN)
	case c.Concurrency < 0 || c.Concurrency > 1024:
		return "", fmt.Errorf("load: concurrency %d: want 1…1024", c.Concurrency)
	}
	c.Concurrency = max(1, c.Concurrency)
	if c.MaxBytes == 0 {
		c.MaxBytes = breach.MaxBodyBytes
	}
	if c.MaxBytes < MinMaxBytes || c.MaxBytes > breach.MaxBodyBytes {
		return "", fmt.Errorf("load: max bytes %d: want %d…%d", c.MaxBytes, MinMaxBytes, breach.MaxBodyBytes)
	}
	return strings.TrimRight(u.String(), "/") + "/v1/reports", nil
}

// send sends report i until it gets an answer other than a 5xx or a 429, retrying network errors,
// 5xx and 429 (throttled) answers with the same Idempotency-Key and the same bytes, as API.md asks
// of a client: the server then either stores it once or replays the first receipt. Each kind of
// retry backs off exponentially, with jitter, so that throttled clients spread out.
func send(ctx context.Context, client *http.Client, endpoint string, cfg Config, key string, i int) outcome {
	// Each report has its own generator, so report i is the same whichever worker sends it.
	body := Generate(randv2.New(randv2.NewPCG(uint64(cfg.Seed), uint64(i))), time.Now(), cfg.MaxBytes)
	o := outcome{receipt: Receipt{IdempotencyKey: key}}
	start := time.Now()
	for {
		o.attempts++
		status, answer, err := post(ctx, client, endpoint, cfg.Key, key, body)
		var retry int // the retry's rank among those of its kind; 0: the answer is final
		switch {
		case err != nil:
			o.failures++
			o.label, retry = shortError(err), o.failures
		case status >= 500:
			o.failures++
			o.label, retry = label(status, answer), o.failures
		case status == http.StatusTooManyRequests:
			o.throttled++
			o.label, retry = label(status, answer), o.throttled
		}
		if retry > 0 {
			if o.failures == maxAttempts || o.throttled == maxThrottled || !sleep(ctx, backoff(retry)) {
				return o // given up or stopped: status 0
			}
			continue
		}
		o.status, o.latency = status, time.Since(start)
		var rc struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			SHA256  string `json:"sha256"`
		}
		if (status == http.StatusCreated || status == http.StatusOK) && json.Unmarshal(answer, &rc) == nil && rc.ID != "" {
			o.receipt.Status, o.receipt.ID, o.receipt.Version, o.receipt.SHA256 = status, rc.ID, rc.Version, rc.SHA256
		} else {
			o.label = label(status, answer)
		}
		return o
	}
}

func post(ctx context.Context, client *http.Client, endpoint, apiKey, key string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	// Without GetBody the transport does not resend on its own (it would, for a request with an
	// Idempotency-Key, on a reused connection): every resend is ours, and counted.
	req.GetBody = nil
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, err // a cut answer: we do not know what happened, so send again
	}
	return resp.StatusCode, answer, nil
}

// label names an answer by its status and its error code ("400 validation_failed"), or the
// gateway's message ("403 Forbidden").
func label(status int, answer []byte) string {
	var e struct {
		Error   struct{ Code string } `json:"error"`
		Message string                `json:"message"`
	}
	_ = json.Unmarshal(answer, &e)
	switch {
	case e.Error.Code != "":
		return fmt.Sprintf("%d %s", status, e.Error.Code)
	case e.Message != "":
		return fmt.Sprintf("%d %s", status, e.Message)
	case status == http.StatusCreated || status == http.StatusOK:
		return fmt.Sprintf("%d without a receipt", status)
	}
	return fmt.Sprintf("%d", status)
}

// shortError drops the "Post <url>:" prefix of a client error.
func shortError(err error) string {
	var u *url.Error
	if errors.As(err, &u) {
		err = u.Err
	}
	return err.Error()
}

// backoff is the jittered wait before retry n (1, 2, …): between half and all of 50 ms·2^(n-1),
// at most 2 s, so that clients that failed together do not retry together.
func backoff(n int) time.Duration {
	d := min(firstBackoff<<(n-1), maxBackoff)
	return d/2 + randv2.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (res *Result) record(o outcome) {
	res.Sent++
	res.Retries += o.attempts - 1
	res.Throttled += o.throttled
	switch {
	case o.receipt.ID != "":
		res.Accepted++
		if o.status == http.StatusCreated {
			res.Created++
		} else {
			res.Replayed++
		}
		res.Receipts = append(res.Receipts, o.receipt)
	case o.status != 0:
		res.Rejected++
		res.RejectedBy[o.label]++
	default:
		res.Failed++
		res.FailedBy[o.label]++
	}
}

func latencyOf(ds []time.Duration) Latency {
	slices.Sort(ds)
	return Latency{P50: percentile(ds, 50), P95: percentile(ds, 95), P99: percentile(ds, 99), Max: percentile(ds, 100)}
}

// percentile is the nearest-rank p-th percentile of sorted values: the smallest value with at
// least p% of the values at or below it. Integer arithmetic: no rounding surprise at p95 of 100.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// WriteSummary prints the run's figures.
func (res Result) WriteSummary(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "load: %d reports to %s, %d clients, %s\n", res.N, res.URL, res.Concurrency, res.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  sent        %d\n", res.Sent)
	fmt.Fprintf(w, "  accepted    %d (201: %d, 200 replayed: %d)\n", res.Accepted, res.Created, res.Replayed)
	fmt.Fprintf(w, "  rejected    %d\n", res.Rejected)
	for _, k := range slices.Sorted(maps.Keys(res.RejectedBy)) {
		fmt.Fprintf(w, "    %-40s %d\n", k, res.RejectedBy[k])
	}
	fmt.Fprintf(w, "  failed      %d\n", res.Failed)
	for _, k := range slices.Sorted(maps.Keys(res.FailedBy)) {
		fmt.Fprintf(w, "    %-40s %d\n", k, res.FailedBy[k])
	}
	fmt.Fprintf(w, "  retries     %d (after a 429: %d)\n", res.Retries, res.Throttled)
	fmt.Fprintf(w, "  throughput  %.1f reports/s\n", res.Throughput)
	fmt.Fprintf(w, "  latency     p50 %s, p95 %s, p99 %s, max %s\n", ms(res.Latency.P50), ms(res.Latency.P95), ms(res.Latency.P99), ms(res.Latency.Max))
}

// progress draws a bar: on a terminal one line redrawn with \r (at most every 100 ms), elsewhere
// (a log, CI) a line at every 10%.
type progress struct {
	w     io.Writer
	tty   bool
	n     int
	shown int // tenths printed
	drawn time.Time
}

func newProgress(w io.Writer, n int) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, n: n}
	if f, ok := w.(*os.File); ok {
		fi, err := f.Stat()
		p.tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return p
}

func (p *progress) line(res Result, elapsed time.Duration) string {
	done := res.Accepted + res.Rejected + res.Failed
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	return fmt.Sprintf("[%-30s] %d/%d %3d%%  accepted %d  rejected %d  failed %d  retries %d  %.1f/s",
		strings.Repeat("#", 30*done/p.n), done, p.n, 100*done/p.n, res.Accepted, res.Rejected, res.Failed, res.Retries, rate)
}

func (p *progress) update(res Result, elapsed time.Duration) {
	if p == nil {
		return
	}
	done := res.Accepted + res.Rejected + res.Failed
	if p.tty {
		if now := time.Now(); done == p.n || now.Sub(p.drawn) >= 100*time.Millisecond {
			p.drawn = now
			fmt.Fprint(p.w, "\r"+p.line(res, elapsed))
		}
		return
	}
	if tenth := done * 10 / p.n; tenth > p.shown {
		p.shown = tenth
		fmt.Fprintln(p.w, p.line(res, elapsed))
	}
}

// finish ends the bar: the terminal's line is closed, and a run that stopped early shows where.
func (p *progress) finish(res Result, elapsed time.Duration) {
	switch {
	case p == nil:
	case p.tty:
		fmt.Fprint(p.w, "\r"+p.line(res, elapsed)+"\n")
	case p.shown < 10:
		fmt.Fprintln(p.w, p.line(res, elapsed))
	}
}
