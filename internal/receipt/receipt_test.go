package receipt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	stdjson "encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/receipt"
)

var org = breach.Organisation{ID: "org-example", LegalName: "Exemple", Country: "FR"}

// signed is a receipt the intake issued, signed by s.
func signed(t *testing.T, s *breachtest.Signer) []byte {
	t.Helper()
	body, err := os.ReadFile("../breach/testdata/nis2-health-ransomware.json")
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 250_000_000, time.UTC) }
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(breachtest.NewStore(org), clock, ids, breach.SignReceipts(s))
	got, err := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: "k", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return got.Receipt
}

func publicKey(s *breachtest.Signer) receipt.PublicKey {
	return receipt.PublicKey{KeyID: s.ID, Key: &s.Key.PublicKey}
}

func kindOf(err error) receipt.Kind {
	if e, ok := errors.AsType[*receipt.Error](err); ok {
		return e.Kind
	}
	return 0
}

func TestVerify(t *testing.T) {
	k1, k2 := breachtest.NewSigner("key-1"), breachtest.NewSigner("key-2")
	rc := signed(t, k1)
	unnamed := func(s *breachtest.Signer) receipt.PublicKey { return receipt.PublicKey{Key: &s.Key.PublicKey} }

	t.Run("valid", func(t *testing.T) {
		for name, keys := range map[string][]receipt.PublicKey{
			"its key":                  {publicKey(k1)},
			"among others, not first":  {publicKey(k2), publicKey(k1)},
			"unnamed (a plain PEM)":    {unnamed(k1)},
			"named beside unnamed one": {unnamed(k2), publicKey(k1)},
		} {
			got, err := receipt.Verify(rc, keys)
			if err != nil || got.ID != "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" || got.Version != 1 || got.KeyID != "key-1" || len(got.SHA256) != 64 {
				t.Errorf("%s: %+v, %v", name, got, err)
			}
		}
	})

	t.Run("re-indented or reordered, still the same content", func(t *testing.T) {
		var m map[string]any
		if err := stdjson.Unmarshal(rc, &m); err != nil {
			t.Fatal(err)
		}
		pretty, err := stdjson.MarshalIndent(m, "", "    ") // encoding/json sorts members
		if err != nil {
			t.Fatal(err)
		}
		if _, err := receipt.Verify(append(pretty, '\n'), []receipt.PublicKey{publicKey(k1)}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("any one byte changed", func(t *testing.T) {
		for i := range rc {
			changed := []byte(strings.Clone(string(rc)))
			changed[i] ^= 0x01
			if _, err := receipt.Verify(changed, []receipt.PublicKey{publicKey(k1)}); err == nil {
				t.Fatalf("byte %d changed (%q → %q) and the receipt still verifies", i, rc[i], changed[i])
			}
		}
		// A change of content, the JSON still valid: the message names it.
		changed := strings.Replace(string(rc), `"late":false`, `"late":true`, 1)
		_, err := receipt.Verify([]byte(changed), []receipt.PublicKey{publicKey(k1)})
		if kindOf(err) != receipt.Mismatch || err.Error() != "signature does not match the receipt's content" {
			t.Fatalf("%v", err)
		}
	})

	t.Run("another key", func(t *testing.T) {
		_, err := receipt.Verify(rc, []receipt.PublicKey{publicKey(k2)})
		if kindOf(err) != receipt.OtherKey || err.Error() != "receipt was signed by key key-1; the public key given is key-2" {
			t.Errorf("other key named: %v", err)
		}
		_, err = receipt.Verify(rc, []receipt.PublicKey{publicKey(k2), publicKey(breachtest.NewSigner("key-3"))})
		if kindOf(err) != receipt.OtherKey || !strings.HasSuffix(err.Error(), "the public keys given are key-2, key-3") {
			t.Errorf("other keys named: %v", err)
		}
		// Another key under the receipt's name, or unnamed: only the signature can tell.
		_, err = receipt.Verify(rc, []receipt.PublicKey{{KeyID: "key-1", Key: &k2.Key.PublicKey}})
		if kindOf(err) != receipt.Mismatch || err.Error() != "signature does not match the receipt's content" {
			t.Errorf("other key, same name: %v", err)
		}
		_, err = receipt.Verify(rc, []receipt.PublicKey{unnamed(k2)})
		if kindOf(err) != receipt.Mismatch || !strings.Contains(err.Error(), "signed by another key than key-1") {
			t.Errorf("other key, unnamed: %v", err)
		}
		if _, err = receipt.Verify(rc, nil); kindOf(err) != receipt.OtherKey {
			t.Errorf("no key: %v", err)
		}
	})

	t.Run("wrong format", func(t *testing.T) {
		s := string(rc)
		sig := s[strings.Index(s, `"signature":"`)+len(`"signature":"`) : len(s)-2]
		for name, bad := range map[string]string{
			"not JSON":                 "not a receipt",
			"a JSON array":             `[` + s + `]`,
			"a member twice":           strings.Replace(s, `"late":false`, `"late":false,"late":true`, 1),
			"no signature":             strings.Replace(s, `,"signature":"`+sig+`"`, "", 1),
			"no key_id":                strings.Replace(s, `"key_id":"key-1",`, "", 1),
			"signature not base64":     strings.Replace(s, sig, "not base64!", 1),
			"signature not DER":        strings.Replace(s, sig, "c2lnbmF0dXJl", 1),
			"signature, trailing data": strings.Replace(s, sig, base64.StdEncoding.EncodeToString(append(mustBase64(t, sig), 0)), 1),
			"a number for the version": strings.Replace(s, `"version":1`, `"version":"1"`, 1),
		} {
			_, err := receipt.Verify([]byte(bad), []receipt.PublicKey{publicKey(k1)})
			if kindOf(err) != receipt.Malformed {
				t.Errorf("%s: %v (kind %d), want Malformed", name, err, kindOf(err))
			}
		}
	})
}

func TestPEM(t *testing.T) {
	k1, k2 := breachtest.NewSigner("1234abcd-12ab-34cd-56ef-1234567890ab"), breachtest.NewSigner("mrk-0123")
	published, err := receipt.EncodePEM([]receipt.PublicKey{publicKey(k1), publicKey(k2)})
	if err != nil {
		t.Fatal(err)
	}
	text := string(published)
	for _, want := range []string{"ASN.1 DER ECDSA P-256", "RFC 8785", `without its "signature" member`,
		"\nkey_id: 1234abcd-12ab-34cd-56ef-1234567890ab\n-----BEGIN PUBLIC KEY-----\n", "\nkey_id: mrk-0123\n-----BEGIN PUBLIC KEY-----\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("published keys lack %q:\n%s", want, text)
		}
	}
	// Every PEM reader sees the blocks: encoding/pem, as OpenSSL, skips the text around them.
	block, _ := pem.Decode(published)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("encoding/pem reads no PUBLIC KEY block first in\n%s", text)
	}

	keys, err := receipt.ParsePEM(published)
	if err != nil || len(keys) != 2 || keys[0].KeyID != k1.ID || keys[1].KeyID != k2.ID ||
		!keys[0].Key.Equal(&k1.Key.PublicKey) || !keys[1].Key.Equal(&k2.Key.PublicKey) {
		t.Fatalf("ParsePEM: %+v, %v", keys, err)
	}
	if _, err := receipt.Verify(signed(t, k2), keys); err != nil {
		t.Fatalf("a receipt of the second key: %v", err)
	}

	// A plain PEM, as openssl writes it, with Windows line ends: one unnamed key.
	der, err := x509.MarshalPKIXPublicKey(&k1.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\r\n")
	keys, err = receipt.ParsePEM([]byte(plain))
	if err != nil || len(keys) != 1 || keys[0].KeyID != "" || !keys[0].Key.Equal(&k1.Key.PublicKey) {
		t.Fatalf("plain PEM: %+v, %v", keys, err)
	}

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(k1.Key)
	for name, bad := range map[string]string{
		"no block":           "key_id: k\n",
		"a P-384 key":        string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der384})),
		"a private key":      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		"a broken block":     "-----BEGIN PUBLIC KEY-----\nnot base64\n",
		"garbage in a block": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("garbage")})),
		"one key_id twice":   strings.Replace(text, "key_id: mrk-0123", "key_id: 1234abcd-12ab-34cd-56ef-1234567890ab", 1),
	} {
		if keys, err := receipt.ParsePEM([]byte(bad)); err == nil {
			t.Errorf("%s: %+v, want an error", name, keys)
		}
	}
	if _, err := receipt.EncodePEM([]receipt.PublicKey{{KeyID: "a b", Key: &k1.Key.PublicKey}}); err == nil {
		t.Error("a key id with a space was published")
	}
	if _, err := receipt.EncodePEM(nil); err == nil {
		t.Error("no key was published")
	}
}

func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ExampleVerify() {
	// A receipt as the intake issues it, and the keys GET /v1/receipts/public-key publishes.
	s := breachtest.NewSigner("1234abcd-12ab-34cd-56ef-1234567890ab")
	org := breach.Organisation{ID: "boulangerie", LegalName: "Boulangerie Exemple SARL", Country: "FR"}
	clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(breachtest.NewStore(org), clock, ids, breach.SignReceipts(s))
	body, _ := os.ReadFile("../breach/testdata/gdpr-minimal.json")
	got, _ := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: "order-42", Body: body})
	published, _ := receipt.EncodePEM([]receipt.PublicKey{{KeyID: s.ID, Key: &s.Key.PublicKey}})

	// Offline: the receipt and the saved PEM are all it takes.
	keys, err := receipt.ParsePEM(published)
	if err != nil {
		panic(err)
	}
	rc, err := receipt.Verify(got.Receipt, keys)
	fmt.Println(rc.ID, rc.Version, rc.ReceivedAt.Format(time.RFC3339), rc.KeyID, err)

	tampered := strings.Replace(string(got.Receipt), `"late":false`, `"late":true`, 1)
	_, err = receipt.Verify([]byte(tampered), keys)
	fmt.Println(err)
	// Output:
	// 01KAKZ7Q1W5Q7Y3X2V8N4M6P0R 1 2026-11-21T12:00:00Z 1234abcd-12ab-34cd-56ef-1234567890ab <nil>
	// signature does not match the receipt's content
}
