package breach_test

import (
	"testing"

	"github.com/breach-intake/intake/internal/breach"
)

func TestSeverity(t *testing.T) {
	report := func(subjects int64, estimate string, data, people []string, crossBorder bool) *breach.Report {
		r := &breach.Report{}
		r.Data.SubjectsAffected = breach.NewCount(subjects)
		r.Data.SubjectsEstimate = estimate
		r.Data.DataCategories = data
		r.Data.SubjectCategories = people
		r.Incident.CrossBorder = &crossBorder
		return r
	}
	contact := []string{"contact"}
	nir := []string{"identity", "national_id"}
	for _, tc := range []struct {
		name string
		r    *breach.Report
		late bool
		want breach.Severity
	}{
		{"a million is critical whatever the data", report(1_000_000, "exact", contact, nil, false), false, breach.Critical},
		{"ten thousand with NIR is critical", report(10_000, "exact", nir, nil, false), false, breach.Critical},
		{"a thousand migrants with NIR is critical", report(1_000, "exact", nir, []string{"migrants"}, false), false, breach.Critical},
		{"999 children with health data is high", report(999, "exact", []string{"health"}, []string{"children"}, false), false, breach.High},
		{"a thousand children with contacts only is medium", report(1_000, "exact", contact, []string{"children"}, false), false, breach.Medium},
		{"ten thousand contacts is high", report(10_000, "exact", contact, nil, false), false, breach.High},
		{"9,999 with NIR is high", report(9_999, "exact", nir, nil, false), false, breach.High},
		{"NIR alone is high", report(12, "exact", nir, nil, false), false, breach.High},
		{"late is high", report(1, "exact", contact, nil, false), true, breach.High},
		{"cross border is high", report(1, "exact", contact, nil, true), false, breach.High},
		{"a hundred is medium", report(100, "exact", contact, nil, false), false, breach.Medium},
		{"an unknown estimate is medium", report(0, "unknown", contact, nil, false), false, breach.Medium},
		{"99 contacts is low", report(99, "approximate", contact, nil, false), false, breach.Low},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := breach.SeverityOf(tc.r, tc.late); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
