package apigw

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/receipt"
)

// routePublicKey publishes the public keys that sign receipts: anyone may read it, without a key
// (the template gives it no authorizer, like the health check).
const routePublicKey = "GET /v1/receipts/public-key"

// publicKeyCacheControl lets clients and proxies keep the keys for five minutes. A rotation
// starts signing with the new key and publishing it in the same deployment (submit-report does
// both), so for at most five minutes a verifier holding an older copy is told "receipt was
// signed by key X; the public key given is Y", and fetches again.
const publicKeyCacheControl = "public, max-age=300"

// PublicKeys gives the route the keys to publish, the current signing key first
// (signer.PublicKeys.Get).
type PublicKeys func(ctx context.Context) ([]receipt.PublicKey, error)

// ReceiptKeys answers GET /v1/receipts/public-key with keys, as receipt.EncodePEM writes them
// (application/x-pem-file: each key's key_id, then its PEM PUBLIC KEY block), and hands every
// other route to next. A failure to read the keys is a 500, tried again at the next request.
func ReceiptKeys(keys PublicKeys, next Handler, log zerolog.Logger) Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if req.RouteKey != routePublicKey {
			return next(ctx, req)
		}
		l := log.With().Str("request_id", req.RequestContext.RequestID).Str("route", req.RouteKey).Logger()
		ks, err := keys(ctx)
		if err != nil {
			return errorResponse(ctx, err, req.RequestContext.RequestID, l), nil
		}
		body, err := receipt.EncodePEM(ks)
		if err != nil {
			return errorResponse(ctx, err, req.RequestContext.RequestID, l), nil
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"content-type": "application/x-pem-file", "cache-control": publicKeyCacheControl},
			Body:       string(body),
		}, nil
	}
}
