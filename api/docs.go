package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

//go:embed docs.html
var pageTemplate string

// The page's model: the spec's routes and schemas in document order, every text already
// escaped and marked up.
type (
	page struct {
		Title, Version, Summary string
		Description             template.HTML
		Servers                 []server
		Operations              []operation
		Schemes                 []scheme
		Schemas                 []schema
	}
	operation struct {
		Anchor, Method, Path, Summary string
		Description, Security         template.HTML
		Params                        []field
		Body                          *body
		Responses                     []response
	}
	body struct {
		Required bool
		Content  []content
	}
	content struct {
		Media  string
		Schema template.HTML
	}
	response struct {
		Status      string
		Description template.HTML
		Headers     []field
		Content     []content
	}
	// field is a parameter, a header or a property.
	field struct {
		Name, In    string
		Required    bool
		Schema      template.HTML
		Description template.HTML
	}
	server struct {
		URL         string
		Description template.HTML
	}
	scheme struct {
		Name, Kind  string
		Description template.HTML
	}
	schema struct {
		Name        string
		Description template.HTML
		Shape       template.HTML // what the schema says besides its properties
		Properties  []field
	}
)

// render builds the reference page of an OpenAPI document.
func render(spec []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("parse the spec: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the spec is not a YAML mapping")
	}
	r := &renderer{root: doc.Content[0]}
	info := get(r.root, "info")
	p := page{
		Title:       text(info, "title"),
		Version:     text(info, "version"),
		Summary:     text(info, "summary"),
		Description: markup(text(info, "description")),
	}
	for _, sv := range items(get(r.root, "servers")) {
		p.Servers = append(p.Servers, server{URL: text(sv, "url"), Description: markup(text(sv, "description"))})
	}
	components := get(r.root, "components")
	for name, s := range pairs(get(components, "securitySchemes")) {
		kind := text(s, "type")
		if sch := text(s, "scheme"); sch != "" {
			kind += " " + sch
		}
		if f := text(s, "bearerFormat"); f != "" {
			kind += " " + f
		}
		p.Schemes = append(p.Schemes, scheme{Name: name, Kind: kind, Description: markup(text(s, "description"))})
	}
	for path, item := range pairs(get(r.root, "paths")) {
		for key, op := range pairs(item) {
			if slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, key) {
				p.Operations = append(p.Operations, r.operation(key, path, item, op))
			}
		}
	}
	for name, s := range pairs(get(components, "schemas")) {
		p.Schemas = append(p.Schemas, r.schema(name, s))
	}
	if r.err != nil {
		return nil, r.err
	}
	tmpl, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// renderer walks the spec; the first reference it cannot resolve is its error.
type renderer struct {
	root *yaml.Node
	err  error
}

func (r *renderer) operation(method, path string, item, op *yaml.Node) operation {
	o := operation{
		Anchor:      "op-" + text(op, "operationId"),
		Method:      strings.ToUpper(method),
		Path:        path,
		Summary:     text(op, "summary"),
		Description: markup(text(op, "description")),
		Security:    r.security(op),
	}
	for _, list := range []*yaml.Node{get(item, "parameters"), get(op, "parameters")} {
		for _, prm := range items(list) {
			prm = r.resolve(prm)
			o.Params = append(o.Params, field{
				Name: text(prm, "name"), In: text(prm, "in"), Required: text(prm, "required") == "true",
				Schema: r.shape(get(prm, "schema")), Description: markup(text(prm, "description")),
			})
		}
	}
	if rb := r.resolve(get(op, "requestBody")); rb != nil {
		o.Body = &body{Required: text(rb, "required") == "true", Content: r.content(rb)}
	}
	for status, resp := range pairs(get(op, "responses")) {
		resp = r.resolve(resp)
		rv := response{Status: status, Description: markup(text(resp, "description")), Content: r.content(resp)}
		for name, h := range pairs(get(resp, "headers")) {
			h = r.resolve(h)
			rv.Headers = append(rv.Headers, field{Name: name, Schema: r.shape(get(h, "schema")), Description: markup(text(h, "description"))})
		}
		o.Responses = append(o.Responses, rv)
	}
	return o
}

// security names who may call an operation: its own requirements, else the document's.
func (r *renderer) security(op *yaml.Node) template.HTML {
	reqs := get(op, "security")
	if reqs == nil {
		reqs = get(r.root, "security")
	}
	var alternatives []string
	for _, req := range items(reqs) {
		var all []string
		for name := range pairs(req) {
			all = append(all, fmt.Sprintf(`<a href="#scheme-%s">%s</a>`, html.EscapeString(name), html.EscapeString(name)))
		}
		alternatives = append(alternatives, strings.Join(all, " and "))
	}
	if len(alternatives) == 0 {
		return "none (anyone)"
	}
	return template.HTML(strings.Join(alternatives, " or "))
}

func (r *renderer) content(n *yaml.Node) []content {
	var cs []content
	for media, m := range pairs(get(n, "content")) {
		cs = append(cs, content{Media: media, Schema: r.shape(get(m, "schema"))})
	}
	return cs
}

func (r *renderer) schema(name string, n *yaml.Node) schema {
	s := schema{Name: name, Description: markup(text(n, "description"))}
	required := map[string]bool{}
	for _, q := range items(get(n, "required")) {
		required[q.Value] = true
	}
	for prop, ps := range pairs(get(n, "properties")) {
		s.Properties = append(s.Properties, field{Name: prop, Required: required[prop], Schema: r.shape(ps),
			Description: markup(text(ps, "description"))})
	}
	s.Shape = r.describe(n, true)
	return s
}

// resolve follows a local $ref (#/components/…) to what it names.
func (r *renderer) resolve(n *yaml.Node) *yaml.Node {
	ref := text(n, "$ref")
	if ref == "" {
		return n
	}
	target := r.root
	for seg := range strings.SplitSeq(strings.TrimPrefix(ref, "#/"), "/") {
		target = get(target, seg)
	}
	if target == nil && r.err == nil {
		r.err = fmt.Errorf("unresolved $ref %q", ref)
	}
	return target
}

// shape is a schema in one line of HTML.
func (r *renderer) shape(n *yaml.Node) template.HTML { return r.describe(n, false) }

// describe says what a schema requires, in words; at the top of a named schema its properties
// and required members are left to the property table.
func (r *renderer) describe(n *yaml.Node, top bool) template.HTML {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.ScalarNode { // a boolean schema
		return code(n.Value)
	}
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if ref := text(n, "$ref"); ref != "" {
		r.resolve(n) // checked, not followed: the link leads there
		name := ref[strings.LastIndex(ref, "/")+1:]
		add(`<a href="#schema-%s">%s</a>`, html.EscapeString(name), html.EscapeString(name))
	}
	if t := get(n, "type"); t != nil {
		var types []string
		for _, v := range append(items(t), scalar(t)...) {
			types = append(types, html.EscapeString(v.Value))
		}
		add("%s", strings.Join(types, " or "))
	}
	if c := get(n, "const"); c != nil {
		add("= %s", code(jsonText(c)))
	}
	if e := get(n, "enum"); e != nil {
		var words []string
		for _, v := range items(e) {
			words = append(words, string(code(jsonText(v))))
		}
		add("one of %s", strings.Join(words, " "))
	}
	if f := text(n, "format"); f != "" {
		add("format %s", code(f))
	}
	if p := text(n, "pattern"); p != "" {
		add("matching %s", code(visible(p)))
	}
	if v := bounds(n, "minLength", "maxLength", "characters"); v != "" {
		add("%s", v)
	}
	if v := bounds(n, "minimum", "maximum", ""); v != "" {
		add("%s", v)
	}
	if it := get(n, "items"); it != nil {
		add("items: %s", r.shape(it))
	}
	if v := bounds(n, "minItems", "maxItems", "items"); v != "" {
		add("%s", v)
	}
	if text(n, "uniqueItems") == "true" {
		add("no duplicates")
	}
	if c := get(n, "contains"); c != nil {
		add("containing %s", r.shape(c))
	}
	if !top {
		if q := items(get(n, "required")); len(q) > 0 {
			var names []string
			for _, v := range q {
				names = append(names, string(code(v.Value)))
			}
			add("requires %s", strings.Join(names, " "))
		}
		var props []string
		for name, ps := range pairs(get(n, "properties")) {
			props = append(props, fmt.Sprintf("%s: %s", code(name), r.shape(ps)))
		}
		if len(props) > 0 {
			add("{%s}", strings.Join(props, "; "))
		}
	}
	if text(n, "additionalProperties") == "false" || text(n, "unevaluatedProperties") == "false" {
		add("no other members")
	}
	for _, k := range []struct{ key, words string }{{"allOf", "all of"}, {"anyOf", "any of"}, {"oneOf", "exactly one of"}} {
		if subs := items(get(n, k.key)); len(subs) > 0 {
			var each []string
			for _, s := range subs {
				each = append(each, "("+string(r.shape(s))+")")
			}
			add("%s %s", k.words, strings.Join(each, " "))
		}
	}
	if cond := get(n, "if"); cond != nil {
		add("if %s then %s", r.shape(cond), r.shape(get(n, "then")))
	}
	if d := get(n, "default"); d != nil {
		add("default %s", code(jsonText(d)))
	}
	if e := text(n, "contentEncoding"); e != "" {
		add("encoded %s", code(e))
	}
	return template.HTML(strings.Join(parts, ", "))
}

// bounds words a pair of minimum/maximum keywords.
func bounds(n *yaml.Node, lo, hi, unit string) string {
	from, to := text(n, lo), text(n, hi)
	if unit != "" {
		unit = " " + unit
	}
	switch {
	case from != "" && to != "":
		return fmt.Sprintf("%s–%s%s", from, to, unit)
	case from != "":
		return fmt.Sprintf("≥ %s%s", from, unit)
	case to != "":
		return fmt.Sprintf("≤ %s%s", to, unit)
	}
	return ""
}

// get is the value of key in a mapping node (nil when absent or not a mapping).
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// pairs walks a mapping node's members in document order.
func pairs(n *yaml.Node) func(yield func(string, *yaml.Node) bool) {
	return func(yield func(string, *yaml.Node) bool) {
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i].Value, n.Content[i+1]) {
				return
			}
		}
	}
}

// items is a sequence node's items (nil for anything else).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

func scalar(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	return []*yaml.Node{n}
}

// text is a scalar member's value ("" when absent).
func text(n *yaml.Node, key string) string {
	if v := get(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// jsonText writes a YAML value as JSON, as clients will send it.
func jsonText(n *yaml.Node) string {
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	b, err := json.Marshal(v)
	if err != nil {
		return n.Value
	}
	return string(b)
}

// visible writes white space and invisible characters of a pattern as escapes.
func visible(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == ' ':
			b.WriteRune(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\v':
			b.WriteString(`\v`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case unicode.IsSpace(c) || !unicode.IsPrint(c):
			fmt.Fprintf(&b, `\u%04X`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func code(s string) template.HTML { return template.HTML("<code>" + html.EscapeString(s) + "</code>") }

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	strong   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// markup turns the spec's descriptions (CommonMark in OpenAPI) into HTML, for the little of it
// they use: paragraphs, `code` and **strong**. Everything is escaped first.
func markup(s string) template.HTML {
	var b strings.Builder
	for para := range strings.SplitSeq(strings.TrimSpace(s), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		t := html.EscapeString(para)
		t = codeSpan.ReplaceAllString(t, "<code>$1</code>")
		t = strong.ReplaceAllString(t, "<strong>$1</strong>")
		b.WriteString("<p>" + t + "</p>")
	}
	return template.HTML(b.String())
}
