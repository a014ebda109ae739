package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/export"
)

// exportCommand writes every report version received in a window, for a regulator's analysis,
// to stdout or --out; the progress and a summary go to stderr, never mixed with the data.
func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	var tf targetFlags
	tf.register(fs)
	since := fs.String("since", "", "start of the window (required): a date (2026-11-01, 00:00 UTC), RFC 3339, or a duration back from now (720h)")
	until := fs.String("until", "now", "end of the window (excluded): a date, RFC 3339, a duration back from now, or now")
	format := fs.String("format", "", "csv or jsonl (required)")
	out := fs.String("out", "", "write to this file (created 0600, replaced only once complete) instead of stdout")
	withContacts := fs.Bool("with-contacts", false, "include the reporters' contact details: csv columns reporter_*; "+
		"required for jsonl, whose stored documents hold them")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("export: unexpected argument %q", rest[0])
	}
	f := export.Format(*format)
	switch {
	case *format == "":
		return errors.New("export: --format is required: csv or jsonl")
	case f != export.CSV && f != export.JSONL:
		return fmt.Errorf("export: --format %q: want csv or jsonl", *format)
	case f == export.JSONL && !*withContacts:
		// The lines are the stored documents byte for byte (their SHA-256 is the receipt's), so
		// the reporters' names, e-mails and phones cannot be left out: say so, and make it a choice.
		return errors.New("export: jsonl holds the stored documents unchanged, reporters' contact details included: " +
			"add --with-contacts to confirm, or use --format csv, which leaves them out")
	}
	if *since == "" {
		return errors.New("export: --since is required: a date (2026-11-01), RFC 3339, or a duration back from now (720h)")
	}
	now := time.Now()
	from, err := export.ParseTime(*since, now)
	if err != nil {
		return fmt.Errorf("export: --since: %w", err)
	}
	to, err := export.ParseTime(*until, now)
	if err != nil {
		return fmt.Errorf("export: --until: %w", err)
	}
	if !from.Before(to) {
		return fmt.Errorf("export: the window [%s, %s) is empty", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}

	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	table, err := t.table()
	if err != nil {
		return err
	}
	store := dynamo.New(dynamodb.NewFromConfig(t.cfg), table)
	scan := func(ctx context.Context, fn func(breach.Version) error) error {
		return store.VersionsReceived(ctx, from, to, func(v breach.Version, _ dynamo.FanoutState) error { return fn(v) })
	}
	opt := export.Options{Format: f, WithContacts: *withContacts, Progress: stderr}

	dest := "stdout"
	var sum export.Summary
	if *out == "" {
		if sum, err = export.Run(ctx, scan, stdout, opt); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	} else {
		dest = *out
		if sum, err = exportToFile(ctx, *out, scan, opt); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	contacts := "without contact details"
	if *withContacts {
		contacts = "with contact details"
	}
	fmt.Fprintf(stderr, "export [%s, %s) %s %s to %s: ", from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), f, contacts, dest)
	sum.WriteSummary(stderr)
	return nil
}

// exportToFile writes the export to a temporary file beside path, readable by its owner only,
// and renames it to path once complete: a failed or interrupted export leaves no partial file
// that could pass for a whole one.
func exportToFile(ctx context.Context, path string, scan export.Scan, opt export.Options) (export.Summary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return export.Summary{}, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	sum, err := export.Run(ctx, scan, tmp, opt)
	if err != nil {
		return export.Summary{}, err
	}
	if err := tmp.Sync(); err != nil {
		return export.Summary{}, err
	}
	if err := tmp.Close(); err != nil {
		return export.Summary{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return export.Summary{}, err
	}
	done = true
	return sum, nil
}
