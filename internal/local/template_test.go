package local_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/local"
)

// The real template, relative to this package's directory (where go test runs).
const templatePath = "../../template.yaml"

func loadReal(t *testing.T) *local.Template {
	t.Helper()
	tpl, err := local.LoadTemplate(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func parse(t *testing.T, src string) *local.Template {
	t.Helper()
	tpl, err := local.ParseTemplate([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestShortFormTagsBecomeLongForm(t *testing.T) {
	tpl := parse(t, `
Resources:
  R:
    Type: Test::Tags
    Properties:
      Ref: !Ref Stage
      GetAtt: !GetAtt Table.Arn
      GetAttDotted: !GetAtt Db.Endpoint.Address
      GetAttList: !GetAtt [Table, StreamArn]
      Sub: !Sub "${AWS::Region}-x"
      SubVars: !Sub ["${A}", {A: !Ref Stage}]
      If: !If [IsProd, 365, 30]
      Equals: !Equals [!Ref Stage, prod]
      Join: !Join [",", [a, b]]
      Select: !Select [0, !GetAZs ""]
      Split: !Split [",", "a,b"]
      FindInMap: !FindInMap [M, K, V]
      ImportValue: !ImportValue other-stack-export
      Base64: !Base64 text
      Not: !Not [!Condition IsProd]
      And: !And [!Condition A, !Condition B]
      Or: !Or [!Condition A, !Condition B]
      Number: 10
      Bool: true
      Quoted: "10"
`)
	got := tpl.Resources["R"].Properties
	want := map[string]any{
		"Ref":          map[string]any{"Ref": "Stage"},
		"GetAtt":       map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}},
		"GetAttDotted": map[string]any{"Fn::GetAtt": []any{"Db", "Endpoint.Address"}},
		"GetAttList":   map[string]any{"Fn::GetAtt": []any{"Table", "StreamArn"}},
		"Sub":          map[string]any{"Fn::Sub": "${AWS::Region}-x"},
		"SubVars":      map[string]any{"Fn::Sub": []any{"${A}", map[string]any{"A": map[string]any{"Ref": "Stage"}}}},
		"If":           map[string]any{"Fn::If": []any{"IsProd", 365, 30}},
		"Equals":       map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Stage"}, "prod"}},
		"Join":         map[string]any{"Fn::Join": []any{",", []any{"a", "b"}}},
		"Select":       map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}},
		"Split":        map[string]any{"Fn::Split": []any{",", "a,b"}},
		"FindInMap":    map[string]any{"Fn::FindInMap": []any{"M", "K", "V"}},
		"ImportValue":  map[string]any{"Fn::ImportValue": "other-stack-export"},
		"Base64":       map[string]any{"Fn::Base64": "text"},
		"Not":          map[string]any{"Fn::Not": []any{map[string]any{"Condition": "IsProd"}}},
		"And":          map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}},
		"Or":           map[string]any{"Fn::Or": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}},
		"Number":       10,
		"Bool":         true,
		"Quoted":       "10",
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d properties, want %d", len(got), len(want))
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"unknown tag", "Resources:\n  R:\n    Type: X\n    Properties: {A: !Cidr [a, 1, 2]}\n"},
		{"GetAtt without attribute", "Resources:\n  R:\n    Type: X\n    Properties: {A: !GetAtt Table}\n"},
		{"resource without type", "Resources:\n  R:\n    Properties: {}\n"},
		{"not a mapping", "- a\n"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := local.ParseTemplate([]byte(tc.src)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestRoutesOfTheTemplate(t *testing.T) {
	routes, err := loadReal(t).Routes()
	if err != nil {
		t.Fatal(err)
	}
	want := []local.Route{
		{Method: "GET", Path: "/v1/health", Function: "SubmitReportFunction", Auth: local.AuthNone},
		{Method: "GET", Path: "/v1/receipts/public-key", Function: "SubmitReportFunction", Auth: local.AuthNone},
		{Method: "GET", Path: "/v1/regulator/reports/{id}", Function: "ReadReportsFunction", Auth: local.AuthIAM},
		{Method: "GET", Path: "/v1/reports", Function: "ReadReportsFunction", Auth: local.AuthDefault},
		{Method: "POST", Path: "/v1/reports", Function: "SubmitReportFunction", Auth: local.AuthDefault},
		{Method: "GET", Path: "/v1/reports/{id}", Function: "ReadReportsFunction", Auth: local.AuthDefault},
		{Method: "POST", Path: "/v1/reports/{id}/supplements", Function: "SubmitReportFunction", Auth: local.AuthDefault},
		{Method: "GET", Path: "/v1/reports/{id}/versions/{n}", Function: "ReadReportsFunction", Auth: local.AuthDefault},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes = %+v\nwant     %+v", routes, want)
	}
}

const apiWithAuth = `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Keys
        Authorizers:
          Keys:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], ReauthorizeEvery: 0}
`

func TestRoutesAuth(t *testing.T) {
	tpl := parse(t, apiWithAuth+`
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A: {Type: HttpApi, Properties: {Method: get, Path: /b}}
        B: {Type: HttpApi, Properties: {Method: GET, Path: /a, Auth: {Authorizer: AWS_IAM}}}
        C: {Type: HttpApi, Properties: {Method: POST, Path: /a, Auth: {Authorizer: Keys}}}
        D: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
`)
	routes, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	want := []local.Route{
		{Method: "GET", Path: "/a", Function: "Fn", Auth: local.AuthIAM},
		{Method: "POST", Path: "/a", Function: "Fn", Auth: local.AuthDefault},
		{Method: "GET", Path: "/b", Function: "Fn", Auth: local.AuthDefault},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes = %+v\nwant     %+v", routes, want)
	}

	other := parse(t, apiWithAuth+`
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A: {Type: HttpApi, Properties: {Method: GET, Path: /a, Auth: {Authorizer: Other}}}
`)
	if _, err := other.Routes(); err == nil {
		t.Error("a route with a non-default authorizer: no error")
	}
}

func TestDefaultAuthorizerOfTheTemplate(t *testing.T) {
	a, err := loadReal(t).DefaultAuthorizer()
	if err != nil {
		t.Fatal(err)
	}
	want := local.Authorizer{Function: "AuthorizeFunction", IdentityHeader: "Authorization", IdentityContext: []string{"routeKey"},
		TTL: 60 * time.Second, SimpleResponses: true}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("authorizer = %+v, want %+v", a, want)
	}
}

func TestDefaultAuthorizerRefusesWhatTheLocalServerCannotReproduce(t *testing.T) {
	for _, tc := range []struct{ name, from, to string }{
		{"payload 1.0", `"2.0"`, `"1.0"`},
		{"two identity headers", `[Authorization]`, `[Authorization, X-Key]`},
		{"no TTL", `, ReauthorizeEvery: 0`, ``},
		{"not a function ARN", `!GetAtt AuthFn.Arn`, `arn:aws:lambda:eu-west-3:123456789012:function:x`},
		{"no default", `DefaultAuthorizer: Keys`, `DefaultAuthorizer: Nope`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(apiWithAuth, tc.from, tc.to, 1)
			if src == apiWithAuth {
				t.Fatalf("%q not in the template", tc.from)
			}
			if _, err := parse(t, src).DefaultAuthorizer(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestResolveOutputsOfTheTemplate(t *testing.T) {
	tpl := loadReal(t)
	names := map[string]string{
		"IntakeApi":       "abc123",
		"ReportsTable":    "breach-intake-local-ReportsTable",
		"ArchiveBucket":   "breach-intake-local-archivebucket",
		"AlertTopic":      "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-AlertTopic",
		"OpsTopic":        "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-OpsTopic",
		"DeadLetterQueue": "https://sqs.eu-west-3.amazonaws.com/123456789012/breach-intake-local-DeadLetterQueue",
	}
	want := map[string]string{
		"ApiUrl":             "https://abc123.execute-api.eu-west-3.amazonaws.com/",
		"ReportsTableName":   "breach-intake-local-ReportsTable",
		"ArchiveBucketName":  "breach-intake-local-archivebucket",
		"AlertTopicArn":      "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-AlertTopic",
		"OpsTopicArn":        "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-OpsTopic",
		"DeadLetterQueueUrl": "https://sqs.eu-west-3.amazonaws.com/123456789012/breach-intake-local-DeadLetterQueue",
	}
	for name, o := range tpl.Outputs {
		if o.Condition != "" {
			continue // checked below
		}
		got, err := tpl.Resolve(o.Value, names, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if w, ok := want[name]; !ok {
			t.Errorf("output %s = %q is not checked by this test", name, got)
		} else if got != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}

	outputs, err := local.Outputs(tpl, names, "http://127.0.0.1:3000")
	if err != nil {
		t.Fatal(err)
	}
	want["ApiUrl"] = "http://127.0.0.1:3000" // the local API server, not execute-api
	if !reflect.DeepEqual(outputs, want) {
		t.Errorf("local outputs = %v, want %v", outputs, want)
	}
	// The regulator's role exists only for a regulator's account: not with the defaults.
	if o := tpl.Outputs["RegulatorReadRoleArn"]; o.Condition != "HasRegulatorAccount" {
		t.Errorf("RegulatorReadRoleArn's condition = %q, want HasRegulatorAccount (the role's)", o.Condition)
	}
	if r := tpl.Resources["RegulatorReadRole"]; r.Condition != "HasRegulatorAccount" {
		t.Errorf("RegulatorReadRole's condition = %q, want HasRegulatorAccount", r.Condition)
	}
}

// The regulator's account may assume the role, with the external id when one is set, and the role
// may call the regulator route and nothing else.
func TestRegulatorReadRole(t *testing.T) {
	tpl := loadReal(t)
	r := tpl.Resources["RegulatorReadRole"]
	trust := mapping(r.Properties["AssumeRolePolicyDocument"])["Statement"].([]any)
	if len(trust) != 1 {
		t.Fatalf("trust policy has %d statements, want 1", len(trust))
	}
	s := mapping(trust[0])
	if got, _ := json.Marshal(s["Principal"]); string(got) != `{"AWS":{"Fn::Sub":"arn:${AWS::Partition}:iam::${RegulatorAccountId}:root"}}` {
		t.Errorf("trusted principal %s, want the regulator's account only", got)
	}
	if s["Action"] != "sts:AssumeRole" || s["Effect"] != "Allow" {
		t.Errorf("trust statement %v", s)
	}
	// The external id is required exactly when one is given.
	cond, _ := json.Marshal(s["Condition"])
	if want := `{"Fn::If":["HasRegulatorExternalId",{"StringEquals":{"sts:ExternalId":{"Ref":"RegulatorExternalId"}}},{"Ref":"AWS::NoValue"}]}`; string(cond) != want {
		t.Errorf("trust condition %s, want %s", cond, want)
	}
	for id, want := range map[string]bool{"": false, "cnil-2026": true} {
		if got, err := tpl.Condition("HasRegulatorExternalId", map[string]string{"RegulatorExternalId": id}); err != nil || got != want {
			t.Errorf("HasRegulatorExternalId with %q = %v, %v", id, got, err)
		}
	}

	policies, _ := r.Properties["Policies"].([]any)
	var grants []string
	for _, p := range policies {
		for _, st := range mapping(mapping(p)["PolicyDocument"])["Statement"].([]any) {
			st := mapping(st)
			res, err := tpl.Resolve(st["Resource"], map[string]string{"IntakeApi": "abc123"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			grants = append(grants, fmt.Sprint(st["Effect"], " ", st["Action"], " ", res))
		}
	}
	want := []string{"Allow execute-api:Invoke arn:aws:execute-api:eu-west-3:123456789012:abc123/*/GET/v1/regulator/reports/*"}
	if !reflect.DeepEqual(grants, want) {
		t.Errorf("the role grants %q, want %q", grants, want)
	}
	if r.Properties["ManagedPolicyArns"] != nil {
		t.Error("the regulator's role has managed policies")
	}
}

func TestResolve(t *testing.T) {
	tpl := parse(t, `
Parameters:
  Stage: {Type: String, Default: dev}
  NoDefault: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Key: {Type: AWS::KMS::Key}
  Fn: {Type: AWS::Serverless::Function}
  Logs: {Type: AWS::Logs::LogGroup}
  Bucket: {Type: AWS::S3::Bucket}
  Queue: {Type: AWS::SQS::Queue}
  Unnamed: {Type: AWS::DynamoDB::Table}
  AliasedKey: {Type: AWS::KMS::Key}
`)
	names := map[string]string{
		"Table": "s-Table", "Key": "1234abcd", "Fn": "s-Fn", "Logs": "s-Logs", "Bucket": "s-bucket",
		"Queue": "http://127.0.0.1:4566/123456789012/s-Queue", "AliasedKey": "alias/s/data",
	}
	ref := func(n string) map[string]any { return map[string]any{"Ref": n} }
	getAtt := func(r, a string) map[string]any { return map[string]any{"Fn::GetAtt": []any{r, a}} }
	sub := func(v any) map[string]any { return map[string]any{"Fn::Sub": v} }
	for _, tc := range []struct {
		name   string
		v      any
		params map[string]string
		want   string // "" means an error is expected
	}{
		{"literal", "x", nil, "x"},
		{"number", 30, nil, "30"},
		{"parameter default", ref("Stage"), nil, "dev"},
		{"parameter value", ref("Stage"), map[string]string{"Stage": "prod"}, "prod"},
		{"parameter without value", ref("NoDefault"), nil, ""},
		{"region", ref("AWS::Region"), nil, "eu-west-3"},
		{"account", ref("AWS::AccountId"), nil, "123456789012"},
		{"url suffix", ref("AWS::URLSuffix"), nil, "amazonaws.com"},
		{"stack name given", ref("AWS::StackName"), map[string]string{"AWS::StackName": "s"}, "s"},
		{"stack name not given", ref("AWS::StackName"), nil, ""},
		{"resource", ref("Table"), nil, "s-Table"},
		{"resource without local name", ref("Unnamed"), nil, ""},
		{"unknown name", ref("Nope"), nil, ""},
		{"table arn", getAtt("Table", "Arn"), nil, "arn:aws:dynamodb:eu-west-3:123456789012:table/s-Table"},
		{"key arn", getAtt("Key", "Arn"), nil, "arn:aws:kms:eu-west-3:123456789012:key/1234abcd"},
		{"key named by its alias", getAtt("AliasedKey", "Arn"), nil, "arn:aws:kms:eu-west-3:123456789012:alias/s/data"},
		{"function arn", getAtt("Fn", "Arn"), nil, "arn:aws:lambda:eu-west-3:123456789012:function:s-Fn"},
		{"log group arn", getAtt("Logs", "Arn"), nil, "arn:aws:logs:eu-west-3:123456789012:log-group:s-Logs:*"},
		{"bucket arn", getAtt("Bucket", "Arn"), nil, "arn:aws:s3:::s-bucket"},
		{"queue arn", getAtt("Queue", "Arn"), nil, "arn:aws:sqs:eu-west-3:123456789012:s-Queue"},
		{"unknown attribute", getAtt("Table", "StreamArn"), nil, ""},
		{"unknown resource", getAtt("Nope", "Arn"), nil, ""},
		{"sub", sub("${Table}@${AWS::Region}/${Table.Arn}"), nil, "s-Table@eu-west-3/arn:aws:dynamodb:eu-west-3:123456789012:table/s-Table"},
		{"sub literal", sub("${!Literal}-${Stage}"), nil, "${Literal}-dev"},
		{"sub variables", sub([]any{"${A}-${Stage}", map[string]any{"A": ref("Table")}}), nil, "s-Table-dev"},
		{"sub unclosed", sub("${Table"), nil, ""},
		{"sub unknown", sub("${Nope}"), nil, ""},
		{"join", map[string]any{"Fn::Join": []any{":", []any{"a", ref("Stage")}}}, nil, "a:dev"},
		{"if, condition false", map[string]any{"Fn::If": []any{"IsProd", 365, 30}}, nil, "30"},
		{"if, condition true", map[string]any{"Fn::If": []any{"IsProd", 365, 30}}, map[string]string{"Stage": "prod"}, "365"},
		{"if on an unknown condition", map[string]any{"Fn::If": []any{"C", "a", "b"}}, nil, ""},
		{"unsupported function", map[string]any{"Fn::Select": []any{0, []any{"a"}}}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tpl.Resolve(tc.v, names, tc.params)
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("= %q, want an error", got)
			case tc.want != "" && err != nil:
				t.Errorf("error %v, want %q", err, tc.want)
			case got != tc.want:
				t.Errorf("= %q, want %q", got, tc.want)
			}
		})
	}
}

// sam build with BuildMethod makefile runs `make build-<LogicalId>` in CodeUri with ARTIFACTS_DIR
// set, and the Makefile must be in CodeUri: every such function needs CodeUri "." and a target
// that writes $(ARTIFACTS_DIR)/bootstrap from its package under ./functions.
func TestMakefileBuildsEveryFunction(t *testing.T) {
	tpl := loadReal(t)
	var checked int
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" || r.Metadata["BuildMethod"] != "makefile" {
			continue
		}
		checked++
		if r.Properties["CodeUri"] != "." {
			t.Errorf("%s: CodeUri = %v, want . (the Makefile's directory)", id, r.Properties["CodeUri"])
		}
		out, err := exec.Command("make", "-C", "../..", "--dry-run", "--no-print-directory",
			"build-"+id, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
		if err != nil {
			t.Errorf("make build-%s: %v\n%s", id, err, out)
			continue
		}
		for _, want := range []string{"GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc", "-o /artifacts/bootstrap ./functions/"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("make build-%s does not run %q:\n%s", id, want, out)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no function with BuildMethod makefile")
	}
}

// Actions that AWS does not authorise per resource, so "*" is their only possible Resource.
var starOnly = map[string]string{
	"xray:PutTraceSegments":    "X-Ray has no resource-level permissions",
	"xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
	"dynamodb:ListStreams":     "ListStreams has no resource-level permissions; the stream event source mapping calls it",
}

// KMS actions a function calls itself, not through a service: no kms:ViaService possible.
var directKMS = map[string]string{
	"kms:GenerateMac":  "read-reports asks KMS for the MACs of its cursors",
	"kms:Sign":         "submit-report signs its receipts",
	"kms:GetPublicKey": "submit-report publishes the receipts' public keys",
}

// directKMSKey is the one key each direct KMS action may use, and the condition it must carry.
var directKMSKey = map[string]struct {
	key       string
	condition map[string]any
}{
	"kms:GenerateMac":  {"CursorKey", map[string]any{"kms:MacAlgorithm": "HMAC_SHA_256"}},
	"kms:Sign":         {"ReceiptKey", map[string]any{"kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "RAW"}},
	"kms:GetPublicKey": {"ReceiptKey", nil},
}

// Every statement granting a function its permissions (its inline Policies, or those of the
// explicit role it names) names a resource of the template, never "*" (except starOnly) and never
// a wildcard action; a KMS key is used only through a service (kms:ViaService). SAM policy
// templates and managed policies are refused: they grant more than one table's worth. A function
// with a stream event has an explicit role: SAM would attach a managed policy on "*".
func TestFunctionPoliciesAreLeastPrivilege(t *testing.T) {
	tpl := loadReal(t)
	granted := map[string][]string{} // function → dynamodb actions, sorted
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		for _, s := range functionStatements(t, tpl, id, r) {
			actions := strs(s["Action"])
			for _, a := range actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %s", id, a)
				}
				if strings.HasPrefix(a, "dynamodb:") {
					granted[id] = append(granted[id], a)
				}
			}
			if slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "kms:") && directKMS[a] == "" }) {
				viaService := mapping(mapping(s["Condition"])["StringEquals"])["kms:ViaService"]
				if viaService == nil {
					t.Errorf("%s: %v on a key without a kms:ViaService condition", id, actions)
				}
			}
			for _, a := range actions {
				if directKMS[a] == "" {
					continue
				}
				want := directKMSKey[a]
				onKey := map[string]any{"Fn::GetAtt": []any{want.key, "Arn"}}
				if len(actions) != 1 || !(reflect.DeepEqual(s["Resource"], onKey) || reflect.DeepEqual(s["Resource"], []any{onKey})) {
					t.Errorf("%s: %s with %v on %v, want alone on %s", id, a, actions, s["Resource"], want.key)
				}
				if got := mapping(mapping(s["Condition"])["StringEquals"]); want.condition != nil && !reflect.DeepEqual(got, want.condition) {
					t.Errorf("%s: %s with condition %v, want %v", id, a, got, want.condition)
				}
			}
			resources, ok := s["Resource"].([]any)
			if !ok {
				resources = []any{s["Resource"]}
			}
			for _, res := range resources {
				if res == "*" {
					for _, a := range actions {
						if _, ok := starOnly[a]; !ok {
							t.Errorf("%s: %s on \"*\"", id, a)
						}
					}
					continue
				}
				if !namesTemplateResource(tpl, res) {
					t.Errorf("%s: resource %v is not a resource of the template", id, res)
				}
			}
		}
	}
	for id, a := range granted {
		slices.Sort(a)
		granted[id] = slices.Compact(a)
	}
	fanOut := []string{
		"dynamodb:DescribeStream", "dynamodb:GetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
		"dynamodb:ListStreams", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
	}
	want := map[string][]string{
		"AuthorizeFunction":     {"dynamodb:GetItem"},
		"SubmitReportFunction":  {"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
		"ReadReportsFunction":   {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
		"AuditAnchorFunction":   {"dynamodb:Query"},
		"ProcessReportFunction": fanOut,
		"SweepFunction":         fanOut,
		"DeadlineWatchFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	}
	if !reflect.DeepEqual(granted, want) {
		t.Errorf("dynamodb actions = %v, want %v", granted, want)
	}
}

// Which items each function may touch, by action, from the dynamodb:LeadingKeys of its grants on
// the table (for a Query, the partition it reads): the tenancy of the table in one place. An
// organisation's reports are REPORTS#<org> (its list) and REPORT#<id> (versions); the audit trail
// AUDIT#<chain> and the registry AUDITCHAINS; KEY#, ORG#, IDEM# as before.
func TestTableGrantsByLeadingKey(t *testing.T) {
	tpl := loadReal(t)
	table := map[string]any{"Fn::GetAtt": []any{"ReportsTable", "Arn"}}
	grants := func(id string) map[string][]string {
		out := map[string][]string{}
		for _, s := range functionStatements(t, tpl, id, tpl.Resources[id]) {
			if !reflect.DeepEqual(s["Resource"], table) {
				continue
			}
			cond := mapping(s["Condition"])
			keys := strs(mapping(cond["ForAllValues:StringLike"])["dynamodb:LeadingKeys"])
			keys = append(keys, strs(mapping(cond["ForAllValues:StringEquals"])["dynamodb:LeadingKeys"])...)
			if len(keys) == 0 {
				t.Errorf("%s: %v on the table without dynamodb:LeadingKeys", id, s["Action"])
			}
			for _, a := range strs(s["Action"]) {
				out[a] = append(out[a], keys...)
			}
		}
		for a := range out {
			slices.Sort(out[a])
		}
		return out
	}
	for id, want := range map[string]map[string][]string{
		"AuthorizeFunction": {"dynamodb:GetItem": {"KEY#*"}},
		"SubmitReportFunction": {
			"dynamodb:GetItem":            {"IDEM#*", "ORG#*", "REPORTS#*"},
			"dynamodb:PutItem":            {"AUDIT#*", "AUDITCHAINS", "IDEM#*", "REPORT#*", "REPORTS#*"},
			"dynamodb:ConditionCheckItem": {"IDEM#*", "REPORT#*", "REPORTS#*"},
			"dynamodb:Query":              {"AUDIT#*"},
		},
		"ReadReportsFunction": {
			"dynamodb:GetItem": {"REPORT#*", "REPORTS#*"},
			"dynamodb:Query":   {"AUDIT#*", "REPORT#*", "REPORTS#*"},
			"dynamodb:PutItem": {"AUDIT#*", "AUDITCHAINS"},
		},
		"AuditAnchorFunction": {"dynamodb:Query": {"AUDIT#*", "AUDITCHAINS"}},
		// The fan-out reads organisations and reports, updates fan-out markers, and keeps the
		// processors' groups (correlation), which no organisation's function may read.
		"ProcessReportFunction": {
			"dynamodb:GetItem":    {"ORG#*", "PROCESSOR#*", "REPORT#*"},
			"dynamodb:Query":      {"PROCESSOR#*"},
			"dynamodb:PutItem":    {"PROCESSOR#*"},
			"dynamodb:UpdateItem": {"PROCESSOR#*", "REPORT#*"},
		},
		// The deadline watch reads heads, versions, markers and organisations, writes markers,
		// and moves heads in its index (those attributes only: TestDeadlineWatchUpdatesOnlyTheIndex).
		"DeadlineWatchFunction": {
			"dynamodb:GetItem":    {"ORG#*", "REPORT#*", "REPORTS#*"},
			"dynamodb:Query":      {"REPORT#*"},
			"dynamodb:PutItem":    {"REPORT#*"},
			"dynamodb:UpdateItem": {"REPORT#*", "REPORTS#*"},
		},
	} {
		if got := grants(id); !reflect.DeepEqual(got, want) {
			t.Errorf("%s grants %v\nwant %v", id, got, want)
		}
	}
}

// functionStatements returns the policy statements that grant a function its permissions.
func functionStatements(t *testing.T, tpl *local.Template, id string, fn local.Resource) []map[string]any {
	t.Helper()
	var docs []any
	if role := fn.Properties["Role"]; role != nil {
		args, _ := mapping(role)["Fn::GetAtt"].([]any)
		if len(args) != 2 || args[1] != "Arn" || tpl.Resources[args[0].(string)].Type != "AWS::IAM::Role" {
			t.Errorf("%s: Role %v is not !GetAtt <Role>.Arn of a role of the template", id, role)
			return nil
		}
		if fn.Properties["Policies"] != nil {
			t.Errorf("%s: Policies and Role: SAM ignores Policies when Role is given", id)
		}
		r := tpl.Resources[args[0].(string)]
		if r.Properties["ManagedPolicyArns"] != nil {
			t.Errorf("%s: role %s has managed policies", id, args[0])
		}
		trust, _ := json.Marshal(r.Properties["AssumeRolePolicyDocument"])
		if want := `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"}}],"Version":"2012-10-17"}`; string(trust) != want {
			t.Errorf("%s: role %s trusts %s, want only Lambda", id, args[0], trust)
		}
		policies, _ := r.Properties["Policies"].([]any)
		for _, p := range policies {
			docs = append(docs, mapping(p)["PolicyDocument"])
		}
	} else {
		for name, e := range mapping(fn.Properties["Events"]) {
			if typ := mapping(e)["Type"]; typ == "DynamoDB" || typ == "Kinesis" || typ == "SQS" {
				t.Errorf("%s: event %s of type %s without an explicit Role: SAM would grant it on \"*\"", id, name, typ)
			}
		}
		docs, _ = fn.Properties["Policies"].([]any)
	}
	var statements []map[string]any
	for _, doc := range docs {
		list, ok := mapping(doc)["Statement"].([]any)
		if !ok {
			t.Errorf("%s: policy %v is not an inline policy document", id, doc)
			continue
		}
		for _, s := range list {
			statements = append(statements, mapping(s))
		}
	}
	if len(statements) == 0 {
		t.Errorf("%s: no policy statements", id)
	}
	return statements
}

func mapping(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// namesTemplateResource: !GetAtt X.Arn, !Ref X or a !Sub whose ${X…} are template resources, with
// no wildcard but a last path segment under a named path of a template resource, such as
// ${Table.Arn}/index/* or ${Bucket.Arn}/reports/*.
func namesTemplateResource(tpl *local.Template, v any) bool {
	m, _ := v.(map[string]any)
	if args, ok := m["Fn::GetAtt"].([]any); ok && len(args) == 2 {
		_, ok := tpl.Resources[args[0].(string)]
		return ok
	}
	if ref, ok := m["Ref"].(string); ok {
		_, ok := tpl.Resources[ref]
		return ok
	}
	format, ok := m["Fn::Sub"].(string)
	if !ok {
		return false
	}
	if strings.Contains(format, "*") {
		under := underResource.FindStringSubmatch(format)
		if under == nil {
			return false
		}
		_, ok := tpl.Resources[under[1]]
		return ok
	}
	resources := 0
	for _, p := range strings.Split(format, "${")[1:] {
		name, _, _ := strings.Cut(p, "}")
		name, _, _ = strings.Cut(name, ".")
		if _, ok := tpl.Resources[name]; ok {
			resources++
		} else if !strings.HasPrefix(name, "AWS::") {
			return false
		}
	}
	return resources > 0
}

var underResource = regexp.MustCompile(`^\$\{(\w+)\.Arn\}(/[A-Za-z0-9_.-]+)+/\*$`)

func strs(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	list, _ := v.([]any)
	for _, item := range list {
		s, _ := item.(string)
		out = append(out, s)
	}
	return out
}

func TestStreamSourcesOfTheTemplate(t *testing.T) {
	sources, err := loadReal(t).StreamSources()
	if err != nil {
		t.Fatal(err)
	}
	want := []local.StreamSource{{
		Function:                   "ProcessReportFunction",
		Table:                      "ReportsTable",
		BatchSize:                  10,
		MaximumRetryAttempts:       5,
		MaximumRecordAgeInSeconds:  86400,
		BisectBatchOnFunctionError: true,
		ReportBatchItemFailures:    true,
		FilterPatterns:             []string{`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"item_type":{"S":["report_version"]}}}}`},
		OnFailureDestination:       "DeadLetterQueue",
	}}
	if !reflect.DeepEqual(sources, want) {
		t.Errorf("stream sources = %+v\nwant %+v", sources, want)
	}
}

// Reads are throttled lower than submissions, the unauthenticated routes lowest; every
// route of the template has a throttle.
func TestThrottlesOfTheTemplate(t *testing.T) {
	got, err := loadReal(t).Throttles()
	if err != nil {
		t.Fatal(err)
	}
	submit, read, health := local.Throttle{Rate: 50, Burst: 100}, local.Throttle{Rate: 20, Burst: 40}, local.Throttle{Rate: 10, Burst: 20}
	want := map[string]local.Throttle{
		"POST /v1/reports":                  submit,
		"POST /v1/reports/{id}/supplements": submit,
		"GET /v1/reports":                   read,
		"GET /v1/reports/{id}":              read,
		"GET /v1/reports/{id}/versions/{n}": read,
		"GET /v1/regulator/reports/{id}":    read,
		"GET /v1/health":                    health,
		"GET /v1/receipts/public-key":       health,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("throttles = %v\nwant %v", got, want)
	}
}

func TestThrottles(t *testing.T) {
	// throttleTemplate has routes GET /a and POST /b; settings are the HttpApi's properties, event
	// the route settings of GET /a's event.
	throttleTemplate := func(settings, event string) string {
		return `
Parameters:
  Burst: {Type: Number, Default: 7}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties: {` + settings + `}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        A: {Type: HttpApi, Properties: {Method: get, Path: /a` + event + `}}
        B: {Type: HttpApi, Properties: {Method: POST, Path: /b}}
`
	}
	for _, tc := range []struct {
		name, settings, event string
		want                  map[string]local.Throttle
	}{
		{"none", ``, ``, map[string]local.Throttle{}},
		{"default for every route", `DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5}`, ``,
			map[string]local.Throttle{"GET /a": {Rate: 5, Burst: 10}, "POST /b": {Rate: 5, Burst: 10}}},
		{"a route overrides the default", `DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5, DetailedMetricsEnabled: true},
      RouteSettings: {"POST /b": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 0.5}}`, ``,
			map[string]local.Throttle{"GET /a": {Rate: 5, Burst: 10}, "POST /b": {Rate: 0.5, Burst: 2}}},
		{"only the routes named, without a default", `RouteSettings: {"POST /b": {ThrottlingBurstLimit: !Ref Burst, ThrottlingRateLimit: "3"}}`, ``,
			map[string]local.Throttle{"POST /b": {Rate: 3, Burst: 7}}},
		{"route settings without throttling keep the default", `DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5},
      RouteSettings: {"POST /b": {DetailedMetricsEnabled: true}}`, ``,
			map[string]local.Throttle{"GET /a": {Rate: 5, Burst: 10}, "POST /b": {Rate: 5, Burst: 10}}},
		{"an event's settings override the API's", `RouteSettings: {"GET /a": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 1}}`,
			`, RouteSettings: {ThrottlingBurstLimit: 0, ThrottlingRateLimit: 0}`,
			map[string]local.Throttle{"GET /a": {Rate: 0, Burst: 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(t, throttleTemplate(tc.settings, tc.event)).Throttles()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("throttles = %v, want %v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, settings, event string }{
		{"a route the template lacks", `RouteSettings: {"GET /b": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 1}}`, ``},
		{"a key that is no route key", `RouteSettings: {"/a": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 1}}`, ``},
		{"a burst without a rate", `DefaultRouteSettings: {ThrottlingBurstLimit: 10}`, ``},
		{"a rate without a burst", `RouteSettings: {"POST /b": {ThrottlingRateLimit: 1}}`, ``},
		{"in an event, one limit", ``, `, RouteSettings: {ThrottlingRateLimit: 1}`},
		{"a negative limit", `DefaultRouteSettings: {ThrottlingBurstLimit: -1, ThrottlingRateLimit: 1}`, ``},
		{"not a number", `DefaultRouteSettings: {ThrottlingBurstLimit: many, ThrottlingRateLimit: 1}`, ``},
		{"not a finite rate", `DefaultRouteSettings: {ThrottlingBurstLimit: 1, ThrottlingRateLimit: .nan}`, ``},
		{"an unknown setting", `DefaultRouteSettings: {ThrottlingBurstLimit: 1, ThrottlingRateLimit: 1, PerClient: true}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := parse(t, throttleTemplate(tc.settings, tc.event)).Throttles(); err == nil {
				t.Errorf("no error; throttles %v", got)
			}
		})
	}
}

// streamTemplate is a template whose function Fn has a DynamoDB event with properties props.
func streamTemplate(props string) string {
	return `
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Queue: {Type: AWS::SQS::Queue}
  Topic: {Type: AWS::SNS::Topic}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Api: {Type: HttpApi, Properties: {Method: GET, Path: /a}}
        Stream: {Type: DynamoDB, Properties: {` + props + `}}
`
}

func TestStreamSourcesDefaultsAndRefusals(t *testing.T) {
	const minimal = "Stream: !GetAtt Table.StreamArn, StartingPosition: TRIM_HORIZON"
	sources, err := parse(t, streamTemplate(minimal)).StreamSources()
	if err != nil {
		t.Fatal(err)
	}
	// Lambda's defaults for a stream: 100 records, retried until they expire.
	want := []local.StreamSource{{Function: "Fn", Table: "Table", BatchSize: 100, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1}}
	if !reflect.DeepEqual(sources, want) {
		t.Errorf("stream sources = %+v\nwant %+v", sources, want)
	}

	for _, tc := range []struct{ name, props string }{
		{"not a table's stream", "Stream: !GetAtt Queue.Arn, StartingPosition: TRIM_HORIZON"},
		{"LATEST", "Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST"},
		{"unknown property", minimal + ", ParallelizationFactor: 2"},
		{"unknown response type", minimal + ", FunctionResponseTypes: [Other]"},
		{"SNS destination", minimal + ", DestinationConfig: {OnFailure: {Type: SNS, Destination: !Ref Topic}}"},
		{"destination not a queue", minimal + ", DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Table.Arn}}"},
		{"not a number", minimal + ", BatchSize: ten"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(t, streamTemplate(tc.props)).StreamSources(); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSchedulesOfTheTemplate(t *testing.T) {
	schedules, err := loadReal(t).Schedules()
	if err != nil {
		t.Fatal(err)
	}
	want := []local.Schedule{
		{Function: "AuditAnchorFunction", Expression: "rate(1 hour)"},
		{Function: "DeadlineWatchFunction", Expression: "rate(15 minutes)"},
		{Function: "SweepFunction", Expression: "rate(5 minutes)"},
	}
	if !reflect.DeepEqual(schedules, want) {
		t.Errorf("schedules = %+v, want %+v", schedules, want)
	}
	disabled := parse(t, `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Off: {Type: Schedule, Properties: {Schedule: rate(1 hour), Enabled: false}}
`)
	if s, err := disabled.Schedules(); err != nil || len(s) != 0 {
		t.Errorf("disabled schedule: %v, %v; want none", s, err)
	}
	bad := parse(t, `
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Bad: {Type: Schedule, Properties: {Schedule: every hour}}
`)
	if _, err := bad.Schedules(); err == nil {
		t.Error("a schedule that is neither rate() nor cron(): no error")
	}
}

func TestConditions(t *testing.T) {
	tpl := parse(t, `
Parameters:
  Queue: {Type: String, Default: ""}
  Stage: {Type: String, Default: dev}
Conditions:
  HasQueue: !Not [!Equals [!Ref Queue, ""]]
  IsProd: !Equals [!Ref Stage, prod]
  Both: !And [!Condition HasQueue, !Condition IsProd]
  Either: !Or [!Condition HasQueue, !Condition IsProd]
  Loop: !Not [!Condition Loop]
  UnknownParameter: !Equals [!Ref Nope, x]
  NotAFunction: !Select [0, [a]]
Resources: {}
`)
	queue := map[string]string{"Queue": "arn:aws:sqs:eu-west-3:123456789012:q"}
	prodQueue := map[string]string{"Queue": "arn:aws:sqs:eu-west-3:123456789012:q", "Stage": "prod"}
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   bool
	}{
		{"HasQueue", nil, false},
		{"HasQueue", queue, true},
		{"IsProd", nil, false},
		{"Both", queue, false},
		{"Both", prodQueue, true},
		{"Either", nil, false},
		{"Either", queue, true},
	} {
		got, err := tpl.Condition(tc.name, tc.params)
		if err != nil || got != tc.want {
			t.Errorf("%s with %v = %v, %v; want %v", tc.name, tc.params, got, err, tc.want)
		}
	}
	for _, name := range []string{"Loop", "UnknownParameter", "NotAFunction", "Undefined"} {
		if _, err := tpl.Condition(name, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// The real template's conditions hold or not as the local stack expects with its defaults.
	real := loadReal(t)
	for name, want := range map[string]bool{"IsProd": false, "HasRegulatorQueue": false, "HasRegulatorFilterPolicy": false,
		"HasRegulatorAccount": false, "HasRegulatorExternalId": false} {
		if got, err := real.Condition(name, nil); err != nil || got != want {
			t.Errorf("template condition %s = %v, %v; want %v", name, got, err, want)
		}
	}
}

// PhysicalNames knows every name CreateResources gives but keys' ids, chosen by KMS: a key is
// named by its alias.
func TestPhysicalNamesOfTheTemplate(t *testing.T) {
	got := local.PhysicalNames(loadReal(t), "breach-intake-local")
	want := map[string]string{
		"ReportsTable":    "breach-intake-local-ReportsTable",
		"ArchiveBucket":   "breach-intake-local-archivebucket",
		"AlertTopic":      "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-AlertTopic",
		"OpsTopic":        "arn:aws:sns:eu-west-3:123456789012:breach-intake-local-OpsTopic",
		"DeadLetterQueue": "https://sqs.eu-west-3.amazonaws.com/123456789012/breach-intake-local-DeadLetterQueue",
		"DataKeyAlias":    "alias/breach-intake-local/data",
		"DataKey":         "alias/breach-intake-local/data",
		"AlertKeyAlias":   "alias/breach-intake-local/alerts",
		"AlertKey":        "alias/breach-intake-local/alerts",
		"CursorKeyAlias":  "alias/breach-intake-local/cursors",
		"CursorKey":       "alias/breach-intake-local/cursors",
		"ReceiptKeyAlias": "alias/breach-intake-local/receipts",
		"ReceiptKey":      "alias/breach-intake-local/receipts",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names = %v\nwant    %v", got, want)
	}
	// Enough for every function's environment, without an endpoint.
	env, err := local.FunctionEnv(loadReal(t), "ProcessReportFunction", got)
	if err != nil {
		t.Fatal(err)
	}
	if k := env["ARCHIVE_KMS_KEY_ID"]; k != "arn:aws:kms:eu-west-3:123456789012:alias/breach-intake-local/data" {
		t.Errorf("ARCHIVE_KMS_KEY_ID = %s", k)
	}
	env, err = local.FunctionEnv(loadReal(t), "ReadReportsFunction", got)
	if err != nil {
		t.Fatal(err)
	}
	if k := env["CURSOR_KEY_ID"]; k != "alias/breach-intake-local/cursors" {
		t.Errorf("CURSOR_KEY_ID = %s", k)
	}
}
