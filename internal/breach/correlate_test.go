package breach_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// Organisations whose reports name the processor of the processor-late example (SIREN 443061841).
var (
	mutuelleA = breach.Organisation{ID: "mutuelle-a", LegalName: "Mutuelle A", Country: "FR"}
	mutuelleB = breach.Organisation{ID: "mutuelle-b", LegalName: "Mutuelle B", Country: "BE"}
	cliniqueC = breach.Organisation{ID: "clinique-c", LegalName: "Clinique C", Country: "FR"}
)

const tiersPayant = "443061841"

// floor is an intake and a fan-out (with its correlation) over one fake store.
type floor struct {
	mu     sync.Mutex
	now    time.Time
	store  *breachtest.Store
	alerts *breachtest.Alerts
	in     *breach.Intake
	fanout *breach.Fanout
	keys   int
}

func newFloor(at time.Time) *floor {
	f := &floor{now: at, store: breachtest.NewStore(mutuelleA, mutuelleB, cliniqueC), alerts: breachtest.NewAlerts()}
	f.in = breach.NewIntake(f.store, f.clock, breach.ULIDs())
	f.fanout = breach.NewFanout(f.store, f.store, f.store, breachtest.NewArchive(), f.alerts, f.clock)
	return f
}

func (f *floor) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// file submits the processor-late example with edits as org at `at`, and returns version 1.
func (f *floor) file(t *testing.T, org breach.Organisation, at time.Time, edits map[string]any) breach.Version {
	t.Helper()
	f.mu.Lock()
	f.now = at
	f.keys++
	key := fmt.Sprint("k", f.keys)
	f.mu.Unlock()
	body := mutate(t, readTestdata(t, "processor-late.json"), edits)
	got, err := f.in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: key, Body: body})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return f.store.Stored(got.ID)[0]
}

func (f *floor) process(t *testing.T, vs ...breach.Version) {
	t.Helper()
	for _, v := range vs {
		if _, err := f.fanout.Process(context.Background(), v); err != nil {
			t.Fatalf("Process %s v%d: %v", v.ReportID, v.Number, err)
		}
	}
}

func (f *floor) correlated() []breach.Alert {
	var out []breach.Alert
	for _, a := range f.alerts.Published() {
		if a.Kind == breach.AlertCorrelated {
			out = append(out, a)
		}
	}
	return out
}

// listed is an alert's reports as "report_id org_id".
func listed(a breach.Alert) string {
	var out []string
	for _, r := range a.Reports {
		out = append(out, string(r.ReportID)+" "+string(r.OrgID))
	}
	return strings.Join(out, ", ")
}

var named = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func TestTwoOrganisationsNamingOneProcessorMakeOneCorrelatedAlert(t *testing.T) {
	f := newFloor(named)
	a := f.file(t, mutuelleA, named, nil)
	// B's report is NIS2 too, from the health sector, and less severe.
	b := f.file(t, mutuelleB, named.Add(72*time.Hour), map[string]any{"regimes": []string{"nis2", "gdpr"},
		"organisation.sector": "health", "organisation.siren": deleteField, "data.subjects_affected": 120, "data.data_categories": []string{"contact"}})
	f.process(t, a, b)
	got := f.correlated()
	if len(got) != 1 {
		t.Fatalf("%d correlated alerts, want 1: %+v", len(got), got)
	}
	c := got[0]
	if c.ReportID != b.ReportID || c.OrgID != mutuelleB.ID || c.Version != 1 || c.Processor == nil || c.Processor.SIREN != tiersPayant ||
		c.Processor.LegalName != "Tiers Payant Exemple SAS" {
		t.Errorf("alert %+v: want B's joining, processor %s", c, tiersPayant)
	}
	if want := string(a.ReportID) + " mutuelle-a, " + string(b.ReportID) + " mutuelle-b"; listed(c) != want {
		t.Errorf("reports %s, want %s", listed(c), want)
	}
	if r := c.Reports[0]; r.OrganisationName != "Mutuelle A" || r.Country != "FR" || r.Sector != "insurance" || r.Severity != breach.Critical ||
		!r.NamedAt.Equal(a.ReceivedAt) || r.Version != 1 {
		t.Errorf("A listed as %+v", r)
	}
	// The group's regimes and highest severity: every regulator concerned by one of them gets it.
	if strings.Join(regimeStrings(c.Regimes), ",") != "gdpr,nis2" || c.Severity != breach.Critical {
		t.Errorf("regimes %v severity %s, want gdpr,nis2 and critical", c.Regimes, c.Severity)
	}
	if n := len(f.alerts.Published()); n != 3 {
		t.Errorf("%d alerts in all, want the two reports' and the correlation", n)
	}

	// Redelivered records: the ledger has them, and the group has both reports.
	f.process(t, a, b)
	if got := f.correlated(); len(got) != 1 {
		t.Fatalf("after redelivery, %d correlated alerts", len(got))
	}
}

func TestCorrelationGroups(t *testing.T) {
	t.Run("one organisation's reports are no correlation", func(t *testing.T) {
		f := newFloor(named)
		f.process(t, f.file(t, mutuelleA, named, nil), f.file(t, mutuelleA, named.Add(time.Hour), nil))
		if got := f.correlated(); len(got) != 0 {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("each new organisation joining is one alert listing the window", func(t *testing.T) {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, nil)
		b := f.file(t, mutuelleB, named.Add(24*time.Hour), nil)
		a2 := f.file(t, mutuelleA, named.Add(48*time.Hour), nil) // A is in the group already
		c := f.file(t, cliniqueC, named.Add(72*time.Hour), nil)
		f.process(t, a, b, a2, c)
		got := f.correlated()
		if len(got) != 2 || got[0].ReportID != b.ReportID || got[1].ReportID != c.ReportID {
			t.Fatalf("alerts %v, want B's then C's joining", got)
		}
		want := strings.Join([]string{string(a.ReportID) + " mutuelle-a", string(b.ReportID) + " mutuelle-b",
			string(a2.ReportID) + " mutuelle-a", string(c.ReportID) + " clinique-c"}, ", ")
		if listed(got[1]) != want {
			t.Fatalf("C's alert lists %s, want %s", listed(got[1]), want)
		}
	})
	t.Run("reports more than 30 days apart are not correlated", func(t *testing.T) {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, nil)
		b := f.file(t, mutuelleB, named.Add(breach.CorrelationWindow+time.Second), nil)
		c := f.file(t, cliniqueC, named.Add(breach.CorrelationWindow+time.Hour), nil) // within 30 days of B
		f.process(t, a, b, c)
		got := f.correlated()
		if len(got) != 1 || listed(got[0]) != string(b.ReportID)+" mutuelle-b, "+string(c.ReportID)+" clinique-c" {
			t.Fatalf("alerts %+v, want C joining B only", got)
		}
	})
	t.Run("processed in the other order", func(t *testing.T) {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, nil)
		b := f.file(t, mutuelleB, named.Add(time.Hour), nil)
		f.process(t, b, a)
		got := f.correlated()
		if len(got) != 1 || got[0].ReportID != a.ReportID || listed(got[0]) != string(a.ReportID)+" mutuelle-a, "+string(b.ReportID)+" mutuelle-b" {
			t.Fatalf("alerts %+v, want one, A joining", got)
		}
	})
	t.Run("another processor, or none, is another group", func(t *testing.T) {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, nil)
		b := f.file(t, mutuelleB, named.Add(time.Hour), map[string]any{"processor.siren": "552100554"})
		c := f.file(t, cliniqueC, named.Add(2*time.Hour), map[string]any{"processor": deleteField})
		f.process(t, a, b, c)
		if got := f.correlated(); len(got) != 0 {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a later version naming the processor again joins nothing", func(t *testing.T) {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, map[string]any{"processor": deleteField})
		f.process(t, a)
		head, err := f.in.Head(context.Background(), mutuelleA.ID, string(a.ReportID))
		if err != nil {
			t.Fatal(err)
		}
		body := mutate(t, readTestdata(t, "processor-late.json"), map[string]any{"stage": "supplementary"})
		f.mu.Lock()
		f.now = named.Add(time.Hour)
		f.mu.Unlock()
		if _, err := f.in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: "sup", IfMatch: "1", Body: body}); err != nil {
			t.Fatal(err)
		}
		a2 := f.store.Stored(a.ReportID)[1]
		b := f.file(t, mutuelleB, named.Add(2*time.Hour), nil)
		f.process(t, a2, b)
		got := f.correlated()
		if len(got) != 1 || got[0].Reports[0].Version != 2 || !got[0].Reports[0].NamedAt.Equal(a2.ReceivedAt) {
			t.Fatalf("alerts %+v, want B joining A, A named by its version 2", got)
		}
	})
}

// Two organisations' reports processed at once (one stream batch) still make one alert: joins of
// one processor are serialised. (One version processed twice at once, which only a redrive racing
// the stream could do, may publish its correlated alert twice, as it may its own: the fan-out's
// at-least-once edge.)
func TestConcurrentReportsMakeOneCorrelatedAlert(t *testing.T) {
	for i := range 25 {
		f := newFloor(named)
		a := f.file(t, mutuelleA, named, nil)
		b := f.file(t, mutuelleB, named.Add(time.Minute), nil)
		c := f.file(t, cliniqueC, named.Add(2*time.Minute), map[string]any{"processor": deleteField})
		var wg sync.WaitGroup
		for _, v := range []breach.Version{a, b, c} {
			wg.Go(func() {
				if _, err := f.fanout.Process(context.Background(), v); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := f.correlated(); len(got) != 1 {
			t.Fatalf("round %d: %d correlated alerts, want 1", i, len(got))
		}
	}
}

// A correlated alert that fails to publish fails the version's fan-out, whose retry publishes it
// (and the version's own alert) once.
func TestCorrelatedAlertIsRetried(t *testing.T) {
	f := newFloor(named)
	a := f.file(t, mutuelleA, named, nil)
	b := f.file(t, mutuelleB, named.Add(time.Hour), nil)
	f.process(t, a)
	f.alerts.FailOn(func(x breach.Alert) error {
		if x.Kind == breach.AlertCorrelated {
			return errors.New("SNS unavailable")
		}
		return nil
	})
	if _, err := f.fanout.Process(context.Background(), b); err == nil {
		t.Fatal("Process succeeded with its correlated alert unpublished")
	}
	f.alerts.FailOn(nil)
	f.process(t, b, b)
	var kinds []string
	for _, x := range f.alerts.Published() {
		kinds = append(kinds, fmt.Sprintf("%s %s", x.Kind, x.ReportID))
	}
	want := []string{"new " + string(a.ReportID), "correlated " + string(b.ReportID), "new " + string(b.ReportID)}
	if !slices.Equal(kinds, want) {
		t.Fatalf("alerts %v, want %v", kinds, want)
	}
}
