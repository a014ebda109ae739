package breach

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Watchlist is what the deadline watch reads and records (internal/dynamo: a sparse index of the
// report heads that have an open stage, and one marker item per report and overdue stage).
//
// A stage is open while it is neither covered nor alerted overdue. A head carries its place in
// the index, the earliest due time among its open stages, only while it has one: the store sets
// it from the head itself on every SaveVersion (ReportHead.OpenDue with nothing alerted), the
// watch moves it on (SetOpenDue) once it has alerted what was due. So the index holds the reports
// that still have a deadline ahead or an overdue stage not yet alerted, not every report.
type Watchlist interface {
	// Due lists the reports whose place in the index is before `before`, earliest first, at most
	// limit of them.
	Due(ctx context.Context, before time.Time, limit int) ([]DueRef, error)
	// OverdueMarks returns a report's overdue markers by stage (none: an empty map).
	OverdueMarks(ctx context.Context, id ReportID) (map[Stage]OverdueMark, error)
	// ClaimOverdue claims, for one run of the watch, the right to publish the overdue alert of a
	// report's stage. It succeeds when no marker exists, or when the marker is a claim older than
	// OverdueClaimTTL at now (its run ended without recording the alert as sent); it fails (false,
	// nil) while a younger claim holds or once the alert is sent.
	ClaimOverdue(ctx context.Context, org OrgID, id ReportID, stage Stage, now time.Time) (bool, error)
	// MarkOverdueSent records the stage's alert as published, for the report's version `version`.
	MarkOverdueSent(ctx context.Context, id ReportID, stage Stage, version int, at time.Time) error
	// SetOpenDue moves a report's place in the index to due, or takes it out of the index when due
	// is zero, but only while the head's latest version is still `latest`: a version stored since
	// placed the report itself, and is left as it is (nil error).
	SetOpenDue(ctx context.Context, org OrgID, id ReportID, latest int, due time.Time) error
}

// DueRef names a report in the watch's index, with the due time it is filed under.
type DueRef struct {
	Org     OrgID
	ID      ReportID
	OpenDue time.Time
}

// OverdueState is the state of an overdue marker.
type OverdueState string

const (
	// OverduePending: a run claimed the alert and has not recorded it sent (it is publishing, or
	// it failed; after OverdueClaimTTL another run may claim it again).
	OverduePending OverdueState = "pending"
	// OverdueSent: the alert was published.
	OverdueSent OverdueState = "sent"
)

// OverdueMark is the marker of one report's overdue stage.
type OverdueMark struct {
	State     OverdueState
	ClaimedAt time.Time
}

// OverdueClaimTTL is how long a run's claim on an overdue alert holds. It is longer than a run can
// last (DeadlineWatchFunction's Timeout in template.yaml, 2 minutes, which a test checks), so a
// claim this old belongs to a run that is over, and shorter than the schedule's 15 minutes, so
// the next run retries what a failed run claimed.
const OverdueClaimTTL = 10 * time.Minute

// OpenDue is the report's place in the deadline watch's index: the earliest due time among its
// deadline stages that are neither covered nor in alerted, or the zero time when there is none.
// Later NIS2 and DORA stages are due from when the stage before was received (or due), so a
// supplement covering a stage moves it, and an alerted stage gives way to the next one.
func (h ReportHead) OpenDue(alerted map[Stage]bool) time.Time {
	due := dueTimes(h.Regimes, h.AwareAt, h.Covered)
	var first time.Time
	for _, r := range h.Regimes {
		for _, s := range stagesOf[r] {
			if _, covered := h.Covered[s]; covered || alerted[s] {
				continue
			}
			if first.IsZero() || due[s].Before(first) {
				first = due[s]
			}
		}
	}
	if first.IsZero() {
		return first
	}
	return first.UTC()
}

// Overdue lists the stages that are past their due time at now and not covered, in regime then
// stage order: the stages whose deadline was missed (Deadlines shows them met=false without a
// covering version). A covered stage never is, even covered late.
func (h ReportHead) Overdue(now time.Time) []Stage {
	due := dueTimes(h.Regimes, h.AwareAt, h.Covered)
	var out []Stage
	for _, r := range h.Regimes {
		for _, s := range stagesOf[r] {
			if _, covered := h.Covered[s]; !covered && now.After(due[s]) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Watch is the deadline watch: every 15 minutes it alerts regulators, once per report and stage,
// of each stage past its due time without a covering version.
//
// Once per stage, even when two runs overlap or the schedule fires twice: a run claims the stage's
// marker (pending) before publishing and marks it sent after, so only one run publishes while a
// claim holds. A claim whose run failed before marking it sent expires after OverdueClaimTTL and is
// claimed again by a later run. The edge is the fan-out's: a run that published and then failed to
// mark the alert sent (crashed, timed out, or lost the write) makes a later run publish it again,
// with the same report_id, kind and stage, on which subscribers deduplicate.
type Watch struct {
	store  Store
	list   Watchlist
	alerts Alerts
	now    Clock
}

// NewWatch builds a Watch.
func NewWatch(store Store, list Watchlist, alerts Alerts, clock Clock) *Watch {
	return &Watch{store: store, list: list, alerts: alerts, now: clock}
}

// WatchResult counts what one run did.
type WatchResult struct {
	Reports int // read from the index
	Alerted int // overdue alerts published
	Closed  int // reports that left the index: nothing open remains
}

// watchMargin is how long before the invocation's deadline a run stops taking reports, so that it
// does not leave the one it is on between publishing and recording.
const watchMargin = 15 * time.Second

// Run alerts every stage overdue at now among at most limit reports of the index. It goes on past
// a failing report (which stays in the index, so the next run retries it) and returns what it did
// with the first error. It stops taking reports once the context is done or its deadline is
// within watchMargin.
func (w *Watch) Run(ctx context.Context, limit int) (WatchResult, error) {
	now := w.now().UTC()
	refs, err := w.list.Due(ctx, now, limit)
	if err != nil {
		return WatchResult{}, fmt.Errorf("reports due: %w", err)
	}
	var res WatchResult
	var first error
	for _, ref := range refs {
		if deadline, ok := ctx.Deadline(); ctx.Err() != nil || ok && time.Until(deadline) < watchMargin {
			first = cmp.Or(first, fmt.Errorf("stopped with %d of %d reports left: the next run takes them", len(refs)-res.Reports, len(refs)))
			break
		}
		res.Reports++
		alerted, closed, err := w.report(ctx, ref, now)
		res.Alerted += alerted
		if closed {
			res.Closed++
		}
		if err != nil {
			first = cmp.Or(first, fmt.Errorf("report %s: %w", ref.ID, err))
		}
	}
	return res, first
}

// report alerts the overdue stages of one report and moves its place in the index. Its head is read
// again, consistently: the index is eventually consistent, and a supplement covering a stage a
// moment ago must count.
func (w *Watch) report(ctx context.Context, ref DueRef, now time.Time) (alerted int, closed bool, err error) {
	head, err := w.store.Head(ctx, ref.Org, ref.ID)
	if err != nil {
		return 0, false, err
	}
	sent := map[Stage]bool{}
	var first error
	if overdue := head.Overdue(now); len(overdue) > 0 {
		marks, err := w.list.OverdueMarks(ctx, head.ID)
		if err != nil {
			return 0, false, err
		}
		var base *Alert // the latest version's alert, read once for all its stages
		for _, stage := range overdue {
			if marks[stage].State == OverdueSent {
				sent[stage] = true
				continue
			}
			if base == nil {
				a, err := w.latestAlert(ctx, head)
				if err != nil {
					return 0, false, err
				}
				base = &a
			}
			published, err := w.alert(ctx, head, stage, *base, now)
			if err != nil {
				first = cmp.Or(first, fmt.Errorf("stage %s: %w", stage, err))
			}
			if published {
				sent[stage] = true
				alerted++
			}
			// Not published: another run holds the claim, or this one failed; the stage stays open
			// until a run has sent it.
		}
	}
	next := head.OpenDue(sent)
	if !next.Equal(ref.OpenDue) {
		if err := w.list.SetOpenDue(ctx, head.Org, head.ID, head.Latest, next); err != nil {
			return alerted, false, cmp.Or(first, err)
		}
	}
	return alerted, next.IsZero(), first
}

// alert claims, publishes and records one stage's overdue alert; it reports whether it published,
// which it may have done and still fail to record (the at-least-once edge of Watch).
func (w *Watch) alert(ctx context.Context, head ReportHead, stage Stage, base Alert, now time.Time) (bool, error) {
	claimed, err := w.list.ClaimOverdue(ctx, head.Org, head.ID, stage, w.now().UTC())
	if err != nil || !claimed {
		return false, err
	}
	a := base
	a.Kind, a.Stage = AlertOverdue, stage
	a.Deadlines = Deadlines(head.Regimes, head.AwareAt, head.Covered, now)
	if err := w.alerts.Publish(ctx, a); err != nil {
		return false, err // the claim expires: a later run publishes it
	}
	return true, w.list.MarkOverdueSent(ctx, head.ID, stage, head.Latest, w.now().UTC())
}

// latestAlert is the alert of the report's latest version: an overdue alert describes the report as
// it stands.
func (w *Watch) latestAlert(ctx context.Context, head ReportHead) (Alert, error) {
	v, err := w.store.Version(ctx, head.ID, head.Latest)
	if err != nil {
		return Alert{}, err
	}
	a, _, err := alertOf(ctx, w.store, v)
	return a, err
}
