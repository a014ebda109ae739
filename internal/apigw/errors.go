// Package apigw turns API Gateway HTTP API events into calls on the domain and domain answers
// and errors into HTTP responses.
package apigw

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/metrics"
)

// status is the one table from error code to HTTP status.
var status = map[breach.Code]int{
	breach.InvalidJSON:          http.StatusBadRequest,
	breach.Invalid:              http.StatusBadRequest,
	breach.NotFound:             http.StatusNotFound,
	breach.VersionConflict:      http.StatusConflict,
	breach.TooLarge:             http.StatusRequestEntityTooLarge,
	breach.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	breach.IdempotencyKeyReused: http.StatusUnprocessableEntity,
	breach.LateReasonRequired:   http.StatusUnprocessableEntity,
}

const internalCode = "internal"

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	RequestID string              `json:"request_id"`
	Fields    []breach.FieldError `json:"fields,omitempty"`
}

// errorResponse answers err. A *breach.Error is answered as it is; anything else is a 500 whose
// cause is logged and never sent. It is where every error answer is counted (Rejections, by the
// code of its body, in ctx's metrics.Record): call it once per request.
func errorResponse(ctx context.Context, err error, requestID string, log zerolog.Logger) events.APIGatewayV2HTTPResponse {
	var e *breach.Error
	if errors.As(err, &e) {
		if code, ok := status[e.Code]; ok {
			metrics.FromContext(ctx).Rejection(e.Code)
			log.Info().Str("code", string(e.Code)).Int("status", code).Int("fields", len(e.Fields)).Msg("request refused")
			return jsonResponse(code, errorBody{errorDetail{Code: string(e.Code), Message: e.Msg, RequestID: requestID, Fields: e.Fields}})
		}
	}
	metrics.FromContext(ctx).Rejection(internalCode)
	log.Error().Err(err).Msg("internal error")
	return jsonResponse(http.StatusInternalServerError, errorBody{errorDetail{
		Code: internalCode, Message: "internal error; quote the request_id when reporting it", RequestID: requestID}})
}

func jsonResponse(code int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		// Our own response types always marshal; this is a programming error.
		panic(err)
	}
	return rawResponse(code, b)
}

func rawResponse(code int, body []byte) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: code,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}
}
