package breach

import "slices"

// The closed vocabularies of API.md. Each list is the single source for validation.

type Regime string

const (
	GDPR Regime = "gdpr"
	NIS2 Regime = "nis2"
	DORA Regime = "dora"
)

var regimes = []Regime{GDPR, NIS2, DORA}

var organisationRoles = []string{"controller", "processor", "essential_entity", "important_entity", "financial_entity"}

var sectors = []string{"health", "social_security", "employment", "public_administration", "finance",
	"insurance", "energy", "transport", "telecom", "digital_infrastructure", "education", "retail", "other"}

var breachTypes = []string{"confidentiality", "integrity", "availability"}

var causes = []string{"malicious_external", "malicious_internal", "accidental_internal", "accidental_external", "unknown"}

var subjectEstimates = []string{"exact", "approximate", "unknown"}

var subjectCategories = []string{"customers", "employees", "patients", "students", "users", "job_seekers",
	"beneficiaries", "migrants", "children", "vulnerable_adults", "other"}

var dataCategories = []string{"identity", "contact", "national_id", "official_document", "financial",
	"credentials", "health", "special_category", "criminal", "location", "social_benefits", "other"}

var informedStatuses = []string{"yes", "no", "planned"}

// Severity rule inputs (API.md, Severity).
var sensitiveData = []string{"national_id", "health", "special_category", "criminal", "financial", "credentials", "official_document"}

var vulnerableSubjects = []string{"children", "vulnerable_adults", "migrants"}

// Stage names both what a version is (`initial`, `supplementary`, or a regime stage it covers) and
// the deadline stages of a report.
type Stage string

const (
	StageInitial          Stage = "initial"
	StageSupplementary    Stage = "supplementary"
	StageGDPRNotification Stage = "gdpr.notification"
	StageNIS2EarlyWarning Stage = "nis2.early_warning"
	StageNIS2Notification Stage = "nis2.notification"
	StageNIS2Final        Stage = "nis2.final"
	StageDORAInitial      Stage = "dora.initial"
	StageDORAIntermediate Stage = "dora.intermediate"
	StageDORAFinal        Stage = "dora.final"
)

func anyIn(have []string, wanted []string) bool {
	return slices.ContainsFunc(have, func(s string) bool { return slices.Contains(wanted, s) })
}
