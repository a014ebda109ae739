package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// standIn answers POST /v1/reports as the API does for a valid report (201 and a receipt),
// after checking the request's headers and the body with the real validator; it refuses
// everything when refuse is set, as the gateway does for a wrong key.
func standIn(t *testing.T, key string, refuse bool) (*httptest.Server, func() int) {
	var mu sync.Mutex
	keys := map[string]bool{}
	org := breach.Organisation{ID: "demo-org", LegalName: "Organisation de démonstration", Country: "FR"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if refuse {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Forbidden"}`)
			return
		}
		idem := r.Header.Get("Idempotency-Key")
		if r.URL.Path != "/v1/reports" || r.Header.Get("Authorization") != "Bearer "+key || idem == "" {
			t.Errorf("request %s with headers %v", r.URL.Path, r.Header)
		}
		if _, err := breach.NewParser().Parse(body, org, time.Now()); err != nil {
			t.Errorf("generated body refused: %v", err)
		}
		mu.Lock()
		keys[idem] = true
		n := len(keys)
		mu.Unlock()
		sum := sha256.Sum256(body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"R%04d","version":1,"status":"received","sha256":%q}`, n, hex.EncodeToString(sum[:]))
	}))
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return len(keys) }
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "demo-key")
	const key = "bik_demo_secret"
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("every report accepted", func(t *testing.T) {
		srv, received := standIn(t, key, false)
		receipts := filepath.Join(dir, "receipts.jsonl")
		var stdout, stderr strings.Builder
		err := run(t.Context(), []string{"load", "--url", srv.URL, "--key-file", keyFile, "-n", "25", "-c", "4",
			"--max-bytes", "20000", "--seed", "3", "--receipts", receipts}, &stdout, &stderr)
		if err != nil {
			t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
		}
		for _, want := range []string{"sent        25", "accepted    25 (201: 25, 200 replayed: 0)", "failed      0", "reports/s", "p50"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, stdout.String())
			}
		}
		if !strings.Contains(stderr.String(), "25/25 100%") {
			t.Errorf("progress:\n%s", stderr.String())
		}
		if received() != 25 {
			t.Errorf("the API received %d reports", received())
		}
		f, err := os.Open(receipts)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		lines := 0
		for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
			var rc map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rc); err != nil || rc["status"] != 201.0 || rc["id"] == "" || rc["idempotency_key"] == "" {
				t.Errorf("receipt line %s", sc.Text())
			}
		}
		if lines != 25 {
			t.Errorf("%d receipt lines", lines)
		}
	})

	t.Run("a rejected report fails the command", func(t *testing.T) {
		srv, _ := standIn(t, key, true)
		var stdout, stderr strings.Builder
		err := run(t.Context(), []string{"load", "--url", srv.URL, "--key", "bik_wrong_key", "-n", "3"}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "3 of 3 reports not accepted") || !strings.Contains(stdout.String(), "403 Forbidden") {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
	})

	t.Run("only to this machine unless allowed", func(t *testing.T) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), []string{"load", "--url", "https://api.example.org", "--key", key, "-n", "1"}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "--allow-remote") {
			t.Fatalf("remote URL: %v", err)
		}
		if stdout.Len() > 0 {
			t.Errorf("printed %q", stdout.String())
		}
		for raw, ok := range map[string]bool{"http://127.0.0.1:3000": true, "http://localhost:3000": true, "http://[::1]:3000": true,
			"http://127.1.2.3": true, "http://10.0.0.1:3000": false, "https://abc.execute-api.eu-west-3.amazonaws.com": false, "::": false} {
			if err := checkLoopback(raw, false); (err == nil) != ok {
				t.Errorf("checkLoopback(%q) = %v", raw, err)
			}
		}
		if err := checkLoopback("https://abc.execute-api.eu-west-3.amazonaws.com", true); err != nil {
			t.Errorf("--allow-remote: %v", err)
		}
	})

	t.Run("no key", func(t *testing.T) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), []string{"load", "--key-file", filepath.Join(dir, "missing")}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "key file") {
			t.Fatalf("%v", err)
		}
	})
}
