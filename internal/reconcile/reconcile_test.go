package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/reconcile"
)

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// object is what the fake archive holds under a key.
type object struct {
	sha256   string
	until    time.Time
	mode     string
	versions int
}

type fakeArchive struct {
	mu      sync.Mutex
	objects map[string]object
	fail    error
}

func (a *fakeArchive) Head(_ context.Context, key string) (string, time.Time, string, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return "", time.Time{}, "", false, a.fail
	}
	o, ok := a.objects[key]
	return o.sha256, o.until, o.mode, ok, nil
}

func (a *fakeArchive) VersionCounts(_ context.Context, prefix string) (map[string]int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts := map[string]int{}
	for key, o := range a.objects {
		if strings.HasPrefix(key, prefix) {
			counts[key] = o.versions
		}
	}
	return counts, nil
}

type entry struct {
	v breach.Version
	f dynamo.FanoutState
}

func versionsOf(entries []entry) func(context.Context, func(breach.Version, dynamo.FanoutState) error) error {
	return func(_ context.Context, fn func(breach.Version, dynamo.FanoutState) error) error {
		for _, e := range entries {
			if err := fn(e.v, e.f); err != nil {
				return err
			}
		}
		return nil
	}
}

// healthy is version 1 of report i, received an hour ago, archived and alerted as promised.
func healthy(i int, a *fakeArchive) entry {
	doc := fmt.Appendf(nil, `{"n":%d}`, i)
	sum := sha256.Sum256(doc)
	v := breach.Version{OrgID: "org", ReportID: breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAA%04d", i)), Number: 1,
		ReceivedAt: now.Add(-time.Hour), Document: doc, SHA256: hex.EncodeToString(sum[:])}
	a.objects[breach.ArchiveKey(v)] = object{sha256: v.SHA256, until: now.Add(24 * time.Hour), mode: "GOVERNANCE", versions: 1}
	return entry{v, dynamo.FanoutState{Marker: true, Alerted: true, AlertedAt: now.Add(-59 * time.Minute)}}
}

// TestEachDiscrepancy: one version per way of breaking the promise, each reported with its own
// problem, and a healthy one with none.
func TestEachDiscrepancy(t *testing.T) {
	for _, tc := range []struct {
		name              string
		breakIt           func(e *entry, a *fakeArchive)
		archived, alerted bool
		want              []string
	}{
		{"healthy", func(*entry, *fakeArchive) {}, true, true, nil},
		{"not archived", func(e *entry, a *fakeArchive) { delete(a.objects, breach.ArchiveKey(e.v)) }, false, true,
			[]string{"not archived"}},
		{"not archived yet", func(e *entry, a *fakeArchive) {
			delete(a.objects, breach.ArchiveKey(e.v))
			e.v.ReceivedAt, e.f.Alerted = now.Add(-90*time.Second), false
		}, false, false, []string{
			"not archived (received 1m30s ago: its fan-out may still be running)",
			"not alerted (received 1m30s ago: its fan-out may still be running)",
		}},
		{"other digest", func(e *entry, a *fakeArchive) { edit(a, e, func(o *object) { o.sha256 = "00" }) }, true, true,
			[]string{"archived digest differs from the stored one"}},
		{"no checksum", func(e *entry, a *fakeArchive) { edit(a, e, func(o *object) { o.sha256 = "" }) }, true, true,
			[]string{"archived without a SHA-256 checksum"}},
		{"no retention", func(e *entry, a *fakeArchive) { edit(a, e, func(o *object) { o.mode, o.until = "", time.Time{} }) }, true, true,
			[]string{"no retention"}},
		{"retention over", func(e *entry, a *fakeArchive) { edit(a, e, func(o *object) { o.until = now }) }, true, true,
			[]string{"retention ends before now (until 2026-11-21T12:00:00Z)"}},
		{"second object version", func(e *entry, a *fakeArchive) { edit(a, e, func(o *object) { o.versions = 2 }) }, true, true,
			[]string{"2 object versions under the key"}},
		{"not alerted", func(e *entry, _ *fakeArchive) { e.f.Alerted, e.f.AlertedAt = false, time.Time{} }, true, false,
			[]string{"not alerted"}},
		{"no marker", func(e *entry, _ *fakeArchive) { e.f = dynamo.FanoutState{} }, true, false,
			[]string{"no fan-out marker"}},
		{"stored digest wrong", func(e *entry, a *fakeArchive) {
			e.v.Document = []byte(`{"n":"tampered"}`)
		}, true, true, []string{"stored document does not hash to its stored sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeArchive{objects: map[string]object{}}
			e := healthy(1, a)
			tc.breakIt(&e, a)
			sum, err := reconcile.Run(context.Background(), versionsOf([]entry{e}), a, nil, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range sum.Discrepancies {
				if d.ReportID != e.v.ReportID || d.Version != 1 {
					t.Errorf("discrepancy names %s v%d, want %s v1", d.ReportID, d.Version, e.v.ReportID)
				}
				got = append(got, d.Problem)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
			if sum.Versions != 1 || (sum.Archived == 1) != tc.archived || (sum.Alerted == 1) != tc.alerted {
				t.Errorf("summary %+v, want 1 version, archived %v, alerted %v", sum, tc.archived, tc.alerted)
			}
		})
	}
}

func edit(a *fakeArchive, e *entry, f func(*object)) {
	o := a.objects[breach.ArchiveKey(e.v)]
	f(&o)
	a.objects[breach.ArchiveKey(e.v)] = o
}

// TestManyVersions: every version checked once across the workers, counts add up, progress
// counts to the total one by one, discrepancies come sorted.
func TestManyVersions(t *testing.T) {
	a := &fakeArchive{objects: map[string]object{}}
	var entries []entry
	for i := range 200 {
		e := healthy(i, a)
		if i%50 == 7 {
			e.f.Alerted = false
		}
		entries = append(entries, e)
	}
	slices.Reverse(entries) // the table's order is not the report's
	var calls []int
	sum, err := reconcile.Run(context.Background(), versionsOf(entries), a, func(done int) { calls = append(calls, done) }, now)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Versions != 200 || sum.Archived != 200 || sum.Alerted != 196 || len(sum.Discrepancies) != 4 {
		t.Fatalf("summary %+v", sum)
	}
	for i, d := range sum.Discrepancies {
		if want := breach.ReportID(fmt.Sprintf("01JAAAAAAAAAAAAAAAAAAA%04d", 50*i+7)); d.ReportID != want || d.Problem != "not alerted" {
			t.Errorf("discrepancy %d: %+v, want %s not alerted", i, d, want)
		}
	}
	for i, c := range calls {
		if c != i+1 {
			t.Fatalf("progress calls %v, want 1…200", calls)
		}
	}
	if len(calls) != 200 {
		t.Fatalf("%d progress calls, want 200", len(calls))
	}
}

// TestErrorsStopTheRun: a version that could not be checked is not vouched for.
func TestErrorsStopTheRun(t *testing.T) {
	t.Run("archive", func(t *testing.T) {
		a := &fakeArchive{objects: map[string]object{}}
		var entries []entry
		for i := range 50 {
			entries = append(entries, healthy(i, a))
		}
		a.fail = errors.New("S3 down")
		if _, err := reconcile.Run(context.Background(), versionsOf(entries), a, nil, now); err == nil || !errors.Is(err, a.fail) {
			t.Fatalf("Run = %v, want the archive's error", err)
		}
	})
	t.Run("table", func(t *testing.T) {
		a := &fakeArchive{objects: map[string]object{}}
		scanErr := errors.New("table down")
		versions := func(_ context.Context, fn func(breach.Version, dynamo.FanoutState) error) error {
			e := healthy(1, a)
			if err := fn(e.v, e.f); err != nil {
				return err
			}
			return scanErr
		}
		if _, err := reconcile.Run(context.Background(), versions, a, nil, now); !errors.Is(err, scanErr) {
			t.Fatalf("Run = %v, want the table's error", err)
		}
	})
}
