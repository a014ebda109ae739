package breach_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// report is one report filed through an intake whose clock the test moves.
type report struct {
	in    *breach.Intake
	store *breachtest.Store
	now   time.Time
	id    breach.ReportID
}

// file submits body at `at` as exampleOrg.
func file(t *testing.T, body []byte, at time.Time) *report {
	t.Helper()
	r := &report{store: breachtest.NewStore(exampleOrg), now: at}
	r.in = breach.NewIntake(r.store, func() time.Time { return r.now }, sequentialIDs())
	got, err := submit(t, r.in, "first", body)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	r.id = got.ID
	return r
}

// supplement reads the head, as the HTTP layer does, and sends a supplement with these headers.
func (r *report) supplement(t *testing.T, key, ifMatch string, body []byte) (breach.Accepted, breach.Receipt, error) {
	t.Helper()
	head, err := r.in.Head(context.Background(), exampleOrg.ID, string(r.id))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	got, err := r.in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: key, IfMatch: ifMatch, Body: body})
	var rc breach.Receipt
	if err == nil {
		if err := json.Unmarshal(got.Receipt, &rc); err != nil {
			t.Fatal(err)
		}
	}
	return got, rc, err
}

// nis2Body is the NIS2 example (aware 2026-11-21T06:30Z, regimes gdpr and nis2) with edits.
func nis2Body(t *testing.T, edits map[string]any) []byte {
	return mutate(t, readTestdata(t, "nis2-health-ransomware.json"), edits)
}

// withStage is the NIS2 example as a supplement of the given stage, with edits.
func withStage(t *testing.T, stage string, edits map[string]any) []byte {
	e := map[string]any{"stage": stage}
	for k, v := range edits {
		e[k] = v
	}
	return nis2Body(t, e)
}

func TestSupplementRules(t *testing.T) {
	// Filed at exampleTime, 5.5 h after aware_at: it covers gdpr.notification and both NIS2
	// stages due by 72 h; nis2.final is due a month after it.
	filedAt := exampleTime
	for _, tc := range []struct {
		name    string
		at      time.Time
		ifMatch string
		body    []byte
		code    breach.Code // "" for success
		fields  []breach.FieldError
		late    bool
	}{
		{"version 2", filedAt.Add(time.Hour), "1", withStage(t, "supplementary", nil), "", nil, false},
		{"If-Match as an entity tag", filedAt.Add(time.Hour), `"1"`, withStage(t, "supplementary", nil), "", nil, false},
		{"no If-Match", filedAt.Add(time.Hour), "", withStage(t, "supplementary", nil), breach.Invalid,
			[]breach.FieldError{fe("header.If-Match", "required")}, false},
		{"If-Match not a number", filedAt.Add(time.Hour), "v1", withStage(t, "supplementary", nil), breach.Invalid,
			[]breach.FieldError{fe("header.If-Match", "format")}, false},
		{"If-Match with a leading zero", filedAt.Add(time.Hour), "01", withStage(t, "supplementary", nil), breach.Invalid,
			[]breach.FieldError{fe("header.If-Match", "format")}, false},
		{"If-Match weak", filedAt.Add(time.Hour), `W/"1"`, withStage(t, "supplementary", nil), breach.Invalid,
			[]breach.FieldError{fe("header.If-Match", "format")}, false},
		{"If-Match stale", filedAt.Add(time.Hour), "0", withStage(t, "supplementary", nil), breach.VersionConflict, nil, false},
		{"If-Match ahead", filedAt.Add(time.Hour), `"2"`, withStage(t, "supplementary", nil), breach.VersionConflict, nil, false},
		{"aware_at changed", filedAt.Add(time.Hour), "1", withStage(t, "supplementary", map[string]any{"incident.aware_at": "2026-11-21T06:31:00Z"}),
			breach.Invalid, []breach.FieldError{fe("incident.aware_at", "immutable")}, false},
		{"aware_at the same instant at another offset", filedAt.Add(time.Hour), "1",
			withStage(t, "supplementary", map[string]any{"incident.aware_at": "2026-11-21T06:30:00Z"}), "", nil, false},
		{"a regime dropped", filedAt.Add(time.Hour), "1", withStage(t, "supplementary", map[string]any{"regimes": []string{"gdpr"}}),
			breach.Invalid, []breach.FieldError{fe("regimes", "immutable")}, false},
		{"a regime added, its first stage covered", filedAt.Add(time.Hour), "1",
			withStage(t, "dora.initial", map[string]any{"regimes": []string{"gdpr", "nis2", "dora"}}), "", nil, false},
		{"no stage", filedAt.Add(time.Hour), "1", nis2Body(t, nil), breach.Invalid, []breach.FieldError{fe("stage", "required")}, false},
		{"a stage of no vocabulary", filedAt.Add(time.Hour), "1", withStage(t, "nis2.interim", nil), breach.Invalid,
			[]breach.FieldError{fe("stage", "enum")}, false},
		{"initial is only a first report's", filedAt.Add(time.Hour), "1", withStage(t, "initial", nil), breach.Invalid,
			[]breach.FieldError{fe("stage", "enum")}, false},
		{"gdpr.notification is only a first report's", filedAt.Add(time.Hour), "1", withStage(t, "gdpr.notification", nil), breach.Invalid,
			[]breach.FieldError{fe("stage", "enum")}, false},
		{"a stage of another regime", filedAt.Add(time.Hour), "1", withStage(t, "dora.final", nil), breach.Invalid,
			[]breach.FieldError{fe("stage", "enum")}, false},
		{"a stage that is not a string", filedAt.Add(time.Hour), "1", nis2Body(t, map[string]any{"stage": 3}), breach.Invalid,
			[]breach.FieldError{fe("stage", "type")}, false},
		{"every failing field at once", filedAt.Add(time.Hour), "",
			withStage(t, "dora.final", map[string]any{"regimes": []string{"nis2"}, "incident.aware_at": "2026-11-21T06:31:00Z", "incident.cause": "x"}),
			breach.Invalid, []breach.FieldError{fe("header.If-Match", "required"), fe("incident.cause", "enum"), fe("stage", "enum"),
				fe("regimes", "immutable"), fe("incident.aware_at", "immutable")}, false},
		{"late without late_reason", at("2026-12-21T12:00:01Z"), "1", withStage(t, "nis2.final", nil), breach.LateReasonRequired,
			[]breach.FieldError{fe("late_reason", "required_if_late")}, false},
		{"late with late_reason", at("2026-12-21T12:00:01Z"), "1", withStage(t, "nis2.final", map[string]any{"late_reason": "Forensics took longer."}),
			"", nil, true},
		{"exactly at the due time is on time", at("2026-12-21T12:00:00Z"), "1", withStage(t, "nis2.final", nil), "", nil, false},
		{"supplementary is never late", at("2027-03-01T00:00:00Z"), "1", withStage(t, "supplementary", nil), "", nil, false},
		{"a stale If-Match comes before lateness", at("2026-12-22T00:00:00Z"), "0", withStage(t, "nis2.final", nil), breach.VersionConflict, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := file(t, readTestdata(t, "nis2-health-ransomware.json"), filedAt)
			r.now = tc.at
			got, rc, err := r.supplement(t, "sup", tc.ifMatch, tc.body)
			if tc.code != "" {
				var e *breach.Error
				if !errors.As(err, &e) || e.Code != tc.code || !slices.Equal(e.Fields, tc.fields) {
					t.Fatalf("err = %v, want %s %v", err, tc.code, tc.fields)
				}
				if vs := r.store.Stored(r.id); len(vs) != 1 {
					t.Fatalf("a refused supplement stored %d versions", len(vs))
				}
				return
			}
			if err != nil || got.Replay || got.Version != 2 || rc.Version != 2 || rc.Late != tc.late || got.Late != tc.late {
				t.Fatalf("Supplement = %+v, %v; want version 2, late %v", got, err, tc.late)
			}
			if head, _ := r.in.Head(context.Background(), exampleOrg.ID, string(r.id)); head.Latest != 2 {
				t.Fatalf("head after the supplement: %+v", head)
			}
		})
	}
}

func TestFirstReportWithStageIsUnknownField(t *testing.T) {
	in := breach.NewIntake(breachtest.NewStore(exampleOrg), fixedClock(exampleTime), sequentialIDs())
	_, err := submit(t, in, "k", withStage(t, "supplementary", nil))
	if breach.ErrorCode(err) != breach.InvalidJSON {
		t.Fatalf("err = %v, want invalid_json", err)
	}
}

// TestSupplementReplaysBeforeConflicting: a retried supplement names the version it was made
// from, no longer the latest: it gets its first receipt, not a 409.
func TestSupplementReplaysBeforeConflicting(t *testing.T) {
	r := file(t, readTestdata(t, "nis2-health-ransomware.json"), exampleTime)
	body := withStage(t, "nis2.final", nil) // due 2026-12-21T12:00Z
	r.now = at("2026-12-21T11:00:00Z")
	first, _, err := r.supplement(t, "sup-1", "1", body)
	if err != nil || first.Replay || first.Late {
		t.Fatalf("first: %+v, %v", first, err)
	}
	r.now = at("2026-12-21T13:00:00Z") // the retry comes after the deadline too
	again, _, err := r.supplement(t, "sup-1", "1", body)
	if err != nil || !again.Replay || !bytes.Equal(again.Receipt, first.Receipt) {
		t.Fatalf("retry: %+v, %v; want the first receipt replayed", again, err)
	}
	if _, _, err := r.supplement(t, "sup-1", "1", withStage(t, "supplementary", nil)); breach.ErrorCode(err) != breach.IdempotencyKeyReused {
		t.Fatalf("same key, other body: %v, want idempotency_key_reused", err)
	}
	if _, _, err := r.supplement(t, "sup-2", "1", body); breach.ErrorCode(err) != breach.VersionConflict {
		t.Fatalf("new key, stale If-Match: %v, want version_conflict", err)
	}
	// The key is scoped by report: the same key on another report is a new supplement.
	r.now = exampleTime
	other, err := submit(t, r.in, "first-other", readTestdata(t, "nis2-health-ransomware.json"))
	if err != nil {
		t.Fatal(err)
	}
	head, _ := r.in.Head(context.Background(), exampleOrg.ID, string(other.ID))
	got, err := r.in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: "sup-1", IfMatch: "1", Body: body})
	if err != nil || got.Replay || got.ID != other.ID || got.Version != 2 {
		t.Fatalf("same key, other report: %+v, %v", got, err)
	}
}

// TestSupplementAgainstAStaleHead: another supplement stored between reading the head and saving
// is a conflict, found by the store.
func TestSupplementAgainstAStaleHead(t *testing.T) {
	r := file(t, readTestdata(t, "nis2-health-ransomware.json"), exampleTime)
	head, err := r.in.Head(context.Background(), exampleOrg.ID, string(r.id))
	if err != nil {
		t.Fatal(err)
	}
	body := withStage(t, "supplementary", nil)
	for i, want := range []breach.Code{"", breach.VersionConflict} {
		_, err := r.in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: string(rune('a' + i)), IfMatch: "1", Body: body})
		if breach.ErrorCode(err) != want || (want == "") != (err == nil) {
			t.Fatalf("supplement %d: %v, want %q", i, err, want)
		}
	}
}

// TestSupplementCoverage: covering nis2.notification late in its window makes nis2.final due one
// month after that notification was received, not after its due time.
func TestSupplementCoverage(t *testing.T) {
	// aware_at 2026-11-21T06:30Z. Filed after the early warning's 24 h, with a reason: it covers
	// the early warning only.
	r := file(t, nis2Body(t, map[string]any{"late_reason": "Weekend."}), at("2026-11-22T07:30:00Z"))
	v1, _ := r.in.Head(context.Background(), exampleOrg.ID, string(r.id))
	if _, ok := v1.Covered[breach.StageNIS2Notification]; ok {
		t.Fatalf("version 1 covers nis2.notification: %v", v1.Covered)
	}
	r.now = at("2026-11-23T08:30:00Z")
	_, rc, err := r.supplement(t, "notify", "1", withStage(t, "nis2.notification", nil))
	if err != nil || rc.Late || rc.Stage != breach.StageNIS2Notification {
		t.Fatalf("notification: %+v, %v", rc, err)
	}
	due := map[breach.Stage]string{}
	for _, d := range rc.Deadlines {
		due[d.Stage] = d.DueAt.Format(time.RFC3339) + " " + metString(d.Met)
	}
	for stage, want := range map[breach.Stage]string{
		breach.StageNIS2EarlyWarning: "2026-11-22T06:30:00Z false", // received an hour late
		breach.StageNIS2Notification: "2026-11-24T06:30:00Z true",
		breach.StageNIS2Final:        "2026-12-23T08:30:00Z null", // a month after the notification
	} {
		if due[stage] != want {
			t.Errorf("%s: %s, want %s", stage, due[stage], want)
		}
	}
	head, _ := r.in.Head(context.Background(), exampleOrg.ID, string(r.id))
	if !head.Covered[breach.StageNIS2Notification].Equal(r.now) || !head.Covered[breach.StageNIS2EarlyWarning].Equal(at("2026-11-22T07:30:00Z")) {
		t.Fatalf("covered %v", head.Covered)
	}
	// A second notification does not move the first one's coverage.
	r.now = r.now.Add(time.Hour)
	if _, rc, err := r.supplement(t, "notify-again", "2", withStage(t, "nis2.notification", nil)); err != nil ||
		!slices.ContainsFunc(rc.Deadlines, func(d breach.Deadline) bool {
			return d.Stage == breach.StageNIS2Final && d.DueAt.Equal(at("2026-12-23T08:30:00Z"))
		}) {
		t.Fatalf("second notification: %+v, %v", rc, err)
	}
}

// TestVersionsAreImmutable: version 1's stored bytes are the same after version 2, and version 2's
// document is its own: its stage, and the report without `stage`.
func TestVersionsAreImmutable(t *testing.T) {
	r := file(t, readTestdata(t, "nis2-health-ransomware.json"), exampleTime)
	before := bytes.Clone(r.store.Stored(r.id)[0].Document)
	r.now = exampleTime.Add(2 * time.Hour)
	_, rc, err := r.supplement(t, "s", "1", withStage(t, "supplementary", map[string]any{"data.subjects_affected": 2_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	vs := r.store.Stored(r.id)
	if len(vs) != 2 || !bytes.Equal(vs[0].Document, before) {
		t.Fatalf("version 1 changed:\n%s\nwas\n%s", vs[0].Document, before)
	}
	v2 := vs[1]
	assertCanonical(t, v2.Document)
	if v2.SHA256 != rc.SHA256 || rc.Severity != breach.Critical {
		t.Fatalf("receipt %+v does not describe version 2 %s", rc, v2.SHA256)
	}
	var doc struct {
		Version int                       `json:"version"`
		Stage   breach.Stage              `json:"stage"`
		Report  map[string]jsontext.Value `json:"report"`
	}
	if err := json.Unmarshal(v2.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Report["stage"]; ok || doc.Version != 2 || doc.Stage != breach.StageSupplementary {
		t.Fatalf("version 2 document: version %d stage %s, report keys %v", doc.Version, doc.Stage, slices.Sorted(maps.Keys(doc.Report)))
	}
}

func TestHeadAnswersAlikeForEveryReportNotOurs(t *testing.T) {
	store := breachtest.NewStore(exampleOrg, otherOrg)
	in := breach.NewIntake(store, fixedClock(exampleTime), sequentialIDs())
	mine, err := submit(t, in, "k", readTestdata(t, "gdpr-minimal.json"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := in.Submit(context.Background(), breach.Submission{Org: otherOrg.ID, IdempotencyKey: "k", Body: readTestdata(t, "gdpr-minimal.json")})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := in.Head(context.Background(), exampleOrg.ID, string(mine.ID)); err != nil || h.ID != mine.ID || h.Latest != 1 {
		t.Fatalf("own head: %+v, %v", h, err)
	}
	// Malformed ids never reach the store.
	noReads := breach.NewIntake(headless{store}, fixedClock(exampleTime), sequentialIDs())
	want := &breach.Error{Code: breach.NotFound, Msg: "no such report"}
	for name, tc := range map[string]struct {
		in *breach.Intake
		id string
	}{
		"another organisation's": {in, string(theirs.ID)},
		"unknown":                {in, "01KAAAAAAAAAAAAAAAAAAAAAAA"},
		"lower case":             {noReads, strings.ToLower(string(mine.ID))},
		"25 characters":          {noReads, string(mine.ID[:25])},
		"27 characters":          {noReads, string(mine.ID) + "0"},
		"an excluded letter":     {noReads, "01KAAAAAAAAAAAAAAAAAAAAAAU"},
		"empty":                  {noReads, ""},
		"a path":                 {noReads, "../../" + string(mine.ID[:20])},
	} {
		_, err := tc.in.Head(context.Background(), exampleOrg.ID, tc.id)
		var e *breach.Error
		if !errors.As(err, &e) || !reflect.DeepEqual(e, want) {
			t.Errorf("%s: err = %#v, want %#v", name, err, want)
		}
	}
}

var otherOrg = breach.Organisation{ID: "org-other", LegalName: "Autre", Country: "FR"}

// headless is a store whose Head fails the test's expectations loudly.
type headless struct{ breach.Store }

func (headless) Head(context.Context, breach.OrgID, breach.ReportID) (breach.ReportHead, error) {
	return breach.ReportHead{}, errors.New("Head called for a malformed id")
}
