package breach

// Severity is computed by the server from the report (API.md, Severity).
type Severity string

const (
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// SeverityOf applies the table of API.md: the first row that matches wins.
func SeverityOf(r *Report, late bool) Severity {
	n := r.Data.SubjectsAffected.N
	sensitive := anyIn(r.Data.DataCategories, sensitiveData)
	vulnerable := anyIn(r.Data.SubjectCategories, vulnerableSubjects)
	crossBorder := r.Incident.CrossBorder != nil && *r.Incident.CrossBorder
	switch {
	case n >= 1_000_000, n >= 10_000 && sensitive, n >= 1_000 && vulnerable && sensitive:
		return Critical
	case n >= 10_000, sensitive, late, crossBorder:
		return High
	case n >= 100, r.Data.SubjectsEstimate == "unknown":
		return Medium
	default:
		return Low
	}
}
