package breach

import (
	"context"
	"time"
)

// Store keeps organisations, reports and idempotency records. Implemented by internal/dynamo;
// breachtest.StoreContract is the behaviour every implementation must show.
//
// Reads by report id alone (Version, Versions, Owner) do no tenancy check: callers reach them
// only after Head has found the report for the calling organisation, or on a regulator's route.
type Store interface {
	// Organisation returns a provisioned organisation, or an *Error NotFound.
	Organisation(ctx context.Context, id OrgID) (Organisation, error)
	// Idempotency returns the record for key if one is live at now, or nil.
	Idempotency(ctx context.Context, key IdempotencyKey, now time.Time) (*IdempotencyRecord, error)
	// SaveVersion writes the version, the report's new head and the idempotency record
	// atomically. The version and the record are written only if absent (an idempotency record
	// that expired by now counts as absent); the head only if it moves on by one: for version 1
	// no head may exist, for version n the stored head's Latest must be n-1. When a live record
	// for the key exists it writes nothing and returns that record (this check comes first).
	// When the version exists or the head condition fails it returns an *Error VersionConflict.
	// head.Latest is v.Number, head.ID v.ReportID and head.Org v.OrgID.
	SaveVersion(ctx context.Context, v Version, head ReportHead, rec IdempotencyRecord, now time.Time) (*IdempotencyRecord, error)
	// Head returns org's report id, or an *Error NotFound when org has no such report (another
	// organisation's included): the organisation is part of the key, not a filter afterwards.
	Head(ctx context.Context, org OrgID, id ReportID) (ReportHead, error)
	// Reports lists org's reports newest first (by id: ULIDs sort by the first version's
	// reception), starting after the report `after` (from the start when empty), at most limit
	// of them; more says whether others follow the last one returned.
	Reports(ctx context.Context, org OrgID, after ReportID, limit int) (heads []ReportHead, more bool, err error)
	// Versions lists a report's versions oldest first, without their documents, or an *Error
	// NotFound for an unknown report.
	Versions(ctx context.Context, id ReportID) ([]VersionInfo, error)
	// Owner returns the organisation a report belongs to, or an *Error NotFound.
	Owner(ctx context.Context, id ReportID) (OrgID, error)
	VersionReader
}

// VersionReader reads stored versions: the read side and the fan-out ledger both need it.
type VersionReader interface {
	// Version reads a stored version, or an *Error NotFound.
	Version(ctx context.Context, id ReportID, n int) (Version, error)
}

// ReportHead is the current state of a report, rewritten with each version: what a supplement is
// checked against and what a listing shows, without reading any document.
type ReportHead struct {
	Org        OrgID
	ID         ReportID
	Latest     int       // the latest version's number; If-Match must name it
	Regimes    []Regime  // the latest version's; a supplement may only add to them
	AwareAt    time.Time // incident.aware_at, the same in every version
	Covered    Coverage  // when each deadline stage was first covered
	ReceivedAt time.Time // of version 1
	UpdatedAt  time.Time // of the latest version
	Stage      Stage     // of the latest version
	Severity   Severity  // of the latest version
	Late       bool      // of the latest version
}

// VersionInfo describes one stored version without its document.
type VersionInfo struct {
	Number     int       `json:"version"`
	Stage      Stage     `json:"stage"`
	ReceivedAt time.Time `json:"received_at"`
	Severity   Severity  `json:"severity"`
	Late       bool      `json:"late"`
	SHA256     string    `json:"sha256"`
}

// Info is the version without its document.
func (v Version) Info() VersionInfo {
	return VersionInfo{Number: v.Number, Stage: v.Stage, ReceivedAt: v.ReceivedAt, Severity: v.Severity, Late: v.Late, SHA256: v.SHA256}
}

// IdempotencyKey scopes a client's Idempotency-Key to its organisation, route and report.
type IdempotencyKey struct {
	Org      OrgID
	Route    string
	ReportID ReportID // empty for POST /v1/reports
	Key      string
}

// IdempotencyRecord remembers the answer to the first request made with a key.
type IdempotencyRecord struct {
	Key           IdempotencyKey
	RequestSHA256 string // of the raw request body
	Receipt       []byte // the receipt's JSON, replayed byte for byte
	ExpiresAt     time.Time
}

// IdempotencyTTL is how long a key's record lives.
const IdempotencyTTL = 24 * time.Hour
