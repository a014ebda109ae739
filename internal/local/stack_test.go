package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/rs/zerolog"

	"github.com/breach-intake/intake/internal/auth"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/dynamo"
	"github.com/breach-intake/intake/internal/local"
	"github.com/breach-intake/intake/internal/local/localtest"
)

// liveStack is the local stack of a test: real template, resources on a private moto_server, real
// handlers behind the local API server, over real HTTP.
type liveStack struct {
	srv    *httptest.Server
	cfg    aws.Config // the stack's, without faults
	tpl    *local.Template
	names  map[string]string
	fns    local.Functions // the template's functions, their AWS calls subject to faults
	faults *faults
	db     *dynamodb.Client
	table  string
	store  *dynamo.Store
	logs   *lockedWriter
}

func newLiveStack(t *testing.T, clock breach.Clock) *liveStack {
	t.Helper()
	return newLiveStackWith(t, clock, liveOptions{})
}

// liveOptions change how a live stack runs.
type liveOptions struct {
	wrap          func(aws.Config) aws.Config // the functions' AWS config (the fault switch, say)
	dynamoDBLocal bool                        // DynamoDB on DynamoDB Local rather than moto
	template      func(*local.Template)       // changes the real template before the stack is built
}

func newLiveStackWith(t *testing.T, clock breach.Clock, opts liveOptions) *liveStack {
	t.Helper()
	cfg := localtest.Config(t, localtest.Moto(t))
	if opts.dynamoDBLocal {
		cfg = local.ConfigFor(local.Endpoints{AWS: aws.ToString(cfg.BaseEndpoint), DynamoDB: localtest.DynamoDBLocal(t)})
	}
	tpl := loadReal(t)
	if opts.template != nil {
		opts.template(tpl)
	}
	names, err := local.CreateResources(context.Background(), cfg, tpl, "test")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	f := &faults{}
	faulty := cfg.Copy()
	faulty.APIOptions = append(faulty.APIOptions, f.middleware)
	if opts.wrap != nil {
		faulty = opts.wrap(faulty)
	}
	fns := local.TemplateFunctions(tpl, names, faulty, clock, logs)
	api, err := local.NewAPI(tpl, fns, local.APIOptions{Log: zerolog.New(logs), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	db := dynamodb.NewFromConfig(cfg)
	return &liveStack{srv: srv, cfg: cfg, tpl: tpl, names: names, fns: fns, faults: f, db: db,
		table: names["ReportsTable"], store: dynamo.New(db, names["ReportsTable"]), logs: logs}
}

// faults makes chosen AWS operations of the functions fail: the hook for an operation sees its
// input and returns the error to answer instead of calling AWS (nil: call it).
type faults struct {
	mu    sync.Mutex
	hooks map[string]func(input any) error
}

func (f *faults) set(operation string, hook func(input any) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hooks == nil {
		f.hooks = map[string]func(any) error{}
	}
	f.hooks[operation] = hook
}

func (f *faults) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("faults",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			f.mu.Lock()
			hook := f.hooks[middleware.GetOperationName(ctx)]
			f.mu.Unlock()
			if hook != nil {
				if err := hook(in.Parameters); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// orgKey provisions org and returns a new key for it.
func (s *liveStack) orgKey(t *testing.T, org breach.Organisation) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.store.PutOrganisation(ctx, org, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s.newKey(t, auth.Key{Principal: auth.PrincipalOrganisation, OrgID: string(org.ID)})
}

// newKey stores a new key for the principal who describes and returns it.
func (s *liveStack) newKey(t *testing.T, who auth.Key) string {
	t.Helper()
	k, key, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k.Principal, k.OrgID, k.Regulator, k.CreatedAt = who.Principal, who.OrgID, who.Regulator, time.Now()
	if err := s.store.PutKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return key
}

// call sends a request over HTTP; headers are name, value pairs. Every answer, the gateway's own
// included, must carry API Gateway's request id header.
func (s *liveStack) call(t *testing.T, method, path string, body []byte, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Apigw-Requestid") == "" {
		t.Errorf("%s %s: no apigw-requestid", method, path)
	}
	return resp.StatusCode, string(b)
}

func (s *liveStack) post(t *testing.T, body []byte, headers ...string) (int, string) {
	t.Helper()
	return s.call(t, "POST", "/v1/reports", body, headers...)
}

var exampleTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../breach/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryStatusOverHTTP drives each status of API.md through the local API server, with the
// clock at the moment shared/examples are documented for.
func TestEveryStatusOverHTTP(t *testing.T) {
	st := newLiveStack(t, func() time.Time { return exampleTime })
	key := st.orgKey(t, breach.Organisation{ID: "org-a", LegalName: "Org A", Country: "FR"})
	regulatorKey := st.newKey(t, auth.Key{Principal: auth.PrincipalRegulator, Regulator: "CNIL"})
	auth := func(idem string) []string {
		return []string{"Authorization", "Bearer " + key, "Content-Type", "application/json", "Idempotency-Key", idem}
	}

	t.Run("the examples give the results of their README", func(t *testing.T) {
		for _, tc := range []struct {
			file, severity string
			late           bool
			covered        []string
		}{
			{"gdpr-minimal.json", "medium", false, []string{"gdpr.notification"}},
			{"nis2-health-ransomware.json", "critical", false, []string{"gdpr.notification", "nis2.early_warning", "nis2.notification"}},
			{"processor-late.json", "critical", true, []string{"gdpr.notification"}},
		} {
			status, body := st.post(t, example(t, tc.file), auth("example-"+tc.file)...)
			var rc struct {
				Severity  string `json:"severity"`
				Late      bool   `json:"late"`
				Deadlines []struct {
					Stage string `json:"stage"`
					Met   *bool  `json:"met"`
				} `json:"deadlines"`
			}
			if status != 201 || json.Unmarshal([]byte(body), &rc) != nil {
				t.Fatalf("%s: %d %s", tc.file, status, body)
			}
			var covered []string
			for _, d := range rc.Deadlines {
				if d.Met != nil && (*d.Met || tc.late) {
					covered = append(covered, d.Stage)
				}
			}
			if rc.Severity != tc.severity || rc.Late != tc.late || strings.Join(covered, ",") != strings.Join(tc.covered, ",") {
				t.Errorf("%s: severity %s late %v covered %v; want %s %v %v", tc.file, rc.Severity, rc.Late, covered, tc.severity, tc.late, tc.covered)
			}
		}
	})

	gdpr := example(t, "gdpr-minimal.json")
	late := bytes.Replace(gdpr, []byte("2026-11-21T10:00:00Z"), []byte("2026-11-01T10:00:00Z"), 1)
	big := append([]byte(`{"consequences":"`), append(bytes.Repeat([]byte("x"), breach.MaxBodyBytes), '"', '}')...)
	for _, tc := range []struct {
		name    string
		body    []byte
		headers []string
		status  int
		want    string // the error code, or for gateway answers the exact body
	}{
		{"no key", gdpr, auth("s1")[2:], 401, `{"message":"Unauthorized"}`},
		{"a malformed key", gdpr, append([]string{"Authorization", "Bearer bik_nope"}, auth("s1")[2:]...), 403, `{"message":"Forbidden"}`},
		{"a regulator key on an organisation's route", gdpr, append([]string{"Authorization", "Bearer " + regulatorKey}, auth("s1")[2:]...), 403, `{"message":"Forbidden"}`},
		{"an unknown key", gdpr, append([]string{"Authorization", "Bearer bik_0123456789abcdef_" + strings.Repeat("0", 64)}, auth("s1")[2:]...), 403, `{"message":"Forbidden"}`},
		{"not JSON", gdpr, append(auth("s2")[:2], "Content-Type", "text/plain", "Idempotency-Key", "s2"), 415, "unsupported_media_type"},
		{"too large", big, auth("s3"), 413, "too_large"},
		{"invalid JSON", []byte(`{"regimes":["gdpr"],"regimes":["nis2"]}`), auth("s4"), 400, "invalid_json"},
		{"invalid fields", bytes.Replace(gdpr, []byte(`"retail"`), []byte(`"bakery"`), 1), auth("s5"), 400, "validation_failed"},
		{"no idempotency key", gdpr, auth("")[:4], 400, "validation_failed"},
		{"late without a reason", late, auth("s6"), 422, "late_reason_required"},
		{"a created report", gdpr, auth("s7"), 201, ""},
		{"its replay", gdpr, auth("s7"), 200, ""},
		{"its key with another body", append(gdpr, ' '), auth("s7"), 422, "idempotency_key_reused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := st.post(t, tc.body, tc.headers...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			switch {
			case strings.HasPrefix(tc.want, "{"):
				if body != tc.want {
					t.Fatalf("body %s, want exactly %s", body, tc.want)
				}
			case tc.want != "":
				if !strings.Contains(body, `"code":"`+tc.want+`"`) || !strings.Contains(body, `"request_id":"`) {
					t.Fatalf("body %s, want code %s with a request_id", body, tc.want)
				}
			}
		})
	}
	t.Run("an unknown route is the gateway's 404", func(t *testing.T) {
		if status, body := st.call(t, "GET", "/v1/nothing", nil); status != 404 || body != `{"message":"Not Found"}` {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("no personal data in any log line", func(t *testing.T) {
		out := st.logs.String()
		for _, personal := range []string{"Camille", "Durand", "boulangerie-exemple.fr", "Paul Lef", "rssi@", "+33", key} {
			if strings.Contains(out, personal) {
				t.Fatalf("logs carry %q", personal)
			}
		}
		if !strings.Contains(out, `"report accepted"`) {
			t.Fatalf("logs lack the accepted reports: %s", out)
		}
	})
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}
