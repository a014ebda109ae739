package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/breach-intake/intake/client"
	"github.com/breach-intake/intake/internal/local"
)

// submit files a report with the Go client and keeps its receipt: the receipt, as the API wrote
// it, is the organisation's proof of notification, checked later by `breachctl receipt verify`.
// stdout gets the receipt's JSON only; stderr what a person reads.
func submit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("submit", stderr)
	var tf targetFlags
	tf.register(fs)
	apiURL := fs.String("url", "http://"+local.DefaultAPIAddr, "the API's base URL (default with --stack: its ApiUrl output)")
	key := fs.String("key", "", "an organisation API key (default: $BREACH_API_KEY, else read from --key-file)")
	keyFile := fs.String("key-file", ".local/demo-key", "file holding the organisation API key (make dev writes it)")
	out := fs.String("out", "", "where to save the receipt (default: receipt-<id>-v<version>.json here)")
	idem := fs.String("idempotency-key", "", "the Idempotency-Key to send (default: a new random one); "+
		"give the one of an earlier attempt to get its receipt rather than file the report twice")
	positional, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return errors.New("submit: want exactly one report file (breachctl submit report.json [--key KEY] [--url URL] [--out receipt.json])")
	}
	body, err := os.ReadFile(positional[0])
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	urlGiven := false
	fs.Visit(func(f *flag.Flag) { urlGiven = urlGiven || f.Name == "url" })
	if tf.stack != "" && !urlGiven {
		t, err := tf.open(ctx)
		if err != nil {
			return fmt.Errorf("submit: %w", err)
		}
		if *apiURL = t.outputs["ApiUrl"]; *apiURL == "" {
			return fmt.Errorf("submit: stack %s has no ApiUrl output", tf.stack)
		}
	}
	if *key == "" {
		*key = os.Getenv("BREACH_API_KEY")
	}
	if *key == "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("submit: no --key, no BREACH_API_KEY, and the key file: %w", err)
		}
		*key = strings.TrimSpace(string(b))
	}
	if *idem == "" {
		*idem = client.NewIdempotencyKey()
	}

	rc, err := client.New(*apiURL, *key, client.WithUserAgent("breachctl")).SubmitJSON(ctx, body, client.WithIdempotencyKey(*idem))
	if err != nil {
		return refused(positional[0], *idem, err)
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("receipt-%s-v%d.json", rc.ID, rc.Version)
	}
	// The bytes as received: a verifier checks what the API signed, not our rewriting of it.
	if err := os.WriteFile(path, rc.Raw, 0o644); err != nil {
		return fmt.Errorf("submit: report %s version %d was received, but saving its receipt: %w", rc.ID, rc.Version, err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, rc.Raw, "", "  "); err != nil {
		return fmt.Errorf("submit: the receipt: %w", err)
	}
	pretty.WriteByte('\n')
	if _, err := stdout.Write(pretty.Bytes()); err != nil {
		return err
	}
	summarise(stderr, rc, path)
	return nil
}

// summarise tells a person what the receipt says.
func summarise(w io.Writer, rc client.Receipt, path string) {
	timing := "on time"
	if rc.Late {
		timing = "LATE"
	}
	fmt.Fprintf(w, "report %s version %d (%s) received at %s: severity %s, %s\n",
		rc.ID, rc.Version, rc.Stage, rc.ReceivedAt.UTC().Format(time.RFC3339Nano), rc.Severity, timing)
	if rc.Replayed {
		fmt.Fprintln(w, "this Idempotency-Key was used before with the same report: this is the first call's receipt, nothing new was filed")
	}
	for _, d := range rc.Deadlines {
		state := "pending"
		if d.Met != nil && *d.Met {
			state = "met"
		} else if d.Met != nil {
			state = "missed"
		}
		fmt.Fprintf(w, "  %-20s due %s  %s\n", d.Stage, d.DueAt.UTC().Format(time.RFC3339), state)
	}
	fmt.Fprintf(w, "receipt saved to %s (sha256 of the stored report %s)\n", path, rc.SHA256)
}

// ruleText says in words what a field error's rule means (API.md, Rules).
var ruleText = map[string]string{
	"required":         "missing or empty",
	"type":             "wrong type (counts are integers, times strings)",
	"enum":             "not one of the allowed values",
	"format":           "malformed",
	"min":              "too small or too short",
	"max":              "too large or too long",
	"luhn":             "not a valid SIREN (check digit)",
	"mismatch":         "not the SIREN your organisation was provisioned with",
	"order":            "out of order: occurred_at ≤ discovered_at ≤ aware_at",
	"future":           "in the future",
	"unique":           "listed twice",
	"required_if":      "required by another field's value",
	"required_if_late": "required: the report is late",
	"immutable":        "may not change from the first version",
}

// refused explains why a report was not filed: one line per failing field, or, when no answer
// came, how to try again without filing it twice.
func refused(file, idem string, err error) error {
	var e *client.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("submit %s: %w\nthe report may have been stored: run the same command with --idempotency-key %s "+
			"to file it at most once and get its receipt", file, err, idem)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "submit %s: refused: %d", file, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Rule)
		if text, ok := ruleText[f.Rule]; ok {
			b.WriteString(" (" + text + ")")
		}
	}
	if e.Status >= 500 || e.Status == 429 {
		fmt.Fprintf(&b, "\nrun the same command later with --idempotency-key %s to file it at most once", idem)
	}
	return errors.New(b.String())
}
