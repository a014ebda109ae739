package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/loadgen"
	"github.com/breach-intake/intake/internal/local"
)

// load sends generated reports to the API with concurrent clients and prints what it measured:
// the figures of issue 7 (throughput, latency percentiles) and a check that every report was
// accepted. It fails if any report was not.
func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", stderr)
	apiURL := fs.String("url", "http://"+local.DefaultAPIAddr, "the API's base URL")
	key := fs.String("key", "", "an organisation API key (default: read from --key-file)")
	keyFile := fs.String("key-file", ".local/demo-key", "file holding the organisation API key (make dev writes it)")
	n := fs.Int("n", 100, "reports to send")
	c := fs.Int("c", 8, "concurrent clients")
	maxBytes := fs.Int("max-bytes", breach.MaxBodyBytes, "largest report body, in bytes")
	seed := fs.Int64("seed", 1, "seed of the generated reports")
	timeout := fs.Duration("timeout", 5*time.Minute, "stop the run after this long")
	receipts := fs.String("receipts", "", "write one JSON line per accepted report to this file")
	allowRemote := fs.Bool("allow-remote", false, "allow a URL that is not on this machine")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return fmt.Errorf("load: unexpected argument %q", positional[0])
	}
	if *timeout <= 0 {
		return errors.New("load: --timeout must be positive: a run is always bounded")
	}
	if err := checkLoopback(*apiURL, *allowRemote); err != nil {
		return err
	}
	if *key == "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("load: no --key, and the key file: %w", err)
		}
		*key = strings.TrimSpace(string(b))
	}
	cfg := loadgen.Config{URL: *apiURL, Key: *key, N: *n, Concurrency: *c, MaxBytes: *maxBytes, Seed: *seed,
		Timeout: *timeout, Progress: stderr}
	if *receipts != "" {
		f, err := os.Create(*receipts)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer f.Close()
		cfg.Receipts = f
	}
	res, runErr := loadgen.Run(ctx, cfg)
	if res.N > 0 { // the run started: show what it measured, even if it stopped early
		res.WriteSummary(stdout)
	}
	if runErr != nil {
		return runErr
	}
	// Every generated report is valid, so a rejection is a finding as much as a failure.
	if res.Failed > 0 || res.Rejected > 0 {
		return fmt.Errorf("load: %d of %d reports not accepted (%d failed, %d rejected)", res.Failed+res.Rejected, res.N, res.Failed, res.Rejected)
	}
	return nil
}

// checkLoopback refuses a URL off this machine unless allowed: load is for the local stack, and
// pointing it at a real deployment (real reports, real alerts to regulators, real costs) must be
// a deliberate choice.
func checkLoopback(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("load: URL %q: want http://host:port", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() || allowRemote {
		return nil
	}
	return fmt.Errorf("load: %s is not a loopback address: load is for the local stack; against a real deployment "+
		"it sends real reports and alerts regulators, so it must be deliberate: add --allow-remote", host)
}
