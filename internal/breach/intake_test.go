package breach_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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
			vs := store.Versions(rc.ID)
			if len(vs) != 1 || vs[0].SHA256 != rc.SHA256 {
				t.Fatalf("stored versions %+v do not match receipt sha %s", vs, rc.SHA256)
			}
			t.Logf("%s", got.Receipt)
			t.Logf("%s", vs[0].Document)
		})
	}
}
