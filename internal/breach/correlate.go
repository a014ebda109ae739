package breach

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Correlation: when reports of different organisations name the same processor (by its SIREN,
// processor.siren) within CorrelationWindow of each other, regulators get one `correlated` alert
// listing them, the Viamedis/Almerys and OFII cases: one processor breached, each of its clients
// reporting its own part. Only regulators learn of it: the alert goes to the alert topic, and
// nothing an organisation can read (its reports, its receipts, the API's answers) changes.
//
// Each report naming a processor joins the processor's group once, when the fan-out processes the
// first version naming it (its member records that version and its received_at, NamedAt). A join
// is an event, alerted, when the group's reports within CorrelationWindow of NamedAt include
// another organisation's and none of its own organisation's: one alert each time a new
// organisation joins the group, listing every report of the window. Joins are serialised per
// processor (Correlations.JoinProcessorGroup fails when the group moved on since it was read), so
// two organisations' reports processed at once still make one alert, and the event is stored with
// the join, so a redelivered record publishes it if it was not sent and never decides it again.
// The edge is the fan-out's: an alert published but not recorded as sent is published again (as
// may be one whose version is processed twice at once, by the stream and a redrive), with the same
// report_id (the joining report), kind and processor, on which subscribers deduplicate.

// CorrelationWindow is how close in time (by NamedAt) reports must name a processor to be
// correlated.
const CorrelationWindow = 30 * 24 * time.Hour

// CorrelatedReport is one report of a processor's group, as it was when it joined: what a
// regulator needs to find it (id, organisation) and to route the alert (regimes, severity,
// sector, country).
type CorrelatedReport struct {
	ReportID         ReportID  `json:"report_id"`
	Version          int       `json:"version"` // the version that joined: the first naming the processor
	OrgID            OrgID     `json:"org_id"`
	OrganisationName string    `json:"organisation_name"`
	Country          string    `json:"country"`
	Sector           string    `json:"sector"`
	Regimes          []Regime  `json:"regimes"`
	Severity         Severity  `json:"severity"`
	NamedAt          time.Time `json:"named_at"` // received_at of that version
}

// ProcessorGroup is every report that named a processor (those older than twice the window may
// have been dropped), and the sequence number a join must name.
type ProcessorGroup struct {
	Seq     int
	Members []CorrelatedReport
}

// Correlation is the event of one report joining a processor's group.
type Correlation struct {
	SIREN   string
	Report  CorrelatedReport   // the joining report
	Members []CorrelatedReport // the group's reports within the window when it joined, oldest first, itself included
	Sent    bool               // its alert was published
}

// Correlations keeps the processors' groups (internal/dynamo: one partition per SIREN, which
// only the fan-out's role may read).
type Correlations interface {
	// ProcessorGroup reads a processor's group (empty, at Seq 0, when nobody named it).
	ProcessorGroup(ctx context.Context, siren string) (ProcessorGroup, error)
	// JoinProcessorGroup adds m to the group read at seq, and stores c (nil: the join is no
	// event) with it, in one write. When the group is no longer at seq, or m is a member already,
	// it writes nothing and returns an *Error VersionConflict: read the group again.
	JoinProcessorGroup(ctx context.Context, siren string, seq int, m CorrelatedReport, c *Correlation) error
	// Correlation returns the event of a report's joining, nil when its joining was none.
	Correlation(ctx context.Context, siren string, id ReportID) (*Correlation, error)
	// MarkCorrelationSent records the event's alert as published.
	MarkCorrelationSent(ctx context.Context, siren string, id ReportID, at time.Time) error
}

// joinAttempts bounds the reads and joins of one version against a group others keep joining.
const joinAttempts = 12

// correlate joins the report of a (a version's own alert) to the group of the processor it names,
// and publishes the correlated alert when that is an event. A version of a report that has joined
// already does nothing, but for the joining version itself, whose event is published if it was
// not (the retry of a failed publish).
func (f *Fanout) correlate(ctx context.Context, a Alert, p *Processor) error {
	if p == nil || p.SIREN == "" {
		return nil
	}
	me := CorrelatedReport{ReportID: a.ReportID, Version: a.Version, OrgID: a.OrgID, OrganisationName: a.OrganisationName,
		Country: a.Country, Sector: a.Sector, Regimes: slices.Clone(a.Regimes), Severity: a.Severity, NamedAt: a.ReceivedAt.UTC()}
	for attempt := range joinAttempts {
		g, err := f.groups.ProcessorGroup(ctx, p.SIREN)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(g.Members, func(m CorrelatedReport) bool { return m.ReportID == a.ReportID }); i >= 0 {
			if g.Members[i].Version != a.Version {
				return nil // another version joined; its own processing announces its event
			}
			c, err := f.groups.Correlation(ctx, p.SIREN, a.ReportID)
			if err != nil || c == nil || c.Sent {
				return err
			}
			return f.announce(ctx, *c, a, p)
		}
		c := joining(p.SIREN, me, g.Members)
		err = f.groups.JoinProcessorGroup(ctx, p.SIREN, g.Seq, me, c)
		if ErrorCode(err) == VersionConflict {
			// Another report joined since the read (or this one did, on a call that failed after
			// taking effect): read again, after a pause growing with the attempts.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
			}
			continue
		}
		if err != nil || c == nil {
			return err
		}
		return f.announce(ctx, *c, a, p)
	}
	return fmt.Errorf("processor %s: its group changed on each of %d attempts to join it", p.SIREN, joinAttempts)
}

// joining is the event of me joining a group of members, nil when it is none: it is one when the
// reports within the window of me include another organisation's and none of me's own.
func joining(siren string, me CorrelatedReport, members []CorrelatedReport) *Correlation {
	var window []CorrelatedReport
	for _, m := range members {
		if d := m.NamedAt.Sub(me.NamedAt); d > CorrelationWindow || d < -CorrelationWindow {
			continue
		}
		if m.OrgID == me.OrgID {
			return nil // its organisation is in the group already
		}
		window = append(window, m)
	}
	if len(window) == 0 {
		return nil
	}
	window = append(window, me)
	slices.SortFunc(window, func(a, b CorrelatedReport) int {
		if c := a.NamedAt.Compare(b.NamedAt); c != 0 {
			return c
		}
		return strings.Compare(string(a.ReportID), string(b.ReportID))
	})
	return &Correlation{SIREN: siren, Report: me, Members: window}
}

// announce publishes the correlated alert of c and records it sent. a is the joining version's own
// alert: the correlated one describes that version, but for its regimes (every regime of the
// group's reports) and severity (the highest of theirs), so that each regulator whose filter
// policy matches one of the reports receives it, and the processor and reports it adds.
func (f *Fanout) announce(ctx context.Context, c Correlation, a Alert, p *Processor) error {
	a.Kind = AlertCorrelated
	a.Processor = &Processor{SIREN: c.SIREN, LegalName: p.LegalName}
	a.Reports = c.Members
	a.Regimes, a.Severity = nil, Low
	for _, m := range c.Members {
		for _, r := range m.Regimes {
			if !slices.Contains(a.Regimes, r) {
				a.Regimes = append(a.Regimes, r)
			}
		}
		if rank(m.Severity) > rank(a.Severity) {
			a.Severity = m.Severity
		}
	}
	slices.SortFunc(a.Regimes, func(x, y Regime) int { return slices.Index(regimes, x) - slices.Index(regimes, y) })
	if err := f.alerts.Publish(ctx, a); err != nil {
		return fmt.Errorf("correlated alert of processor %s: %w", c.SIREN, err)
	}
	return f.groups.MarkCorrelationSent(ctx, c.SIREN, c.Report.ReportID, f.now())
}

// rank orders severities, low first.
func rank(s Severity) int {
	switch s {
	case Medium:
		return 1
	case High:
		return 2
	case Critical:
		return 3
	}
	return 0
}
