package breach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// RouteSupplement is the route supplements arrive on; with the report id it scopes their
// idempotency keys.
const RouteSupplement = "POST /v1/reports/{id}/supplements"

// supplementStages are the stages a supplement may name (API.md, Supplements): not `initial`,
// which only a first report is, nor gdpr.notification, which only a first report covers.
var supplementStages = []Stage{StageSupplementary, StageNIS2EarlyWarning, StageNIS2Notification, StageNIS2Final,
	StageDORAInitial, StageDORAIntermediate, StageDORAFinal}

// SupplementRequest is one POST /v1/reports/{id}/supplements request, as the HTTP layer hands it
// over once Intake.Head has found the report for the calling organisation.
type SupplementRequest struct {
	IdempotencyKey string
	IfMatch        string // the If-Match header: the version the client saw, `3` or `"3"`
	Body           []byte
}

// supplementBody is a full report plus the stage it covers. Only supplements decode into it, so
// a first report with `stage` stays an unknown field; the stored document's report is the
// embedded Report alone.
type supplementBody struct {
	Report
	Stage Stage `json:"stage"`
}

// Supplement validates and stores version head.Latest+1 of a report. The order of checks follows
// API.md: validation, immutable fields and headers (400), idempotent replay (200), a stale
// If-Match (409), then lateness (422). head is the report as read for the calling organisation.
func (in *Intake) Supplement(ctx context.Context, head ReportHead, req SupplementRequest) (Accepted, error) {
	org, err := in.store.Organisation(ctx, head.Org)
	if err != nil {
		return Accepted{}, fmt.Errorf("organisation %s of a valid key: %v", head.Org, err)
	}
	now := in.now().UTC()
	ifMatch, ifMatchFields := checkIfMatch(req.IfMatch)
	header := append(checkIdempotencyKey(req.IdempotencyKey), ifMatchFields...)
	var b supplementBody
	typeErrors, err := decodeStrict(req.Body, &b)
	if err != nil {
		return Accepted{}, err
	}
	checked := append(check(&b.Report, org, now), checkSupplement(&b, head)...)
	if fields := append(header, besideTypeErrors(typeErrors, checked)...); len(fields) > 0 {
		return Accepted{}, invalid(fields)
	}
	r := &b.Report

	sum := sha256.Sum256(req.Body)
	requestSHA := hex.EncodeToString(sum[:])
	key := IdempotencyKey{Org: head.Org, Route: RouteSupplement, ReportID: head.ID, Key: req.IdempotencyKey}

	var stages []Stage // a supplementary version covers no deadline stage, so it is never late
	if b.Stage != StageSupplementary {
		stages = []Stage{b.Stage}
	}
	late := IsLate(r.Regimes, head.AwareAt, head.Covered, stages, now)
	lateWithoutReason := late && strings.TrimSpace(r.LateReason) == ""
	if ifMatch != head.Latest || lateWithoutReason {
		// A retry of an accepted supplement names a version that is no longer the latest, or may
		// come after a deadline: it must replay its first answer, not conflict.
		prior, err := in.store.Idempotency(ctx, key, now)
		if err != nil {
			return Accepted{}, err
		}
		if prior != nil {
			return replay(prior, requestSHA)
		}
		if ifMatch != head.Latest {
			return Accepted{}, Errorf(VersionConflict, "the report's latest version is %d", head.Latest)
		}
		return Accepted{}, &Error{Code: LateReasonRequired,
			Msg:    "the supplement is late: explain why in late_reason",
			Fields: []FieldError{{Field: "late_reason", Rule: RuleRequiredIfLate}}}
	}

	covered := Coverage{}
	maps.Copy(covered, head.Covered)
	for _, s := range stages {
		if _, ok := covered[s]; !ok { // a stage is covered when it is first received
			covered[s] = now
		}
	}
	next := ReportHead{Org: head.Org, ID: head.ID, Latest: head.Latest + 1, Regimes: r.Regimes, AwareAt: head.AwareAt,
		Covered: covered, ReceivedAt: head.ReceivedAt, UpdatedAt: now, Stage: b.Stage, Severity: SeverityOf(r, late), Late: late}
	return in.save(ctx, r, next, key, requestSHA, now)
}

// checkSupplement applies the rules a supplement adds to a report's: a stage of the report's
// regimes, the same aware_at (as an instant: the offset may differ), no regime dropped.
func checkSupplement(b *supplementBody, head ReportHead) []FieldError {
	var c fieldChecks
	switch {
	case b.Stage == "":
		c.fail("stage", RuleRequired)
	case !slices.Contains(supplementStages, b.Stage) || !b.coversRegimeStage():
		c.fail("stage", RuleEnum)
	}
	if slices.ContainsFunc(head.Regimes, func(r Regime) bool { return !slices.Contains(b.Regimes, r) }) && len(b.Regimes) > 0 {
		c.fail("regimes", RuleImmutable)
	}
	if aware := b.Incident.AwareAt; aware.state == valid && !aware.T.Equal(head.AwareAt) {
		c.fail("incident.aware_at", RuleImmutable)
	}
	return c
}

// coversRegimeStage says whether the stage is `supplementary` or a stage of one of the regimes.
func (b *supplementBody) coversRegimeStage() bool {
	return b.Stage == StageSupplementary ||
		slices.ContainsFunc(b.Regimes, func(r Regime) bool { return slices.Contains(stagesOf[r], b.Stage) })
}

// checkIfMatch reads If-Match: the version number the client last saw, bare (`3`) or as a strong
// entity tag (`"3"`). A well-formed number that is not the latest version is a 409, not a 400.
func checkIfMatch(h string) (int, []FieldError) {
	const field = "header.If-Match"
	if h == "" {
		return 0, []FieldError{{field, RuleRequired}}
	}
	if len(h) >= 2 && h[0] == '"' && h[len(h)-1] == '"' {
		h = h[1 : len(h)-1]
	}
	n, ok := parseNumber(h)
	if !ok {
		return 0, []FieldError{{field, RuleFormat}}
	}
	return n, nil
}

// parseNumber reads a version number as paths and headers write it: decimal digits, no sign, no
// leading zero, at most nine digits (so it fits an int anywhere).
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
