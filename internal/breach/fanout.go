package breach

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
)

// Archive keeps stored documents immutably (internal/archive: S3 with Object Lock).
type Archive interface {
	// Put stores doc under key once, with its retention. An object already there with the same
	// SHA-256 (a retry) is success; one with another digest is an error, never overwritten.
	Put(ctx context.Context, key string, doc []byte, sha256Hex string) error
}

// Alerts tells regulators (internal/alert: SNS, with message attributes for filter policies).
type Alerts interface {
	Publish(ctx context.Context, a Alert) error
}

// Ledger records which versions have been fanned out, so that a retried or redriven record
// publishes no second alert, and so that versions the stream never delivered can be found.
type Ledger interface {
	// Alerted reports whether the version's alert was published.
	Alerted(ctx context.Context, id ReportID, n int) (bool, error)
	// MarkAlerted records the published alert; the version is then no longer pending.
	MarkAlerted(ctx context.Context, id ReportID, n int, at time.Time) error
	// Pending lists versions received before `before` whose fan-out is not done, oldest first.
	Pending(ctx context.Context, before time.Time, limit int) ([]VersionRef, error)
	VersionReader
}

// VersionRef names one version of a report.
type VersionRef struct {
	ReportID ReportID
	Number   int
}

// AlertKind is the `kind` of an alert and of its message attribute.
type AlertKind string

const (
	AlertNew        AlertKind = "new"        // version 1 of a report
	AlertSupplement AlertKind = "supplement" // a later version
	AlertOverdue    AlertKind = "overdue"    // a stage past its due time without a covering version (Watch)
	AlertCorrelated AlertKind = "correlated" // reports of several organisations name one processor (correlate.go)
)

// Alert is the message regulators receive (API.md, Fan-out): for an accepted version (new,
// supplement), an overdue stage of a report (overdue: the report's latest version, Stage the
// overdue stage, Deadlines as seen when it was found overdue), or a processor named by several
// organisations' reports (correlated: see correlate.go). It carries no reporter contact details:
// only what a regulator needs to triage, and the digest to fetch and verify the full report.
type Alert struct {
	Kind             AlertKind  `json:"kind"`
	ReportID         ReportID   `json:"report_id"`
	Version          int        `json:"version"`
	OrgID            OrgID      `json:"org_id"`
	OrganisationName string     `json:"organisation_name"`
	Country          string     `json:"country"`
	Regimes          []Regime   `json:"regimes"`
	Stage            Stage      `json:"stage"`
	Severity         Severity   `json:"severity"`
	Late             bool       `json:"late"`
	Sector           string     `json:"sector"`
	SubjectsAffected int64      `json:"subjects_affected"`
	DataCategories   []string   `json:"data_categories"`
	Deadlines        []Deadline `json:"deadlines"`
	ReceivedAt       time.Time  `json:"received_at"`
	SHA256           string     `json:"sha256"`
	// Correlated alerts only: the processor, as the joining report names it, and every report of
	// the group when it joined, oldest first, itself included.
	Processor *Processor         `json:"processor,omitzero"`
	Reports   []CorrelatedReport `json:"reports,omitzero"`
}

// ArchiveKey is where a version's document is archived.
func ArchiveKey(v Version) string {
	return fmt.Sprintf("reports/%s/%s/v%d.json", v.OrgID, v.ReportID, v.Number)
}

// Fanout archives and alerts each accepted version, idempotently: process-report runs it for
// every stream record (Lambda may deliver a record more than once), the sweeper and
// `breachctl redrive` for versions the stream did not deliver. A version naming a processor also
// joins that processor's group (correlate.go), which may alert regulators of a correlation.
type Fanout struct {
	store   Store
	ledger  Ledger
	groups  Correlations
	archive Archive
	alerts  Alerts
	now     Clock
}

// NewFanout builds a Fanout.
func NewFanout(store Store, ledger Ledger, groups Correlations, archive Archive, alerts Alerts, clock Clock) *Fanout {
	return &Fanout{store: store, ledger: ledger, groups: groups, archive: archive, alerts: alerts, now: clock}
}

// Done is what one Process call did itself, for the fan-out's metrics: when it stored the
// version's document in the archive and when it published the version's alert, zero for a step
// it did not do. For a version the ledger already knows as alerted (a redelivered record) both
// are zero. A retry after a later step failed puts the document again, which the archive answers
// as success: Archived is then set again.
type Done struct {
	ReceivedAt time.Time // the version's
	Archived   time.Time
	Alerted    time.Time
}

// Process archives v, joins its processor's group (publishing a correlated alert when that is an
// event), then publishes its alert and records it in the ledger. Each step is safe to repeat: the
// archive keeps one object per key, a report joins a group once, and a version the ledger knows
// as alerted is not processed again. The ledger records a version only once all of its steps are
// done, so a failing step is retried (by the stream, the sweep or redrive) with the others. A
// failure between publishing and recording can repeat an alert, with the same report_id and
// version, so regulators can tell it is the same. It returns what it did, even on failure.
func (f *Fanout) Process(ctx context.Context, v Version) (Done, error) {
	done := Done{ReceivedAt: v.ReceivedAt}
	alerted, err := f.ledger.Alerted(ctx, v.ReportID, v.Number)
	if err != nil || alerted {
		return done, err
	}
	if err := f.archive.Put(ctx, ArchiveKey(v), v.Document, v.SHA256); err != nil {
		return done, fmt.Errorf("archive %s v%d: %w", v.ReportID, v.Number, err)
	}
	done.Archived = f.now()
	a, processor, err := alertOf(ctx, f.store, v)
	if err != nil {
		return done, err
	}
	if err := f.correlate(ctx, a, processor); err != nil {
		return done, fmt.Errorf("correlate %s v%d: %w", v.ReportID, v.Number, err)
	}
	if err := f.alerts.Publish(ctx, a); err != nil {
		return done, fmt.Errorf("alert %s v%d: %w", v.ReportID, v.Number, err)
	}
	done.Alerted = f.now()
	return done, f.ledger.MarkAlerted(ctx, v.ReportID, v.Number, done.Alerted)
}

// alertOf reads a version's alert from its stored document, the organisation's name and country
// from its provisioning; it also returns the processor the version names (nil when none).
func alertOf(ctx context.Context, store Store, v Version) (Alert, *Processor, error) {
	var doc document
	if err := json.Unmarshal(v.Document, &doc); err != nil {
		return Alert{}, nil, fmt.Errorf("stored document of %s v%d: %w", v.ReportID, v.Number, err)
	}
	if doc.Report == nil {
		return Alert{}, nil, fmt.Errorf("stored document of %s v%d has no report", v.ReportID, v.Number)
	}
	org, err := store.Organisation(ctx, v.OrgID)
	if err != nil {
		return Alert{}, nil, fmt.Errorf("organisation %s: %w", v.OrgID, err)
	}
	kind := AlertSupplement
	if doc.Version == 1 {
		kind = AlertNew
	}
	r := doc.Report
	return Alert{
		Kind: kind, ReportID: doc.ID, Version: doc.Version, OrgID: doc.OrgID,
		OrganisationName: org.LegalName, Country: org.Country,
		Regimes: r.Regimes, Stage: doc.Stage, Severity: doc.Severity, Late: doc.Late,
		Sector: r.Organisation.Sector, SubjectsAffected: r.Data.SubjectsAffected.N,
		DataCategories: r.Data.DataCategories, Deadlines: doc.Deadlines,
		ReceivedAt: doc.ReceivedAt, SHA256: v.SHA256,
	}, r.Processor, nil
}

// SweepAge is how old a version whose fan-out is still pending must be before the sweeper takes
// it: long enough that the stream has had its chance.
const SweepAge = 15 * time.Minute

// Sweep processes the versions older than SweepAge whose fan-out is pending, up to limit. It goes
// on past a failing version and returns what Process did for each version it tried, in order (a
// step done before a failure counts; zero for a version it could not read), how many of them
// failed, and the first error.
func (f *Fanout) Sweep(ctx context.Context, limit int) (tried []Done, failed int, err error) {
	refs, err := f.ledger.Pending(ctx, f.now().Add(-SweepAge), limit)
	if err != nil {
		return nil, 0, err
	}
	var first error
	for _, ref := range refs {
		var d Done
		v, err := f.ledger.Version(ctx, ref.ReportID, ref.Number)
		if err == nil {
			d, err = f.Process(ctx, v)
		}
		tried = append(tried, d)
		if err != nil {
			first = cmp.Or(first, err)
			failed++
		}
	}
	return tried, failed, first
}
