package breach_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
)

// verifies checks a receipt as API.md says anyone can: the ECDSA P-256 signature of the SHA-256
// of the canonical receipt without `signature`, computed here with jsontext alone.
func verifies(t *testing.T, receipt []byte, pub *ecdsa.PublicKey) bool {
	t.Helper()
	var members map[string]jsontext.Value
	if err := json.Unmarshal(receipt, &members); err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(string(members["signature"][1 : len(members["signature"])-1]))
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	delete(members, "signature")
	b, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	v := jsontext.Value(b)
	if err := v.Canonicalize(); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(v)
	return ecdsa.VerifyASN1(pub, d[:], sig)
}

func TestReceiptsAreSigned(t *testing.T) {
	signer := breachtest.NewSigner("key-1")
	store := breachtest.NewStore(exampleOrg)
	now := exampleTime
	in := breach.NewIntake(store, func() time.Time { return now }, sequentialIDs(), breach.SignReceipts(signer))

	first, err := submit(t, in, "k1", readTestdata(t, "nis2-health-ransomware.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rc breach.Receipt
	if err := json.Unmarshal(first.Receipt, &rc); err != nil {
		t.Fatal(err)
	}
	if rc.KeyID != "key-1" || rc.Signature == "" {
		t.Fatalf("receipt %s: want key_id key-1 and a signature", first.Receipt)
	}
	if !verifies(t, first.Receipt, &signer.Key.PublicKey) {
		t.Fatalf("the signature of %s does not verify", first.Receipt)
	}
	// API.md's order on the wire, key_id and signature last.
	if !strings.HasPrefix(string(first.Receipt), `{"id":"`) || !strings.Contains(string(first.Receipt), `,"key_id":"key-1","signature":"`) {
		t.Errorf("receipt members out of order: %s", first.Receipt)
	}

	// A replay answers the stored signed receipt byte for byte (the new signature it made before
	// the store recognised the retry is dropped), and still does while signing fails.
	now = now.Add(time.Hour)
	for _, fail := range []error{nil, errors.New("kms: KMSInternalException")} {
		signer.Err = fail
		again, err := submit(t, in, "k1", readTestdata(t, "nis2-health-ransomware.json"))
		if err != nil || !again.Replay || string(again.Receipt) != string(first.Receipt) {
			t.Fatalf("replay, signer failing with %v: %s, %v; want the first receipt", fail, again.Receipt, err)
		}
	}
	signer.Err = nil

	// A supplement's receipt is signed too.
	head, err := in.Head(context.Background(), exampleOrg.ID, string(first.ID))
	if err != nil {
		t.Fatal(err)
	}
	sup, err := in.Supplement(context.Background(), head, breach.SupplementRequest{IdempotencyKey: "s1", IfMatch: "1",
		Body: withStage(t, "supplementary", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(t, sup.Receipt, &signer.Key.PublicKey) || !strings.Contains(string(sup.Receipt), `"version":2`) {
		t.Fatalf("supplement receipt %s does not verify", sup.Receipt)
	}
}

// TestNothingStoredUnsigned: a signature that fails is an error before anything is written, so
// the client's retry with the same key files the report then.
func TestNothingStoredUnsigned(t *testing.T) {
	signer := breachtest.NewSigner("key-1")
	signer.Err = errors.New("kms: ThrottlingException")
	store := breachtest.NewStore(exampleOrg)
	in := breach.NewIntake(store, fixedClock(exampleTime), sequentialIDs(), breach.SignReceipts(signer))
	body := readTestdata(t, "gdpr-minimal.json")
	if _, err := submit(t, in, "k", body); err == nil || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Fatalf("err = %v, want the signer's", err)
	}
	signer.Err = nil
	got, err := submit(t, in, "k", body)
	if err != nil || got.Replay {
		t.Fatalf("retry: %+v, %v; want the report filed now", got, err)
	}
	if vs := store.Stored(got.ID); len(vs) != 1 {
		t.Fatalf("%d versions stored", len(vs))
	}
}

// TestSignedContent pins what the signature covers, byte for byte: RFC 8785's member order (by
// name), no whitespace, no `signature`, whatever the receipt's layout.
func TestSignedContent(t *testing.T) {
	const want = `{"deadlines":[{"due_at":"2026-11-24T10:00:00Z","met":true,"stage":"gdpr.notification"}],` +
		`"id":"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R","key_id":"k","late":false,"received_at":"2026-11-21T12:00:00.25Z",` +
		`"severity":"medium","sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",` +
		`"stage":"initial","status":"received","version":1}`
	for name, receipt := range map[string]string{
		"as issued": `{"id":"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R","version":1,"status":"received","received_at":"2026-11-21T12:00:00.25Z",` +
			`"stage":"initial","severity":"medium","late":false,"deadlines":[{"due_at":"2026-11-24T10:00:00Z","met":true,"stage":"gdpr.notification"}],` +
			`"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae","key_id":"k","signature":"MEUCIQ=="}`,
		"indented and reordered": "{\n  \"signature\": \"other\",\n  \"version\": 1.0,\n  \"key_id\": \"k\",\n  \"status\": \"received\",\n" +
			"  \"stage\": \"initial\",\n  \"sha256\": \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\",\n" +
			"  \"severity\": \"medium\",\n  \"received_at\": \"2026-11-21T12:00:00.25Z\",\n  \"late\": false,\n  \"id\": \"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R\",\n" +
			"  \"deadlines\": [ { \"stage\": \"gdpr.notification\", \"met\": true, \"due_at\": \"2026-11-24T10:00:00Z\" } ]\n}\n",
	} {
		got, err := breach.SignedContent([]byte(receipt))
		if err != nil || string(got) != want {
			t.Errorf("%s: %s, %v\nwant %s", name, got, err, want)
		}
	}
	for name, bad := range map[string]string{
		"a member twice": `{"id":"a","id":"b"}`,
		"invalid UTF-8":  "{\"id\":\"\xff\"}",
		"an array":       `[1]`,
		"null":           `null`,
		"not JSON":       `receipt`,
		"trailing data":  `{"id":"a"} {}`,
	} {
		if got, err := breach.SignedContent([]byte(bad)); err == nil {
			t.Errorf("%s: %s, want an error", name, got)
		}
	}
}

// TestLargestReceiptFitsOneKMSCall: every regime's seven deadlines and a long key id stay far
// below the 4096 bytes KMS signs as a message.
func TestLargestReceiptFitsOneKMSCall(t *testing.T) {
	var sizes []int
	signer := &sizeSigner{Signer: breachtest.NewSigner("mrk-1234abcd12ab34cd56ef1234567890ab"), sizes: &sizes}
	in := breach.NewIntake(breachtest.NewStore(exampleOrg), fixedClock(exampleTime), sequentialIDs(), breach.SignReceipts(signer))
	body := nis2Body(t, map[string]any{"regimes": []string{"gdpr", "nis2", "dora"}})
	got, err := submit(t, in, "k", body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(got.Receipt), `"due_at"`) != 7 || len(sizes) != 1 || sizes[0] > breach.MaxSignedBytes/3 {
		t.Fatalf("signed %v bytes for %s", sizes, got.Receipt)
	}
}

type sizeSigner struct {
	*breachtest.Signer
	sizes *[]int
}

func (s *sizeSigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	*s.sizes = append(*s.sizes, len(message))
	return s.Signer.Sign(ctx, message)
}

// BenchmarkSignedContent is the cost of canonicalising a receipt rather than declaring its
// fields in name order: a few microseconds, beside a KMS call of milliseconds.
func BenchmarkSignedContent(b *testing.B) {
	signer := breachtest.NewSigner("1234abcd-12ab-34cd-56ef-1234567890ab")
	in := breach.NewIntake(breachtest.NewStore(exampleOrg), fixedClock(exampleTime), sequentialIDs(), breach.SignReceipts(signer))
	got, err := in.Submit(context.Background(), breach.Submission{Org: exampleOrg.ID, IdempotencyKey: "k", Body: readTestdata(b, "nis2-health-ransomware.json")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := breach.SignedContent(got.Receipt); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleSignReceipts() {
	// In the function the signer is internal/signer's KMS key; here an in-process one.
	signer := breachtest.NewSigner("1234abcd-12ab-34cd-56ef-1234567890ab")
	org := breach.Organisation{ID: "boulangerie", LegalName: "Boulangerie Exemple SARL", Country: "FR"}
	clock := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }
	ids := func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }
	in := breach.NewIntake(breachtest.NewStore(org), clock, ids, breach.SignReceipts(signer))

	body, _ := os.ReadFile("testdata/gdpr-minimal.json")
	got, _ := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: "order-42", Body: body})
	content, _ := breach.SignedContent(got.Receipt) // what the signature covers
	fmt.Println(string(content))
	// Output:
	// {"deadlines":[{"due_at":"2026-11-24T10:00:00Z","met":true,"stage":"gdpr.notification"}],"id":"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R","key_id":"1234abcd-12ab-34cd-56ef-1234567890ab","late":false,"received_at":"2026-11-21T12:00:00Z","severity":"medium","sha256":"e5a5446789a2958bcc6d2e331d075be8fcf619dae39f85d8ef935e480058da35","stage":"initial","status":"received","version":1}
}
