package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Report is the body of POST /v1/reports (API.md, Report body). Required fields are plain values
// and always sent; optional ones are pointers or omitted when empty. The vocabularies (regimes,
// roles, sectors, categories…) are the contract's closed lists, sent as they are written there.
// The server validates everything and answers every failing field at once (see Error.Fields).
type Report struct {
	Regimes          []string          `json:"regimes"`
	Reporter         Reporter          `json:"reporter"`
	Organisation     Organisation      `json:"organisation"`
	Processor        *Processor        `json:"processor,omitempty"`
	Incident         Incident          `json:"incident"`
	Data             Data              `json:"data"`
	Consequences     string            `json:"consequences,omitempty"`
	Measures         Measures          `json:"measures"`
	SubjectsInformed *SubjectsInformed `json:"subjects_informed,omitempty"`
	LateReason       string            `json:"late_reason,omitempty"` // required when the report is late
}

// Reporter is the person filing the report.
type Reporter struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

// Organisation is the reporting organisation as the report states it. When it was provisioned
// with a SIREN, SIREN must be empty or equal to it.
type Organisation struct {
	LegalName string `json:"legal_name"`
	SIREN     string `json:"siren,omitempty"`
	Sector    string `json:"sector"`
	Country   string `json:"country"` // ISO 3166-1 alpha-2
	Role      string `json:"role"`
}

// Processor is the processor involved, when there is one.
type Processor struct {
	LegalName string `json:"legal_name,omitempty"`
	SIREN     string `json:"siren,omitempty"`
}

// Incident describes what happened. Times are sent in RFC 3339 with their offset; a zero
// OccurredAt or DiscoveredAt is left out.
type Incident struct {
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	OccurredAt   time.Time `json:"occurred_at,omitzero"`
	DiscoveredAt time.Time `json:"discovered_at,omitzero"`
	AwareAt      time.Time `json:"aware_at"` // the deadlines run from here; it never changes
	Ongoing      *bool     `json:"ongoing,omitempty"`
	BreachTypes  []string  `json:"breach_types"`
	Cause        string    `json:"cause"`
	CrossBorder  *bool     `json:"cross_border,omitempty"`
	MemberStates []string  `json:"member_states,omitempty"` // required when CrossBorder is true
}

// Data describes the people and data affected.
type Data struct {
	SubjectsAffected  int64    `json:"subjects_affected"`
	SubjectsEstimate  string   `json:"subjects_estimate"`
	RecordsAffected   *int64   `json:"records_affected,omitempty"`
	SubjectCategories []string `json:"subject_categories,omitempty"`
	DataCategories    []string `json:"data_categories"`
}

// Measures are what was done and what will be.
type Measures struct {
	Taken   string `json:"taken"`
	Planned string `json:"planned,omitempty"`
}

// SubjectsInformed says whether the people affected were told.
type SubjectsInformed struct {
	Status string `json:"status,omitempty"` // yes, no, planned
	Reason string `json:"reason,omitempty"`
}

// Receipt is the API's answer to an accepted report or supplement. Keep Raw: it is the receipt as
// the API signed it, what `breachctl receipt verify` checks offline.
type Receipt struct {
	ID         string     `json:"id"`
	Version    int        `json:"version"`
	Status     string     `json:"status"`
	ReceivedAt time.Time  `json:"received_at"`
	Stage      string     `json:"stage"`
	Severity   string     `json:"severity"`
	Late       bool       `json:"late"`
	Deadlines  []Deadline `json:"deadlines"`
	SHA256     string     `json:"sha256"` // of the stored document (see Document.SHA256)
	KeyID      string     `json:"key_id,omitempty"`
	Signature  string     `json:"signature,omitempty"`

	Raw            []byte `json:"-"` // the answer's bytes
	Replayed       bool   `json:"-"` // 200: an earlier call with this IdempotencyKey had been stored
	IdempotencyKey string `json:"-"` // the key the call sent
}

// Deadline is one stage of a report's regimes: Met is true when a covering version arrived by
// DueAt, false once DueAt passed without one, nil while pending.
type Deadline struct {
	Stage string    `json:"stage"`
	DueAt time.Time `json:"due_at"`
	Met   *bool     `json:"met"`
}

// Document is a stored version of a report (API.md, Stored document): the validated report with
// what the server computed. Raw holds its exact bytes, those the receipt's sha256 covers.
type Document struct {
	SchemaVersion int        `json:"schema_version"`
	ID            string     `json:"id"`
	Version       int        `json:"version"`
	OrgID         string     `json:"org_id"`
	ReceivedAt    time.Time  `json:"received_at"`
	Stage         string     `json:"stage"`
	Severity      string     `json:"severity"`
	Late          bool       `json:"late"`
	Deadlines     []Deadline `json:"deadlines"`
	Report        Report     `json:"report"`

	Raw []byte `json:"-"`
}

// UnmarshalJSON decodes a stored document and keeps its bytes in Raw.
func (d *Document) UnmarshalJSON(b []byte) error {
	type plain Document // without this method
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = Document(p)
	d.Raw = bytes.Clone(b)
	return nil
}

// SHA256 is the hex SHA-256 of the document's bytes: equal to the receipt's sha256 when these
// are the bytes the API received and stored for that version.
func (d Document) SHA256() string {
	sum := sha256.Sum256(d.Raw)
	return hex.EncodeToString(sum[:])
}

// ReportView is GET /v1/reports/{id}: the latest version's stored document and every version.
type ReportView struct {
	ID       string        `json:"id"`
	Version  int           `json:"version"` // the latest
	Latest   Document      `json:"latest"`
	Versions []VersionInfo `json:"versions"` // oldest first
}

// VersionInfo describes one version of a report without its document.
type VersionInfo struct {
	Version    int       `json:"version"`
	Stage      string    `json:"stage"`
	ReceivedAt time.Time `json:"received_at"`
	Severity   string    `json:"severity"`
	Late       bool      `json:"late"`
	SHA256     string    `json:"sha256"`
}

// Page is one page of GET /v1/reports, newest first. NextCursor is empty on the last page.
type Page struct {
	Items      []ReportSummary `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// ReportSummary is a report as a listing shows it: the state of its latest version.
type ReportSummary struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"` // the latest
	Regimes    []string  `json:"regimes"`
	Stage      string    `json:"stage"`
	Severity   string    `json:"severity"`
	Late       bool      `json:"late"`
	ReceivedAt time.Time `json:"received_at"` // of version 1
	UpdatedAt  time.Time `json:"updated_at"`  // of the latest version
}
