package breach

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Page sizes of GET /v1/reports (API.md).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Reader answers the read routes. Every organisation route goes through the report's head for the
// calling organisation first, so nothing of another organisation's report is ever read, and
// every report a caller may not see gets the same NotFound.
type Reader struct {
	store   Store
	cursors *Cursors
}

// NewReader builds a Reader over store, listing with cursors.
func NewReader(store Store, cursors *Cursors) *Reader {
	return &Reader{store: store, cursors: cursors}
}

// ReportView is the body of GET /v1/reports/{id}: the latest version's stored document as it is
// stored (so its sha256 still verifies) and the list of versions.
type ReportView struct {
	ID       ReportID       `json:"id"`
	Version  int            `json:"version"` // the latest
	Latest   jsontext.Value `json:"latest"`
	Versions []VersionInfo  `json:"versions"`
}

// ReportSummary is one item of a listing, from the report's head.
type ReportSummary struct {
	ID         ReportID  `json:"id"`
	Version    int       `json:"version"` // the latest
	Regimes    []Regime  `json:"regimes"`
	Stage      Stage     `json:"stage"`
	Severity   Severity  `json:"severity"`
	Late       bool      `json:"late"`
	ReceivedAt time.Time `json:"received_at"` // of version 1
	UpdatedAt  time.Time `json:"updated_at"`  // of the latest version
}

// Page is the body of GET /v1/reports: NextCursor is null on the last page.
type Page struct {
	Items      []ReportSummary `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

// Report is org's report id: its latest version and the list of versions.
func (rd *Reader) Report(ctx context.Context, org OrgID, id string) (ReportView, error) {
	h, err := head(ctx, rd.store, org, id)
	if err != nil {
		return ReportView{}, err
	}
	return rd.view(ctx, h)
}

// Version is version n (as the path writes it) of org's report id; its Document is the body.
// A number that is not a version of the report gets the same NotFound as an unknown report.
func (rd *Reader) Version(ctx context.Context, org OrgID, id, n string) (Version, error) {
	h, err := head(ctx, rd.store, org, id)
	if err != nil {
		return Version{}, err
	}
	num, ok := parseNumber(n)
	if !ok || num < 1 || num > h.Latest {
		return Version{}, noSuchReport()
	}
	return rd.store.Version(ctx, h.ID, num)
}

// List is a page of org's reports, newest first. cursor and limit are the query parameters as
// given, "" when absent; both are checked, and every failing one listed.
func (rd *Reader) List(ctx context.Context, org OrgID, cursor, limit string) (Page, error) {
	var fields []FieldError
	var after ReportID
	if cursor != "" {
		var err error
		if after, err = rd.cursors.Open(org, cursor); err != nil {
			fields = append(fields, FieldError{cursorField, RuleFormat})
		}
	}
	size, limitFields := pageSize(limit)
	if fields = append(fields, limitFields...); len(fields) > 0 {
		return Page{}, &Error{Code: Invalid, Msg: "the query has invalid parameters", Fields: fields}
	}
	heads, more, err := rd.store.Reports(ctx, org, after, size)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]ReportSummary, 0, len(heads))}
	for _, h := range heads {
		page.Items = append(page.Items, ReportSummary{ID: h.ID, Version: h.Latest, Regimes: h.Regimes, Stage: h.Stage,
			Severity: h.Severity, Late: h.Late, ReceivedAt: h.ReceivedAt.UTC(), UpdatedAt: h.UpdatedAt.UTC()})
	}
	if more && len(heads) > 0 {
		next := rd.cursors.Seal(org, heads[len(heads)-1].ID)
		page.NextCursor = &next
	}
	return page, nil
}

// RegulatorReport is any organisation's report id, for a regulator: regulators read every report.
func (rd *Reader) RegulatorReport(ctx context.Context, id string) (ReportView, error) {
	if !wellFormedID(id) {
		return ReportView{}, noSuchReport()
	}
	org, err := rd.store.Owner(ctx, ReportID(id))
	if ErrorCode(err) == NotFound {
		return ReportView{}, noSuchReport()
	} else if err != nil {
		return ReportView{}, err
	}
	h, err := head(ctx, rd.store, org, id)
	if err != nil {
		return ReportView{}, err
	}
	return rd.view(ctx, h)
}

func (rd *Reader) view(ctx context.Context, h ReportHead) (ReportView, error) {
	versions, err := rd.store.Versions(ctx, h.ID)
	if err != nil {
		return ReportView{}, err
	}
	latest, err := rd.store.Version(ctx, h.ID, h.Latest)
	if err != nil {
		return ReportView{}, err
	}
	return ReportView{ID: h.ID, Version: h.Latest, Latest: latest.Document, Versions: versions}, nil
}

// pageSize reads the limit parameter: 1–100, 20 when absent.
func pageSize(limit string) (int, []FieldError) {
	const field = "query.limit"
	if limit == "" {
		return DefaultPageSize, nil
	}
	if strings.Trim(limit, "0123456789") != "" {
		return 0, []FieldError{{field, RuleType}}
	}
	n, err := strconv.Atoi(limit) // digits only: the one possible error is overflow
	switch {
	case err != nil || n > MaxPageSize:
		return 0, []FieldError{{field, RuleMax}}
	case n < 1:
		return 0, []FieldError{{field, RuleMin}}
	}
	return n, nil
}
