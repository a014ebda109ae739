package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/client"
	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// submitStandIn answers POST /v1/reports as the API does: 201 and a receipt for a body the real
// parser accepts, 200 and the same receipt for a replayed Idempotency-Key, 400 with every failing
// field otherwise.
func submitStandIn(t *testing.T, key string) *httptest.Server {
	var mu sync.Mutex
	receipts := map[string]string{}
	org := breach.Organisation{ID: "demo-org", LegalName: "Organisation de démonstration", Country: "FR"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Apigw-Requestid", "gw-1")
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"Forbidden"}`)
			return
		}
		idem := r.Header.Get("Idempotency-Key")
		if r.Method != "POST" || r.URL.Path != "/v1/reports" || idem == "" || r.Header.Get("User-Agent") != "breachctl" {
			t.Errorf("%s %s with headers %v", r.Method, r.URL.Path, r.Header)
		}
		if _, err := breach.NewParser().Parse(body, org, time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)); err != nil {
			e, _ := err.(*breach.Error)
			fields, _ := json.Marshal(e.Fields)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"request_id":"req-7","fields":%s}}`, e.Code, e.Msg, fields)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if rc, ok := receipts[idem]; ok {
			io.WriteString(w, rc)
			return
		}
		receipts[idem] = fmt.Sprintf(`{"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0C%d","version":1,"status":"received","received_at":"2026-11-21T12:00:00.25Z",`+
			`"stage":"initial","severity":"medium","late":false,"deadlines":[{"due_at":"2026-11-24T10:00:00Z","met":true,"stage":"gdpr.notification"}],`+
			`"sha256":"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}`, len(receipts))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, receipts[idem])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSubmit(t *testing.T) {
	const key = "bik_demo_secret"
	srv := submitStandIn(t, key)
	example, err := os.ReadFile("../../internal/breach/testdata/gdpr-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir) // where the receipt is saved by default
	report := filepath.Join(dir, "report.json")
	if err := os.WriteFile(report, example, 0o644); err != nil {
		t.Fatal(err)
	}
	submit := func(args ...string) (string, string, error) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), append([]string{"submit"}, args...), &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}

	t.Run("prints the receipt and saves it as received", func(t *testing.T) {
		t.Setenv("BREACH_API_KEY", key)
		stdout, stderr, err := submit(report, "--url", srv.URL)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		saved, err := os.ReadFile("receipt-01KAZ3J8Q4V2M7X9R5T6Y1B0C0-v1.json")
		if err != nil {
			t.Fatalf("the receipt is not saved under its default name: %v\n%s", err, stderr)
		}
		if !strings.HasPrefix(string(saved), `{"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0C0","version":1,`) || strings.HasSuffix(string(saved), "\n") {
			t.Errorf("saved %q: want the API's bytes", saved)
		}
		var printed, received map[string]any
		if json.Unmarshal([]byte(stdout), &printed) != nil || json.Unmarshal(saved, &received) != nil || fmt.Sprint(printed) != fmt.Sprint(received) {
			t.Errorf("stdout %s: want the receipt", stdout)
		}
		for _, want := range []string{"report 01KAZ3J8Q4V2M7X9R5T6Y1B0C0 version 1 (initial) received at 2026-11-21T12:00:00.25Z: severity medium, on time",
			"gdpr.notification    due 2026-11-24T10:00:00Z  met", "receipt saved to receipt-01KAZ3J8Q4V2M7X9R5T6Y1B0C0-v1.json"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	})

	t.Run("--key, --out, and a replay with --idempotency-key", func(t *testing.T) {
		out := filepath.Join(dir, "proof.json")
		for i, want := range []string{"severity medium", "this is the first call's receipt, nothing new was filed"} {
			_, stderr, err := submit("--key", key, "--url", srv.URL, "--out", out, "--idempotency-key", "order-42", report)
			if err != nil || !strings.Contains(stderr, want) {
				t.Fatalf("call %d: %v\n%s", i+1, err, stderr)
			}
		}
		if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"id":"01KAZ3J8Q4V2M7X9R5T6Y1B0C1"`) {
			t.Fatalf("%s: %s %v", out, b, err)
		}
	})

	t.Run("one line per failing field", func(t *testing.T) {
		bad := strings.NewReplacer(`"retail"`, `"bakery"`, `"dpo@boulangerie-exemple.fr"`, `" "`, `"2026-11-21T10:00:00Z"`, `"tomorrow"`).Replace(string(example))
		if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, _, err := submit("bad.json", "--key", key, "--url", srv.URL, "--out", "bad-receipt.json")
		if err == nil {
			t.Fatal("a refused report succeeded")
		}
		lines := strings.Split(err.Error(), "\n")
		if lines[0] != "submit bad.json: refused: 400 validation_failed: "+firstLine(t, bad)+" (request req-7)" {
			t.Errorf("first line %q", lines[0])
		}
		for _, want := range []string{"  reporter.email: required (missing or empty)",
			"  organisation.sector: enum (not one of the allowed values)", "  incident.aware_at: format (malformed)"} {
			if !strings.Contains(err.Error(), "\n"+want+"\n") && !strings.HasSuffix(err.Error(), "\n"+want) {
				t.Errorf("no line %q in\n%v", want, err)
			}
		}
		if stdout != "" {
			t.Errorf("stdout %q", stdout)
		}
		if _, err := os.Stat("bad-receipt.json"); !os.IsNotExist(err) {
			t.Error("a receipt was saved for a refused report")
		}
	})

	t.Run("the gateway's refusal", func(t *testing.T) {
		_, _, err := submit(report, "--key", "bik_wrong", "--url", srv.URL)
		if err == nil || err.Error() != "submit "+report+": refused: 403: Forbidden (request gw-1)" {
			t.Fatalf("%v", err)
		}
	})

	t.Run("no key", func(t *testing.T) {
		t.Setenv("BREACH_API_KEY", "")
		_, _, err := submit(report, "--url", srv.URL)
		if err == nil || !strings.Contains(err.Error(), "no --key, no BREACH_API_KEY") {
			t.Fatalf("%v", err)
		}
	})

	t.Run("no answer: how to try again safely", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + l.Addr().String()
		l.Close()
		_, _, err = submit(report, "--key", key, "--url", closed, "--idempotency-key", "order-43")
		if err == nil || !strings.Contains(err.Error(), "run the same command with --idempotency-key order-43") {
			t.Fatalf("%v", err)
		}
	})

	t.Run("usage", func(t *testing.T) {
		if _, _, err := submit("--key", key); err == nil || !strings.Contains(err.Error(), "want exactly one report file") {
			t.Fatalf("%v", err)
		}
		if _, _, err := submit("missing.json", "--key", key); err == nil || !os.IsNotExist(unwrapAll(err)) {
			t.Fatalf("%v", err)
		}
	})
}

// firstLine is the message the parser gives body's errors (the stand-in forwards it).
func firstLine(t *testing.T, body string) string {
	t.Helper()
	_, err := breach.NewParser().Parse([]byte(body), breach.Organisation{Country: "FR"}, time.Now())
	return err.(*breach.Error).Msg
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// localStack serves the template's real handlers over HTTP, their resources on a private
// moto_server, with one organisation provisioned; it returns the server (closed when the test
// ends, or before by the test) and the organisation's key.
func localStack(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	cfg := localtest.Config(t, localtest.Moto(t))
	tpl, err := local.LoadTemplate("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := local.CreateResources(ctx, cfg, tpl, "test")
	if err != nil {
		t.Fatal(err)
	}
	api, err := local.NewAPI(tpl, local.TemplateFunctions(tpl, names, cfg, breach.SystemClock(), io.Discard), local.APIOptions{Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	store := dynamo.New(dynamodb.NewFromConfig(cfg), names["ReportsTable"])
	org := breach.Organisation{ID: "org-cli", LegalName: "Exemple SA", Country: "FR"}
	if _, err := store.PutOrganisation(ctx, org, time.Now()); err != nil {
		t.Fatal(err)
	}
	k, key, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.Principal, k.OrgID, k.CreatedAt = auth.PrincipalOrganisation, string(org.ID), time.Now()
	if err := store.PutKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	return srv, key
}

// TestSubmitToTheLocalStack files a shared example with breachctl submit against the real
// handlers and checks that the saved receipt is the proof of what was stored.
func TestSubmitToTheLocalStack(t *testing.T) {
	ctx := context.Background()
	srv, key := localStack(t)

	// processor-late.json carries a late_reason: it is accepted at any time.
	dir := t.TempDir()
	out := filepath.Join(dir, "receipt.json")
	var stdout, stderr strings.Builder
	if err := run(ctx, []string{"submit", "../../internal/breach/testdata/processor-late.json", "--url", srv.URL, "--key", key, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	saved, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rc client.Receipt
	if err := json.Unmarshal(saved, &rc); err != nil || rc.Version != 1 || !rc.Late || rc.Severity != "critical" {
		t.Fatalf("saved receipt %s: %v", saved, err)
	}
	if !strings.Contains(stderr.String(), "severity critical, LATE") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	doc, err := client.New(srv.URL, key).Version(ctx, rc.ID, 1)
	if err != nil || doc.SHA256() != rc.SHA256 {
		t.Fatalf("the stored version does not hash to the saved receipt's sha256 (%v)", err)
	}
}
