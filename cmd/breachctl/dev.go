package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/api"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
)

// demoOrg is the organisation `make dev` provisions so the printed curl works at once.
var demoOrg = breach.Organisation{ID: "demo-org", LegalName: "Organisation de démonstration", Country: "FR"}

// dev runs the whole stack on this machine until interrupted: moto_server (unless
// AWS_ENDPOINT_URL names an endpoint), every resource of template.yaml, the HTTP API with the real
// authorizer and handlers, the stream consumers and scheduled functions of the template, a local
// regulator printing the alerts, and a demo organisation whose key it prints with a curl that works.
func dev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	templatePath := fs.String("template", "template.yaml", "the SAM template")
	addr := fs.String("addr", local.DefaultAPIAddr, "address of the local API")
	motoPort := fs.Int("moto-port", 4566, "port of the moto_server started when AWS_ENDPOINT_URL is unset")
	stateDir := fs.String("state", ".local", "where the demo key is written")
	scheduleEvery := fs.Duration("schedule-every", 0, "run the scheduled functions at this interval (e.g. 1m) instead of their template rate")
	faultSpec := fs.String("faults", os.Getenv("BREACH_FAULTS"), "make a fraction of the functions' AWS calls fail: comma-separated `<service>[.<Operation>]=<fraction>[:after|before|timeout]` rules, e.g. s3.PutObject=0.1 (default $BREACH_FAULTS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Parsed before anything starts: a mistyped rule stops here rather than running without it.
	faults, err := local.ParseFaults(*faultSpec, time.Now().UnixNano())
	if err != nil {
		return err
	}
	tmpl, err := local.LoadTemplate(*templatePath)
	if err != nil {
		return err
	}

	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		fmt.Fprintf(stderr, "starting moto_server on 127.0.0.1:%d\n", *motoPort)
		moto, err := local.StartMoto(ctx, *motoPort)
		if err != nil {
			return err
		}
		defer moto.Stop()
		endpoint = moto.Endpoint()
	}
	cfg := local.Config(endpoint)
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		return fmt.Errorf("create resources from %s: %w", *templatePath, err)
	}
	t := &target{cfg: cfg, tmpl: tmpl, names: names}
	if t.outputs, err = local.Outputs(tmpl, names, "http://"+*addr+"/"); err != nil {
		return err
	}
	// Only the functions' own AWS calls get the faults: t.cfg, for the setup, the stream pollers'
	// reads, the dead-letter queue, the alert printer and the demo key, stays reliable.
	fns := local.TemplateFunctions(tmpl, names, faults.Apply(cfg), breach.SystemClock(), stderr)

	table, err := t.table()
	if err != nil {
		return err
	}
	key, err := createOrganisationKey(ctx, dynamo.New(dynamodb.NewFromConfig(cfg), table), demoOrg, time.Now(), io.Discard)
	if err != nil {
		return fmt.Errorf("provision the demo organisation: %w", err)
	}
	keyFile := filepath.Join(*stateDir, "demo-key")
	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return err
	}

	gateway, err := local.NewAPI(tmpl, fns,
		local.APIOptions{Log: zerolog.New(stderr).With().Timestamp().Str("component", "api").Logger()})
	if err != nil {
		return err
	}
	// The reference page and the spec are served next to the API, locally only: in AWS the
	// gateway has no such route (the spec ships in the repository).
	docs, err := api.Handler()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(api.DocsPath, docs)
	mux.Handle(api.SpecPath, docs)
	mux.Handle("/", gateway)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is another make dev running?): %w", *addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	running, waitBackground, err := t.background(bg, fns, *scheduleEvery, stdout, stderr)
	if err != nil {
		return err
	}
	// However dev ends, the pollers and the alert printer stop (and unsubscribe) before the
	// deferred moto.Stop ends their endpoint.
	defer func() { stopBackground(); waitBackground() }()
	if rules := faults.String(); rules != "" {
		running = append(running, row{"faults", rules + " (the functions' AWS calls, per attempt)"})
	}

	fmt.Fprint(stdout, banner(*addr, endpoint, key, keyFile, t.outputs, running))
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "stopping")
	case err := <-served:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// background starts what Lambda runs without an HTTP request: a stream poller per DynamoDB event
// of the template, each Schedule event on a ticker, and a local regulator printing the alerts to
// stdout. The functions are built by fns. It returns one banner line per thing started, and wait,
// which returns once ctx has ended and all of them stopped.
func (t *target) background(ctx context.Context, fns local.Functions, every time.Duration, stdout, stderr io.Writer) (running []row, wait func(), err error) {
	var wg sync.WaitGroup
	var stops []func()
	wait = func() {
		wg.Wait()
		for _, stop := range stops {
			stop()
		}
	}
	log := zerolog.New(stderr).With().Timestamp().Logger()

	sources, err := t.tmpl.StreamSources()
	if err != nil {
		return nil, wait, err
	}
	for _, src := range sources {
		// The stream is read with t.cfg, without faults; the function runs with fns's.
		fn, err := fns(src.Function)
		if err != nil {
			return nil, wait, err
		}
		p, err := local.StreamPoller(ctx, t.cfg, t.names, src, fn, log, time.Now)
		if err != nil {
			return nil, wait, err
		}
		wg.Go(func() { _ = p.Run(ctx) }) // Run logs its errors and ends only with ctx
		dest := "none"
		if src.OnFailureDestination != "" {
			dest = src.OnFailureDestination
		}
		running = append(running, row{"stream consumer", fmt.Sprintf("%s reads the %s stream (batch %d, %d retries, on failure: %s)",
			src.Function, src.Table, src.BatchSize, src.MaximumRetryAttempts, dest)})
	}

	schedules, err := t.tmpl.Schedules()
	if err != nil {
		return nil, wait, err
	}
	for _, s := range schedules {
		interval := every
		if interval <= 0 {
			if interval, err = rate(s.Expression); err != nil {
				return nil, wait, fmt.Errorf("%s: %w (use --schedule-every)", s.Function, err)
			}
		}
		fn, err := fns(s.Function)
		if err != nil {
			return nil, wait, err
		}
		slog := log.With().Str("component", "scheduler").Str("function", s.Function).Logger()
		wg.Go(func() {
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-tick.C:
					if _, err := fn.Invoke(ctx, scheduledEvent(s.Function, t.cfg.Region, now)); err != nil && ctx.Err() == nil {
						slog.Error().Err(err).Msg("scheduled run failed")
					}
				}
			}
		})
		running = append(running, row{"schedule", fmt.Sprintf("%s every %s (%s)", s.Function, interval, s.Expression)})
	}

	if topic := t.outputs["AlertTopicArn"]; topic != "" {
		stop, err := local.SubscribeAlertPrinter(ctx, t.cfg, topic, stdout)
		if err != nil {
			return nil, wait, err
		}
		stops = append(stops, stop)
		running = append(running, row{"alerts", "printed below as they arrive, one line each (queue " + local.RegulatorQueue + ")"})
	}
	return running, wait, nil
}

// poller builds the local event source mapping of a stream event.
func (t *target) poller(ctx context.Context, src local.StreamSource, stderr io.Writer, log zerolog.Logger) (*local.Poller, error) {
	fn, err := t.function(src.Function, stderr)
	if err != nil {
		return nil, err
	}
	return local.StreamPoller(ctx, t.cfg, t.names, src, fn, log, time.Now)
}

// rate reads a schedule's rate(N unit) expression. cron(…) has no fixed interval: it needs
// --schedule-every locally.
func rate(expr string) (time.Duration, error) {
	inner, isRate := strings.CutPrefix(expr, "rate(")
	inner, closed := strings.CutSuffix(inner, ")")
	if !isRate || !closed {
		return 0, fmt.Errorf("schedule %q has no fixed rate", expr)
	}
	n, unit, _ := strings.Cut(strings.TrimSpace(inner), " ")
	v, err := strconv.Atoi(n)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("schedule %q: %q is not a positive number", expr, n)
	}
	units := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}
	d, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("schedule %q: unknown unit %q", expr, unit)
	}
	return time.Duration(v) * d, nil
}

// scheduledEvent is the event EventBridge sends a function on its schedule.
func scheduledEvent(function, region string, now time.Time) []byte {
	b, _ := json.Marshal(events.EventBridgeEvent{
		Version:    "0",
		ID:         fmt.Sprintf("local-%d", now.UnixNano()),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  local.AccountID,
		Time:       now.UTC().Truncate(time.Second),
		Region:     region,
		Resources:  []string{"arn:aws:events:" + region + ":" + local.AccountID + ":rule/" + local.StackName + "-" + function + "Schedule"},
		Detail:     json.RawMessage(`{}`),
	})
	return b
}

// row is one line of the banner.
type row struct{ label, value string }

// banner tells what runs where, and gives a curl that works when pasted.
func banner(addr, endpoint, key, keyFile string, outputs map[string]string, running []row) string {
	rows := []row{
		{"API", "http://" + addr + "/v1/..."},
		{"API reference", "http://" + addr + api.DocsPath + " (spec: " + api.SpecPath + ")"},
		{"AWS endpoint", endpoint + " (region " + local.Region + ", credentials test/test)"},
	}
	for _, name := range []string{"ReportsTableName", "ArchiveBucketName", "AlertTopicArn", "DeadLetterQueueUrl"} {
		if outputs[name] != "" {
			rows = append(rows, row{name, outputs[name]})
		}
	}
	rows = append(append(rows, running...), row{"demo org", fmt.Sprintf("%s (key saved in %s)", demoOrg.ID, keyFile)})
	var b strings.Builder
	fmt.Fprintf(&b, "\nbreach-report intake running locally\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-18s %s\n", r.label, r.value)
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "export BREACH_KEY=%s\n\n", key)
	fmt.Fprintf(&b, "Submit a report:\n\n%s\n", DemoCurl("http://"+addr, "$BREACH_KEY"))
	fmt.Fprintf(&b, "Ctrl-C stops everything this command started.\n")
	return b.String()
}

// DemoCurl is a shell command that submits a valid report, timed now, to api with key.
func DemoCurl(api, key string) string {
	return `curl -sS -X POST ` + api + `/v1/reports \
  -H "Authorization: Bearer ` + key + `" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: demo-$(date +%s)" \
  --data-binary @- <<EOF
{"regimes": ["gdpr"],
 "reporter": {"name": "Camille Durand", "email": "dpo@example.fr"},
 "organisation": {"legal_name": "Organisation de démonstration", "sector": "retail", "country": "FR", "role": "controller"},
 "incident": {"title": "Laptop with customer list stolen", "description": "An unencrypted laptop was stolen from a car.",
   "aware_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "breach_types": ["confidentiality"], "cause": "accidental_external"},
 "data": {"subjects_affected": 240, "subjects_estimate": "approximate", "data_categories": ["identity", "contact"]},
 "measures": {"taken": "Passwords reset; theft reported to the police."}}
EOF
`
}
