package breachtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync/atomic"
)

// Signer is an in-process breach.Signer with its own P-256 key: it signs as the KMS signer does
// (ECDSA_SHA_256, ASN.1 DER), so unit tests need no KMS.
type Signer struct {
	ID  string
	Key *ecdsa.PrivateKey
	// Err, when set, is what Sign returns instead of a signature.
	Err   error
	calls atomic.Int64
}

// NewSigner is a Signer with a new key, named id.
func NewSigner(id string) *Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return &Signer{ID: id, Key: k}
}

// KeyID is the id the signer was made with.
func (s *Signer) KeyID(context.Context) (string, error) { return s.ID, nil }

// Sign signs the SHA-256 of message.
func (s *Signer) Sign(ctx context.Context, message []byte) ([]byte, error) {
	s.calls.Add(1)
	if s.Err != nil {
		return nil, s.Err
	}
	if len(message) == 0 {
		return nil, errors.New("breachtest.Signer: empty message")
	}
	d := sha256.Sum256(message)
	return ecdsa.SignASN1(rand.Reader, s.Key, d[:])
}

// Calls counts the calls to Sign.
func (s *Signer) Calls() int64 { return s.calls.Load() }
