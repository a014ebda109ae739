package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/local/localtest"
	"github.com/breach-intake/intake/internal/receipt"
	"github.com/breach-intake/intake/internal/signer"
)

// newKey creates a KMS key on the endpoint, as the template's ReceiptKey is.
func newKey(t testing.TB, client *kms.Client, spec kmstypes.KeySpec, usage kmstypes.KeyUsageType) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

// TestKMSOnMoto: what KMS signs verifies with crypto/ecdsa against the public key KMS gives, and
// a receipt the intake signs through KMS verifies offline with the published PEM.
func TestKMSOnMoto(t *testing.T) {
	ctx := context.Background()
	client := kms.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	key := newKey(t, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify)
	id := aws.ToString(key.KeyId)

	if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/test/receipts"), TargetKeyId: key.KeyId}); err != nil {
		t.Fatal(err)
	}
	for _, given := range []string{id, aws.ToString(key.Arn), "alias/test/receipts", "arn:aws:kms:eu-west-3:123456789012:alias/test/receipts"} {
		s, err := signer.New(client, given)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.KeyID(ctx); got != id || err != nil {
			t.Fatalf("KeyID() = %q, %v for %q, want %q", got, err, given, id)
		}
		keys, err := signer.NewPublicKeys(client, []string{given})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := keys.Get(ctx)
		if err != nil || len(pub) != 1 || pub[0].KeyID != id {
			t.Fatalf("public keys %+v, %v", pub, err)
		}
		message := []byte(`{"id":"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R","version":1}`)
		sig, err := s.Sign(ctx, message)
		if err != nil {
			t.Fatal(err)
		}
		d := sha256.Sum256(message)
		if !ecdsa.VerifyASN1(pub[0].Key, d[:], sig) {
			t.Fatalf("KMS's signature of %s does not verify with crypto/ecdsa", message)
		}
	}

	// An alias is looked up once: moved to another key, the signer still signs with, and names,
	// the key it named.
	s, err := signer.New(client, "alias/test/receipts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyID(ctx); err != nil {
		t.Fatal(err)
	}
	other := newKey(t, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify)
	if _, err := client.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/test/receipts"), TargetKeyId: other.KeyId}); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../breach/testdata/gdpr-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	org := breach.Organisation{ID: "org-example", LegalName: "Exemple", Country: "FR"}
	in := breach.NewIntake(breachtest.NewStore(org), breach.SystemClock(), breach.ULIDs(), breach.SignReceipts(s))
	got, err := in.Submit(ctx, breach.Submission{Org: org.ID, IdempotencyKey: "k", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := signer.NewPublicKeys(client, []string{id})
	pub, err := keys.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := receipt.EncodePEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	published, err := receipt.ParsePEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := receipt.Verify(got.Receipt, published); err != nil || rc.KeyID != id {
		t.Fatalf("receipt %s: %v", got.Receipt, err)
	}
}

// TestPublicKeys: every key in the order given, read once; a key that cannot sign receipts, or a
// failure, is an error and not kept.
func TestPublicKeys(t *testing.T) {
	ctx := context.Background()
	client := kms.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	current := aws.ToString(newKey(t, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify).KeyId)
	previous := newKey(t, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify)
	counting := &countingKMS{API: client}
	keys, err := signer.NewPublicKeys(counting, []string{current, aws.ToString(previous.Arn)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := keys.Get(ctx)
		if err != nil || len(got) != 2 || got[0].KeyID != current || got[1].KeyID != aws.ToString(previous.KeyId) {
			t.Fatalf("%+v, %v", got, err)
		}
	}
	if n := counting.calls.Load(); n != 2 {
		t.Fatalf("%d GetPublicKey calls for two keys read three times", n)
	}

	rsa := aws.ToString(newKey(t, client, kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify).KeyId)
	hmac := aws.ToString(newKey(t, client, kmstypes.KeySpecHmac256, kmstypes.KeyUsageTypeGenerateVerifyMac).KeyId)
	for _, id := range []string{rsa, hmac, "00000000-0000-0000-0000-000000000000"} {
		keys, err := signer.NewPublicKeys(client, []string{current, id})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := keys.Get(ctx); err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("key %s: %+v, %v; want an error naming it", id, got, err)
		}
	}

	flaky := &countingKMS{API: client, fail: 1}
	keys, _ = signer.NewPublicKeys(flaky, []string{current})
	if _, err := keys.Get(ctx); err == nil {
		t.Fatal("the failure was not reported")
	}
	if got, err := keys.Get(ctx); err != nil || len(got) != 1 {
		t.Fatalf("after a failure: %+v, %v; want a new try", got, err)
	}

	for _, ids := range [][]string{nil, {current, current}, {current, "arn:aws:kms:eu-west-3:123456789012:key/" + current}, {current, "receipts"}} {
		if _, err := signer.NewPublicKeys(client, ids); err == nil {
			t.Errorf("NewPublicKeys(%q) accepted", ids)
		}
	}
}

type countingKMS struct {
	signer.API
	calls atomic.Int64
	fail  int64 // the first calls that fail
}

func (c *countingKMS) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	if c.calls.Add(1) <= c.fail {
		return nil, errors.New("KMSInternalException")
	}
	return c.API.GetPublicKey(ctx, in, opts...)
}

// TestSignRefuses: a key that cannot sign receipts, and what KMS would refuse, fail with the
// key's name.
func TestSignRefuses(t *testing.T) {
	ctx := context.Background()
	client := kms.NewFromConfig(localtest.Config(t, localtest.Moto(t)))
	rsa := aws.ToString(newKey(t, client, kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify).KeyId)
	s, err := signer.New(client, rsa)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), rsa) {
		t.Errorf("an RSA key signed ECDSA_SHA_256: %v", err)
	}
	p256, _ := signer.New(client, aws.ToString(newKey(t, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify).KeyId))
	for _, n := range []int{0, breach.MaxSignedBytes + 1} {
		if _, err := p256.Sign(ctx, make([]byte, n)); err == nil {
			t.Errorf("signed %d bytes", n)
		}
	}
}

func TestParseKeyID(t *testing.T) {
	for in, want := range map[string]string{
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                            "1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:eu-west-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab":     "1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab": "mrk-1234abcd12ab34cd56ef1234567890ab",
		"alias/receipts": "",
		"key/1234":       "",
		"arn:aws:kms:eu-west-3:111122223333:alias/receipts": "",
		"arn:aws:s3:::bucket/key/x":                         "",
		"":                                                  "",
		"a,b":                                               "",
	} {
		got, err := signer.ParseKeyID(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ParseKeyID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// BenchmarkSignOnMoto measures a Sign round trip to moto_server on this machine (KMS in a region
// answers in a few milliseconds more).
func BenchmarkSignOnMoto(b *testing.B) {
	client := kms.NewFromConfig(localtest.Config(b, localtest.Moto(b)))
	s, err := signer.New(client, aws.ToString(newKey(b, client, kmstypes.KeySpecEccNistP256, kmstypes.KeyUsageTypeSignVerify).KeyId))
	if err != nil {
		b.Fatal(err)
	}
	message := make([]byte, 700) // a receipt's size
	ctx := context.Background()
	start := time.Now()
	for b.Loop() {
		if _, err := s.Sign(ctx, message); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/sign")
}
