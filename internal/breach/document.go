package breach

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
)

// SchemaVersion is the version of the stored document's shape.
const SchemaVersion = 1

// Version is one immutable version of a report as stored: its canonical document and digest.
type Version struct {
	OrgID      OrgID
	ReportID   ReportID
	Number     int
	Stage      Stage
	ReceivedAt time.Time
	Severity   Severity
	Late       bool
	Document   []byte // RFC 8785 canonical JSON: archived byte for byte
	SHA256     string // hex SHA-256 of Document
}

// document is the stored document's shape (API.md, Stored document and receipt).
type document struct {
	Deadlines     []Deadline `json:"deadlines"`
	ID            ReportID   `json:"id"`
	Late          bool       `json:"late"`
	OrgID         OrgID      `json:"org_id"`
	ReceivedAt    time.Time  `json:"received_at"`
	Report        *Report    `json:"report"`
	SchemaVersion int        `json:"schema_version"`
	Severity      Severity   `json:"severity"`
	Stage         Stage      `json:"stage"`
	Version       int        `json:"version"`
}

// Receipt is what a client gets for an accepted version (201, or 200 on a replay). Its members
// are in API.md's order; the signature covers their canonical form (SignedContent), whatever the
// order on the wire.
type Receipt struct {
	ID         ReportID   `json:"id"`
	Version    int        `json:"version"`
	Status     string     `json:"status"`
	ReceivedAt time.Time  `json:"received_at"`
	Stage      Stage      `json:"stage"`
	Severity   Severity   `json:"severity"`
	Late       bool       `json:"late"`
	Deadlines  []Deadline `json:"deadlines"`
	SHA256     string     `json:"sha256"`
	KeyID      string     `json:"key_id,omitempty"`    // the Signer's: the key that signed it
	Signature  string     `json:"signature,omitempty"` // base64 of the DER ECDSA signature
}

// NewVersion assembles a version, its canonical stored document and the receipt for it.
func NewVersion(org OrgID, id ReportID, n int, stage Stage, received time.Time, sev Severity, late bool,
	deadlines []Deadline, r *Report) (Version, Receipt, error) {
	received = received.UTC()
	doc, err := canonicalJSON(document{
		SchemaVersion: SchemaVersion, ID: id, Version: n, OrgID: org, ReceivedAt: received,
		Stage: stage, Severity: sev, Late: late, Deadlines: deadlines, Report: r,
	})
	if err != nil {
		return Version{}, Receipt{}, err
	}
	sum := sha256.Sum256(doc)
	v := Version{OrgID: org, ReportID: id, Number: n, Stage: stage, ReceivedAt: received,
		Severity: sev, Late: late, Document: doc, SHA256: hex.EncodeToString(sum[:])}
	rc := Receipt{ID: id, Version: n, Status: "received", ReceivedAt: received, Stage: stage,
		Severity: sev, Late: late, Deadlines: deadlines, SHA256: v.SHA256}
	return v, rc, nil
}

// canonicalJSON is the RFC 8785 canonical JSON of the stored document. With fields declared in
// the order of their names, integers only and json v2's minimal string escaping (the same as RFC
// 8785's), json.Marshal's output is already canonical: jsontext.Value.Canonicalize would parse,
// sort and rewrite it for nothing, a quarter of a submission's CPU time.
func canonicalJSON(v document) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal stored document: %w", err)
	}
	return b, nil
}
