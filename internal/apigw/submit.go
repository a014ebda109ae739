package apigw

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
)

// Handler is what a Lambda function behind the HTTP API runs.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// routeHealth is the route of the health check, which the submit-report function also serves.
const routeHealth = "GET /v1/health"

// SubmitReport serves the submit-report function's routes: POST /v1/reports and GET /v1/health.
// It never returns an error to the runtime: every failure is an HTTP answer.
func SubmitReport(in *breach.Intake, log zerolog.Logger) Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		requestID := req.RequestContext.RequestID
		switch req.RouteKey {
		case routeHealth:
			return rawResponse(http.StatusOK, []byte(`{"status":"ok"}`)), nil
		case breach.RouteSubmit:
			org := authorizerContext(req, "org_id")
			l := log.With().Str("request_id", requestID).Str("org_id", org).Str("route", req.RouteKey).Logger()
			return submit(ctx, in, req, breach.OrgID(org), l), nil
		default:
			return errorResponse(breach.Errorf(breach.NotFound, "no route %s", req.RouteKey), requestID, log), nil
		}
	}
}

func submit(ctx context.Context, in *breach.Intake, req events.APIGatewayV2HTTPRequest, org breach.OrgID, log zerolog.Logger) events.APIGatewayV2HTTPResponse {
	requestID := req.RequestContext.RequestID
	if authorizerContext(req, "principal") != "organisation" || org == "" {
		// The authorizer lets only organisation keys through on this route, always with their
		// org_id: anything else is a deployment fault.
		return errorResponse(errNoOrganisation, requestID, log)
	}
	body, err := requestBody(req)
	if err != nil {
		return errorResponse(err, requestID, log)
	}
	got, err := in.Submit(ctx, breach.Submission{Org: org, IdempotencyKey: header(req, "idempotency-key"), Body: body})
	if err != nil {
		return errorResponse(err, requestID, log)
	}
	code := http.StatusCreated
	if got.Replay {
		code = http.StatusOK
	}
	log.Info().Str("report_id", string(got.ID)).Int("version", got.Version).Str("severity", string(got.Severity)).
		Bool("late", got.Late).Bool("replay", got.Replay).Msg("report accepted")
	resp := rawResponse(code, got.Receipt)
	resp.Headers["location"] = "/v1/reports/" + string(got.ID)
	return resp
}

type internalError string

func (e internalError) Error() string { return string(e) }

const errNoOrganisation = internalError("no organisation principal in the authorizer context")

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
