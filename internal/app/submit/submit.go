// Package submit builds the submit-report function. It lives apart from internal/app so that the
// other functions (the authorizer first) do not link the KMS client that signs receipts.
//
// go.mod pins service/kms at v1.60.0, the last release before schema-based serde: from v1.61.0
// its package initialisation builds ~1,900 schema values (0.35–1 ms, 340 KB) at every cold start,
// which put this function at ~1.5× the bare binary's time to first poll; with v1.60.0 the KMS
// client adds its endpoint table only (~0.15 ms, 92 KB).
package submit

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/breach-intake/intake/internal/apigw"
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/metrics"
	"github.com/breach-intake/intake/internal/signer"
)

// SubmitReport is the submit-report function: first reports and supplements, each answer
// appended to the calling organisation's audit chain, each receipt signed; and
// GET /v1/receipts/public-key. Each invocation's metrics are flushed when it ends.
//
// TABLE_NAME is the table. RECEIPT_KEY_ID signs the receipts and is published first;
// RECEIPT_PREVIOUS_KEY_IDS (comma-separated, newest first, may be empty) are the keys it
// replaced, published so that their receipts still verify. Each is a KMS key id or key ARN (the
// template's !Ref), or an alias (the local stack's names for keys: looked up once, at the first
// signature, with kms:DescribeKey). One function signs and publishes, so a receipt is never
// signed by a key that is not published. No KMS call at start-up: the public keys are read at
// their route's first request.
func SubmitReport(rt app.Runtime) (apigw.Handler, error) {
	table, err := app.Required(rt.Env, "TABLE_NAME")
	if err != nil {
		return nil, err
	}
	keyID, err := app.Required(rt.Env, "RECEIPT_KEY_ID")
	if err != nil {
		return nil, err
	}
	keys := []string{keyID}
	for _, id := range strings.Split(rt.Env("RECEIPT_PREVIOUS_KEY_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			keys = append(keys, id)
		}
	}
	client := kms.NewFromConfig(rt.AWS)
	sign, err := signer.New(client, keyID)
	if err != nil {
		return nil, err
	}
	published, err := signer.NewPublicKeys(client, keys)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(rt.AWS)
	trail := audit.NewTrail(dynamo.NewAuditStore(db, table), rt.Clock)
	in := breach.NewIntake(dynamo.New(db, table), rt.Clock, breach.ULIDs(), breach.SignReceipts(sign))
	h := apigw.ReceiptKeys(published.Get, apigw.SubmitReport(in, trail, rt.Log), rt.Log)
	return apigw.Handler(metrics.Wrap(rt.Metrics, h)), nil
}
