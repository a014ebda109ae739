package apigw

import (
	"context"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// The read routes, as the gateway names them in the event's routeKey.
const (
	routeList      = "GET /v1/reports"
	routeReport    = "GET /v1/reports/{id}"
	routeVersion   = "GET /v1/reports/{id}/versions/{n}"
	routeRegulator = "GET /v1/regulator/reports/{id}"
)

// msgReportRead is the log line of every report or version shown to a caller. The template's
// Contributor Insights rule (ReadsPerKeyRule) counts these lines per key_id to catch one key
// reading in bulk: keep the message and the key_id field as they are.
const msgReportRead = "report read"

// Readers gives the read routes their Reader. The function builds it on first use, not at start,
// because its cursor key comes from KMS (see internal/app/reads); a failure is answered 500 and
// tried again at the next request.
type Readers func(ctx context.Context) (*breach.Reader, error)

// ReadReports serves the read-reports function's routes: an organisation's own reports
// (GET /v1/reports, /v1/reports/{id}, /v1/reports/{id}/versions/{n}) and any report to a
// regulator (GET /v1/regulator/reports/{id}).
//
// Every answer is appended to the audit trail before it is sent: to the calling organisation's
// chain, or for a regulator to the chain of the report's owner (to "_regulators" when no report
// was found). A read whose entry cannot be appended answers 500 without its data: nobody reads a
// report unrecorded. It never returns an error to the runtime.
func ReadReports(readers Readers, trail *audit.Trail, log zerolog.Logger) Handler {
	mustTrail(trail)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		requestID := req.RequestContext.RequestID
		var (
			c  caller
			ok bool
		)
		switch req.RouteKey {
		case routeList, routeReport, routeVersion:
			c, ok = organisation(req)
		case routeRegulator:
			c, ok = regulator(req)
		default:
			return errorResponse(ctx, breach.Errorf(breach.NotFound, "no route %s", req.RouteKey), requestID, log), nil
		}
		l := log.With().Str("request_id", requestID).Str("route", req.RouteKey).Logger()
		if !ok {
			// Nobody the gateway vouched for: no chain to record it in, and certainly no data.
			err := errNoOrganisation
			if req.RouteKey == routeRegulator {
				err = errNoRegulator
			}
			return errorResponse(ctx, err, requestID, l), nil
		}
		if c.org != "" {
			l = l.With().Str("org_id", string(c.org)).Logger()
		}
		rd, err := readers(ctx)
		var r read
		if err != nil {
			r = failedRead(err, c, req.PathParameters["id"])
		} else {
			r = serveRead(ctx, rd, req, c)
		}
		if err := record(ctx, trail, r.chain, c, req, r.outcome); err != nil {
			// The 500 replaces r's answer: r.err, if any, is logged here, and only the 500 counted.
			l.Error().Err(err).AnErr("answer_error", r.err).Str("report_id", r.reportID).Int("status", r.status).
				Msg("audit entry of a read not appended")
			return errorResponse(ctx, errUnaudited, requestID, zerolog.Nop()), nil
		}
		resp := r.answer(ctx, requestID, l)
		if r.err == nil {
			metrics.FromContext(ctx).Read(req.RouteKey)
		}
		if r.status == http.StatusOK && r.reportID != "" {
			ev := l.Info().Str("key_id", c.keyID)
			if c.org == "" { // a regulator: the organisation is the report's, not yet in l
				ev = ev.Str("org_id", string(r.owner))
			}
			ev.Str("report_id", r.reportID).Int("version", r.version).Str("principal", c.principal).Msg(msgReportRead)
		}
		return resp, nil
	}
}

const errUnaudited = internalError("the read could not be recorded")

// read is a read route's answer before it is sent: what to send, and what to record of it where.
type read struct {
	outcome
	chain string
	owner breach.OrgID // the report's organisation, when one was found
	body  []byte       // the answer's JSON on success
	etag  string
	err   error // the failure to answer instead
}

// answer is the HTTP response of r.
func (r read) answer(ctx context.Context, requestID string, log zerolog.Logger) events.APIGatewayV2HTTPResponse {
	if r.err != nil {
		return errorResponse(ctx, r.err, requestID, log)
	}
	resp := rawResponse(r.status, r.body)
	// Reports hold personal data: no cache anywhere keeps a copy.
	resp.Headers["cache-control"] = "no-store"
	if r.etag != "" {
		resp.Headers["etag"] = r.etag
	}
	return resp
}

func serveRead(ctx context.Context, rd *breach.Reader, req events.APIGatewayV2HTTPRequest, c caller) read {
	id := req.PathParameters["id"]
	switch req.RouteKey {
	case routeList:
		page, err := rd.List(ctx, c.org, req.QueryStringParameters["cursor"], req.QueryStringParameters["limit"])
		if err != nil {
			return failedRead(err, c, "")
		}
		return shown(c.org, "", 0, page, "")
	case routeReport:
		view, err := rd.Report(ctx, c.org, id)
		if err != nil {
			return failedRead(err, c, id)
		}
		return shown(c.org, string(view.ID), view.Version, view, etag(view.Version))
	case routeVersion:
		v, err := rd.Version(ctx, c.org, id, req.PathParameters["n"])
		if err != nil {
			return failedRead(err, c, id)
		}
		// The stored document's own bytes: its sha256 is the receipt's, so a client can check it.
		return read{outcome: outcome{reportID: string(v.ReportID), version: v.Number, status: http.StatusOK},
			chain: string(c.org), owner: c.org, body: v.Document}
	default: // routeRegulator
		view, err := rd.RegulatorReport(ctx, id)
		if err != nil {
			return failedRead(err, c, id)
		}
		owner, err := ownerOf(view)
		if err != nil {
			return failedRead(err, c, id)
		}
		return shown(owner, string(view.ID), view.Version, view, etag(view.Version))
	}
}

// shown is a successful read of v, recorded in owner's chain.
func shown(owner breach.OrgID, reportID string, version int, v any, etag string) read {
	body, err := json.Marshal(v)
	if err != nil {
		return read{outcome: refused(err, reportID), chain: string(owner), err: err}
	}
	return read{outcome: outcome{reportID: reportID, version: version, status: http.StatusOK},
		chain: string(owner), owner: owner, body: body, etag: etag}
}

// failedRead is the answer to err: recorded in the organisation's own chain, or, for a
// regulator, in the regulators' one (no report was found, so no owner is known).
func failedRead(err error, c caller, reportID string) read {
	chain := string(c.org)
	if c.principal == principalRegulator {
		chain = regulatorsChain
	}
	return read{outcome: refused(err, reportID), chain: chain, err: err}
}

// etag is a report's entity tag: its latest version, as If-Match takes it for a supplement.
func etag(latest int) string { return `"` + strconv.Itoa(latest) + `"` }

// ownerOf reads the organisation a report belongs to from its latest stored document, whose
// org_id the server wrote (API.md, Stored document): a regulator's read is recorded in that
// organisation's chain.
func ownerOf(view breach.ReportView) (breach.OrgID, error) {
	var doc struct {
		OrgID breach.OrgID `json:"org_id"`
	}
	if err := json.Unmarshal(view.Latest, &doc); err != nil || doc.OrgID == "" {
		return "", internalError("report " + string(view.ID) + ": no org_id in its stored document")
	}
	return doc.OrgID, nil
}
