package breach_test

import (
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

type wantDeadline struct {
	stage breach.Stage
	due   string
	met   string // "true", "false" or "null"
}

func metString(m *bool) string {
	switch {
	case m == nil:
		return "null"
	case *m:
		return "true"
	default:
		return "false"
	}
}

func TestDeadlines(t *testing.T) {
	aware := at("2026-11-21T10:00:00Z")
	for _, tc := range []struct {
		name    string
		regimes []breach.Regime
		aware   time.Time
		covered breach.Coverage
		now     time.Time
		want    []wantDeadline
	}{
		{"gdpr received in time is met", []breach.Regime{breach.GDPR}, aware,
			breach.Coverage{breach.StageGDPRNotification: at("2026-11-22T10:00:00Z")}, at("2026-11-22T10:00:00Z"),
			[]wantDeadline{{breach.StageGDPRNotification, "2026-11-24T10:00:00Z", "true"}}},
		{"gdpr received exactly at the due time is met", []breach.Regime{breach.GDPR}, aware,
			breach.Coverage{breach.StageGDPRNotification: at("2026-11-24T10:00:00Z")}, at("2026-11-24T10:00:00Z"),
			[]wantDeadline{{breach.StageGDPRNotification, "2026-11-24T10:00:00Z", "true"}}},
		{"gdpr received a nanosecond late is not met", []breach.Regime{breach.GDPR}, aware,
			breach.Coverage{breach.StageGDPRNotification: at("2026-11-24T10:00:00.000000001Z")}, at("2026-11-25T00:00:00Z"),
			[]wantDeadline{{breach.StageGDPRNotification, "2026-11-24T10:00:00Z", "false"}}},
		{"nis2 pending stages are null until due, then false", []breach.Regime{breach.NIS2}, aware,
			breach.Coverage{breach.StageNIS2EarlyWarning: at("2026-11-21T12:00:00Z")}, at("2026-11-24T10:00:00.5Z"),
			[]wantDeadline{
				{breach.StageNIS2EarlyWarning, "2026-11-22T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2026-11-24T10:00:00Z", "false"},
				// nis2.notification not received: final runs from its due time.
				{breach.StageNIS2Final, "2026-12-24T10:00:00Z", "null"},
			}},
		{"nis2 final runs a month from the notification's reception", []breach.Regime{breach.NIS2}, aware,
			breach.Coverage{breach.StageNIS2EarlyWarning: at("2026-11-21T12:00:00Z"), breach.StageNIS2Notification: at("2026-11-23T08:15:00Z")},
			at("2026-11-23T08:15:00Z"),
			[]wantDeadline{
				{breach.StageNIS2EarlyWarning, "2026-11-22T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2026-11-24T10:00:00Z", "true"},
				{breach.StageNIS2Final, "2026-12-23T08:15:00Z", "null"},
			}},
		{"31 January plus one month is 28 February", []breach.Regime{breach.NIS2}, at("2027-01-29T10:00:00Z"),
			breach.Coverage{breach.StageNIS2EarlyWarning: at("2027-01-30T09:00:00Z"), breach.StageNIS2Notification: at("2027-01-31T23:59:59Z")},
			at("2027-01-31T23:59:59Z"),
			[]wantDeadline{
				{breach.StageNIS2EarlyWarning, "2027-01-30T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2027-02-01T10:00:00Z", "true"},
				{breach.StageNIS2Final, "2027-02-28T23:59:59Z", "null"},
			}},
		{"31 January of a leap year plus one month is 29 February", []breach.Regime{breach.NIS2}, at("2028-01-29T10:00:00Z"),
			breach.Coverage{breach.StageNIS2EarlyWarning: at("2028-01-30T09:00:00Z"), breach.StageNIS2Notification: at("2028-01-31T10:00:00Z")},
			at("2028-01-31T10:00:00Z"),
			[]wantDeadline{
				{breach.StageNIS2EarlyWarning, "2028-01-30T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2028-02-01T10:00:00Z", "true"},
				{breach.StageNIS2Final, "2028-02-29T10:00:00Z", "null"},
			}},
		{"a month after 31 December is 31 January", []breach.Regime{breach.NIS2}, at("2026-12-29T10:00:00Z"),
			breach.Coverage{breach.StageNIS2EarlyWarning: at("2026-12-30T09:00:00Z"), breach.StageNIS2Notification: at("2026-12-31T10:00:00Z")},
			at("2026-12-31T10:00:00Z"),
			[]wantDeadline{
				{breach.StageNIS2EarlyWarning, "2026-12-30T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2027-01-01T10:00:00Z", "true"},
				{breach.StageNIS2Final, "2027-01-31T10:00:00Z", "null"},
			}},
		{"dora chains from reception, or from due times while pending", []breach.Regime{breach.DORA}, aware,
			breach.Coverage{breach.StageDORAInitial: at("2026-11-21T18:00:00Z")}, at("2026-11-21T18:00:00Z"),
			[]wantDeadline{
				{breach.StageDORAInitial, "2026-11-22T10:00:00Z", "true"},
				{breach.StageDORAIntermediate, "2026-11-24T18:00:00Z", "null"},
				{breach.StageDORAFinal, "2026-12-24T18:00:00Z", "null"},
			}},
		{"regimes combined list every stage in order", []breach.Regime{breach.GDPR, breach.NIS2, breach.DORA}, aware,
			breach.FirstCoverage([]breach.Regime{breach.GDPR, breach.NIS2, breach.DORA}, aware, at("2026-11-21T11:00:00Z")),
			at("2026-11-21T11:00:00Z"),
			[]wantDeadline{
				{breach.StageGDPRNotification, "2026-11-24T10:00:00Z", "true"},
				{breach.StageNIS2EarlyWarning, "2026-11-22T10:00:00Z", "true"},
				{breach.StageNIS2Notification, "2026-11-24T10:00:00Z", "true"},
				{breach.StageNIS2Final, "2026-12-21T11:00:00Z", "null"},
				{breach.StageDORAInitial, "2026-11-22T10:00:00Z", "true"},
				{breach.StageDORAIntermediate, "2026-11-24T11:00:00Z", "null"},
				{breach.StageDORAFinal, "2026-12-24T11:00:00Z", "null"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := breach.Deadlines(tc.regimes, tc.aware, tc.covered, tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d deadlines %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Stage != w.stage || !g.DueAt.Equal(at(w.due)) || metString(g.Met) != w.met {
					t.Errorf("[%d] = %s due %s met %s; want %s due %s met %s", i, g.Stage, g.DueAt.Format(time.RFC3339Nano), metString(g.Met), w.stage, w.due, w.met)
				}
			}
		})
	}
}

func TestFirstCoverageAndLateness(t *testing.T) {
	aware := at("2026-11-21T10:00:00Z")
	nis2 := []breach.Regime{breach.NIS2}
	gdprNIS2 := []breach.Regime{breach.GDPR, breach.NIS2}
	for _, tc := range []struct {
		name     string
		regimes  []breach.Regime
		received string
		covers   []breach.Stage
		late     bool
	}{
		{"nis2 at the early warning's due time covers the notification too", nis2, "2026-11-22T10:00:00Z",
			[]breach.Stage{breach.StageNIS2EarlyWarning, breach.StageNIS2Notification}, false},
		{"nis2 after the early warning's due time covers only it, late", nis2, "2026-11-22T10:00:00.001Z",
			[]breach.Stage{breach.StageNIS2EarlyWarning}, true},
		{"gdpr+nis2 at 30 h: late by the earliest due time", gdprNIS2, "2026-11-22T16:00:00Z",
			[]breach.Stage{breach.StageGDPRNotification, breach.StageNIS2EarlyWarning}, true},
		{"gdpr exactly at 72 h is on time", []breach.Regime{breach.GDPR}, "2026-11-24T10:00:00Z",
			[]breach.Stage{breach.StageGDPRNotification}, false},
		{"dora at 25 h is late", []breach.Regime{breach.DORA}, "2026-11-22T11:00:00Z",
			[]breach.Stage{breach.StageDORAInitial}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			received := at(tc.received)
			c := breach.FirstCoverage(tc.regimes, aware, received)
			if len(c) != len(tc.covers) {
				t.Fatalf("covers %v, want %v", c, tc.covers)
			}
			for _, s := range tc.covers {
				if !c[s].Equal(received) {
					t.Fatalf("covers %v, want %v", c, tc.covers)
				}
			}
			if got := breach.IsLate(tc.regimes, aware, c, tc.covers, received); got != tc.late {
				t.Fatalf("late = %v, want %v", got, tc.late)
			}
		})
	}
	t.Run("a supplementary version covers nothing and is never late", func(t *testing.T) {
		if breach.IsLate(nis2, aware, breach.Coverage{}, nil, at("2027-06-01T00:00:00Z")) {
			t.Fatal("late")
		}
	})
}
