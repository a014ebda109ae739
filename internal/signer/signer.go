// Package signer signs receipts with an asymmetric KMS key (KeySpec ECC_NIST_P256, KeyUsage
// SIGN_VERIFY) and reads the public keys that verify them. The private key never leaves KMS.
//
// A key is given by key id, key ARN, alias or alias ARN; receipts always name the key's id. An
// alias is looked up once per instance and the key it named then is the one used: rotate by
// naming a new key (RECEIPT_KEY_ID), not by moving an alias. KMS does not rotate asymmetric
// keys: rotating is a new key that signs from then on, while the old ones stay published (and
// enabled: GetPublicKey refuses a disabled key) for as long as their receipts must verify
// (RECEIPT_PREVIOUS_KEY_IDS, internal/app/submit).
package signer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/receipt"
)

// API is the part of the KMS client the package uses (*kms.Client).
type API interface {
	Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// KMS is a breach.Signer over a KMS key.
type KMS struct {
	client API
	name   string // as given

	mu    sync.Mutex
	keyID string // the key's id, once known
}

var _ breach.Signer = (*KMS)(nil)

// New signs with the KMS key named key: a key id or key ARN (known at once, no KMS call), or an
// alias or alias ARN (its key looked up at the first signature, with kms:DescribeKey).
func New(client API, key string) (*KMS, error) {
	s := &KMS{client: client, name: key}
	if id, err := ParseKeyID(key); err == nil {
		s.keyID = id
	} else if !isAlias(key) {
		return nil, fmt.Errorf("KMS key %q: want a key id, key ARN, alias or alias ARN", key)
	}
	return s, nil
}

// ParseKeyID returns the key id of a KMS key id or key ARN
// (arn:aws:kms:eu-west-3:111122223333:key/1234abcd-…): the key_id receipts carry. An alias is
// an error.
func ParseKeyID(s string) (string, error) {
	id := s
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || !strings.HasPrefix(parts[5], "key/") {
			return "", fmt.Errorf("%q is not a KMS key ARN", s)
		}
		id = strings.TrimPrefix(parts[5], "key/")
	}
	if !isKeyID(id) {
		return "", fmt.Errorf("%q is not a KMS key id", s)
	}
	return id, nil
}

// isKeyID says whether s has the form of a KMS key id: a UUID, or mrk- and 32 hex digits for a
// multi-Region key.
func isKeyID(s string) bool {
	hex := func(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdef") == "" }
	if mrk, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(mrk) == 32 && hex(mrk)
	}
	parts := strings.Split(s, "-")
	return len(s) == 36 && len(parts) == 5 && len(parts[0]) == 8 && len(parts[1]) == 4 && len(parts[2]) == 4 &&
		len(parts[3]) == 4 && len(parts[4]) == 12 && hex(strings.Join(parts, ""))
}

// isAlias says whether s is a KMS alias (alias/name) or alias ARN.
func isAlias(s string) bool {
	if parts := strings.SplitN(s, ":", 6); len(parts) == 6 && parts[0] == "arn" && parts[2] == "kms" {
		s = parts[5]
	}
	name, ok := strings.CutPrefix(s, "alias/")
	return ok && name != "" && !strings.ContainsAny(name, " \t\n,")
}

// KeyID is the key's id; for an alias, the id of the key it named at the first call.
func (s *KMS) KeyID(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyID != "" {
		return s.keyID, nil
	}
	out, err := s.client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(s.name)})
	if err != nil {
		return "", fmt.Errorf("KMS DescribeKey of %s: %w", s.name, err)
	}
	if out.KeyMetadata == nil || aws.ToString(out.KeyMetadata.KeyId) == "" {
		return "", fmt.Errorf("KMS DescribeKey of %s: no key id", s.name)
	}
	s.keyID = aws.ToString(out.KeyMetadata.KeyId)
	return s.keyID, nil
}

// Sign asks KMS for the ECDSA_SHA_256 signature of message with the key KeyID names (never the
// alias: were it moved, the signature would not be the named key's), KMS hashing the message
// itself (MessageType RAW, up to 4096 bytes). Not MessageType DIGEST with our own SHA-256: that
// is the same signature on AWS, but moto 5.2.1 ignores DIGEST and hashes the digest again, so
// the local stack's receipts would not verify.
func (s *KMS) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if len(message) == 0 || len(message) > breach.MaxSignedBytes {
		return nil, fmt.Errorf("KMS signs 1 to %d bytes, not %d", breach.MaxSignedBytes, len(message))
	}
	id, err := s.KeyID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(id),
		Message:          message,
		MessageType:      kmstypes.MessageTypeRaw,
		SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("KMS Sign with key %s: %w", id, err)
	}
	if got, _ := ParseKeyID(aws.ToString(out.KeyId)); got != id {
		return nil, fmt.Errorf("KMS Sign with key %s answered for key %q", id, aws.ToString(out.KeyId))
	}
	if out.SigningAlgorithm != kmstypes.SigningAlgorithmSpecEcdsaSha256 || len(out.Signature) == 0 {
		return nil, fmt.Errorf("KMS Sign with key %s: algorithm %q, %d bytes of signature", id, out.SigningAlgorithm, len(out.Signature))
	}
	return out.Signature, nil
}

// PublicKeys reads the public keys of receipt keys from KMS, once: a key's public half never
// changes, so the first success is kept for the life of the instance and a failure is tried
// again at the next call. Safe for concurrent use.
type PublicKeys struct {
	client API
	names  []string

	mu   sync.Mutex
	keys []receipt.PublicKey
}

// NewPublicKeys publishes the keys named (key ids, key ARNs, aliases or alias ARNs), in that
// order: the current signing key first.
func NewPublicKeys(client API, names []string) (*PublicKeys, error) {
	if len(names) == 0 {
		return nil, errors.New("no receipt key to publish")
	}
	p := &PublicKeys{client: client}
	seen := map[string]bool{}
	for _, name := range names {
		id, err := ParseKeyID(name)
		switch {
		case err != nil && !isAlias(name):
			return nil, fmt.Errorf("KMS key %q: want a key id, key ARN, alias or alias ARN", name)
		case err != nil:
			id = name
		}
		if seen[id] {
			return nil, fmt.Errorf("receipt key %s listed twice", id)
		}
		seen[id] = true
		p.names = append(p.names, name)
	}
	return p, nil
}

// Get returns every key's public half, named by its key id, in the order given.
func (p *PublicKeys) Get(ctx context.Context) ([]receipt.PublicKey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys != nil {
		return p.keys, nil
	}
	keys := make([]receipt.PublicKey, 0, len(p.names))
	for _, name := range p.names {
		k, err := p.get(ctx, name)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(keys, func(o receipt.PublicKey) bool { return o.KeyID == k.KeyID }) {
			return nil, fmt.Errorf("receipt key %s listed twice (as %s)", k.KeyID, name)
		}
		keys = append(keys, k)
	}
	p.keys = keys
	return keys, nil
}

func (p *PublicKeys) get(ctx context.Context, name string) (receipt.PublicKey, error) {
	out, err := p.client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(name)})
	if err != nil {
		return receipt.PublicKey{}, fmt.Errorf("KMS GetPublicKey of key %s: %w", name, err)
	}
	// The curve is checked on the key itself (ParseDER): moto answers no KeySpec.
	if out.KeyUsage != kmstypes.KeyUsageTypeSignVerify || !slices.Contains(out.SigningAlgorithms, kmstypes.SigningAlgorithmSpecEcdsaSha256) {
		return receipt.PublicKey{}, fmt.Errorf("KMS key %s is a %s key signing with %v: want an ECC_NIST_P256 SIGN_VERIFY key (ECDSA_SHA_256)",
			name, out.KeyUsage, out.SigningAlgorithms)
	}
	id, err := ParseKeyID(aws.ToString(out.KeyId)) // AWS answers the key ARN, moto the key id
	if err != nil {
		return receipt.PublicKey{}, fmt.Errorf("KMS GetPublicKey of key %s: %w", name, err)
	}
	k, err := receipt.ParseDER(out.PublicKey)
	if err != nil {
		return receipt.PublicKey{}, fmt.Errorf("public key of KMS key %s: %w", name, err)
	}
	return receipt.PublicKey{KeyID: id, Key: k}, nil
}
