// Package reconcile checks the intake's promise for stored versions: each one archived once,
// with the digest the receipt names, under a retention still in force, and alerted. It reports
// every discrepancy rather than stopping at the first: `breachctl reconcile` runs it.
package reconcile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
)

// Archive is what reconcile reads of the archive (internal/archive implements it).
type Archive interface {
	// Head is the SHA-256 (hex), retention and presence of the object under key.
	Head(ctx context.Context, key string) (sha256Hex string, retainUntil time.Time, mode string, found bool, err error)
	// VersionCounts counts the object versions of every key under prefix.
	VersionCounts(ctx context.Context, prefix string) (map[string]int, error)
}

// Discrepancy is one problem with one version.
type Discrepancy struct {
	ReportID breach.ReportID
	Version  int
	Problem  string
}

// Summary is what Run found. Archived counts versions with an object under their key, Alerted
// those whose marker records the alert; what is wrong with them is in Discrepancies.
type Summary struct {
	Versions, Archived, Alerted int
	Discrepancies               []Discrepancy // sorted by report id (ULIDs: time order), version
}

// archivePrefix holds every archived version (breach.ArchiveKey).
const archivePrefix = "reports/"

// workers is how many versions are checked at once: each check is two or three S3 calls, so
// latency, not CPU, bounds it.
const workers = 8

// Run checks every version that versions yields (dynamo.Store.VersionsReceived over a window).
// progress, if not nil, is called with the number of versions checked so far after each one, from
// one goroutine at a time. now is the instant the retention must still cover. An error reading
// the table or the archive stops the run: a version that could not be checked is not vouched for.
func Run(ctx context.Context, versions func(ctx context.Context, fn func(breach.Version, dynamo.FanoutState) error) error,
	archive Archive, progress func(done int), now time.Time) (Summary, error) {
	// Read before the versions: an object written between this listing and a version's check is
	// counted as one version less, never more.
	versionCounts, err := archive.VersionCounts(ctx, archivePrefix)
	if err != nil {
		return Summary{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		v breach.Version
		f dynamo.FanoutState
	}
	jobs := make(chan job)
	var (
		mu  sync.Mutex // guards sum and progress
		sum Summary
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if ctx.Err() != nil {
					continue // stopped: drain what the producer already handed over
				}
				r, err := check(ctx, archive, versionCounts, j.v, j.f, now)
				if err != nil {
					cancel(err)
					continue
				}
				mu.Lock()
				sum.Versions++
				sum.Archived += b2i(r.archived)
				sum.Alerted += b2i(r.alerted)
				for _, p := range r.problems {
					sum.Discrepancies = append(sum.Discrepancies, Discrepancy{ReportID: j.v.ReportID, Version: j.v.Number, Problem: p})
				}
				if progress != nil {
					progress(sum.Versions)
				}
				mu.Unlock()
			}
		})
	}
	err = versions(ctx, func(v breach.Version, f dynamo.FanoutState) error {
		select {
		case jobs <- job{v, f}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(jobs)
	wg.Wait()
	// A worker's failure is the cause; the producer's error then only echoes it.
	if cause := context.Cause(ctx); cause != nil {
		return Summary{}, cause
	}
	if err != nil {
		return Summary{}, err
	}
	slices.SortStableFunc(sum.Discrepancies, func(a, b Discrepancy) int {
		return cmp.Or(cmp.Compare(a.ReportID, b.ReportID), cmp.Compare(a.Version, b.Version))
	})
	return sum, nil
}

type result struct {
	archived, alerted bool
	problems          []string
}

// check reads what the archive holds for v and compares it, and v's marker, with the promise.
func check(ctx context.Context, archive Archive, versionCounts map[string]int, v breach.Version, f dynamo.FanoutState, now time.Time) (result, error) {
	var r result
	problem := func(format string, args ...any) { r.problems = append(r.problems, fmt.Sprintf(format, args...)) }
	// A fan-out still running is not yet a fault: say so, so that a fresh version is not taken
	// for a lost one (the sweep takes over after SweepAge).
	inFlight := ""
	if age := now.Sub(v.ReceivedAt); age < breach.SweepAge {
		inFlight = fmt.Sprintf(" (received %s ago: its fan-out may still be running)", age.Round(time.Second))
	}

	// The table's own consistency: the receipt's digest is of these bytes.
	if sum := sha256.Sum256(v.Document); hex.EncodeToString(sum[:]) != v.SHA256 {
		problem("stored document does not hash to its stored sha256")
	}

	key := breach.ArchiveKey(v)
	digest, until, mode, found, err := archive.Head(ctx, key)
	if err != nil {
		return result{}, fmt.Errorf("%s v%d: %w", v.ReportID, v.Number, err)
	}
	if found {
		r.archived = true
		switch {
		case digest == "":
			problem("archived without a SHA-256 checksum")
		case digest != v.SHA256:
			problem("archived digest differs from the stored one")
		}
		switch {
		case mode == "" || until.IsZero():
			problem("no retention")
		case !until.After(now):
			problem("retention ends before now (until %s)", until.UTC().Format(time.RFC3339))
		}
		if n := versionCounts[key]; n > 1 {
			problem("%d object versions under the key", n)
		}
	} else {
		problem("not archived%s", inFlight)
	}

	switch {
	case !f.Marker:
		problem("no fan-out marker")
	case !f.Alerted:
		problem("not alerted%s", inFlight)
	default:
		r.alerted = true
	}
	return r, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
