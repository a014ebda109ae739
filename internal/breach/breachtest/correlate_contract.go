package breachtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// CorrelationsContract is the behaviour every breach.Correlations must show. open returns a fresh,
// empty one.
func CorrelationsContract(t *testing.T, open func(t *testing.T) breach.Correlations) {
	ctx := context.Background()
	const siren, otherSIREN = "443061841", "552100554"
	named := time.Date(2026, 11, 21, 12, 0, 0, 500_000_000, time.UTC)
	member := func(id breach.ReportID, org breach.OrgID, at time.Time) breach.CorrelatedReport {
		return breach.CorrelatedReport{ReportID: id, Version: 1, OrgID: org, OrganisationName: "Org " + string(org), Country: "FR",
			Sector: "insurance", Regimes: []breach.Regime{breach.GDPR, breach.NIS2}, Severity: breach.High, NamedAt: at}
	}
	group := func(t *testing.T, c breach.Correlations, siren string) breach.ProcessorGroup {
		t.Helper()
		g, err := c.ProcessorGroup(ctx, siren)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	t.Run("a processor nobody named has an empty group", func(t *testing.T) {
		c := open(t)
		if g := group(t, c, siren); g.Seq != 0 || len(g.Members) != 0 {
			t.Fatalf("group = %+v, want empty at 0", g)
		}
		if ev, err := c.Correlation(ctx, siren, "01JAAAAAAAAAAAAAAAAAAAACA1"); err != nil || ev != nil {
			t.Fatalf("Correlation = %+v, %v; want none", ev, err)
		}
	})
	t.Run("joins are serialised by the sequence number", func(t *testing.T) {
		c := open(t)
		a := member("01JAAAAAAAAAAAAAAAAAAAACB1", "org-a", named)
		if err := c.JoinProcessorGroup(ctx, siren, 0, a, nil); err != nil {
			t.Fatal(err)
		}
		b := member("01JAAAAAAAAAAAAAAAAAAAACB2", "org-b", named.Add(time.Hour))
		if err := c.JoinProcessorGroup(ctx, siren, 0, b, nil); breach.ErrorCode(err) != breach.VersionConflict {
			t.Fatalf("join at a stale sequence number: %v, want version_conflict", err)
		}
		if err := c.JoinProcessorGroup(ctx, siren, 1, a, nil); breach.ErrorCode(err) != breach.VersionConflict {
			t.Fatalf("joining twice: %v, want version_conflict", err)
		}
		g := group(t, c, siren)
		if g.Seq != 1 || len(g.Members) != 1 || !sameMember(g.Members[0], a) {
			t.Fatalf("group = %+v, want %+v alone at 1", g, a)
		}
		if g := group(t, c, otherSIREN); g.Seq != 0 || len(g.Members) != 0 {
			t.Fatalf("another processor's group = %+v, want empty", g)
		}
	})
	t.Run("a join stores its event, pending until sent", func(t *testing.T) {
		c := open(t)
		a := member("01JAAAAAAAAAAAAAAAAAAAACC1", "org-a", named)
		b := member("01JAAAAAAAAAAAAAAAAAAAACC2", "org-b", named.Add(24*time.Hour))
		b.Regimes, b.Severity, b.Version = []breach.Regime{breach.DORA}, breach.Critical, 3
		if err := c.JoinProcessorGroup(ctx, siren, 0, a, nil); err != nil {
			t.Fatal(err)
		}
		ev := &breach.Correlation{SIREN: siren, Report: b, Members: []breach.CorrelatedReport{a, b}}
		if err := c.JoinProcessorGroup(ctx, siren, 1, b, ev); err != nil {
			t.Fatal(err)
		}
		if none, err := c.Correlation(ctx, siren, a.ReportID); err != nil || none != nil {
			t.Fatalf("Correlation of a join without an event = %+v, %v", none, err)
		}
		got, err := c.Correlation(ctx, siren, b.ReportID)
		if err != nil || got == nil || got.Sent || got.SIREN != siren || !sameMember(got.Report, b) || len(got.Members) != 2 ||
			!sameMember(got.Members[0], a) || !sameMember(got.Members[1], b) {
			t.Fatalf("Correlation = %+v, %v; want %+v pending", got, err, ev)
		}
		if err := c.MarkCorrelationSent(ctx, siren, b.ReportID, named.Add(25*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Correlation(ctx, siren, b.ReportID); err != nil || got == nil || !got.Sent {
			t.Fatalf("Correlation after sent = %+v, %v", got, err)
		}
		if err := c.MarkCorrelationSent(ctx, siren, a.ReportID, named); breach.ErrorCode(err) != breach.NotFound {
			t.Fatalf("MarkCorrelationSent without an event: %v, want not_found", err)
		}
		g := group(t, c, siren)
		if g.Seq != 2 || len(g.Members) != 2 {
			t.Fatalf("group = %+v, want both at 2", g)
		}
	})
}

// sameMember compares two members, times as instants.
func sameMember(a, b breach.CorrelatedReport) bool {
	return a.ReportID == b.ReportID && a.Version == b.Version && a.OrgID == b.OrgID && a.OrganisationName == b.OrganisationName &&
		a.Country == b.Country && a.Sector == b.Sector && slices.Equal(a.Regimes, b.Regimes) && a.Severity == b.Severity &&
		a.NamedAt.Equal(b.NamedAt)
}
