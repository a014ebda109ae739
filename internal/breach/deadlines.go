package breach

import (
	"slices"
	"time"
)

// Deadline is one stage of a report's regimes: when it is due and whether it was met. Met is
// true when a covering version arrived by DueAt, false once DueAt has passed without one, and
// nil (JSON null) while pending.
type Deadline struct {
	DueAt time.Time `json:"due_at"`
	Met   *bool     `json:"met"`
	Stage Stage     `json:"stage"`
}

// stagesOf lists each regime's stages in order (API.md, Deadlines).
var stagesOf = map[Regime][]Stage{
	GDPR: {StageGDPRNotification},
	NIS2: {StageNIS2EarlyWarning, StageNIS2Notification, StageNIS2Final},
	DORA: {StageDORAInitial, StageDORAIntermediate, StageDORAFinal},
}

// Coverage records, per deadline stage, when the first version covering it was received.
type Coverage map[Stage]time.Time

// FirstCoverage is what a first report received at `received` covers: the first stage of each of
// its regimes, and nis2.notification too when it arrives by the early warning's due time.
func FirstCoverage(regimes []Regime, awareAt, received time.Time) Coverage {
	c := Coverage{}
	for _, r := range regimes {
		c[stagesOf[r][0]] = received
	}
	if slices.Contains(regimes, NIS2) && !received.After(awareAt.Add(24*time.Hour)) {
		c[StageNIS2Notification] = received
	}
	return c
}

// dueTimes computes every stage's due time. Later stages of NIS2 and DORA run from when the
// previous stage was received, or from its due time while it is not.
func dueTimes(regimes []Regime, awareAt time.Time, covered Coverage) map[Stage]time.Time {
	due := map[Stage]time.Time{}
	from := func(s Stage) time.Time {
		if t, ok := covered[s]; ok {
			return t
		}
		return due[s]
	}
	for _, r := range regimes {
		switch r {
		case GDPR:
			due[StageGDPRNotification] = awareAt.Add(72 * time.Hour)
		case NIS2:
			due[StageNIS2EarlyWarning] = awareAt.Add(24 * time.Hour)
			due[StageNIS2Notification] = awareAt.Add(72 * time.Hour)
			due[StageNIS2Final] = addMonth(from(StageNIS2Notification))
		case DORA:
			due[StageDORAInitial] = awareAt.Add(24 * time.Hour)
			due[StageDORAIntermediate] = from(StageDORAInitial).Add(72 * time.Hour)
			due[StageDORAFinal] = addMonth(from(StageDORAIntermediate))
		}
	}
	return due
}

// Deadlines lists every stage of the regimes, in regime then stage order, as seen at now.
func Deadlines(regimes []Regime, awareAt time.Time, covered Coverage, now time.Time) []Deadline {
	due := dueTimes(regimes, awareAt, covered)
	var out []Deadline
	for _, r := range regimes {
		for _, s := range stagesOf[r] {
			d := Deadline{Stage: s, DueAt: due[s].UTC()}
			if t, ok := covered[s]; ok {
				d.Met = ptr(!t.After(d.DueAt))
			} else if now.After(d.DueAt) {
				d.Met = ptr(false)
			}
			out = append(out, d)
		}
	}
	return out
}

// IsLate reports whether a version received at `received`, covering `stages`, came after the
// earliest due time among them. Exactly at the due time is on time; covering nothing (a
// `supplementary` version) is never late.
func IsLate(regimes []Regime, awareAt time.Time, covered Coverage, stages []Stage, received time.Time) bool {
	due := dueTimes(regimes, awareAt, covered)
	for _, s := range stages {
		if t, ok := due[s]; ok && received.After(t) {
			return true
		}
	}
	return false
}

// addMonth is the same UTC day and time in the next month, clamped to that month's last day
// (31 Jan → 28/29 Feb). time.AddDate would normalise 31 Feb to early March instead.
func addMonth(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	firstOfNext := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	lastDay := firstOfNext.AddDate(0, 1, -1).Day()
	return time.Date(firstOfNext.Year(), firstOfNext.Month(), min(d, lastDay),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func ptr[T any](v T) *T { return &v }
