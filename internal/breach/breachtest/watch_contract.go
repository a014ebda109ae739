package breachtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// WatchlistContract is the behaviour every breach.Watchlist must show, over the Store whose
// SaveVersion files heads in its index. open returns both, fresh, with ContractOrg provisioned.
func WatchlistContract(t *testing.T, open func(t *testing.T) (breach.Store, breach.Watchlist)) {
	ctx := context.Background()
	aware := time.Date(2026, 11, 21, 6, 30, 0, 0, time.UTC)
	received := aware.Add(2 * time.Hour)
	// save stores version n of id with the given regimes and coverage, and returns its head.
	save := func(t *testing.T, s breach.Store, id breach.ReportID, n int, regimes []breach.Regime, covered breach.Coverage) breach.ReportHead {
		t.Helper()
		at := received.Add(time.Duration(n-1) * time.Hour)
		v := breach.Version{OrgID: ContractOrg.ID, ReportID: id, Number: n, Stage: breach.StageInitial, ReceivedAt: at,
			Severity: breach.High, Document: []byte(`{"id":"` + string(id) + `"}`), SHA256: "ab"}
		h := breach.ReportHead{Org: ContractOrg.ID, ID: id, Latest: n, Regimes: regimes, AwareAt: aware, Covered: covered,
			ReceivedAt: received, UpdatedAt: at, Stage: v.Stage, Severity: v.Severity}
		rec := breach.IdempotencyRecord{Key: breach.IdempotencyKey{Org: ContractOrg.ID, Route: breach.RouteSubmit, Key: fmt.Sprintf("%s/%d", id, n)},
			RequestSHA256: "cd", Receipt: []byte(`{}`), ExpiresAt: at.Add(breach.IdempotencyTTL)}
		if prior, err := s.SaveVersion(ctx, v, h, rec, at); err != nil || prior != nil {
			t.Fatalf("SaveVersion %s v%d = %v, %v", id, n, prior, err)
		}
		return h
	}
	gdprNIS2 := []breach.Regime{breach.GDPR, breach.NIS2}
	// earlyOnly covers gdpr.notification and the early warning: nis2.notification is open, due
	// at aware + 72 h.
	earlyOnly := breach.Coverage{breach.StageGDPRNotification: received, breach.StageNIS2EarlyWarning: received}
	notificationDue := aware.Add(72 * time.Hour)
	due := func(t *testing.T, l breach.Watchlist, before time.Time, limit int) []breach.DueRef {
		t.Helper()
		refs, err := l.Due(ctx, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}

	t.Run("a head with an open stage is filed under its due time, a covered one is not", func(t *testing.T) {
		s, l := open(t)
		save(t, s, "01JAAAAAAAAAAAAAAAAAAAAWA1", 1, gdprNIS2, earlyOnly)
		save(t, s, "01JAAAAAAAAAAAAAAAAAAAAWA2", 1, []breach.Regime{breach.GDPR}, breach.Coverage{breach.StageGDPRNotification: received})
		if got := due(t, l, notificationDue, 10); len(got) != 0 {
			t.Fatalf("Due(exactly the due time) = %v, want none: due then is not yet late", got)
		}
		got := due(t, l, notificationDue.Add(time.Second), 10)
		if len(got) != 1 || got[0].ID != "01JAAAAAAAAAAAAAAAAAAAAWA1" || got[0].Org != ContractOrg.ID || !got[0].OpenDue.Equal(notificationDue) {
			t.Fatalf("Due = %+v, want only WA1 under %s", got, notificationDue)
		}
	})
	t.Run("due reports come earliest first, at most limit", func(t *testing.T) {
		s, l := open(t)
		// Aware at the same time, received at different times: the first report of a NIS2 report
		// received after the early warning's due time leaves nis2.notification open; nis2.final
		// follows a month after the notification when it is covered.
		for i, id := range []breach.ReportID{"01JAAAAAAAAAAAAAAAAAAAAWB3", "01JAAAAAAAAAAAAAAAAAAAAWB1", "01JAAAAAAAAAAAAAAAAAAAAWB2"} {
			covered := breach.Coverage{breach.StageNIS2EarlyWarning: received, breach.StageNIS2Notification: received.Add(time.Duration(2-i) * time.Hour)}
			save(t, s, id, 1, []breach.Regime{breach.NIS2}, covered)
		}
		got := due(t, l, received.AddDate(0, 2, 0), 2)
		if len(got) != 2 || got[0].ID != "01JAAAAAAAAAAAAAAAAAAAAWB2" || got[1].ID != "01JAAAAAAAAAAAAAAAAAAAAWB1" {
			t.Fatalf("Due = %+v, want WB2 then WB1", got)
		}
		if want := received.AddDate(0, 1, 0); !got[0].OpenDue.Equal(want) {
			t.Fatalf("WB2 filed under %s, want %s (a month after its notification)", got[0].OpenDue, want)
		}
	})
	t.Run("a new version files the head again", func(t *testing.T) {
		s, l := open(t)
		const id = "01JAAAAAAAAAAAAAAAAAAAAWC1"
		save(t, s, id, 1, gdprNIS2, earlyOnly)
		covered := breach.Coverage{breach.StageGDPRNotification: received, breach.StageNIS2EarlyWarning: received,
			breach.StageNIS2Notification: received.Add(time.Hour)}
		save(t, s, id, 2, gdprNIS2, covered)
		got := due(t, l, received.AddDate(1, 0, 0), 10)
		if want := received.Add(time.Hour).AddDate(0, 1, 0); len(got) != 1 || !got[0].OpenDue.Equal(want) {
			t.Fatalf("Due = %+v, want %s under %s (nis2.final)", got, id, want)
		}
		covered[breach.StageNIS2Final] = received.Add(2 * time.Hour)
		save(t, s, id, 3, gdprNIS2, covered)
		if got := due(t, l, received.AddDate(1, 0, 0), 10); len(got) != 0 {
			t.Fatalf("Due = %+v, want none: every stage is covered", got)
		}
	})
	t.Run("SetOpenDue moves and removes a head at its latest version only", func(t *testing.T) {
		s, l := open(t)
		const id = "01JAAAAAAAAAAAAAAAAAAAAWD1"
		h := save(t, s, id, 1, gdprNIS2, earlyOnly)
		later := notificationDue.AddDate(0, 1, 0)
		if err := l.SetOpenDue(ctx, ContractOrg.ID, id, 2, later); err != nil {
			t.Fatalf("SetOpenDue at a stale latest: %v, want nil", err)
		}
		if err := l.SetOpenDue(ctx, "another-org", id, 1, later); err != nil {
			t.Fatalf("SetOpenDue under another organisation: %v, want nil", err)
		}
		if got := due(t, l, later.Add(time.Hour), 10); len(got) != 1 || !got[0].OpenDue.Equal(notificationDue) {
			t.Fatalf("Due = %+v, want it unmoved", got)
		}
		if err := l.SetOpenDue(ctx, ContractOrg.ID, id, 1, later); err != nil {
			t.Fatal(err)
		}
		if got := due(t, l, later.Add(time.Hour), 10); len(got) != 1 || !got[0].OpenDue.Equal(later) {
			t.Fatalf("Due = %+v, want it under %s", got, later)
		}
		if got := due(t, l, later, 10); len(got) != 0 {
			t.Fatalf("Due(before it) = %+v", got)
		}
		if err := l.SetOpenDue(ctx, ContractOrg.ID, id, 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got := due(t, l, later.AddDate(1, 0, 0), 10); len(got) != 0 {
			t.Fatalf("Due after removal = %+v", got)
		}
		if got, err := s.Head(ctx, ContractOrg.ID, id); err != nil || !SameHead(got, h) {
			t.Fatalf("Head after SetOpenDue = %+v, %v; want it unchanged", got, err)
		}
	})
	t.Run("a claim holds until it expires or is sent", func(t *testing.T) {
		_, l := open(t)
		const id, other = "01JAAAAAAAAAAAAAAAAAAAAWE1", "01JAAAAAAAAAAAAAAAAAAAAWE2"
		stage := breach.StageNIS2Notification
		now := notificationDue.Add(time.Minute)
		claim := func(t *testing.T, id breach.ReportID, at time.Time, want bool) {
			t.Helper()
			if got, err := l.ClaimOverdue(ctx, ContractOrg.ID, id, stage, at); err != nil || got != want {
				t.Fatalf("ClaimOverdue %s at %s = %v, %v; want %v", id, at, got, err, want)
			}
		}
		if marks, err := l.OverdueMarks(ctx, id); err != nil || len(marks) != 0 {
			t.Fatalf("OverdueMarks before any claim = %v, %v", marks, err)
		}
		claim(t, id, now, true)
		claim(t, id, now, false)
		claim(t, id, now.Add(breach.OverdueClaimTTL), false)
		claim(t, other, now, true) // another report's stage is another marker
		marks, err := l.OverdueMarks(ctx, id)
		if m := marks[stage]; err != nil || len(marks) != 1 || m.State != breach.OverduePending || !m.ClaimedAt.Equal(now) {
			t.Fatalf("OverdueMarks = %+v, %v; want %s pending since %s", marks, err, stage, now)
		}
		retaken := now.Add(breach.OverdueClaimTTL + time.Second)
		claim(t, id, retaken, true)
		if err := l.MarkOverdueSent(ctx, id, stage, 2, retaken.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		claim(t, id, retaken.AddDate(1, 0, 0), false)
		if marks, err := l.OverdueMarks(ctx, id); err != nil || marks[stage].State != breach.OverdueSent {
			t.Fatalf("OverdueMarks after sent = %+v, %v", marks, err)
		}
		if err := l.MarkOverdueSent(ctx, id, breach.StageNIS2Final, 2, retaken); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("MarkOverdueSent without a claim: %v, want not_found", err)
		}
	})
}
