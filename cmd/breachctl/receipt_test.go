package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/breach/breachtest"
	"github.com/breach-intake/intake/internal/receipt"
)

// verifyReceipt runs `breachctl receipt verify args…` and returns its output and exit status.
func verifyReceipt(t *testing.T, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = run(t.Context(), append([]string{"receipt", "verify"}, args...), &out, &errOut)
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code, err
}

// publishedPEM is what GET /v1/receipts/public-key answers for these signers.
func publishedPEM(t *testing.T, signers ...*breachtest.Signer) []byte {
	t.Helper()
	var keys []receipt.PublicKey
	for _, s := range signers {
		keys = append(keys, receipt.PublicKey{KeyID: s.ID, Key: &s.Key.PublicKey})
	}
	b, err := receipt.EncodePEM(keys)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// oneByteChanged is the receipt with the first hex digit of its sha256 changed: still a
// well-formed receipt, for another document.
func oneByteChanged(t *testing.T, rc []byte) []byte {
	t.Helper()
	i := strings.Index(string(rc), `"sha256":"`) + len(`"sha256":"`)
	if i < len(`"sha256":"`) {
		t.Fatalf("no sha256 in %s", rc)
	}
	b := []byte(strings.Clone(string(rc)))
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return b
}

// noNetwork fails any HTTP request made with the default client while the test runs.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("offline verification made a request: %s %s", r.Method, r.URL)
	return nil, errors.New("no network in this test")
}

func TestReceiptVerify(t *testing.T) {
	k1, k2 := breachtest.NewSigner("key-1"), breachtest.NewSigner("key-2")
	org := breach.Organisation{ID: "org-example", LegalName: "Exemple", Country: "FR"}
	at := time.Date(2026, 11, 21, 12, 0, 0, 250_000_000, time.UTC)
	in := breach.NewIntake(breachtest.NewStore(org), func() time.Time { return at },
		func(time.Time) breach.ReportID { return "01KAKZ7Q1W5Q7Y3X2V8N4M6P0R" }, breach.SignReceipts(k1))
	body, err := os.ReadFile("../../internal/breach/testdata/gdpr-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := in.Submit(context.Background(), breach.Submission{Org: org.ID, IdempotencyKey: "k", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rc := write(t, filepath.Join(dir, "receipt.json"), got.Receipt)
	keys := write(t, filepath.Join(dir, "keys.pem"), publishedPEM(t, k2, k1))
	other := write(t, filepath.Join(dir, "other.pem"), publishedPEM(t, k2))
	changed := write(t, filepath.Join(dir, "changed.json"), oneByteChanged(t, got.Receipt))
	parsed, err := receipt.Verify(got.Receipt, []receipt.PublicKey{{KeyID: k1.ID, Key: &k1.Key.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("verified offline: what it proves and what it does not", func(t *testing.T) {
		saved := http.DefaultTransport
		http.DefaultTransport = noNetwork{t}
		t.Cleanup(func() { http.DefaultTransport = saved })
		stdout, _, code, err := verifyReceipt(t, rc, "--public-key", keys)
		if err != nil || code != 0 {
			t.Fatalf("exit %d: %v", code, err)
		}
		want := "verified: this content hash " + parsed.SHA256 + ", received at 2026-11-21T12:00:00.25Z, version 1 of report " +
			"01KAKZ7Q1W5Q7Y3X2V8N4M6P0R, was signed by key key-1 of this intake\n"
		if !strings.HasPrefix(stdout, want) {
			t.Errorf("stdout begins\n%s\nwant\n%s", stdout, want)
		}
		for _, s := range []string{"whose public key came from the file " + keys, "It does not prove:", "must hash to " + parsed.SHA256,
			"received_at is not a third party's timestamp", "gdpr.notification    due 2026-11-24T10:00:00Z  met"} {
			if !strings.Contains(stdout, s) {
				t.Errorf("stdout lacks %q:\n%s", s, stdout)
			}
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"one byte changed", []string{changed, "--public-key", keys}, 2, "receipt verify " + changed + ": FAILED: signature does not match the receipt's content"},
		{"another key", []string{rc, "--public-key", other}, 2, "FAILED: receipt was signed by key key-1; the public key given is key-2"},
		{"not a receipt", []string{keys, "--public-key", keys}, 2, "FAILED: not a receipt"},
		{"an unsigned receipt", []string{write(t, filepath.Join(dir, "unsigned.json"), []byte(`{"id":"x","version":1}`)), "--public-key", keys}, 2,
			"FAILED: the receipt has no signature"},
		{"no receipt file", []string{"--public-key", keys}, 1, "want exactly one receipt file"},
		{"a missing receipt", []string{filepath.Join(dir, "missing.json"), "--public-key", keys}, 1, "no such file"},
		{"a missing key file", []string{rc, "--public-key", filepath.Join(dir, "missing.pem")}, 1, "the public key: open"},
		{"a key file without a key", []string{rc, "--public-key", rc}, 1, "no PEM PUBLIC KEY block"},
		{"an unknown flag", []string{rc, "--key", keys}, 1, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _, code, err := verifyReceipt(t, tc.args...)
			if code != tc.code || err == nil || !strings.Contains(err.Error(), tc.msg) || stdout != "" {
				t.Fatalf("exit %d, %v, stdout %q; want exit %d and %q", code, err, stdout, tc.code, tc.msg)
			}
		})
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"receipt"}, &out, &out); err == nil || exitCode(err) != 1 {
		t.Errorf("receipt without verify: %v", err)
	}

	t.Run("keys fetched from the API", func(t *testing.T) {
		status := http.StatusOK
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/receipts/public-key" || r.Header.Get("Authorization") != "" {
				t.Errorf("%s %v", r.URL, r.Header)
			}
			w.WriteHeader(status)
			w.Write(publishedPEM(t, k1))
		}))
		defer srv.Close()
		stdout, stderr, code, err := verifyReceipt(t, rc, "--url", srv.URL+"/")
		if err != nil || !strings.HasPrefix(stdout, "verified: ") || !strings.Contains(stderr, "fetched from "+srv.URL+"/v1/receipts/public-key") {
			t.Fatalf("exit %d, %v\n%s%s", code, err, stdout, stderr)
		}
		status = http.StatusInternalServerError
		if _, _, code, err := verifyReceipt(t, rc, "--url", srv.URL); code != 1 || !strings.Contains(err.Error(), "500") {
			t.Fatalf("a 500: exit %d, %v", code, err)
		}
	})
}

// TestReceiptFromTheLocalStackVerifiesOffline is the proof: a receipt the local stack
// issued (signed by the template's KMS key on moto) verifies with breachctl against the key the
// stack published, with the stack gone; one byte changed, or another key, fails with exit 2.
func TestReceiptFromTheLocalStackVerifiesOffline(t *testing.T) {
	ctx := context.Background()
	srv, key := localStack(t)

	dir := t.TempDir()
	rc := filepath.Join(dir, "receipt.json")
	var stdout, stderr strings.Builder
	if err := run(ctx, []string{"submit", "../../internal/breach/testdata/processor-late.json", "--url", srv.URL, "--key", key, "--out", rc}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	// Verified against the stack's published keys, fetched…
	if out, errOut, code, err := verifyReceipt(t, rc, "--url", srv.URL); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", code, err, out, errOut)
	}
	// …and saved, then offline: the stack stopped, no request allowed.
	resp, err := http.Get(srv.URL + "/v1/receipts/public-key")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Fatalf("GET /v1/receipts/public-key: %d %v\n%s", resp.StatusCode, resp.Header, pem)
	}
	keys := write(t, filepath.Join(dir, "keys.pem"), pem)
	srv.Close()
	saved := http.DefaultTransport
	http.DefaultTransport = noNetwork{t}
	t.Cleanup(func() { http.DefaultTransport = saved })

	out, _, code, err := verifyReceipt(t, rc, "--public-key", keys)
	if err != nil || !strings.HasPrefix(out, "verified: this content hash ") {
		t.Fatalf("offline: exit %d, %v\n%s", code, err, out)
	}
	b, err := os.ReadFile(rc)
	if err != nil {
		t.Fatal(err)
	}
	changed := write(t, filepath.Join(dir, "changed.json"), oneByteChanged(t, b))
	if _, _, code, err := verifyReceipt(t, changed, "--public-key", keys); code != 2 || !strings.Contains(err.Error(), "signature does not match the receipt's content") {
		t.Errorf("one byte changed: exit %d, %v", code, err)
	}
	other := write(t, filepath.Join(dir, "other.pem"), publishedPEM(t, breachtest.NewSigner("another-key")))
	if _, _, code, err := verifyReceipt(t, rc, "--public-key", other); code != 2 || !strings.Contains(err.Error(), "; the public key given is another-key") {
		t.Errorf("another key: exit %d, %v", code, err)
	}
}
