package breachtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/breach-intake/intake/internal/breach"
)

// ArchiveContract is the behaviour every breach.Archive must show. open returns an archive in
// which the keys the contract uses (reports/contract-org/<case>/v1.json) are free.
//
// The contract sees the archive only through Put, so it proves "the original is untouched" by
// behaviour: after a refused put of other bytes, the original bytes still put as a retry and the
// other bytes are still refused. Adapters' own tests check their storage (one object version).
func ArchiveContract(t *testing.T, open func(t *testing.T) breach.Archive) {
	ctx := context.Background()
	first := []byte(`{"id":"contract","version":1}`)
	other := []byte(`{"id":"contract","version":1,"tampered":true}`)
	key := func(t *testing.T) string { return "reports/contract-org/" + t.Name() + "/v1.json" }
	put := func(t *testing.T, a breach.Archive, key string, doc []byte, sum string, wantErr bool) {
		t.Helper()
		if err := a.Put(ctx, key, doc, sum); (err != nil) != wantErr {
			t.Fatalf("Put(%s, %s) = %v; want error: %v", key, doc, err, wantErr)
		}
	}

	t.Run("a new document is stored", func(t *testing.T) {
		a, k := open(t), key(t)
		put(t, a, k, first, SHA256Hex(first), false)
		put(t, a, k, other, SHA256Hex(other), true) // the key is taken
	})
	t.Run("the same bytes again are a retry and succeed", func(t *testing.T) {
		a, k := open(t), key(t)
		put(t, a, k, first, SHA256Hex(first), false)
		put(t, a, k, first, SHA256Hex(first), false)
		put(t, a, k, first, SHA256Hex(first), false)
	})
	t.Run("other bytes under a taken key are refused and the original kept", func(t *testing.T) {
		a, k := open(t), key(t)
		put(t, a, k, first, SHA256Hex(first), false)
		put(t, a, k, other, SHA256Hex(other), true)
		put(t, a, k, first, SHA256Hex(first), false)
		put(t, a, k, other, SHA256Hex(other), true)
	})
	t.Run("a document that does not hash to its digest is refused and not stored", func(t *testing.T) {
		a, k := open(t), key(t)
		put(t, a, k, first, SHA256Hex(other), true)
		put(t, a, k, first, "not hex", true)
		put(t, a, k, other, SHA256Hex(other), false) // the key was left free
	})
	t.Run("keys are independent", func(t *testing.T) {
		a, k := open(t), key(t)
		put(t, a, k+".a", first, SHA256Hex(first), false)
		put(t, a, k+".b", other, SHA256Hex(other), false)
	})
}

// SHA256Hex is the hex SHA-256 of doc, as a Version's SHA256.
func SHA256Hex(doc []byte) string {
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:])
}
