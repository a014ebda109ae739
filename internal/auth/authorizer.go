package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"
)

// Keys finds stored keys by id. An unknown id is an error wrapping ErrNotFound.
type Keys interface {
	Key(ctx context.Context, id string) (Key, error)
}

// Authorizer is the HTTP API Lambda authorizer: it turns a bearer key into the principal that
// the routes receive in requestContext.authorizer.lambda.
type Authorizer struct {
	keys Keys
	now  func() time.Time
	log  zerolog.Logger
}

// NewAuthorizer decides with keys, at the time now tells, logging to log.
func NewAuthorizer(keys Keys, now func() time.Time, log zerolog.Logger) *Authorizer {
	return &Authorizer{keys: keys, now: now, log: log}
}

// Handle answers one authorizer invocation (payload format 2.0, simple responses). Every denial
// looks the same to the caller; only the log says why. A failed lookup is an error, never an
// allow: the gateway then answers 500.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	log := a.log.With().Str("request_id", req.RequestContext.RequestID).Logger()
	header := req.Headers["authorization"]
	if len(req.IdentitySource) > 0 {
		header = req.IdentitySource[0]
	}
	c, err := ParseBearer(header)
	if err != nil {
		// Nothing of the header is logged: a malformed key may still hold a real secret.
		return deny(log, "malformed"), nil
	}
	log = log.With().Str("key_id", c.ID).Logger()

	k, err := a.keys.Key(ctx, c.ID)
	if errors.Is(err, ErrNotFound) {
		return deny(log, "unknown"), nil
	}
	if err == nil {
		err = k.Validate()
	}
	if err != nil {
		log.Error().Err(err).Msg("API key lookup failed")
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, fmt.Errorf("look up API key %s: %w", c.ID, err)
	}

	// The secret is checked first so that a guess at a revoked or expired key logs as a guess.
	switch {
	case !k.Matches(c):
		return deny(log, "wrong_secret"), nil
	case !k.RevokedAt.IsZero():
		return deny(log, "revoked"), nil
	// DynamoDB's TTL deletes expired items only eventually, so expiry is checked here too.
	case !k.ExpiresAt.IsZero() && !a.now().Before(k.ExpiresAt):
		return deny(log, "expired"), nil
	}

	// The route is an identity source, so the gateway caches this decision per key and route:
	// which routes a principal may use is decided here. Regulators read through the regulator
	// routes only; organisations never use them.
	if isRegulatorRoute(req.RouteKey) != (k.Principal == PrincipalRegulator) {
		return deny(log, "route"), nil
	}

	resp := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{
		"principal": string(k.Principal),
		"key_id":    k.ID,
	}}
	ev := log.Info().Str("principal", string(k.Principal))
	if k.Principal == PrincipalOrganisation {
		resp.Context["org_id"] = k.OrgID
		ev.Str("org_id", k.OrgID)
	} else {
		resp.Context["regulator"] = k.Regulator
		ev.Str("regulator", k.Regulator)
	}
	ev.Msg("allowed")
	return resp, nil
}

func deny(log zerolog.Logger, reason string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
	log.Info().Str("reason", reason).Msg("denied")
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
}

// isRegulatorRoute says whether a route key ("GET /v1/regulator/reports/{id}") is a regulator's.
func isRegulatorRoute(routeKey string) bool {
	_, path, _ := strings.Cut(routeKey, " ")
	return strings.HasPrefix(path, "/v1/regulator/")
}
