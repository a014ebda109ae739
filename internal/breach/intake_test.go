package breach_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// exampleTime is the clock at which shared/examples give the results of their README.
var exampleTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var exampleOrg = breach.Organisation{ID: "org-example", LegalName: "Exemple", Country: "FR"}

func fixedClock(t time.Time) breach.Clock { return func() time.Time { return t } }

func sequentialIDs() breach.IDSource {
	n := 0
	return func(time.Time) breach.ReportID {
		n++
		return breach.ReportID(string(rune('A'+n)) + "0000000000000000000000000")
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExamplesGiveTheirDocumentedResults(t *testing.T) {
	for _, tc := range []struct {
		file     string
		severity breach.Severity
		late     bool
		covered  []breach.Stage
	}{
		{"gdpr-minimal.json", breach.Medium, false, []breach.Stage{breach.StageGDPRNotification}},
		{"nis2-health-ransomware.json", breach.Critical, false,
			[]breach.Stage{breach.StageGDPRNotification, breach.StageNIS2EarlyWarning, breach.StageNIS2Notification}},
		{"processor-late.json", breach.Critical, true, []breach.Stage{breach.StageGDPRNotification}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			store := breachtest.NewStore(exampleOrg)
			in := breach.NewIntake(store, fixedClock(exampleTime), sequentialIDs())
			got, err := in.Submit(context.Background(), breach.Submission{Org: exampleOrg.ID, IdempotencyKey: "k", Body: readTestdata(t, tc.file)})
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			var rc breach.Receipt
			if err := json.Unmarshal(got.Receipt, &rc); err != nil {
				t.Fatal(err)
			}
			if rc.Severity != tc.severity || rc.Late != tc.late || got.Replay {
				t.Errorf("severity %s late %v replay %v; want %s %v false", rc.Severity, rc.Late, got.Replay, tc.severity, tc.late)
			}
			var covered []breach.Stage
			for _, d := range rc.Deadlines {
				// A covered stage is met (true) or, received late, false; a pending one is null.
				if d.Met != nil && (*d.Met || tc.late) {
					covered = append(covered, d.Stage)
				}
			}
			if !slices.Equal(covered, tc.covered) {
				t.Errorf("covered %v, want %v", covered, tc.covered)
			}
			vs := store.Stored(rc.ID)
			if len(vs) != 1 || vs[0].SHA256 != rc.SHA256 {
				t.Fatalf("stored versions %+v do not match receipt sha %s", vs, rc.SHA256)
			}
			t.Logf("%s", got.Receipt)
			t.Logf("%s", vs[0].Document)
		})
	}
}

func submit(t *testing.T, in *breach.Intake, key string, body []byte) (breach.Accepted, error) {
	t.Helper()
	return in.Submit(context.Background(), breach.Submission{Org: exampleOrg.ID, IdempotencyKey: key, Body: body})
}

func TestIdempotency(t *testing.T) {
	body := readTestdata(t, "gdpr-minimal.json")
	now := exampleTime
	clock := func() time.Time { return now }
	store := breachtest.NewStore(exampleOrg)
	in := breach.NewIntake(store, clock, sequentialIDs())

	first, err := submit(t, in, "key-1", body)
	if err != nil || first.Replay {
		t.Fatalf("first: %+v, %v", first, err)
	}
	now = now.Add(time.Hour)
	again, err := submit(t, in, "key-1", body)
	if err != nil || !again.Replay || string(again.Receipt) != string(first.Receipt) {
		t.Fatalf("replay: %+v, %v; want the first receipt", again, err)
	}
	_, err = submit(t, in, "key-1", append([]byte(" "), body...))
	if breach.ErrorCode(err) != breach.IdempotencyKeyReused {
		t.Fatalf("another body: err = %v, want idempotency_key_reused", err)
	}
	other, err := submit(t, in, "key-2", body)
	if err != nil || other.Replay || other.ID == first.ID {
		t.Fatalf("another key: %+v, %v; want a new report", other, err)
	}
	// Sent just before the 72 h deadline, retried just after it: the retry replays, while a new
	// request at that time gets a 422.
	now = at("2026-11-24T09:59:00Z")
	onTime, err := submit(t, in, "key-late", body)
	if err != nil || onTime.Late {
		t.Fatalf("on time: %+v, %v", onTime, err)
	}
	now = at("2026-11-24T10:01:00Z")
	retried, err := submit(t, in, "key-late", body)
	if err != nil || !retried.Replay || string(retried.Receipt) != string(onTime.Receipt) {
		t.Fatalf("late replay: %+v, %v", retried, err)
	}
	_, err = submit(t, in, "key-3", body)
	var e *breach.Error
	if !errors.As(err, &e) || e.Code != breach.LateReasonRequired ||
		!slices.Equal(e.Fields, []breach.FieldError{{Field: "late_reason", Rule: breach.RuleRequiredIfLate}}) {
		t.Fatalf("late without reason: err = %#v, want late_reason_required on late_reason", err)
	}
	// After 24 h the key is free again.
	now = exampleTime.Add(25 * time.Hour)
	fresh, err := submit(t, in, "key-1", body)
	if err != nil || fresh.Replay || fresh.ID == first.ID {
		t.Fatalf("expired key: %+v, %v; want a new report", fresh, err)
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	in := breach.NewIntake(breachtest.NewStore(exampleOrg), fixedClock(exampleTime), sequentialIDs())
	bad := mutate(t, readTestdata(t, "gdpr-minimal.json"), map[string]any{"incident.cause": "x"})
	for _, tc := range []struct {
		name, key string
		body      []byte
		want      []breach.FieldError
	}{
		{"missing", "", readTestdata(t, "gdpr-minimal.json"), []breach.FieldError{fe("header.Idempotency-Key", "required")}},
		{"129 characters", strings.Repeat("k", 129), readTestdata(t, "gdpr-minimal.json"), []breach.FieldError{fe("header.Idempotency-Key", "max")}},
		{"a control character", "k\x01", readTestdata(t, "gdpr-minimal.json"), []breach.FieldError{fe("header.Idempotency-Key", "format")}},
		{"non-ASCII", "clé", readTestdata(t, "gdpr-minimal.json"), []breach.FieldError{fe("header.Idempotency-Key", "format")}},
		{"missing, with body errors: all listed", "", bad, []breach.FieldError{fe("header.Idempotency-Key", "required"), fe("incident.cause", "enum")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := submit(t, in, tc.key, tc.body)
			var e *breach.Error
			if !errors.As(err, &e) || e.Code != breach.Invalid || !slices.Equal(e.Fields, tc.want) {
				t.Fatalf("err = %v, want validation_failed %v", err, tc.want)
			}
		})
	}
	if _, err := submit(t, in, strings.Repeat("~", 128), readTestdata(t, "gdpr-minimal.json")); err != nil {
		t.Fatalf("128 printable characters refused: %v", err)
	}
}

func TestStoredDocumentIsCanonicalAndHashed(t *testing.T) {
	store := breachtest.NewStore(exampleOrg)
	in := breach.NewIntake(store, fixedClock(exampleTime), sequentialIDs())
	got, err := submit(t, in, "k", readTestdata(t, "nis2-health-ransomware.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc := store.Stored(got.ID)[0].Document
	assertCanonical(t, doc)
	sum := sha256.Sum256(doc)
	var rc breach.Receipt
	if err := json.Unmarshal(got.Receipt, &rc); err != nil || rc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("receipt sha256 %s is not the document's %x", rc.SHA256, sum)
	}
	// Times are kept in UTC, offsets resolved: 07:30+01:00 is 06:30Z.
	if !strings.Contains(string(doc), `"aware_at":"2026-11-21T06:30:00Z"`) {
		t.Fatalf("aware_at not normalised to UTC: %s", doc)
	}
}
