package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/receipt"
)

// Exit codes of `receipt verify`; every other command exits 2 on any failure.
const (
	exitUsage    = 1 // bad arguments, a file that cannot be read, public keys that cannot be had
	exitNotValid = 2 // the receipt does not verify
)

// publicKeyPath is the API route that publishes the receipt keys.
const publicKeyPath = "/v1/receipts/public-key"

// receiptCommand runs `receipt verify`.
func receiptCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return &exitError{exitUsage, errors.New("receipt: want verify (breachctl receipt verify receipt.json [--public-key keys.pem])")}
	}
	fs := newFlags("receipt verify", stderr)
	pubFile := fs.String("public-key", "", "PEM file of the public key(s): what GET "+publicKeyPath+
		" answers, saved, or any ECDSA P-256 PUBLIC KEY. Verifies offline, with no network call")
	apiURL := fs.String("url", "http://"+local.DefaultAPIAddr, "without --public-key: the API whose "+publicKeyPath+
		" to fetch (default with --stack: its ApiUrl output)")
	var tf targetFlags
	tf.register(fs)
	positional, err := parse(fs, args[1:])
	if err != nil {
		return &exitError{exitUsage, err}
	}
	if len(positional) != 1 {
		return &exitError{exitUsage, errors.New("receipt verify: want exactly one receipt file (breachctl receipt verify receipt.json [--public-key keys.pem])")}
	}
	file := positional[0]
	raw, err := os.ReadFile(file)
	if err != nil {
		return &exitError{exitUsage, fmt.Errorf("receipt verify: %w", err)}
	}

	var pem []byte
	var source string
	if *pubFile != "" {
		if pem, err = os.ReadFile(*pubFile); err != nil {
			return &exitError{exitUsage, fmt.Errorf("receipt verify: the public key: %w", err)}
		}
		source = "the file " + *pubFile
	} else {
		urlGiven := false
		fs.Visit(func(f *flag.Flag) { urlGiven = urlGiven || f.Name == "url" })
		if tf.stack != "" && !urlGiven {
			t, err := tf.open(ctx)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("receipt verify: %w", err)}
			}
			if *apiURL = t.outputs["ApiUrl"]; *apiURL == "" {
				return &exitError{exitUsage, fmt.Errorf("receipt verify: stack %s has no ApiUrl output", tf.stack)}
			}
		}
		u := strings.TrimRight(*apiURL, "/") + publicKeyPath
		if pem, err = fetchPublicKeys(ctx, u); err != nil {
			return &exitError{exitUsage, fmt.Errorf("receipt verify: %w (or give the saved key with --public-key)", err)}
		}
		source = u
		fmt.Fprintf(stderr, "public keys fetched from %s; to verify without trusting the network at the time, save them once and give them with --public-key\n", u)
	}
	keys, err := receipt.ParsePEM(pem)
	if err != nil {
		return &exitError{exitUsage, fmt.Errorf("receipt verify: the public key (%s): %w", source, err)}
	}

	rc, err := receipt.Verify(raw, keys)
	if err != nil {
		return &exitError{exitNotValid, fmt.Errorf("receipt verify %s: FAILED: %w", file, err)}
	}
	proof(stdout, rc, source)
	return nil
}

// proof says what a verified receipt proves, and what it does not.
func proof(w io.Writer, rc breach.Receipt, source string) {
	received := rc.ReceivedAt.UTC().Format(time.RFC3339Nano)
	timing := "on time"
	if rc.Late {
		timing = "late"
	}
	fmt.Fprintf(w, "verified: this content hash %s, received at %s, version %d of report %s, was signed by key %s of this intake\n",
		rc.SHA256, received, rc.Version, rc.ID, rc.KeyID)
	fmt.Fprintf(w, "(\"this intake\": the holder of the private key whose public key came from %s)\n\n", source)
	fmt.Fprintf(w, "It proves that the intake signed, with key %s (ECDSA P-256, SHA-256), exactly this receipt:\n", rc.KeyID)
	fmt.Fprintf(w, "  version %d (stage %s) of report %s, received at %s by the intake's clock,\n", rc.Version, rc.Stage, rc.ID, received)
	fmt.Fprintf(w, "  severity %s, %s, for the stored document whose SHA-256 is %s,\n", rc.Severity, timing, rc.SHA256)
	fmt.Fprintln(w, "  and these deadlines as they stood then:")
	for _, d := range rc.Deadlines {
		state := "pending"
		if d.Met != nil && *d.Met {
			state = "met"
		} else if d.Met != nil {
			state = "missed"
		}
		fmt.Fprintf(w, "    %-20s due %s  %s\n", d.Stage, d.DueAt.UTC().Format(time.RFC3339), state)
	}
	fmt.Fprintln(w, "It does not prove:")
	fmt.Fprintf(w, "  - that a document you hold is that report: its bytes must hash to %s\n", rc.SHA256)
	fmt.Fprintf(w, "    (sha256sum of the stored document, GET /v1/reports/%s/versions/%d, or the archived object);\n", rc.ID, rc.Version)
	fmt.Fprintln(w, "  - that the key is the intake's: only where the public key came from says so;")
	fmt.Fprintln(w, "  - the time beyond the intake's own clock: received_at is not a third party's timestamp;")
	fmt.Fprintln(w, "  - that what the report says is true, nor anything about its other versions.")
}

// fetchPublicKeys reads the published public keys over HTTP: no AWS call, no credentials.
func fetchPublicKeys(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "breachctl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the public keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch the public keys: GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the public keys: GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// exitError is a failure with its own exit code (main uses it; otherwise a failure exits 2).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
