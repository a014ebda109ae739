package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/reconcile"
)

// reconcileCommand checks every version received in a window against the archive and the
// fan-out markers, prints each discrepancy (report id, version, problem; tab-separated, for
// scripts) and a summary on stdout, and fails when there is any.
func reconcileCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reconcile", stderr)
	var tf targetFlags
	tf.register(fs)
	since := fs.String("since", "24h", "start of the window: RFC 3339, or a duration back from now")
	// By default the window ends SweepAge ago: a version younger than that may still be on its
	// way to the archive and the alert topic, which is not a discrepancy.
	until := fs.String("until", breach.SweepAge.String(), "end of the window (excluded): RFC 3339, a duration back from now, or now")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("reconcile: unexpected argument %q", rest[0])
	}
	now := time.Now()
	from, err := when(*since, now)
	if err != nil {
		return fmt.Errorf("reconcile: --since: %w", err)
	}
	to, err := when(*until, now)
	if err != nil {
		return fmt.Errorf("reconcile: --until: %w", err)
	}
	if !from.Before(to) {
		return fmt.Errorf("reconcile: the window [%s, %s) is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}

	t, err := tf.open(ctx)
	if err != nil {
		return err
	}
	table, err := t.table()
	if err != nil {
		return err
	}
	arch, err := t.archiveReader()
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	store := dynamo.New(dynamodb.NewFromConfig(t.cfg), table)
	versions := func(ctx context.Context, fn func(breach.Version, dynamo.FanoutState) error) error {
		return store.VersionsReceived(ctx, from, to, fn)
	}
	p := newProgress(stderr)
	sum, err := reconcile.Run(ctx, versions, arch, p.update, now)
	p.finish()
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	for _, d := range sum.Discrepancies {
		fmt.Fprintf(stdout, "%s\tv%d\t%s\n", d.ReportID, d.Version, d.Problem)
	}
	fmt.Fprintf(stdout, "reconcile [%s, %s): %d versions, %d archived, %d alerted, %d discrepancies\n",
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), sum.Versions, sum.Archived, sum.Alerted, len(sum.Discrepancies))
	if n := len(sum.Discrepancies); n > 0 {
		return fmt.Errorf("reconcile: %d discrepancies", n)
	}
	return nil
}

// when reads an instant: "now", a duration back from now ("24h"), or RFC 3339.
func when(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a duration like 24h", s)
	}
	return t, nil
}

// progress shows how many versions are checked on stderr. The total is not known until the scan
// ends, so it counts: on a terminal one line rewritten in place (at most ten times a second);
// elsewhere (a log, CI) one line every progressEvery versions, which a log keeps readable.
type progress struct {
	w     io.Writer
	tty   bool
	done  int
	drawn time.Time
}

const progressEvery = 100

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		fi, err := f.Stat()
		tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return &progress{w: w, tty: tty}
}

// update is reconcile.Run's progress callback (called from one goroutine at a time).
func (p *progress) update(done int) {
	p.done = done
	switch {
	case p.tty && time.Since(p.drawn) >= 100*time.Millisecond:
		p.drawn = time.Now()
		fmt.Fprintf(p.w, "\rchecked %d versions…", done)
	case !p.tty && done%progressEvery == 0:
		fmt.Fprintf(p.w, "checked %d versions\n", done)
	}
}

// finish ends the terminal's progress line with the final count.
func (p *progress) finish() {
	if p.tty && !p.drawn.IsZero() {
		fmt.Fprintf(p.w, "\rchecked %d versions \n", p.done)
	}
}
