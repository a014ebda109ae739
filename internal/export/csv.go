package export

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Columns is the CSV export's fixed column set, in order: one row per stored version. Lists are
// joined with "|" (their values are closed vocabularies or ISO codes, never holding one); an
// absent optional field is an empty cell; times are written as stored (UTC RFC 3339, fractions
// kept); booleans are true/false. `deadlines` is each stage as `stage=due_at:met` joined with
// "|", met being true, false or pending, as that version's receipt stated them (the latest
// version's row is the freshest view). `sha256` is the SHA-256 of the stored document: the
// receipt's, and that of the version's line in the jsonl export. The free texts (description,
// consequences, measures, subjects_informed reason) are left to the jsonl export.
var Columns = []string{
	"report_id", "version", "org_id", "received_at", "stage", "severity", "late", "late_reason", "regimes",
	"organisation_legal_name", "organisation_siren", "organisation_sector", "organisation_country", "organisation_role",
	"processor_legal_name", "processor_siren",
	"incident_title", "incident_occurred_at", "incident_discovered_at", "incident_aware_at", "incident_ongoing",
	"incident_cause", "incident_breach_types", "incident_cross_border", "incident_member_states",
	"subjects_affected", "subjects_estimate", "records_affected", "subject_categories", "data_categories",
	"subjects_informed_status", "deadlines", "sha256",
}

// ContactColumns follow Columns only with Options.WithContacts: the reporter's contact details.
var ContactColumns = []string{"reporter_name", "reporter_role", "reporter_email", "reporter_phone"}

// storedDocument is what the CSV reads of a stored document (API.md, Stored document and
// receipt). It is decoded here rather than into breach.Report so that the export writes what was
// stored, times and all, exactly as stored.
type storedDocument struct {
	SchemaVersion *int       `json:"schema_version"`
	ID            string     `json:"id"`
	Version       int        `json:"version"`
	OrgID         string     `json:"org_id"`
	ReceivedAt    string     `json:"received_at"`
	Stage         string     `json:"stage"`
	Severity      string     `json:"severity"`
	Late          bool       `json:"late"`
	Deadlines     []deadline `json:"deadlines"`
	Report        struct {
		Regimes    []string `json:"regimes"`
		LateReason string   `json:"late_reason"`
		Reporter   struct {
			Name  string `json:"name"`
			Role  string `json:"role"`
			Email string `json:"email"`
			Phone string `json:"phone"`
		} `json:"reporter"`
		Organisation struct {
			LegalName string `json:"legal_name"`
			SIREN     string `json:"siren"`
			Sector    string `json:"sector"`
			Country   string `json:"country"`
			Role      string `json:"role"`
		} `json:"organisation"`
		Processor *struct {
			LegalName string `json:"legal_name"`
			SIREN     string `json:"siren"`
		} `json:"processor"`
		Incident struct {
			Title        string   `json:"title"`
			OccurredAt   string   `json:"occurred_at"`
			DiscoveredAt string   `json:"discovered_at"`
			AwareAt      string   `json:"aware_at"`
			Ongoing      *bool    `json:"ongoing"`
			Cause        string   `json:"cause"`
			BreachTypes  []string `json:"breach_types"`
			CrossBorder  *bool    `json:"cross_border"`
			MemberStates []string `json:"member_states"`
		} `json:"incident"`
		Data struct {
			SubjectsAffected  *int64   `json:"subjects_affected"`
			SubjectsEstimate  string   `json:"subjects_estimate"`
			RecordsAffected   *int64   `json:"records_affected"`
			SubjectCategories []string `json:"subject_categories"`
			DataCategories    []string `json:"data_categories"`
		} `json:"data"`
		SubjectsInformed *struct {
			Status string `json:"status"`
		} `json:"subjects_informed"`
	} `json:"report"`
}

type deadline struct {
	Stage string `json:"stage"`
	DueAt string `json:"due_at"`
	Met   *bool  `json:"met"`
}

// schemaVersion is the only stored document shape this export knows how to flatten.
const schemaVersion = 1

func parseDocument(doc []byte) (storedDocument, error) {
	var d storedDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return d, fmt.Errorf("decode stored document: %w", err)
	}
	if d.SchemaVersion == nil || *d.SchemaVersion != schemaVersion {
		v := "none"
		if d.SchemaVersion != nil {
			v = strconv.Itoa(*d.SchemaVersion)
		}
		return d, fmt.Errorf("stored document has schema_version %s: this export knows %d only", v, schemaVersion)
	}
	return d, nil
}

// row flattens a stored document into the cells of Columns (and ContactColumns if contacts),
// before escaping. sha256 is the document's digest.
func row(d storedDocument, sha256 string, contacts bool) []string {
	r := d.Report
	var processorName, processorSIREN string
	if r.Processor != nil {
		processorName, processorSIREN = r.Processor.LegalName, r.Processor.SIREN
	}
	informed := ""
	if r.SubjectsInformed != nil {
		informed = r.SubjectsInformed.Status
	}
	deadlines := make([]string, len(d.Deadlines))
	for i, dl := range d.Deadlines {
		met := "pending"
		if dl.Met != nil {
			met = strconv.FormatBool(*dl.Met)
		}
		deadlines[i] = dl.Stage + "=" + dl.DueAt + ":" + met
	}
	cells := []string{
		d.ID, strconv.Itoa(d.Version), d.OrgID, d.ReceivedAt, d.Stage, d.Severity, strconv.FormatBool(d.Late), r.LateReason,
		list(r.Regimes),
		r.Organisation.LegalName, r.Organisation.SIREN, r.Organisation.Sector, r.Organisation.Country, r.Organisation.Role,
		processorName, processorSIREN,
		r.Incident.Title, r.Incident.OccurredAt, r.Incident.DiscoveredAt, r.Incident.AwareAt, optBool(r.Incident.Ongoing),
		r.Incident.Cause, list(r.Incident.BreachTypes), optBool(r.Incident.CrossBorder), list(r.Incident.MemberStates),
		optInt(r.Data.SubjectsAffected), r.Data.SubjectsEstimate, optInt(r.Data.RecordsAffected),
		list(r.Data.SubjectCategories), list(r.Data.DataCategories),
		informed, strings.Join(deadlines, "|"), sha256,
	}
	if contacts {
		cells = append(cells, r.Reporter.Name, r.Reporter.Role, r.Reporter.Email, r.Reporter.Phone)
	}
	return cells
}

func list(s []string) string { return strings.Join(s, "|") }

func optBool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func optInt(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}

// EscapeFormula neutralises a cell that a spreadsheet would read as a formula, following OWASP's
// CSV Injection guidance (https://owasp.org/www-community/attacks/CSV_Injection): no cell may
// begin with = + - @, tab (0x09), carriage return (0x0D) or line feed (0x0A, in the page's
// current list); such a cell gets a leading single quote, which spreadsheets take as "text"
// and do not display. NUL is added from OWASP ASVS 5.0 requirement 1.2.10, which lists it with
// the others. Beyond the letter of both, a cell whose first character after leading white space
// (spaces, no-break spaces and the like, which an import may trim) is one of = + - @ is quoted
// too. OWASP's other warning, a field separator or quote inside a cell starting a new cell
// there, is answered by the writer, which puts every cell in double quotes (see csvWriter).
//
// Every cell goes through it, numbers included: a count is never negative here, and a negative
// number would be written '-1, text, rather than risk "-1+1".
func EscapeFormula(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n', 0:
		return "'" + cell
	}
	rest := strings.TrimLeftFunc(cell, unicode.IsSpace)
	if rest != cell && rest != "" {
		switch rest[0] {
		case '=', '+', '-', '@':
			return "'" + cell
		}
	}
	return cell
}

// csvWriter writes RFC 4180 CSV with every field in double quotes (a double quote inside
// doubled) and CRLF line ends. encoding/csv quotes only the fields holding its own comma, a
// quote or a line end: a spreadsheet that splits on ';' (the default list separator of French
// Excel) would then cut "a;=cmd" into a cell "=cmd". Quoted, it stays one cell in any
// separator. The tests read the output back with encoding/csv.
type csvWriter struct {
	w   io.Writer
	buf []byte
}

func (c *csvWriter) write(cells []string) error {
	c.buf = c.buf[:0]
	for i, cell := range cells {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		if !utf8.ValidString(cell) {
			// Stored documents are valid UTF-8 (the intake refuses anything else): a cell that is
			// not says the document is not what the intake stored.
			return fmt.Errorf("cell %d is not valid UTF-8", i+1)
		}
		c.buf = append(c.buf, '"')
		c.buf = append(c.buf, strings.ReplaceAll(cell, `"`, `""`)...)
		c.buf = append(c.buf, '"')
	}
	c.buf = append(c.buf, '\r', '\n')
	_, err := c.w.Write(c.buf)
	return err
}

// header is the CSV header row.
func header(contacts bool) []string {
	h := append([]string(nil), Columns...)
	if contacts {
		h = append(h, ContactColumns...)
	}
	return h
}
