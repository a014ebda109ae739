package breach

import (
	"context"
	"fmt"
	"time"
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
	// Version reads a stored version.
	Version(ctx context.Context, id ReportID, n int) (Version, error)
}

// VersionRef names one version of a report.
type VersionRef struct {
	ReportID ReportID
	Number   int
}

// AlertKind is the `kind` of an alert and of its message attribute.
type AlertKind string

const (
	AlertNew        AlertKind = "new"
	AlertSupplement AlertKind = "supplement"
)

// Alert is the message regulators receive for an accepted version (API.md, Fan-out). It carries
// no reporter contact details: only what a regulator needs to triage, and the digest to fetch
// and verify the full report.
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
}

// ArchiveKey is where a version's document is archived.
func ArchiveKey(v Version) string {
	return fmt.Sprintf("reports/%s/%s/v%d.json", v.OrgID, v.ReportID, v.Number)
}
