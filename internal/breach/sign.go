package breach

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Signer signs receipts; internal/signer implements it with an asymmetric KMS key.
type Signer interface {
	// KeyID names the signing key in the receipts it signs (`key_id`): GET
	// /v1/receipts/public-key publishes the key's public half under that name. It may look the
	// key up once (KMS: the key an alias names); it never changes for the life of the Signer.
	KeyID(ctx context.Context) (string, error)
	// Sign returns the ECDSA P-256 signature of the SHA-256 of message (what KMS calls
	// ECDSA_SHA_256) with the key KeyID names, ASN.1 DER-encoded as KMS returns it. message is
	// at most MaxSignedBytes.
	Sign(ctx context.Context, message []byte) ([]byte, error)
}

// MaxSignedBytes bounds what a receipt's signature covers: KMS signs a message of up to 4096
// bytes itself (MessageType RAW). A receipt is about 1 KB with every regime's deadlines.
const MaxSignedBytes = 4096

// Option configures an Intake.
type Option func(*Intake)

// SignReceipts makes the intake sign every receipt it issues with s. The submit-report
// function always does (internal/app/submit); an intake without it issues receipts without
// `key_id` and `signature`, which only tests do.
func SignReceipts(s Signer) Option {
	return func(in *Intake) { in.signer = s }
}

// signedReceipt is receipt(ctx, rc) for the request of key. A retry of a stored request is only
// recognised when the store refuses to save again, after signing; if signing fails, the stored
// record is looked up, so that a retry still replays its receipt while KMS is failing (prior is
// then set), and a new request gets the signing error.
func (in *Intake) signedReceipt(ctx context.Context, rc Receipt, key IdempotencyKey, now time.Time) (receipt []byte, prior *IdempotencyRecord, err error) {
	receipt, err = in.receipt(ctx, rc)
	if err == nil {
		return receipt, nil, nil
	}
	prior, lookup := in.store.Idempotency(ctx, key, now)
	if lookup != nil || prior == nil {
		return nil, nil, err
	}
	return nil, prior, nil
}

// receipt is the JSON of rc as the client gets it and the idempotency record keeps it: signed
// when the intake has a Signer. Nothing is stored until it is signed: a failed signature is a
// 500 and the client's retry (same Idempotency-Key) starts afresh.
func (in *Intake) receipt(ctx context.Context, rc Receipt) ([]byte, error) {
	if in.signer == nil {
		return marshalReceipt(rc)
	}
	keyID, err := in.signer.KeyID(ctx)
	if err != nil {
		return nil, fmt.Errorf("the receipt key: %w", err)
	}
	rc.KeyID, rc.Signature = keyID, ""
	unsigned, err := marshalReceipt(rc)
	if err != nil {
		return nil, err
	}
	content, err := SignedContent(unsigned)
	if err != nil {
		return nil, err
	}
	sig, err := in.signer.Sign(ctx, content)
	if err != nil {
		return nil, fmt.Errorf("sign the receipt: %w", err)
	}
	rc.Signature = base64.StdEncoding.EncodeToString(sig)
	return marshalReceipt(rc)
}

func marshalReceipt(rc Receipt) ([]byte, error) {
	b, err := json.Marshal(rc)
	if err != nil {
		return nil, fmt.Errorf("marshal receipt: %w", err)
	}
	return b, nil
}

// SignedContent is what a receipt's signature covers (API.md): the RFC 8785 canonical JSON of
// the receipt without its `signature` member. receipt is a receipt's JSON as issued or as a
// verifier holds it (its members in any order, indented or not); duplicate member names and
// invalid UTF-8 are refused, so that no two readings of the same bytes exist.
//
// The receipt's members stay in API.md's order on the wire (id first), so the intake
// canonicalises rather than declaring fields in name order as the stored document does: for a
// receipt of a few hundred bytes that costs a few microseconds (BenchmarkSignedContent), nothing
// beside the KMS call.
func SignedContent(receipt []byte) ([]byte, error) {
	var members map[string]jsontext.Value
	if err := json.Unmarshal(receipt, &members); err != nil {
		return nil, fmt.Errorf("not a receipt: %w", err)
	}
	if members == nil {
		return nil, errors.New("not a receipt: null")
	}
	delete(members, "signature")
	b, err := json.Marshal(members)
	if err != nil {
		return nil, fmt.Errorf("not a receipt: %w", err)
	}
	v := jsontext.Value(b)
	if err := v.Canonicalize(); err != nil {
		return nil, fmt.Errorf("not a receipt: %w", err)
	}
	if len(v) > MaxSignedBytes {
		return nil, fmt.Errorf("receipt of %d bytes: over the %d bytes a signature covers", len(v), MaxSignedBytes)
	}
	return v, nil
}
