// Package auth holds API keys: their format, hashing, lookup port and the Lambda authorizer's
// decision.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// A key reads bik_<id>_<secret>: the id is 8 random bytes and the secret 32, both in lowercase hex.
const (
	prefix    = "bik_"
	idLen     = 16
	secretLen = 64
	keyLen    = len(prefix) + idLen + 1 + secretLen
)

var (
	// ErrNotFound is what a Keys port answers for an id it does not hold.
	ErrNotFound = errors.New("not found")
	// ErrMalformed is any text that is not exactly a well-formed key or bearer header.
	ErrMalformed = errors.New("malformed API key")
)

// Principal is who a key speaks for.
type Principal string

const (
	PrincipalOrganisation Principal = "organisation"
	PrincipalRegulator    Principal = "regulator"
)

// Key is a stored API key. Only the SHA-256 of its secret is kept: the plaintext is shown once, at
// creation, and cannot be recovered.
type Key struct {
	ID           string
	SecretSHA256 [sha256.Size]byte
	Principal    Principal
	OrgID        string // organisation keys only
	Regulator    string // regulator keys only
	CreatedAt    time.Time
	RevokedAt    time.Time // zero unless revoked
	ExpiresAt    time.Time // zero: never expires
}

// NewKey draws a key from r (crypto/rand.Reader outside tests) and returns it with its plaintext.
// The caller sets who the key is for and when it was created.
func NewKey(r io.Reader) (Key, string, error) {
	var b [idLen/2 + secretLen/2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Key{}, "", fmt.Errorf("draw API key: %w", err)
	}
	c := Credential{ID: hex.EncodeToString(b[:idLen/2]), secret: hex.EncodeToString(b[idLen/2:])}
	return Key{ID: c.ID, SecretSHA256: c.hash()}, c.Plaintext(), nil
}

// Validate reports whether k names exactly one, well-formed, principal.
func (k Key) Validate() error {
	if !validID(k.ID) {
		return fmt.Errorf("key id %q is not %d lowercase hex characters", k.ID, idLen)
	}
	switch k.Principal {
	case PrincipalOrganisation:
		if !ValidOrgID(k.OrgID) || k.Regulator != "" {
			return fmt.Errorf("organisation key %s needs a valid org id and no regulator", k.ID)
		}
	case PrincipalRegulator:
		if strings.TrimSpace(k.Regulator) == "" || k.OrgID != "" {
			return fmt.Errorf("regulator key %s needs a regulator name and no org id", k.ID)
		}
	default:
		return fmt.Errorf("key %s has unknown principal %q", k.ID, k.Principal)
	}
	return nil
}

// Matches reports whether c is this key's credential. The hashes are compared in constant time.
func (k Key) Matches(c Credential) bool {
	h := c.hash()
	return c.ID == k.ID && subtle.ConstantTimeCompare(h[:], k.SecretSHA256[:]) == 1
}

// Credential is a parsed key. Its secret is unexported and String hides it, so a credential that
// reaches a log or an error message by mistake leaks only its id.
type Credential struct {
	ID     string
	secret string
}

// ParseKey accepts exactly bik_<16 lowercase hex>_<64 lowercase hex>.
func ParseKey(s string) (Credential, error) {
	if len(s) != keyLen || !strings.HasPrefix(s, prefix) || s[len(prefix)+idLen] != '_' {
		return Credential{}, ErrMalformed
	}
	id, secret := s[len(prefix):len(prefix)+idLen], s[len(prefix)+idLen+1:]
	if !validID(id) || !lowerHex(secret) {
		return Credential{}, ErrMalformed
	}
	return Credential{ID: id, secret: secret}, nil
}

// ParseBearer accepts an Authorization header value "Bearer <key>": the scheme in any case
// (RFC 9110 §11.1), one space, one key, nothing else.
func ParseBearer(header string) (Credential, error) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Credential{}, ErrMalformed
	}
	return ParseKey(key)
}

// Plaintext is the full key, secret included: for showing once at creation, never for logs.
func (c Credential) Plaintext() string { return prefix + c.ID + "_" + c.secret }

// String is the key with its secret masked.
func (c Credential) String() string { return prefix + c.ID + "_…" }

// GoString masks the secret from %#v too.
func (c Credential) GoString() string { return c.String() }

// hash is the SHA-256 of the secret's hex text, as stored in secret_sha256.
func (c Credential) hash() [sha256.Size]byte { return sha256.Sum256([]byte(c.secret)) }

func validID(s string) bool { return len(s) == idLen && lowerHex(s) }

func lowerHex(s string) bool {
	for i := range len(s) {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// ValidOrgID reports whether id matches ^[a-z0-9][a-z0-9-]{1,62}$.
func ValidOrgID(id string) bool {
	if len(id) < 2 || len(id) > 63 || id[0] == '-' {
		return false
	}
	for i := range len(id) {
		if !('a' <= id[i] && id[i] <= 'z' || '0' <= id[i] && id[i] <= '9' || id[i] == '-') {
			return false
		}
	}
	return true
}
