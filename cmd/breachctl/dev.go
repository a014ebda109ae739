package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
)

// demoOrg is the organisation `make dev` provisions so the printed curl works at once.
var demoOrg = breach.Organisation{ID: "demo-org", LegalName: "Organisation de démonstration", Country: "FR"}

// dev runs the whole stack on this machine until interrupted: moto_server (unless
// AWS_ENDPOINT_URL names an endpoint), every resource of template.yaml, the HTTP API with the real
// authorizer and handlers, and a demo organisation whose key it prints with a curl that works.
func dev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev", stderr)
	templatePath := fs.String("template", "template.yaml", "the SAM template")
	addr := fs.String("addr", local.DefaultAPIAddr, "address of the local API")
	motoPort := fs.Int("moto-port", 4566, "port of the moto_server started when AWS_ENDPOINT_URL is unset")
	stateDir := fs.String("state", ".local", "where the demo key is written")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tmpl, err := local.LoadTemplate(*templatePath)
	if err != nil {
		return err
	}

	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		fmt.Fprintf(stderr, "starting moto_server on 127.0.0.1:%d\n", *motoPort)
		moto, err := local.StartMoto(ctx, *motoPort)
		if err != nil {
			return err
		}
		defer moto.Stop()
		endpoint = moto.Endpoint()
	}
	cfg := local.Config(endpoint)
	names, err := local.CreateResources(ctx, cfg, tmpl, local.StackName)
	if err != nil {
		return fmt.Errorf("create resources from %s: %w", *templatePath, err)
	}
	t := &target{cfg: cfg, tmpl: tmpl, names: names}
	if t.outputs, err = local.Outputs(tmpl, names, "http://"+*addr+"/"); err != nil {
		return err
	}

	table, err := t.table()
	if err != nil {
		return err
	}
	key, err := createOrganisationKey(ctx, dynamo.New(dynamodb.NewFromConfig(cfg), table), demoOrg, time.Now(), io.Discard)
	if err != nil {
		return fmt.Errorf("provision the demo organisation: %w", err)
	}
	keyFile := filepath.Join(*stateDir, "demo-key")
	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return err
	}

	api, err := local.NewAPI(tmpl, func(id string) (lambda.Handler, error) { return t.function(id, stderr) },
		local.APIOptions{Log: zerolog.New(stderr).With().Timestamp().Str("component", "api").Logger()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is another make dev running?): %w", *addr, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprint(stdout, banner(*addr, endpoint, key, keyFile, t.outputs))
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "stopping")
	case err := <-served:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// banner tells what runs where, and gives a curl that works when pasted.
func banner(addr, endpoint, key, keyFile string, outputs map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nbreach-report intake running locally\n")
	fmt.Fprintf(&b, "  API              http://%s/v1/...\n", addr)
	fmt.Fprintf(&b, "  AWS endpoint     %s (region %s, credentials test/test)\n", endpoint, local.Region)
	for _, name := range []string{"ReportsTableName"} {
		fmt.Fprintf(&b, "  %-16s %s\n", name, outputs[name])
	}
	fmt.Fprintf(&b, "  demo org         %s (key saved in %s)\n\n", demoOrg.ID, keyFile)
	fmt.Fprintf(&b, "export BREACH_KEY=%s\n\n", key)
	fmt.Fprintf(&b, "Submit a report:\n\n%s\n", DemoCurl("http://"+addr, "$BREACH_KEY"))
	fmt.Fprintf(&b, "Ctrl-C stops everything this command started.\n")
	return b.String()
}

// DemoCurl is a shell command that submits a valid report, timed now, to api with key.
func DemoCurl(api, key string) string {
	return `curl -sS -X POST ` + api + `/v1/reports \
  -H "Authorization: Bearer ` + key + `" \
  -H "Content-Type: application/json" \
  -H "Idempotency-Key: demo-$(date +%s)" \
  --data-binary @- <<EOF
{"regimes": ["gdpr"],
 "reporter": {"name": "Camille Durand", "email": "dpo@example.fr"},
 "organisation": {"legal_name": "Organisation de démonstration", "sector": "retail", "country": "FR", "role": "controller"},
 "incident": {"title": "Laptop with customer list stolen", "description": "An unencrypted laptop was stolen from a car.",
   "aware_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "breach_types": ["confidentiality"], "cause": "accidental_external"},
 "data": {"subjects_affected": 240, "subjects_estimate": "approximate", "data_categories": ["identity", "contact"]},
 "measures": {"taken": "Passwords reset; theft reported to the police."}}
EOF
`
}
