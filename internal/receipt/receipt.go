// Package receipt verifies signed receipts offline and reads and writes the public keys that sign
// them, in the form GET /v1/receipts/public-key publishes. It makes no network call and imports
// no AWS package: a receipt and a saved public key are all a verifier needs.
package receipt

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/breach-intake/intake/internal/breach"
)

// Algorithm is how receipts are signed, in KMS's name: ECDSA on the P-256 curve over a SHA-256
// digest. The signature is base64 of its ASN.1 DER encoding (an ECDSA-Sig-Value, RFC 3279).
const Algorithm = "ECDSA_SHA_256"

// PublicKey is the public half of a key that signs receipts.
type PublicKey struct {
	KeyID string // the key_id of the receipts it signed; "" when a PEM file does not say
	Key   *ecdsa.PublicKey
}

// Kind says why a receipt did not verify.
type Kind int

const (
	// Malformed: not a signed receipt (not JSON, no key_id or signature, a signature that is
	// not base64 of a DER ECDSA signature…).
	Malformed Kind = iota + 1
	// OtherKey: the receipt names a key none of the public keys given is.
	OtherKey
	// Mismatch: the signature is not the given key's signature of this content: the receipt was
	// changed after it was signed, or signed by another key.
	Mismatch
)

// Error is a receipt that does not verify.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Verify checks a receipt's signature with keys and returns the receipt it proves. The key is
// the one named like the receipt's key_id; a key the PEM left unnamed is tried when none is. The
// signed content is breach.SignedContent(receipt): the canonical JSON of every member but
// `signature`, so the receipt may be re-indented or reordered, not changed. A failure is an
// *Error.
func Verify(receipt []byte, keys []PublicKey) (breach.Receipt, error) {
	content, err := breach.SignedContent(receipt)
	if err != nil {
		return breach.Receipt{}, &Error{Malformed, err.Error()}
	}
	var rc breach.Receipt
	if err := json.Unmarshal(receipt, &rc); err != nil {
		return breach.Receipt{}, &Error{Malformed, fmt.Sprintf("not a receipt: %v", err)}
	}
	switch {
	case rc.Signature == "":
		return rc, &Error{Malformed, "the receipt has no signature"}
	case rc.KeyID == "":
		return rc, &Error{Malformed, "the receipt has no key_id"}
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(rc.Signature)
	if err != nil {
		return rc, &Error{Malformed, "the receipt's signature is not base64"}
	}
	if !isDER(sig) {
		return rc, &Error{Malformed, "the receipt's signature is not an ASN.1 DER ECDSA signature"}
	}

	named := slices.DeleteFunc(slices.Clone(keys), func(k PublicKey) bool { return k.KeyID != rc.KeyID })
	candidates := named
	if len(candidates) == 0 {
		candidates = slices.DeleteFunc(slices.Clone(keys), func(k PublicKey) bool { return k.KeyID != "" })
	}
	if len(keys) == 0 {
		return rc, &Error{OtherKey, fmt.Sprintf("receipt was signed by key %s; no public key was given", rc.KeyID)}
	}
	if len(candidates) == 0 {
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.KeyID)
		}
		given := "the public keys given are " + strings.Join(ids, ", ")
		if len(ids) == 1 {
			given = "the public key given is " + ids[0]
		}
		return rc, &Error{OtherKey, fmt.Sprintf("receipt was signed by key %s; %s", rc.KeyID, given)}
	}
	digest := sha256.Sum256(content)
	for _, k := range candidates {
		if ecdsa.VerifyASN1(k.Key, digest[:], sig) {
			return rc, nil
		}
	}
	if len(named) == 0 {
		return rc, &Error{Mismatch, fmt.Sprintf("signature does not match the receipt's content under the public key given, "+
			"which names no key: the receipt was changed, or it was signed by another key than %s", rc.KeyID)}
	}
	return rc, &Error{Mismatch, "signature does not match the receipt's content"}
}

// isDER says whether sig is an ASN.1 DER ECDSA-Sig-Value: SEQUENCE { r INTEGER, s INTEGER }.
func isDER(sig []byte) bool {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	return err == nil && len(rest) == 0 && v.R.Sign() > 0 && v.S.Sign() > 0
}

// keyIDLabel introduces a key's id in the explanatory text before its PEM block (RFC 7468 § 5.2
// lets text precede a block, and parsers, OpenSSL's included, skip it).
const keyIDLabel = "key_id:"

// pemPreamble opens the published keys: what they sign and how, for whoever reads the file.
const pemPreamble = `# The public keys that sign this intake's receipts, the current one first, each after its key_id.
# A receipt's "signature" is base64 of the ASN.1 DER ECDSA P-256 signature (KMS ECDSA_SHA_256)
# of the SHA-256 of the RFC 8785 canonical JSON of the receipt without its "signature" member;
# its "key_id" names the key. Verify offline: breachctl receipt verify receipt.json --public-key <this file>
`

// EncodePEM writes keys as GET /v1/receipts/public-key answers: a preamble, then each key as a
// "key_id: <id>" line and a PEM PUBLIC KEY block (SubjectPublicKeyInfo), in the order given.
func EncodePEM(keys []PublicKey) ([]byte, error) {
	if len(keys) == 0 {
		return nil, errors.New("no public key to publish")
	}
	var b bytes.Buffer
	b.WriteString(pemPreamble)
	for _, k := range keys {
		if k.KeyID == "" || strings.ContainsAny(k.KeyID, " \t\r\n") {
			return nil, fmt.Errorf("key id %q: want a non-empty id without spaces", k.KeyID)
		}
		der, err := x509.MarshalPKIXPublicKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.KeyID, err)
		}
		fmt.Fprintf(&b, "\n%s %s\n", keyIDLabel, k.KeyID)
		if err := pem.Encode(&b, &pem.Block{Type: "PUBLIC KEY", Bytes: der}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// ParsePEM reads the PUBLIC KEY blocks of a PEM file: the answer of GET /v1/receipts/public-key
// (each key named by the "key_id:" line before it) or any ECDSA P-256 public key in PEM
// (`openssl ec -pubout`, `aws kms get-public-key` converted), unnamed. Other text is skipped.
func ParsePEM(data []byte) ([]PublicKey, error) {
	var (
		keys  []PublicKey
		label string
		seen  = map[string]bool{}
	)
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if bytes.HasPrefix(line, []byte("-----BEGIN ")) {
			block, after := pem.Decode(data)
			if block == nil {
				return nil, fmt.Errorf("malformed PEM block %q", bytes.TrimSpace(line))
			}
			if block.Type != "PUBLIC KEY" {
				return nil, fmt.Errorf("a PEM %s block, not a PUBLIC KEY", block.Type)
			}
			k, err := parseKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("public key %s: %w", cmp.Or(label, fmt.Sprint(len(keys)+1)), err)
			}
			if label != "" && seen[label] {
				return nil, fmt.Errorf("key_id %s twice", label)
			}
			seen[label] = true
			keys = append(keys, PublicKey{KeyID: label, Key: k})
			label, data = "", after
			continue
		}
		if t := strings.TrimSpace(string(line)); strings.HasPrefix(t, keyIDLabel) {
			label = strings.TrimSpace(t[len(keyIDLabel):])
		}
		data = rest
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	return keys, nil
}

// ParseDER reads a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns): an ECDSA P-256 key.
func ParseDER(der []byte) (*ecdsa.PublicKey, error) { return parseKey(der) }

func parseKey(der []byte) (*ecdsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PublicKey)
	switch {
	case !ok:
		return nil, fmt.Errorf("a %T, not an ECDSA P-256 key", k)
	case ec.Curve != elliptic.P256():
		return nil, fmt.Errorf("an ECDSA key on %s, not P-256", ec.Curve.Params().Name)
	}
	return ec, nil
}
