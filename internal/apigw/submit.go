package apigw

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// Handler is what a Lambda function behind the HTTP API runs.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// routeHealth is the route of the health check, which the submit-report function also serves.
const routeHealth = "GET /v1/health"

// SubmitReport serves the submit-report function's routes: POST /v1/reports, POST
// /v1/reports/{id}/supplements and GET /v1/health. Every answer of a report route is appended to
// the calling organisation's audit chain, and counted in the invocation's metrics.Record (its
// context's: see metrics.Wrap). It never returns an error to the runtime: every failure is an
// HTTP answer.
func SubmitReport(in *breach.Intake, trail *audit.Trail, log zerolog.Logger) Handler {
	mustTrail(trail)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		requestID := req.RequestContext.RequestID
		var write func(context.Context, *breach.Intake, events.APIGatewayV2HTTPRequest, caller, zerolog.Logger) (events.APIGatewayV2HTTPResponse, outcome)
		switch req.RouteKey {
		case routeHealth:
			return rawResponse(http.StatusOK, []byte(`{"status":"ok"}`)), nil
		case breach.RouteSubmit:
			write = submit
		case breach.RouteSupplement:
			write = supplement
		default:
			return errorResponse(ctx, breach.Errorf(breach.NotFound, "no route %s", req.RouteKey), requestID, log), nil
		}
		c, ok := organisation(req)
		l := log.With().Str("request_id", requestID).Str("org_id", string(c.org)).Str("route", req.RouteKey).Logger()
		if !ok {
			return errorResponse(ctx, errNoOrganisation, requestID, l), nil
		}
		resp, o := write(ctx, in, req, c, l)
		// The answer stands whatever the trail says: a write that was committed cannot be taken
		// back, and a client told 500 would retry it for nothing. The missing entry is an error
		// for the operators, not for the client.
		if err := record(ctx, trail, string(c.org), c, req, o); err != nil {
			l.Error().Err(err).Str("report_id", o.reportID).Int("version", o.version).Int("status", o.status).
				Msg("audit entry of a write not appended")
		}
		return resp, nil
	}
}

func submit(ctx context.Context, in *breach.Intake, req events.APIGatewayV2HTTPRequest, c caller, log zerolog.Logger) (events.APIGatewayV2HTTPResponse, outcome) {
	requestID := req.RequestContext.RequestID
	body, err := requestBody(req)
	if err != nil {
		return errorResponse(ctx, err, requestID, log), refused(err, "")
	}
	got, err := in.Submit(ctx, breach.Submission{Org: c.org, IdempotencyKey: header(req, "idempotency-key"), Body: body})
	if err != nil {
		return errorResponse(ctx, err, requestID, log), refused(err, "")
	}
	if got.Replay {
		metrics.FromContext(ctx).Replay()
	} else {
		metrics.FromContext(ctx).ReportAccepted(got.Severity, got.Regimes, got.Late)
	}
	return accepted(got, "/v1/reports/"+string(got.ID), log)
}

// supplement is POST /v1/reports/{id}/supplements. The report is looked up first: another
// organisation's or an unknown report is a 404 before anything about the body is said (API.md's
// order: 404, 415, 413, 400, …).
func supplement(ctx context.Context, in *breach.Intake, req events.APIGatewayV2HTTPRequest, c caller, log zerolog.Logger) (events.APIGatewayV2HTTPResponse, outcome) {
	requestID := req.RequestContext.RequestID
	id := req.PathParameters["id"]
	head, err := in.Head(ctx, c.org, id)
	if err != nil {
		return errorResponse(ctx, err, requestID, log), refused(err, id)
	}
	body, err := requestBody(req)
	if err != nil {
		return errorResponse(ctx, err, requestID, log), refused(err, id)
	}
	got, err := in.Supplement(ctx, head, breach.SupplementRequest{
		IdempotencyKey: header(req, "idempotency-key"), IfMatch: header(req, "if-match"), Body: body})
	if err != nil {
		return errorResponse(ctx, err, requestID, log), refused(err, id)
	}
	if got.Replay {
		metrics.FromContext(ctx).Replay()
	} else {
		metrics.FromContext(ctx).SupplementAccepted(got.Late)
	}
	return accepted(got, "/v1/reports/"+string(got.ID)+"/versions/"+strconv.Itoa(got.Version), log)
}

// accepted answers a stored (201) or replayed (200) version with its receipt.
func accepted(got breach.Accepted, location string, log zerolog.Logger) (events.APIGatewayV2HTTPResponse, outcome) {
	code := http.StatusCreated
	if got.Replay {
		code = http.StatusOK
	}
	log.Info().Str("report_id", string(got.ID)).Int("version", got.Version).Str("severity", string(got.Severity)).
		Bool("late", got.Late).Bool("replay", got.Replay).Msg("report accepted")
	resp := rawResponse(code, got.Receipt)
	resp.Headers["location"] = location
	return resp, outcome{reportID: string(got.ID), version: got.Version, status: code}
}

type internalError string

func (e internalError) Error() string { return string(e) }

// requestBody applies the checks that come before decoding, in API.md's order: media type (415),
// then size (413). API Gateway base64-encodes bodies it does not consider text.
func requestBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !isJSON(header(req, "content-type")) {
		return nil, breach.Errorf(breach.UnsupportedMediaType, "send the report as application/json")
	}
	tooLarge := breach.Errorf(breach.TooLarge, "the body is over %d KiB", breach.MaxBodyBytes>>10)
	if !req.IsBase64Encoded {
		if len(req.Body) > breach.MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > breach.MaxBodyBytes+2 {
		return nil, tooLarge
	}
	body, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, breach.Errorf(breach.InvalidJSON, "the body could not be decoded")
	}
	if len(body) > breach.MaxBodyBytes {
		return nil, tooLarge
	}
	return body, nil
}

// isJSON accepts application/json, with a charset parameter only when it is utf-8.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// header reads a request header. API Gateway HTTP APIs lower-case header names; a header sent
// twice arrives joined by commas.
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// authorizerContext reads a value the Lambda authorizer put in its context ("" when absent).
func authorizerContext(req events.APIGatewayV2HTTPRequest, key string) string {
	if req.RequestContext.Authorizer == nil {
		return ""
	}
	v, _ := req.RequestContext.Authorizer.Lambda[key].(string)
	return v
}
