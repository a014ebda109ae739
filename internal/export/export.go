// Package export writes the report versions received in a window for a regulator's analysis:
// every stored version, one line or row each, in a stable order (received_at, report id,
// version). Two formats:
//
//   - jsonl: each version's stored document byte for byte, one per line, so that the SHA-256 of a
//     line is the sha256 of that version's receipt. The stored document is the canonical record:
//     it holds everything, reporter contact details included.
//   - csv: a fixed set of columns (Columns) flattening what a regulator analyses, every cell
//     escaped against formula injection (EscapeFormula); the reporter's contact details only when
//     asked for (ContactColumns).
//
// `breachctl export` runs it over dynamo.Store.VersionsReceived.
package export

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// Format is an export's file format.
type Format string

const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// Options configure Run.
type Options struct {
	Format Format
	// WithContacts adds the reporter's contact details to a CSV (ContactColumns). A jsonl export
	// always holds them: its lines are the stored documents, unchanged.
	WithContacts bool
	// Progress shows the scan and the writing on this writer (nil: none): one line redrawn on a
	// terminal, else a line every scanEvery versions scanned and at every 10% written.
	Progress io.Writer
}

// Scan yields every version to export, from one goroutine at a time, in any order; an error
// from fn must stop it and be returned (dynamo.Store.VersionsReceived over the window does).
type Scan func(ctx context.Context, fn func(breach.Version) error) error

// Summary is what Run wrote.
type Summary struct {
	Versions      int
	Reports       int   // distinct report ids
	Organisations int   // distinct org ids
	Bytes         int64 // written to the output, CSV header included
	Elapsed       time.Duration
}

// Run reads every version scan yields, checks each stored document against its digest, sorts
// them by received_at, report id and version, and writes them to w. The versions are held in
// memory until sorted: a window of a few hundred thousand versions is a few hundred MB.
func Run(ctx context.Context, scan Scan, w io.Writer, opt Options) (Summary, error) {
	start := time.Now()
	if opt.Format != CSV && opt.Format != JSONL {
		return Summary{}, fmt.Errorf("format %q: want csv or jsonl", opt.Format)
	}
	bar := newProgress(opt.Progress)
	var versions []breach.Version
	err := scan(ctx, func(v breach.Version) error {
		versions = append(versions, v)
		bar.scanned(len(versions))
		return nil
	})
	bar.scanDone(len(versions))
	if err != nil {
		return Summary{}, err
	}
	slices.SortFunc(versions, func(a, b breach.Version) int {
		return cmp.Or(a.ReceivedAt.Compare(b.ReceivedAt), cmp.Compare(a.ReportID, b.ReportID), cmp.Compare(a.Number, b.Number))
	})

	buffered := bufio.NewWriterSize(w, 64<<10)
	out := &countingWriter{w: buffered}
	sum := Summary{Versions: len(versions)}
	reports, orgs := map[breach.ReportID]bool{}, map[breach.OrgID]bool{}
	var csvw *csvWriter
	if opt.Format == CSV {
		csvw = &csvWriter{w: out}
		if err := csvw.write(header(opt.WithContacts)); err != nil {
			return Summary{}, err
		}
	}
	for i, v := range versions {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		digest, err := check(v)
		if err != nil {
			return Summary{}, err
		}
		reports[v.ReportID], orgs[v.OrgID] = true, true
		switch opt.Format {
		case JSONL:
			if _, err := out.Write(v.Document); err != nil {
				return Summary{}, err
			}
			if _, err := out.Write([]byte{'\n'}); err != nil {
				return Summary{}, err
			}
		case CSV:
			d, err := parseDocument(v.Document)
			if err != nil {
				return Summary{}, fmt.Errorf("%s v%d: %w", v.ReportID, v.Number, err)
			}
			if d.ID != string(v.ReportID) || d.Version != v.Number || d.OrgID != string(v.OrgID) {
				return Summary{}, fmt.Errorf("%s v%d: the stored document names %s v%d of %s", v.ReportID, v.Number, d.ID, d.Version, d.OrgID)
			}
			cells := row(d, digest, opt.WithContacts)
			for j := range cells {
				cells[j] = EscapeFormula(cells[j])
			}
			if err := csvw.write(cells); err != nil {
				return Summary{}, fmt.Errorf("%s v%d: %w", v.ReportID, v.Number, err)
			}
		}
		bar.written(i+1, len(versions), out.n)
	}
	if err := buffered.Flush(); err != nil {
		return Summary{}, err
	}
	bar.writeDone(len(versions), out.n)
	sum.Reports, sum.Organisations, sum.Bytes = len(reports), len(orgs), out.n
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// check verifies that a stored document hashes to its stored digest, and returns the digest:
// the export vouches for what it writes. A mismatch stops the export (`breachctl reconcile`
// reports it too).
func check(v breach.Version) (string, error) {
	sum := sha256.Sum256(v.Document)
	digest := hex.EncodeToString(sum[:])
	if digest != v.SHA256 {
		return "", fmt.Errorf("%s v%d: the stored document does not hash to its stored sha256: not exported", v.ReportID, v.Number)
	}
	return digest, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteSummary prints the summary as one line.
func (s Summary) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "%d versions of %d reports from %d organisations, %s in %s\n",
		s.Versions, s.Reports, s.Organisations, byteSize(s.Bytes), s.Elapsed.Round(time.Millisecond))
}

func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}

// progress draws the scan (whose total is unknown until it ends: a count) and the writing (a
// bar). On a terminal one line redrawn with \r at most every 100 ms; elsewhere (a log, CI) a
// line every scanEvery versions scanned and at every 10% written.
type progress struct {
	w     io.Writer
	tty   bool
	drawn time.Time
	shown int // tenths written, off a terminal
}

const scanEvery = 1000

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		fi, err := f.Stat()
		p.tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return p
}

func (p *progress) due() bool {
	if now := time.Now(); now.Sub(p.drawn) >= 100*time.Millisecond {
		p.drawn = now
		return true
	}
	return false
}

func (p *progress) scanned(n int) {
	switch {
	case p == nil:
	case p.tty:
		if p.due() {
			fmt.Fprintf(p.w, "\rscanned %d versions", n)
		}
	case n%scanEvery == 0:
		fmt.Fprintf(p.w, "scanned %d versions\n", n)
	}
}

func (p *progress) scanDone(n int) {
	switch {
	case p == nil:
	case p.tty:
		fmt.Fprintf(p.w, "\rscanned %d versions\n", n)
	default:
		fmt.Fprintf(p.w, "scanned %d versions: done\n", n)
	}
	if p != nil {
		p.drawn = time.Time{}
	}
}

func (p *progress) line(done, total int, bytes int64) string {
	pct := 100
	if total > 0 {
		pct = 100 * done / total
	}
	return fmt.Sprintf("[%-30s] %d/%d %3d%%  written %s", strings.Repeat("#", 30*pct/100), done, total, pct, byteSize(bytes))
}

func (p *progress) written(done, total int, bytes int64) {
	switch {
	case p == nil:
	case p.tty:
		if done == total || p.due() {
			fmt.Fprint(p.w, "\r"+p.line(done, total, bytes))
		}
	default:
		if tenth := done * 10 / total; tenth > p.shown {
			p.shown = tenth
			fmt.Fprintln(p.w, p.line(done, total, bytes))
		}
	}
}

// writeDone closes the terminal's line; off a terminal, an empty export still shows its line.
func (p *progress) writeDone(total int, bytes int64) {
	switch {
	case p == nil:
	case p.tty:
		fmt.Fprint(p.w, "\r"+p.line(total, total, bytes)+"\n")
	case p.shown < 10:
		fmt.Fprintln(p.w, p.line(total, total, bytes))
	}
}
