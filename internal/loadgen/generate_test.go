package loadgen

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/breach-intake/intake/internal/breach"
)

// The vocabularies as API.md lists them, written out again here so that a value the generator's
// own lists forgot is caught.
var apiVocabularies = map[string][]string{
	"regimes":                  {"gdpr", "nis2", "dora"},
	"organisation.role":        {"controller", "processor", "essential_entity", "important_entity", "financial_entity"},
	"organisation.sector":      {"health", "social_security", "employment", "public_administration", "finance", "insurance", "energy", "transport", "telecom", "digital_infrastructure", "education", "retail", "other"},
	"incident.breach_types":    {"confidentiality", "integrity", "availability"},
	"incident.cause":           {"malicious_external", "malicious_internal", "accidental_internal", "accidental_external", "unknown"},
	"data.subjects_estimate":   {"exact", "approximate", "unknown"},
	"data.subject_categories":  {"customers", "employees", "patients", "students", "users", "job_seekers", "beneficiaries", "migrants", "children", "vulnerable_adults", "other"},
	"data.data_categories":     {"identity", "contact", "national_id", "official_document", "financial", "credentials", "health", "special_category", "criminal", "location", "social_benefits", "other"},
	"subjects_informed.status": {"yes", "no", "planned"},
}

var (
	testNow = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	// An organisation provisioned without a SIREN: organisation.siren is not checked against it.
	testOrg = breach.Organisation{ID: "load-org", LegalName: "Organisation de charge", Country: "FR"}
)

// TestGeneratedBodiesAreValid runs 1,000 generated bodies through the real validator and checks
// that they exercise every vocabulary value, both bounds of the counts, late and on-time
// reports, processors, cross-border reports, and sizes from under 1 KiB to the limit.
func TestGeneratedBodiesAreValid(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := breach.NewParser()
	seen := map[string]map[string]bool{}
	for k := range apiVocabularies {
		seen[k] = map[string]bool{}
	}
	mark := func(k string, words ...string) {
		for _, w := range words {
			seen[k][w] = true
		}
	}
	var sizes []int
	regimeCounts := map[int]int{}
	var late, processors, crossBorder, zero, maxed, ascii, indented int
	magnitudes := map[int]bool{}
	for i := range 1000 {
		body := Generate(r, testNow, breach.MaxBodyBytes)
		rep, err := p.Parse(body, testOrg, testNow)
		if err != nil {
			t.Fatalf("body %d refused: %v\n%.600s", i, err, body)
		}
		sizes = append(sizes, len(body))
		if len(body) > breach.MaxBodyBytes {
			t.Fatalf("body %d: %d bytes, over the limit", i, len(body))
		}
		for _, s := range []string{rep.Incident.Description, rep.Consequences, rep.Measures.Taken, rep.Measures.Planned, rep.LateReason} {
			if n := utf8.RuneCountInString(s); n > 10_000 {
				t.Fatalf("body %d: a string of %d characters", i, n)
			}
		}
		if bytes.ContainsRune(body, '\n') {
			indented++
		}
		if bytes.IndexFunc(body, func(c rune) bool { return c >= utf8.RuneSelf }) < 0 && bytes.Contains(body, []byte(`\u`)) {
			ascii++ // written as ASCII-only JSON, escapes and all
		}

		for _, g := range rep.Regimes {
			mark("regimes", string(g))
		}
		regimeCounts[len(rep.Regimes)]++
		mark("organisation.role", rep.Organisation.Role)
		mark("organisation.sector", rep.Organisation.Sector)
		mark("incident.breach_types", rep.Incident.BreachTypes...)
		mark("incident.cause", rep.Incident.Cause)
		mark("data.subjects_estimate", rep.Data.SubjectsEstimate)
		mark("data.subject_categories", rep.Data.SubjectCategories...)
		mark("data.data_categories", rep.Data.DataCategories...)
		if rep.SubjectsInformed != nil {
			mark("subjects_informed.status", rep.SubjectsInformed.Status)
		}

		// Lateness as the server computes it: a late report must carry its reason, and an on-time
		// one has none.
		aware := rep.Incident.AwareAt.T
		covered := breach.FirstCoverage(rep.Regimes, aware, testNow)
		isLate := breach.IsLate(rep.Regimes, aware, covered, slices.Collect(maps.Keys(covered)), testNow)
		if isLate != (rep.LateReason != "") {
			t.Fatalf("body %d: late=%v with late_reason %q", i, isLate, rep.LateReason)
		}
		if isLate {
			late++
		} else if testNow.Sub(aware) > 20*time.Hour {
			t.Fatalf("body %d: on time but aware_at %s is over 20 h old", i, aware)
		}
		if rep.Processor != nil {
			processors++
			if !breach.ValidSIREN(rep.Processor.SIREN) {
				t.Fatalf("body %d: processor SIREN %q", i, rep.Processor.SIREN)
			}
		}
		if rep.Organisation.SIREN != "" {
			t.Fatalf("body %d: organisation.siren is set; it would mismatch a provisioned one", i)
		}
		if rep.Incident.CrossBorder != nil && *rep.Incident.CrossBorder {
			crossBorder++
		}
		switch n := rep.Data.SubjectsAffected.N; n {
		case 0:
			zero++
		case 10_000_000_000:
			maxed++
		default:
			magnitudes[len(strconv.FormatInt(n, 10))] = true
		}
	}

	for k, words := range apiVocabularies {
		for _, w := range words {
			if !seen[k][w] {
				t.Errorf("%s %q never generated", k, w)
			}
		}
	}
	for n := 1; n <= 3; n++ {
		if regimeCounts[n] == 0 {
			t.Errorf("no report with %d regimes", n)
		}
	}
	if late == 0 || late > 150 || processors == 0 || crossBorder == 0 || zero == 0 || maxed == 0 || ascii == 0 || indented == 0 {
		t.Errorf("late %d, processors %d, cross-border %d, zero %d, 10^10 %d, ascii-only %d, indented %d: each must occur (late rarely)",
			late, processors, crossBorder, zero, maxed, ascii, indented)
	}
	for d := 1; d <= 8; d++ {
		if !magnitudes[d] {
			t.Errorf("no count with %d digits", d)
		}
	}
	sort.Ints(sizes)
	q := func(p float64) int { return sizes[int(p*float64(len(sizes)-1))] }
	t.Logf("sizes: min %d, p50 %d, p90 %d, p99 %d, max %d; late %d, processors %d, cross-border %d",
		sizes[0], q(0.5), q(0.9), q(0.99), sizes[len(sizes)-1], late, processors, crossBorder)
	if sizes[0] > 1024 || sizes[len(sizes)-1] < breach.MaxBodyBytes*97/100 || q(0.5) > 8192 {
		t.Errorf("sizes do not span the range: min %d, median %d, max %d", sizes[0], q(0.5), sizes[len(sizes)-1])
	}
	if near := len(sizes) - sort.SearchInts(sizes, breach.MaxBodyBytes*9/10); near < 10 {
		t.Errorf("only %d bodies over 90%% of the limit", near)
	}
}

// TestGenerateRespectsMaxBytes: a smaller limit bounds every body, down to MinMaxBytes.
func TestGenerateRespectsMaxBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, limit := range []int{0, MinMaxBytes, 10_000, 50_000, 1 << 30} {
		want := min(max(limit, MinMaxBytes), breach.MaxBodyBytes)
		biggest := 0
		for i := range 300 {
			body := Generate(r, testNow, limit)
			if len(body) > want {
				t.Fatalf("limit %d: body %d has %d bytes", limit, i, len(body))
			}
			if _, err := breach.NewParser().Parse(body, testOrg, testNow); err != nil {
				t.Fatalf("limit %d: body %d refused: %v", limit, i, err)
			}
			biggest = max(biggest, len(body))
		}
		if biggest < want*9/10 {
			t.Errorf("limit %d: largest body %d bytes, not close to %d", limit, biggest, want)
		}
	}
}

// TestGenerateIsDeterministic: a seed and a time give the same bodies, so a run can be replayed.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b := rand.New(rand.NewPCG(7, 7)), rand.New(rand.NewPCG(7, 7))
	for i := range 50 {
		if x, y := Generate(a, testNow, 0), Generate(b, testNow, 0); !bytes.Equal(x, y) {
			t.Fatalf("body %d differs", i)
		}
	}
}

func TestLuhnDigit(t *testing.T) {
	for _, s := range []string{"552100554", "732829320", "267500452", "775685019", "443061841"} {
		if got := luhnDigit([]byte(s[:8])); got != s[8] {
			t.Errorf("luhnDigit(%s) = %c, want %c", s[:8], got, s[8])
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		if s := siren(r); !breach.ValidSIREN(s) {
			t.Fatalf("siren() = %s, not valid", s)
		}
	}
}
