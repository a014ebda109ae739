package breach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// RouteSubmit is the route a first report arrives on; it scopes idempotency keys.
const RouteSubmit = "POST /v1/reports"

// Intake accepts reports: validate, compute deadlines and severity, store durably.
type Intake struct {
	store  Store
	parser *Parser
	now    Clock
	newID  IDSource
	signer Signer // nil: receipts go unsigned (tests only; see SignReceipts)
}

// NewIntake builds an intake over store with an injected clock and id source.
func NewIntake(store Store, clock Clock, ids IDSource, opts ...Option) *Intake {
	in := &Intake{store: store, parser: NewParser(), now: clock, newID: ids}
	for _, o := range opts {
		o(in)
	}
	return in
}

// Submission is one POST /v1/reports request, as the HTTP layer hands it over.
type Submission struct {
	Org            OrgID
	IdempotencyKey string
	Body           []byte
}

// Accepted is the answer to a submission that was stored (or replayed).
type Accepted struct {
	Receipt  []byte // JSON body of the answer
	Replay   bool   // true: an earlier request with the same key and body; answer 200, not 201
	ID       ReportID
	Version  int
	Severity Severity
	Late     bool
	Regimes  []Regime // the version's regimes; not set on a replay (the receipt does not name them)
}

// Submit validates and stores a first report. The order of checks follows API.md: validation
// (400), idempotent replay (200), then lateness (422).
func (in *Intake) Submit(ctx context.Context, s Submission) (Accepted, error) {
	org, err := in.store.Organisation(ctx, s.Org)
	if err != nil {
		// The key resolved to this organisation, so its absence is our fault, never a 404.
		return Accepted{}, fmt.Errorf("organisation %s of a valid key: %v", s.Org, err)
	}
	now := in.now().UTC()
	headerFields := checkIdempotencyKey(s.IdempotencyKey)
	r, err := in.parser.Parse(s.Body, org, now)
	if err != nil {
		return Accepted{}, withFields(err, headerFields)
	}
	if len(headerFields) > 0 {
		return Accepted{}, invalid(headerFields)
	}

	sum := sha256.Sum256(s.Body)
	key := IdempotencyKey{Org: s.Org, Route: RouteSubmit, Key: s.IdempotencyKey}
	requestSHA := hex.EncodeToString(sum[:])

	aware := r.Incident.AwareAt.T
	covered := FirstCoverage(r.Regimes, aware, now)
	late := IsLate(r.Regimes, aware, covered, slices.Collect(maps.Keys(covered)), now)
	if late && strings.TrimSpace(r.LateReason) == "" {
		// A retried request must replay its first answer even once the deadline has passed.
		prior, err := in.store.Idempotency(ctx, key, now)
		if err != nil {
			return Accepted{}, err
		}
		if prior != nil {
			return replay(prior, requestSHA)
		}
		return Accepted{}, &Error{Code: LateReasonRequired,
			Msg:    "the report is late: explain why in late_reason",
			Fields: []FieldError{{Field: "late_reason", Rule: RuleRequiredIfLate}}}
	}

	head := ReportHead{Org: s.Org, ID: in.newID(now), Latest: 1, Regimes: r.Regimes, AwareAt: aware, Covered: covered,
		ReceivedAt: now, UpdatedAt: now, Stage: StageInitial, Severity: SeverityOf(r, late), Late: late}
	return in.save(ctx, r, head, key, requestSHA, now)
}

// save stores version head.Latest of a report, as head describes it (its stage, severity,
// lateness and coverage), with its signed receipt and the idempotency record: what first reports
// and supplements share once they are checked.
func (in *Intake) save(ctx context.Context, r *Report, head ReportHead, key IdempotencyKey, requestSHA string, now time.Time) (Accepted, error) {
	v, rc, err := NewVersion(head.Org, head.ID, head.Latest, head.Stage, now, head.Severity, head.Late,
		Deadlines(r.Regimes, head.AwareAt, head.Covered, now), r)
	if err != nil {
		return Accepted{}, err
	}
	receipt, prior, err := in.signedReceipt(ctx, rc, key, now)
	if err != nil {
		return Accepted{}, err
	}
	if prior != nil {
		return replay(prior, requestSHA)
	}
	// The record keeps the signed receipt: a replay answers it byte for byte, signature included.
	rec := IdempotencyRecord{Key: key, RequestSHA256: requestSHA, Receipt: receipt, ExpiresAt: now.Add(IdempotencyTTL)}
	prior, err = in.store.SaveVersion(ctx, v, head, rec, now)
	if err != nil {
		return Accepted{}, err // for a supplement, VersionConflict: another was stored since its head was read
	}
	if prior != nil {
		return replay(prior, requestSHA)
	}
	return Accepted{Receipt: receipt, ID: head.ID, Version: head.Latest, Severity: head.Severity, Late: head.Late, Regimes: r.Regimes}, nil
}

// Head returns org's report id. A malformed id, an unknown one and another organisation's all
// get the same NotFound (API.md: never confirm that a report exists); a malformed one without a
// store read.
func (in *Intake) Head(ctx context.Context, org OrgID, id string) (ReportHead, error) {
	return head(ctx, in.store, org, id)
}

func head(ctx context.Context, store Store, org OrgID, id string) (ReportHead, error) {
	if !wellFormedID(id) {
		return ReportHead{}, noSuchReport()
	}
	h, err := store.Head(ctx, org, ReportID(id))
	if ErrorCode(err) == NotFound {
		return ReportHead{}, noSuchReport() // the store's message may name the id
	}
	return h, err
}

// noSuchReport is the one answer for every report a caller may not see: its message names
// nothing, so that answers are byte-identical whatever the id.
func noSuchReport() *Error { return &Error{Code: NotFound, Msg: "no such report"} }

// replay answers a request whose Idempotency-Key was already used: the first receipt for the same
// body, a 422 for another body.
func replay(prior *IdempotencyRecord, requestSHA string) (Accepted, error) {
	if prior.RequestSHA256 != requestSHA {
		return Accepted{}, Errorf(IdempotencyKeyReused, "this Idempotency-Key was used with another body")
	}
	var rc Receipt
	if err := json.Unmarshal(prior.Receipt, &rc); err != nil {
		return Accepted{}, fmt.Errorf("stored receipt: %w", err)
	}
	return Accepted{Receipt: prior.Receipt, Replay: true, ID: rc.ID, Version: rc.Version, Severity: rc.Severity, Late: rc.Late}, nil
}

// checkIdempotencyKey applies API.md: 1–128 printable ASCII characters.
func checkIdempotencyKey(k string) []FieldError {
	const field = "header.Idempotency-Key"
	switch {
	case k == "":
		return []FieldError{{field, RuleRequired}}
	case len(k) > 128:
		return []FieldError{{field, RuleMax}}
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return []FieldError{{field, RuleFormat}}
		}
	}
	return nil
}

// withFields puts header field errors first in a validation error; other errors pass unchanged.
func withFields(err error, header []FieldError) error {
	e, ok := err.(*Error)
	if !ok || e.Code != Invalid || len(header) == 0 {
		return err
	}
	return invalid(append(header, e.Fields...))
}
