package breach_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// aware is incident.aware_at of the NIS2 example (07:30+01:00).
var aware = time.Date(2026, 11, 21, 6, 30, 0, 0, time.UTC)

// desk is an intake and a deadline watch over one fake store, with a clock the test moves.
type desk struct {
	mu     sync.Mutex
	now    time.Time
	store  *breachtest.Store
	alerts *breachtest.Alerts
	in     *breach.Intake
	watch  *breach.Watch
	keys   int // idempotency keys used
}

// key is a new idempotency key.
func (d *desk) key() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys++
	return fmt.Sprint("k", d.keys)
}

func newDesk(at time.Time, orgs ...breach.Organisation) *desk {
	d := &desk{now: at, store: breachtest.NewStore(append(orgs, exampleOrg)...), alerts: breachtest.NewAlerts()}
	d.in = breach.NewIntake(d.store, d.clock, breach.ULIDs())
	d.watch = breach.NewWatch(d.store, d.store, d.alerts, d.clock)
	return d
}

func (d *desk) clock() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.now
}

func (d *desk) set(at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = at
}

// nis2Report is the NIS2 example with edits (regimes, late_reason, stage…).
func nis2Report(t *testing.T, edits map[string]any) []byte {
	t.Helper()
	return mutate(t, readTestdata(t, "nis2-health-ransomware.json"), edits)
}

// file submits body as exampleOrg now.
func (d *desk) file(t *testing.T, body []byte) breach.ReportID {
	t.Helper()
	got, err := d.in.Submit(context.Background(), breach.Submission{Org: exampleOrg.ID, IdempotencyKey: d.key(), Body: body})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return got.ID
}

// supplement sends body as the next version of id now.
func (d *desk) supplement(t *testing.T, id breach.ReportID, body []byte) {
	t.Helper()
	ctx := context.Background()
	head, err := d.in.Head(ctx, exampleOrg.ID, string(id))
	if err != nil {
		t.Fatal(err)
	}
	req := breach.SupplementRequest{IdempotencyKey: d.key(), IfMatch: fmt.Sprint(head.Latest), Body: body}
	if _, err := d.in.Supplement(ctx, head, req); err != nil {
		t.Fatalf("Supplement: %v", err)
	}
}

// run runs the watch once, as the schedule does.
func (d *desk) run(t *testing.T) breach.WatchResult {
	t.Helper()
	res, err := d.watch.Run(context.Background(), 100)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// overdue lists the overdue alerts published so far as "report stage".
func (d *desk) overdue() []string {
	var out []string
	for _, a := range d.alerts.Published() {
		if a.Kind == breach.AlertOverdue {
			out = append(out, string(a.ReportID)+" "+string(a.Stage))
		}
	}
	return out
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("overdue alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A GDPR report without a covering version, an hour past its 72 hours, is alerted once: here a
// NIS2 report to which a supplement added GDPR (only a first report covers gdpr.notification).
func TestWatchAlertsAnUncoveredGDPRNotificationOnce(t *testing.T) {
	d := newDesk(aware.Add(time.Hour))
	id := d.file(t, nis2Report(t, map[string]any{"regimes": []string{"nis2"}}))
	d.set(aware.Add(2 * time.Hour))
	d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"nis2", "gdpr"}, "stage": "supplementary"}))
	if got := d.store.Index()[id]; !got.Equal(aware.Add(72 * time.Hour)) {
		t.Fatalf("filed under %s, want gdpr.notification's due time", got)
	}

	for _, at := range []time.Duration{71 * time.Hour, 72 * time.Hour} {
		d.set(aware.Add(at))
		if res := d.run(t); res.Alerted != 0 {
			t.Fatalf("at aware + %s: %+v, want nothing alerted (due exactly is not yet late)", at, res)
		}
	}
	d.set(aware.Add(73 * time.Hour))
	if res := d.run(t); res != (breach.WatchResult{Reports: 1, Alerted: 1}) {
		t.Fatalf("at aware + 73 h: %+v", res)
	}
	expect(t, d.overdue(), string(id)+" gdpr.notification")

	a := d.alerts.Published()[len(d.alerts.Published())-1]
	stored := d.store.Stored(id)
	latest := stored[len(stored)-1]
	if a.Version != 2 || a.OrgID != exampleOrg.ID || a.OrganisationName != exampleOrg.LegalName || a.Country != "FR" ||
		a.Severity != latest.Severity || a.SHA256 != latest.SHA256 || !a.ReceivedAt.Equal(latest.ReceivedAt) ||
		a.Sector != "health" || strings.Join(regimeStrings(a.Regimes), ",") != "nis2,gdpr" {
		t.Errorf("alert %+v does not describe version 2", a)
	}
	met := map[breach.Stage]string{}
	for _, dl := range a.Deadlines {
		met[dl.Stage] = metOf(dl.Met)
	}
	if met[breach.StageGDPRNotification] != "false" || met[breach.StageNIS2Notification] != "true" || met[breach.StageNIS2Final] != "null" {
		t.Errorf("deadlines %v, want gdpr.notification missed, nis2.notification met, nis2.final pending", met)
	}
	body, _ := json.Marshal(a)
	for _, personal := range []string{"Paul", "Lefèvre", "rssi@", "+33"} {
		if strings.Contains(string(body), personal) {
			t.Fatalf("the overdue alert carries %q: %s", personal, body)
		}
	}

	// The alerted stage is closed: the report waits for nis2.final, a month after the
	// notification (covered by the first report), and costs nothing until then.
	final := time.Date(2026, 12, 21, 7, 30, 0, 0, time.UTC)
	if got := d.store.Index()[id]; !got.Equal(final) {
		t.Fatalf("after the alert, filed under %s, want %s", got, final)
	}
	d.set(aware.Add(73*time.Hour + 15*time.Minute))
	if res := d.run(t); res != (breach.WatchResult{}) {
		t.Fatalf("the next run: %+v, want nothing read", res)
	}
	d.set(final.Add(time.Minute))
	if res := d.run(t); res != (breach.WatchResult{Reports: 1, Alerted: 1, Closed: 1}) {
		t.Fatalf("after nis2.final's due time: %+v", res)
	}
	expect(t, d.overdue(), string(id)+" gdpr.notification", string(id)+" nis2.final")
	if _, filed := d.store.Index()[id]; filed {
		t.Fatal("a report with every open stage alerted is still in the index")
	}
	d.set(final.AddDate(1, 0, 0))
	if res := d.run(t); res != (breach.WatchResult{}) {
		t.Fatalf("a year later: %+v", res)
	}
}

// A NIS2 report whose early warning came in time but whose notification did not: overdue for
// nis2.notification only (a GDPR report to which a supplement added NIS2 with its early warning).
func TestWatchAlertsTheMissedNIS2NotificationOnly(t *testing.T) {
	d := newDesk(aware.Add(2 * time.Hour))
	id := d.file(t, nis2Report(t, map[string]any{"regimes": []string{"gdpr"}}))
	d.set(aware.Add(20 * time.Hour))
	d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"gdpr", "nis2"}, "stage": "nis2.early_warning"}))
	d.set(aware.Add(73 * time.Hour))
	d.run(t)
	expect(t, d.overdue(), string(id)+" nis2.notification")
	a := d.alerts.Published()[len(d.alerts.Published())-1]
	for _, dl := range a.Deadlines {
		if want := map[breach.Stage]string{breach.StageGDPRNotification: "true", breach.StageNIS2EarlyWarning: "true",
			breach.StageNIS2Notification: "false", breach.StageNIS2Final: "null"}[dl.Stage]; metOf(dl.Met) != want {
			t.Errorf("%s met %s, want %s", dl.Stage, metOf(dl.Met), want)
		}
	}
}

// A stage covered late is never alerted (its own version was late); the stage still uncovered is.
// A stage covered in time before its due time is not either.
func TestWatchIgnoresCoveredStages(t *testing.T) {
	late := map[string]any{"regimes": []string{"nis2"}, "late_reason": "The CERT told us on the second day."}
	d := newDesk(aware.Add(30 * time.Hour))
	uncovered := d.file(t, nis2Report(t, late)) // covers the early warning, late, not the notification
	covered := d.file(t, nis2Report(t, late))
	d.set(aware.Add(50 * time.Hour))
	d.supplement(t, covered, nis2Report(t, map[string]any{"regimes": []string{"nis2"}, "stage": "nis2.notification"}))
	d.set(aware.Add(73 * time.Hour))
	d.run(t)
	expect(t, d.overdue(), string(uncovered)+" nis2.notification")
	if got, want := d.store.Index()[covered], time.Date(2026, 12, 23, 8, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("the covered report is filed under %s, want nis2.final's %s", got, want)
	}
}

// Two runs at once, or the schedule firing twice, still alert a stage once.
func TestWatchOverlappingRunsAlertOnce(t *testing.T) {
	setup := func(t *testing.T) (*desk, breach.ReportID) {
		d := newDesk(aware.Add(time.Hour))
		id := d.file(t, nis2Report(t, map[string]any{"regimes": []string{"nis2"}}))
		d.set(aware.Add(2 * time.Hour))
		d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"nis2", "gdpr"}, "stage": "supplementary"}))
		d.set(aware.Add(73 * time.Hour))
		return d, id
	}
	t.Run("concurrent runs", func(t *testing.T) {
		d, id := setup(t)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := d.watch.Run(context.Background(), 100); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		expect(t, d.overdue(), string(id)+" gdpr.notification")
		if d.alerts.Attempts() != 1 {
			t.Fatalf("%d publish attempts, want 1", d.alerts.Attempts())
		}
	})
	t.Run("a second run while the first is publishing", func(t *testing.T) {
		d, id := setup(t)
		var second breach.WatchResult
		var secondErr error
		hooked := &hookAlerts{Alerts: d.alerts, before: func() {
			second, secondErr = d.watch.Run(context.Background(), 100)
		}}
		first, err := breach.NewWatch(d.store, d.store, hooked, d.clock).Run(context.Background(), 100)
		if err != nil || secondErr != nil {
			t.Fatal(err, secondErr)
		}
		if first.Alerted != 1 || second.Alerted != 0 || second.Reports != 1 {
			t.Fatalf("first run %+v, second %+v; want the first alone to alert", first, second)
		}
		expect(t, d.overdue(), string(id)+" gdpr.notification")
		if _, filed := d.store.Index()[id]; !filed {
			t.Fatal("the report left the index: nis2.final is still ahead")
		}
	})
	t.Run("the schedule firing twice", func(t *testing.T) {
		d, id := setup(t)
		d.run(t)
		d.run(t)
		expect(t, d.overdue(), string(id)+" gdpr.notification")
	})
}

// A run that fails to publish leaves its claim, which the next runs respect until it expires; a
// run after that publishes. A run that published but could not record it (the at-least-once
// edge) takes the stage out of the index all the same; only a later version, which files the
// report again, has a later run publish it a second time, with the same report_id and stage.
func TestWatchRetriesAfterFailures(t *testing.T) {
	setup := func(t *testing.T, list breach.Watchlist, alerts breach.Alerts) (*desk, *breach.Watch, breach.ReportID) {
		d := newDesk(aware.Add(time.Hour))
		id := d.file(t, nis2Report(t, map[string]any{"regimes": []string{"nis2"}}))
		d.set(aware.Add(2 * time.Hour))
		d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"nis2", "gdpr"}, "stage": "supplementary"}))
		d.set(aware.Add(73 * time.Hour))
		if list == nil {
			list = d.store
		}
		if alerts == nil {
			alerts = d.alerts
		}
		return d, breach.NewWatch(d.store, list, alerts, d.clock), id
	}
	t.Run("publish fails", func(t *testing.T) {
		d, w, id := setup(t, nil, nil)
		d.alerts.FailOn(func(breach.Alert) error { return errors.New("SNS unavailable") })
		if res, err := w.Run(context.Background(), 100); err == nil || res.Alerted != 0 {
			t.Fatalf("run with SNS down: %+v, %v; want an error", res, err)
		}
		d.alerts.FailOn(nil)
		d.set(aware.Add(73*time.Hour + 5*time.Minute))
		if res, err := w.Run(context.Background(), 100); err != nil || res.Alerted != 0 || res.Reports != 1 {
			t.Fatalf("run within the claim's life: %+v, %v; want the report read, nothing published", res, err)
		}
		d.set(aware.Add(73*time.Hour + 15*time.Minute))
		if res, err := w.Run(context.Background(), 100); err != nil || res.Alerted != 1 {
			t.Fatalf("run after the claim expired: %+v, %v", res, err)
		}
		expect(t, d.overdue(), string(id)+" gdpr.notification")
	})
	t.Run("marking sent fails", func(t *testing.T) {
		lossy := &lossyWatchlist{}
		d, w, id := setup(t, lossy, nil)
		lossy.Watchlist = d.store
		if res, err := w.Run(context.Background(), 100); err == nil || res.Alerted != 1 {
			t.Fatalf("run losing the marker: %+v, %v; want one published and an error", res, err)
		}
		d.set(aware.Add(74 * time.Hour))
		d.run(t)
		expect(t, d.overdue(), string(id)+" gdpr.notification")
		d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"nis2", "gdpr"}, "stage": "supplementary"}))
		d.set(aware.Add(75 * time.Hour))
		d.run(t)
		expect(t, d.overdue(), string(id)+" gdpr.notification", string(id)+" gdpr.notification")
	})
}

// The index is eventually consistent: the watch reads each head again and trusts only that.
func TestWatchReadsTheHeadAgain(t *testing.T) {
	d := newDesk(aware.Add(30 * time.Hour))
	id := d.file(t, nis2Report(t, map[string]any{"regimes": []string{"nis2"}, "late_reason": "Late."}))
	stale := d.store.Index()[id] // nis2.notification's due time
	d.set(aware.Add(50 * time.Hour))
	d.supplement(t, id, nis2Report(t, map[string]any{"regimes": []string{"nis2"}, "stage": "nis2.notification"}))
	d.set(aware.Add(73 * time.Hour))
	list := &staleWatchlist{Watchlist: d.store, refs: []breach.DueRef{{Org: exampleOrg.ID, ID: id, OpenDue: stale}}}
	res, err := breach.NewWatch(d.store, list, d.alerts, d.clock).Run(context.Background(), 100)
	if err != nil || res.Alerted != 0 {
		t.Fatalf("%+v, %v; want nothing alerted for a stage covered since the index was read", res, err)
	}
}

func TestWatchStopsBeforeItsDeadline(t *testing.T) {
	d := newDesk(aware.Add(time.Hour))
	d.file(t, nis2Report(t, map[string]any{"regimes": []string{"nis2"}, "late_reason": "x"}))
	d.set(aware.AddDate(0, 2, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := d.watch.Run(ctx, 100)
	if err == nil || res.Reports != 0 || len(d.alerts.Published()) != 0 {
		t.Fatalf("%+v, %v; want no report taken with 5 s left", res, err)
	}
}

func TestOpenDue(t *testing.T) {
	received := aware.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		regimes []breach.Regime
		covered breach.Coverage
		alerted []breach.Stage
		want    time.Time
	}{
		{"GDPR covered: nothing open", []breach.Regime{breach.GDPR}, breach.Coverage{breach.StageGDPRNotification: received}, nil, time.Time{}},
		{"GDPR uncovered", []breach.Regime{breach.GDPR}, nil, nil, aware.Add(72 * time.Hour)},
		{"GDPR uncovered, alerted: nothing open", []breach.Regime{breach.GDPR}, nil, []breach.Stage{breach.StageGDPRNotification}, time.Time{}},
		{"NIS2 in time: the final report a month after", []breach.Regime{breach.NIS2},
			breach.Coverage{breach.StageNIS2EarlyWarning: received, breach.StageNIS2Notification: received}, nil, received.AddDate(0, 1, 0)},
		{"NIS2 notification alerted: the final report a month after its due time", []breach.Regime{breach.NIS2},
			breach.Coverage{breach.StageNIS2EarlyWarning: received}, []breach.Stage{breach.StageNIS2Notification}, aware.Add(72*time.Hour).AddDate(0, 1, 0)},
		{"DORA: intermediate 72 h after the initial", []breach.Regime{breach.DORA}, breach.Coverage{breach.StageDORAInitial: received}, nil, received.Add(72 * time.Hour)},
		{"the earliest of several regimes", []breach.Regime{breach.DORA, breach.GDPR}, breach.Coverage{breach.StageDORAInitial: received}, nil, aware.Add(72 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerted := map[breach.Stage]bool{}
			for _, s := range tc.alerted {
				alerted[s] = true
			}
			h := breach.ReportHead{Regimes: tc.regimes, AwareAt: aware, Covered: tc.covered}
			if got := h.OpenDue(alerted); !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Fatalf("OpenDue = %s, want %s", got, tc.want)
			}
		})
	}
}

// hookAlerts calls before once, on the first publish, before publishing.
type hookAlerts struct {
	breach.Alerts
	once   sync.Once
	before func()
}

func (h *hookAlerts) Publish(ctx context.Context, a breach.Alert) error {
	h.once.Do(h.before)
	return h.Alerts.Publish(ctx, a)
}

// lossyWatchlist loses the first MarkOverdueSent: the call fails without effect.
type lossyWatchlist struct {
	breach.Watchlist
	lost bool
}

func (l *lossyWatchlist) MarkOverdueSent(ctx context.Context, id breach.ReportID, stage breach.Stage, version int, at time.Time) error {
	if !l.lost {
		l.lost = true
		return errors.New("DynamoDB unavailable")
	}
	return l.Watchlist.MarkOverdueSent(ctx, id, stage, version, at)
}

// staleWatchlist answers Due with refs, as an index lagging behind the table would.
type staleWatchlist struct {
	breach.Watchlist
	refs []breach.DueRef
}

func (s *staleWatchlist) Due(context.Context, time.Time, int) ([]breach.DueRef, error) {
	return s.refs, nil
}

func regimeStrings(rs []breach.Regime) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

func metOf(m *bool) string {
	if m == nil {
		return "null"
	}
	return fmt.Sprint(*m)
}
