package local

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"gopkg.in/yaml.v3"
)

// Pseudo parameter values of the local stack. AccountID is moto's default account, so the ARNs
// resolved here are the ones moto uses.
const (
	Region    = "eu-west-3"
	AccountID = "123456789012"
	Partition = "aws"
	URLSuffix = "amazonaws.com"
)

// Template is a SAM template read as plain Go values: the short-form intrinsic tags (!Ref, !Sub…)
// are turned into their long form ({"Ref": …}, {"Fn::Sub": …}), so nothing else sees YAML tags.
type Template struct {
	Parameters map[string]Parameter
	Conditions map[string]any
	Globals    map[string]any
	Resources  map[string]Resource
	Outputs    map[string]Output
}

type Parameter struct {
	Type          string
	Default       any
	AllowedValues []any
}

type Resource struct {
	Type       string
	Condition  string // name of the Condition that decides whether the resource exists, if any
	Properties map[string]any
	Metadata   map[string]any
}

type Output struct {
	Description string
	Condition   string // name of the Condition that decides whether the output exists, if any
	Value       any
}

// LoadTemplate reads and parses a template file.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := ParseTemplate(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTemplate parses a template held in memory.
func ParseTemplate(b []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty template")
	}
	v, err := plain(doc.Content[0])
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("template is not a mapping")
	}
	t := &Template{
		Parameters: map[string]Parameter{},
		Conditions: mapping(top["Conditions"]),
		Globals:    mapping(top["Globals"]),
		Resources:  map[string]Resource{},
		Outputs:    map[string]Output{},
	}
	for name, p := range mapping(top["Parameters"]) {
		p := mapping(p)
		allowed, _ := p["AllowedValues"].([]any)
		t.Parameters[name] = Parameter{Type: str(p["Type"]), Default: p["Default"], AllowedValues: allowed}
	}
	for id, r := range mapping(top["Resources"]) {
		r := mapping(r)
		if str(r["Type"]) == "" {
			return nil, fmt.Errorf("resource %s has no Type", id)
		}
		t.Resources[id] = Resource{
			Type:       str(r["Type"]),
			Condition:  str(r["Condition"]),
			Properties: mapping(r["Properties"]),
			Metadata:   mapping(r["Metadata"]),
		}
	}
	for name, o := range mapping(top["Outputs"]) {
		o := mapping(o)
		t.Outputs[name] = Output{Description: str(o["Description"]), Condition: str(o["Condition"]), Value: o["Value"]}
	}
	return t, nil
}

// longForm names the long form of a short-form intrinsic tag.
func longForm(tag string) (string, bool) {
	switch tag {
	case "!Ref", "!Condition":
		return tag[1:], true
	case "!GetAtt", "!Sub", "!If", "!Equals", "!Join", "!Select", "!Split", "!FindInMap",
		"!ImportValue", "!Base64", "!GetAZs", "!Not", "!And", "!Or":
		return "Fn::" + tag[1:], true
	}
	return "", false
}

// plain turns a YAML node into map[string]any, []any, string, int, float64, bool or nil.
func plain(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return plain(n.Alias)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name, ok := longForm(n.Tag)
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		var arg any = n.Value // a tagged scalar is a string whatever it looks like: !Ref 123
		if n.Kind != yaml.ScalarNode {
			untagged := *n
			untagged.Tag = ""
			var err error
			if arg, err = plain(&untagged); err != nil {
				return nil, err
			}
		} else if name == "Fn::GetAtt" {
			// !GetAtt Resource.Attribute; the attribute itself may hold dots (Endpoint.Address).
			res, attr, ok := strings.Cut(n.Value, ".")
			if !ok {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, n.Value)
			}
			arg = []any{res, attr}
		}
		return map[string]any{name: arg}, nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			val, err := plain(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := plain(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}

func mapping(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// RouteAuth says who may call a route.
type RouteAuth string

const (
	AuthDefault RouteAuth = "default" // the HttpApi's DefaultAuthorizer
	AuthNone    RouteAuth = "none"
	AuthIAM     RouteAuth = "aws_iam"
)

// Route is one HttpApi route and the function behind it.
type Route struct {
	Method, Path string
	Function     string // LogicalId
	Auth         RouteAuth
}

// Routes lists the HttpApi events of every AWS::Serverless::Function, sorted by path then method.
// A route naming an authorizer other than the default, NONE or AWS_IAM is an error: the local API
// server could not reproduce it.
func (t *Template) Routes() ([]Route, error) {
	var routes []Route
	for id, r := range t.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		for name, e := range mapping(r.Properties["Events"]) {
			e := mapping(e)
			if str(e["Type"]) != "HttpApi" {
				continue
			}
			p := mapping(e["Properties"])
			rt := Route{Method: strings.ToUpper(str(p["Method"])), Path: str(p["Path"]), Function: id, Auth: AuthDefault}
			if rt.Method == "" || rt.Path == "" {
				return nil, fmt.Errorf("%s event %s: HttpApi event without Method and Path", id, name)
			}
			switch a := str(mapping(p["Auth"])["Authorizer"]); a {
			case "":
			case "NONE":
				rt.Auth = AuthNone
			case "AWS_IAM":
				rt.Auth = AuthIAM
			default:
				if a != t.defaultAuthorizerName() {
					return nil, fmt.Errorf("%s event %s: authorizer %s is not the default one", id, name, a)
				}
			}
			routes = append(routes, rt)
		}
	}
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	return routes, nil
}

// Authorizer is the HttpApi's default Lambda authorizer.
type Authorizer struct {
	Function        string        // LogicalId of the authorizer function
	IdentityHeader  string        // the request header carrying the identity (Authorization)
	IdentityContext []string      // context variables also in the identity (routeKey), after the header
	TTL             time.Duration // how long the gateway caches a decision per identity
	SimpleResponses bool          // {"isAuthorized": …} rather than IAM policies
}

// errNoHTTPAPI: the template declares no AWS::Serverless::HttpApi.
var errNoHTTPAPI = errors.New("no AWS::Serverless::HttpApi")

// httpAPI returns the template's single AWS::Serverless::HttpApi.
func (t *Template) httpAPI() (string, Resource, error) {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Serverless::HttpApi" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", Resource{}, errNoHTTPAPI
	}
	if len(ids) != 1 {
		return "", Resource{}, fmt.Errorf("want exactly one AWS::Serverless::HttpApi, found %d", len(ids))
	}
	return ids[0], t.Resources[ids[0]], nil
}

func (t *Template) defaultAuthorizerName() string {
	_, api, err := t.httpAPI()
	if err != nil {
		return ""
	}
	return str(mapping(api.Properties["Auth"])["DefaultAuthorizer"])
}

// DefaultAuthorizer reads the HttpApi's DefaultAuthorizer. Only what the local API server
// reproduces is accepted: a Lambda authorizer with payload 2.0, one identity header and an
// explicit ReauthorizeEvery (no guessing the gateway's default).
func (t *Template) DefaultAuthorizer() (Authorizer, error) {
	id, api, err := t.httpAPI()
	if err != nil {
		return Authorizer{}, err
	}
	auth := mapping(api.Properties["Auth"])
	name := str(auth["DefaultAuthorizer"])
	a := mapping(mapping(auth["Authorizers"])[name])
	if name == "" || a == nil {
		return Authorizer{}, fmt.Errorf("%s: no DefaultAuthorizer in Auth.Authorizers", id)
	}
	fail := func(format string, args ...any) (Authorizer, error) {
		return Authorizer{}, fmt.Errorf("%s authorizer %s: %s", id, name, fmt.Sprintf(format, args...))
	}
	getAtt, _ := mapping(a["FunctionArn"])["Fn::GetAtt"].([]any)
	if len(getAtt) != 2 || getAtt[1] != "Arn" {
		return fail("FunctionArn is not !GetAtt <Function>.Arn")
	}
	if v := a["AuthorizerPayloadFormatVersion"]; v != "2.0" {
		return fail("AuthorizerPayloadFormatVersion is %v, want 2.0", v)
	}
	identity := mapping(a["Identity"])
	headers, _ := identity["Headers"].([]any)
	if len(headers) != 1 || str(headers[0]) == "" {
		return fail("want exactly one Identity header, got %v", headers)
	}
	var contextVars []string
	for _, c := range asList(identity["Context"]) {
		if str(c) != "routeKey" {
			return fail("Identity.Context %v: the local gateway knows only routeKey", c)
		}
		contextVars = append(contextVars, "routeKey")
	}
	ttl, ok := identity["ReauthorizeEvery"].(int)
	if !ok || ttl < 0 {
		return fail("Identity.ReauthorizeEvery must be set to a number of seconds")
	}
	simple, _ := a["EnableSimpleResponses"].(bool)
	return Authorizer{
		Function:        str(getAtt[0]),
		IdentityHeader:  str(headers[0]),
		IdentityContext: contextVars,
		TTL:             time.Duration(ttl) * time.Second,
		SimpleResponses: simple,
	}, nil
}

// Throttle is a route's throttling as API Gateway applies it: a token bucket holding at most
// Burst requests, refilled at Rate requests per second, shared by every caller of the route.
type Throttle struct {
	Rate  float64
	Burst int
}

// routeSettings are the route settings properties (the HttpApi's DefaultRouteSettings, an entry
// of its RouteSettings, or an HttpApi event's RouteSettings). Decoding rejects any other.
type routeSettings struct {
	ThrottlingBurstLimit *cfnInt
	ThrottlingRateLimit  *cfnFloat
	// No local meaning: CloudWatch metrics and execution logs.
	DetailedMetricsEnabled, DataTraceEnabled, LoggingLevel any
}

// throttle is the throttle these settings set, if they set one. One limit without the other is
// an error: what the gateway does with the missing one is not reproduced here.
func (s routeSettings) throttle() (Throttle, bool, error) {
	switch {
	case s.ThrottlingBurstLimit == nil && s.ThrottlingRateLimit == nil:
		return Throttle{}, false, nil
	case s.ThrottlingBurstLimit == nil || s.ThrottlingRateLimit == nil:
		return Throttle{}, false, errors.New("set both ThrottlingBurstLimit and ThrottlingRateLimit, or neither")
	case *s.ThrottlingBurstLimit < 0 || *s.ThrottlingRateLimit < 0:
		return Throttle{}, false, errors.New("negative throttling limit")
	}
	return Throttle{Rate: float64(*s.ThrottlingRateLimit), Burst: int(*s.ThrottlingBurstLimit)}, true, nil
}

// Throttles reads the HttpApi's stage throttling: DefaultRouteSettings for every route, overridden
// for a route by its RouteSettings entry (keyed by route key, "GET /v1/reports/{id}"), itself
// overridden by the RouteSettings of the route's HttpApi event, as SAM merges them. It returns
// each throttled route key's throttle; a route absent is not throttled (beyond the account's
// limits, which the local gateway does not apply). A RouteSettings key that is no route of the
// template is an error, as it fails the deployment. Without an HttpApi resource (SAM's implicit
// API) nothing is throttled.
func (t *Template) Throttles() (map[string]Throttle, error) {
	id, api, err := t.httpAPI()
	if errors.Is(err, errNoHTTPAPI) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	routes, err := t.Routes()
	if err != nil {
		return nil, err
	}
	read := func(v any) (Throttle, bool, error) {
		resolved, err := t.resolveTree(v, nil, nil)
		if err != nil {
			return Throttle{}, false, err
		}
		var s routeSettings
		if err := decodeStrict(mapping(resolved), &s); err != nil {
			return Throttle{}, false, err
		}
		return s.throttle()
	}
	def, hasDefault, err := read(api.Properties["DefaultRouteSettings"])
	if err != nil {
		return nil, fmt.Errorf("%s DefaultRouteSettings: %w", id, err)
	}
	throttles := map[string]Throttle{}
	keys := map[string]bool{}
	for _, r := range routes {
		keys[r.key()] = true
		if hasDefault {
			throttles[r.key()] = def
		}
	}
	perRoute := mapping(api.Properties["RouteSettings"])
	for _, key := range slices.Sorted(maps.Keys(perRoute)) {
		if !keys[key] {
			return nil, fmt.Errorf("%s RouteSettings: %q is not a route of the template (want \"METHOD /path\")", id, key)
		}
		th, ok, err := read(perRoute[key])
		if err != nil {
			return nil, fmt.Errorf("%s RouteSettings %q: %w", id, key, err)
		}
		if ok {
			throttles[key] = th
		}
	}
	err = t.functionEvents("HttpApi", func(_, _ string, props map[string]any) error {
		settings, ok := props["RouteSettings"]
		if !ok {
			return nil
		}
		th, ok, err := read(settings)
		if err != nil {
			return fmt.Errorf("RouteSettings: %w", err)
		}
		if ok {
			throttles[strings.ToUpper(str(props["Method"]))+" "+str(props["Path"])] = th
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return throttles, nil
}

// Resolve computes the string value of v: a literal, Ref, Fn::Sub, Fn::GetAtt, Fn::Join or Fn::If.
// names maps a resource's LogicalId to what its Ref returns (a table's name, a key's id…); params
// holds parameter values, overriding defaults and the local pseudo parameters (pass
// "AWS::StackName" there). Anything it cannot know is an error, never a guess.
func (t *Template) Resolve(v any, names, params map[string]string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int, float64, bool:
		return fmt.Sprint(v), nil
	case map[string]any:
		if len(v) != 1 {
			break
		}
		if ref, ok := v["Ref"].(string); ok {
			return t.ref(ref, names, params)
		}
		if args, ok := v["Fn::GetAtt"].([]any); ok && len(args) == 2 {
			return t.getAtt(str(args[0]), str(args[1]), names, params)
		}
		if sub, ok := v["Fn::Sub"]; ok {
			return t.sub(sub, names, params)
		}
		if args, ok := v["Fn::If"].([]any); ok && len(args) == 3 {
			holds, err := t.Condition(str(args[0]), params)
			if err != nil {
				return "", err
			}
			if holds {
				return t.Resolve(args[1], names, params)
			}
			return t.Resolve(args[2], names, params)
		}
		if args, ok := v["Fn::Join"].([]any); ok && len(args) == 2 {
			items, _ := args[1].([]any)
			parts := make([]string, len(items))
			for i, item := range items {
				s, err := t.Resolve(item, names, params)
				if err != nil {
					return "", err
				}
				parts[i] = s
			}
			return strings.Join(parts, str(args[0])), nil
		}
	}
	return "", fmt.Errorf("cannot resolve %v locally", v)
}

func (t *Template) ref(name string, names, params map[string]string) (string, error) {
	if v, ok := params[name]; ok {
		return v, nil
	}
	if p, ok := t.Parameters[name]; ok {
		if p.Default == nil {
			return "", fmt.Errorf("parameter %s has no value and no default", name)
		}
		return fmt.Sprint(p.Default), nil
	}
	switch name {
	case "AWS::Region":
		return Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::Partition":
		return Partition, nil
	case "AWS::URLSuffix":
		return URLSuffix, nil
	}
	if v, ok := names[name]; ok {
		return v, nil
	}
	if _, ok := t.Resources[name]; ok {
		return "", fmt.Errorf("resource %s has no local name", name)
	}
	return "", fmt.Errorf("unknown reference %s", name)
}

// getAtt knows the attributes the local stack can compute from a resource's Ref value.
func (t *Template) getAtt(id, attr string, names, params map[string]string) (string, error) {
	r, ok := t.Resources[id]
	if !ok {
		return "", fmt.Errorf("GetAtt %s.%s: no such resource", id, attr)
	}
	name, ok := names[id]
	if !ok {
		return "", fmt.Errorf("GetAtt %s.%s: resource has no local name", id, attr)
	}
	arn := func(service, resource string) string {
		return "arn:" + Partition + ":" + service + ":" + Region + ":" + AccountID + ":" + resource
	}
	switch r.Type + "." + attr {
	case "AWS::DynamoDB::Table.Arn":
		return arn("dynamodb", "table/"+name), nil
	case "AWS::KMS::Key.Arn":
		// PhysicalNames names a key by its alias (its id is the endpoint's choice): the alias ARN
		// is accepted wherever a key ARN is.
		if strings.HasPrefix(name, "alias/") {
			return arn("kms", name), nil
		}
		return arn("kms", "key/"+name), nil
	case "AWS::KMS::Key.KeyId":
		return name, nil
	case "AWS::Serverless::Function.Arn", "AWS::Lambda::Function.Arn":
		return arn("lambda", "function:"+name), nil
	case "AWS::Logs::LogGroup.Arn":
		return arn("logs", "log-group:"+name+":*"), nil
	case "AWS::S3::Bucket.Arn":
		return "arn:" + Partition + ":s3:::" + name, nil
	case "AWS::SNS::Topic.TopicArn": // a topic's Ref is its ARN
		return name, nil
	case "AWS::SQS::Queue.Arn": // a queue's Ref is its URL, ending with its name
		return arn("sqs", name[strings.LastIndex(name, "/")+1:]), nil
	}
	return "", fmt.Errorf("GetAtt %s.%s: attribute of %s not known locally", id, attr, r.Type)
}

// sub expands ${Name}, ${Resource.Attribute} and ${!Literal} in an Fn::Sub string.
func (t *Template) sub(arg any, names, params map[string]string) (string, error) {
	format, vars := "", map[string]any{}
	switch arg := arg.(type) {
	case string:
		format = arg
	case []any:
		if len(arg) != 2 {
			return "", fmt.Errorf("Fn::Sub wants [string, variables], got %v", arg)
		}
		format, vars = str(arg[0]), mapping(arg[1])
	default:
		return "", fmt.Errorf("Fn::Sub wants a string or [string, variables], got %v", arg)
	}
	var out strings.Builder
	for {
		start := strings.Index(format, "${")
		if start < 0 {
			out.WriteString(format)
			return out.String(), nil
		}
		end := strings.Index(format[start:], "}")
		if end < 0 {
			return "", fmt.Errorf("Fn::Sub: unclosed ${ in %q", format)
		}
		out.WriteString(format[:start])
		name := format[start+2 : start+end]
		format = format[start+end+1:]
		if literal, ok := strings.CutPrefix(name, "!"); ok {
			out.WriteString("${" + literal + "}")
			continue
		}
		var s string
		var err error
		if v, ok := vars[name]; ok {
			s, err = t.Resolve(v, names, params)
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			s, err = t.getAtt(res, attr, names, params)
		} else {
			s, err = t.ref(name, names, params)
		}
		if err != nil {
			return "", err
		}
		out.WriteString(s)
	}
}

// references lists the LogicalIds and parameters v refers to through Ref, Fn::GetAtt and Fn::Sub.
func references(v any) []string {
	var refs []string
	switch v := v.(type) {
	case []any:
		for _, item := range v {
			refs = append(refs, references(item)...)
		}
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok && len(v) == 1 {
			return []string{ref}
		}
		if args, ok := v["Fn::GetAtt"].([]any); ok && len(args) == 2 {
			return []string{str(args[0])}
		}
		for k, item := range v {
			if k == "Fn::Sub" {
				format := item
				if a, ok := item.([]any); ok && len(a) == 2 {
					format = a[0]
					refs = append(refs, references(a[1])...)
				}
				for _, part := range strings.Split(str(format), "${")[1:] {
					name, _, _ := strings.Cut(part, "}")
					name, _, _ = strings.Cut(name, ".")
					if !strings.HasPrefix(name, "!") {
						refs = append(refs, name)
					}
				}
				continue
			}
			refs = append(refs, references(item)...)
		}
	}
	return refs
}

// Condition evaluates the template's condition name (Fn::Equals, Fn::Not, Fn::And, Fn::Or and
// Condition references) with params, parameters falling back to their defaults.
func (t *Template) Condition(name string, params map[string]string) (bool, error) {
	return t.condition(name, params, map[string]bool{})
}

func (t *Template) condition(name string, params map[string]string, visiting map[string]bool) (bool, error) {
	c, ok := t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %s", name)
	}
	if visiting[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	visiting[name] = true
	defer delete(visiting, name)
	holds, err := t.evalCondition(c, params, visiting)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	return holds, nil
}

func (t *Template) evalCondition(v any, params map[string]string, visiting map[string]bool) (bool, error) {
	m := mapping(v)
	if len(m) != 1 {
		return false, fmt.Errorf("%v is not a condition function", v)
	}
	if name, ok := m["Condition"].(string); ok {
		return t.condition(name, params, visiting)
	}
	if args, ok := m["Fn::Equals"].([]any); ok && len(args) == 2 {
		// A condition can refer to parameters only, never to resources: no names.
		a, err := t.Resolve(args[0], nil, params)
		if err != nil {
			return false, err
		}
		b, err := t.Resolve(args[1], nil, params)
		if err != nil {
			return false, err
		}
		return a == b, nil
	}
	if args, ok := m["Fn::Not"].([]any); ok && len(args) == 1 {
		holds, err := t.evalCondition(args[0], params, visiting)
		return !holds, err
	}
	and, isAnd := m["Fn::And"].([]any)
	or, isOr := m["Fn::Or"].([]any)
	if isAnd || isOr {
		for _, c := range append(and, or...) {
			holds, err := t.evalCondition(c, params, visiting)
			if err != nil {
				return false, err
			}
			if holds == isOr {
				return isOr, nil
			}
		}
		return isAnd, nil
	}
	return false, fmt.Errorf("%v is not a condition function", v)
}

// noValue marks what Ref AWS::NoValue removes from a property.
type noValue struct{}

// resolveTree resolves every intrinsic function in a property value, keeping its shape: a
// policy document, a filter policy. Fn::If picks its branch; Ref AWS::NoValue removes the key or
// list item holding it.
func (t *Template) resolveTree(v any, names, params map[string]string) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			r, err := t.resolveTree(item, names, params)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			if v["Ref"] == "AWS::NoValue" {
				return noValue{}, nil
			}
			if args, ok := v["Fn::If"].([]any); ok && len(args) == 3 {
				holds, err := t.Condition(str(args[0]), params)
				if err != nil {
					return nil, err
				}
				if holds {
					return t.resolveTree(args[1], names, params)
				}
				return t.resolveTree(args[2], names, params)
			}
			for k := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return t.Resolve(v, names, params)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, item := range v {
			r, err := t.resolveTree(item, names, params)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

// functionEvents calls f for each event of type typ of every AWS::Serverless::Function, in
// function then event name order, so that errors come in a stable order.
func (t *Template) functionEvents(typ string, f func(function, event string, props map[string]any) error) error {
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		r := t.Resources[id]
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		events := mapping(r.Properties["Events"])
		for _, name := range slices.Sorted(maps.Keys(events)) {
			e := mapping(events[name])
			if str(e["Type"]) != typ {
				continue
			}
			if err := f(id, name, mapping(e["Properties"])); err != nil {
				return fmt.Errorf("%s event %s: %w", id, name, err)
			}
		}
	}
	return nil
}

// streamEventProperties are the DynamoDB event properties the local poller reproduces, or knows
// it can ignore. Decoding rejects any other, so a mapping setting cannot be dropped by accident.
type streamEventProperties struct {
	Stream                         any
	StartingPosition               string
	BatchSize                      *cfnInt
	MaximumBatchingWindowInSeconds *cfnInt
	FilterCriteria                 *struct {
		Filters []struct{ Pattern string }
	}
	FunctionResponseTypes      []string
	BisectBatchOnFunctionError bool
	MaximumRetryAttempts       *cfnInt
	MaximumRecordAgeInSeconds  *cfnInt
	DestinationConfig          *struct {
		OnFailure struct {
			Type        string
			Destination any
		}
	}
}

// StreamSources lists the DynamoDB events of the template's functions: the event source mappings
// the local poller reproduces. Settings the template leaves out take Lambda's defaults for a
// stream (BatchSize 100, MaximumRetryAttempts and MaximumRecordAgeInSeconds -1: no limit).
func (t *Template) StreamSources() ([]StreamSource, error) {
	var sources []StreamSource
	err := t.functionEvents("DynamoDB", func(function, _ string, props map[string]any) error {
		var p streamEventProperties
		if err := decodeStrict(props, &p); err != nil {
			return err
		}
		table, ok := getAttOf(p.Stream, "StreamArn")
		if !ok || t.Resources[table].Type != "AWS::DynamoDB::Table" {
			return fmt.Errorf("Stream is not !GetAtt <Table>.StreamArn of a table of the template: %v", p.Stream)
		}
		if p.StartingPosition != "TRIM_HORIZON" {
			return fmt.Errorf("StartingPosition %q: the local poller reads from TRIM_HORIZON only", p.StartingPosition)
		}
		src := StreamSource{
			Function:                   function,
			Table:                      table,
			BatchSize:                  p.BatchSize.or(100),
			MaximumRetryAttempts:       p.MaximumRetryAttempts.or(-1),
			MaximumRecordAgeInSeconds:  p.MaximumRecordAgeInSeconds.or(-1),
			BisectBatchOnFunctionError: p.BisectBatchOnFunctionError,
		}
		for _, rt := range p.FunctionResponseTypes {
			if rt != "ReportBatchItemFailures" {
				return fmt.Errorf("FunctionResponseTypes: unknown %q", rt)
			}
			src.ReportBatchItemFailures = true
		}
		if p.FilterCriteria != nil {
			for _, f := range p.FilterCriteria.Filters {
				src.FilterPatterns = append(src.FilterPatterns, f.Pattern)
			}
		}
		if d := p.DestinationConfig; d != nil {
			queue, ok := getAttOf(d.OnFailure.Destination, "Arn")
			if d.OnFailure.Type != "SQS" || !ok || t.Resources[queue].Type != "AWS::SQS::Queue" {
				return fmt.Errorf("DestinationConfig.OnFailure: only Type SQS with !GetAtt <Queue>.Arn of the template is reproduced locally")
			}
			src.OnFailureDestination = queue
		}
		sources = append(sources, src)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sources, nil
}

// Schedule is a function's Schedule event: an EventBridge rule invoking it.
type Schedule struct {
	Function   string // LogicalId
	Expression string // rate(…) or cron(…)
}

// Schedules lists the Schedule events of the template's functions.
func (t *Template) Schedules() ([]Schedule, error) {
	var schedules []Schedule
	err := t.functionEvents("Schedule", func(function, _ string, props map[string]any) error {
		expr := str(props["Schedule"])
		if !strings.HasPrefix(expr, "rate(") && !strings.HasPrefix(expr, "cron(") {
			return fmt.Errorf("Schedule %v is not a rate(…) or cron(…) expression", props["Schedule"])
		}
		if enabled, ok := props["Enabled"].(bool); ok && !enabled {
			return nil
		}
		schedules = append(schedules, Schedule{Function: function, Expression: expr})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return schedules, nil
}

// getAttOf returns X when v is !GetAtt X.attr.
func getAttOf(v any, attr string) (string, bool) {
	args, ok := mapping(v)["Fn::GetAtt"].([]any)
	if !ok || len(args) != 2 || args[1] != attr {
		return "", false
	}
	return str(args[0]), true
}

// cfnInt is an integer property: CloudFormation takes a number or a string holding one (what a
// Ref to a Number parameter gives).
type cfnInt int

func (n *cfnInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	i, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*n = cfnInt(i)
	return nil
}

// cfnFloat is a number property, given as a number or a string holding one.
type cfnFloat float64

func (n *cfnFloat) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%s is not a number", b)
	}
	*n = cfnFloat(f)
	return nil
}

// or is the value, or def when the property is absent.
func (n *cfnInt) or(def int) int {
	if n == nil {
		return def
	}
	return int(*n)
}

// decodeStrict decodes template properties into a struct naming every property the local stack
// understands: any other property is an error, so a template change cannot be ignored here by
// accident.
func decodeStrict(props map[string]any, into any) error {
	raw, err := json.Marshal(props)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, into, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("properties: %w", err)
	}
	return nil
}

// asList is v as a YAML list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
