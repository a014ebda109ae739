package breach

import (
	"context"
	"time"
)

// Store keeps organisations, report versions and idempotency records. Implemented by
// internal/dynamo; breachtest.StoreContract is the behaviour every implementation must show.
type Store interface {
	// Organisation returns a provisioned organisation, or an *Error NotFound.
	Organisation(ctx context.Context, id OrgID) (Organisation, error)
	// Idempotency returns the record for key if one is live at now, or nil.
	Idempotency(ctx context.Context, key IdempotencyKey, now time.Time) (*IdempotencyRecord, error)
	// SaveVersion writes the version and the idempotency record atomically, each only if absent
	// (an idempotency record that expired by now counts as absent). When a live record for the
	// key exists it writes nothing and returns that record. When the version exists it returns
	// an *Error VersionConflict.
	SaveVersion(ctx context.Context, v Version, rec IdempotencyRecord, now time.Time) (*IdempotencyRecord, error)
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
