package breach

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// OrgID identifies a provisioned organisation; it comes from the API key, never from a body.
type OrgID string

// ReportID is a report's ULID.
type ReportID string

// wellFormedID reports whether s is a report id as ULIDs writes them: 26 upper-case Crockford
// base32 characters. Checked before any read, so that a malformed id costs no store call.
func wellFormedID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := range len(s) {
		if strings.IndexByte(crockford, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Organisation is a provisioned reporting organisation.
type Organisation struct {
	ID        OrgID
	LegalName string
	SIREN     string // empty when provisioned without one
	Country   string
}

// Report is the body of POST /v1/reports. Only Parser.Parse makes one that is valid; the JSON
// names are the contract. Leaf types that clients get wrong often (counts, timestamps) decode
// leniently and are judged by validation, so every such mistake is reported at once.
//
// The fields of Report, of the types it holds and of the stored document are in the byte order of
// their JSON names: json.Marshal then writes RFC 8785 canonical JSON in one pass (see
// canonicalJSON; TestCanonicalFieldOrder guards the order).
type Report struct {
	Consequences     string            `json:"consequences,omitzero"`
	Data             Data              `json:"data"`
	Incident         Incident          `json:"incident"`
	LateReason       string            `json:"late_reason,omitzero"`
	Measures         Measures          `json:"measures"`
	Organisation     OrganisationBody  `json:"organisation"`
	Processor        *Processor        `json:"processor,omitzero"`
	Regimes          []Regime          `json:"regimes"`
	Reporter         Reporter          `json:"reporter"`
	SubjectsInformed *SubjectsInformed `json:"subjects_informed,omitzero"`
}

type Reporter struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitzero"`
	Role  string `json:"role,omitzero"`
}

type OrganisationBody struct {
	Country   string `json:"country"`
	LegalName string `json:"legal_name"`
	Role      string `json:"role"`
	Sector    string `json:"sector"`
	SIREN     string `json:"siren,omitzero"`
}

type Processor struct {
	LegalName string `json:"legal_name,omitzero"`
	SIREN     string `json:"siren,omitzero"`
}

type Incident struct {
	AwareAt      Timestamp `json:"aware_at"`
	BreachTypes  []string  `json:"breach_types"`
	Cause        string    `json:"cause"`
	CrossBorder  *bool     `json:"cross_border,omitzero"`
	Description  string    `json:"description"`
	DiscoveredAt Timestamp `json:"discovered_at,omitzero"`
	MemberStates []string  `json:"member_states,omitzero"`
	OccurredAt   Timestamp `json:"occurred_at,omitzero"`
	Ongoing      *bool     `json:"ongoing,omitzero"`
	Title        string    `json:"title"`
}

type Data struct {
	DataCategories    []string `json:"data_categories"`
	RecordsAffected   Count    `json:"records_affected,omitzero"`
	SubjectCategories []string `json:"subject_categories,omitzero"`
	SubjectsAffected  Count    `json:"subjects_affected"`
	SubjectsEstimate  string   `json:"subjects_estimate"`
}

type Measures struct {
	Planned string `json:"planned,omitzero"`
	Taken   string `json:"taken"`
}

type SubjectsInformed struct {
	Reason string `json:"reason,omitzero"`
	Status string `json:"status,omitzero"`
}

// Count is a number of people or records: an integer 0…10^10 written as a JSON number.
// `"12000"`, `1.5` and `1e3` decode without error and fail validation with rule `type`.
type Count struct {
	N     int64
	state leafState
}

type leafState uint8

const (
	absent leafState = iota
	valid
	wrongType
	badFormat
)

// NewCount is a present count of n.
func NewCount(n int64) Count { return Count{N: n, state: valid} }

// IsZero reports an absent count, so `omitzero` leaves it out of the stored document.
func (c Count) IsZero() bool { return c.state == absent }

// UnmarshalJSONFrom reads any JSON value: what is not an integer literal is recorded as a wrong
// type for validation to report, rather than failing the whole decode.
func (c *Count) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	switch {
	case v.Kind() == 'n':
		*c = Count{}
	case err == nil:
		*c = Count{N: n, state: valid}
	case isIntegerLiteral(v) && v[0] == '-':
		*c = Count{N: -1, state: valid} // beyond int64, below zero: rule min
	case isIntegerLiteral(v):
		// Syntactically an integer but beyond int64: a count that is too large, not a wrong type.
		*c = Count{N: maxCount + 1, state: valid}
	default:
		*c = Count{state: wrongType}
	}
	return nil
}

func (c Count) MarshalJSONTo(enc *jsontext.Encoder) error { return enc.WriteToken(jsontext.Int(c.N)) }

func isIntegerLiteral(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("-"))
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Timestamp is an RFC 3339 time with an offset. Stored documents carry it in UTC with its
// fraction kept. A non-string or unparseable value fails validation (rules `type`, `format`).
type Timestamp struct {
	T     time.Time
	state leafState
}

// NewTimestamp is a present timestamp.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{T: t.UTC(), state: valid} }

// IsZero reports an absent timestamp.
func (ts Timestamp) IsZero() bool { return ts.state == absent }

// UnmarshalJSONFrom reads any JSON value: a non-string or an unparseable time is recorded for
// validation to report, rather than failing the whole decode.
func (ts *Timestamp) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n', '"':
	default:
		*ts = Timestamp{state: wrongType}
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() == 'n' {
		*ts = Timestamp{}
		return nil
	}
	s := tok.String()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !isRFC3339(s) {
		*ts = Timestamp{state: badFormat}
		return nil
	}
	*ts = Timestamp{T: t.UTC(), state: valid}
	return nil
}

func (ts Timestamp) MarshalJSONTo(enc *jsontext.Encoder) error {
	return enc.WriteToken(jsontext.String(ts.T.UTC().Format(time.RFC3339Nano)))
}

// isRFC3339 rejects what time.Parse tolerates beyond RFC 3339's date-time and our rule of an
// explicit offset: a lower-case `t` or `z`, a comma before the fraction of a second, an offset
// hour over 23 or minute over 59. time.Parse has checked the digits before the seconds' end.
func isRFC3339(s string) bool {
	if len(s) < 20 || s[10] != 'T' {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		upTo(rest[1:3], 23) && upTo(rest[4:6], 59)
}

// upTo says whether two characters are decimal digits worth at most limit.
func upTo(two string, limit int) bool {
	if two[0] < '0' || two[0] > '9' || two[1] < '0' || two[1] > '9' {
		return false
	}
	return int(two[0]-'0')*10+int(two[1]-'0') <= limit
}
