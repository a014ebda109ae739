package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/breach-intake/intake/api"
	"github.com/breach-intake/intake/internal/breach"
	"github.com/breach-intake/intake/internal/local"
)

// specDoc is the part of the spec these tests read.
type specDoc struct {
	Security []map[string][]string `yaml:"security"`
	Paths    map[string]map[string]yaml.Node
	Comps    struct {
		Schemas map[string]struct {
			Enum []string `yaml:"enum"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

func readSpec(t *testing.T) specDoc {
	t.Helper()
	var doc specDoc
	if err := yaml.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// notYetInTemplate are routes of API.md that the spec describes and the template does not serve
// yet, each with the work that brings it. A route listed here that the template serves fails the
// test: strike it.
var notYetInTemplate = map[string]string{}

// TestSpecRoutesAreTheTemplates: the spec's routes, and who may call each, are the template's
// HttpApi routes, read the way the local API server reads them.
func TestSpecRoutesAreTheTemplates(t *testing.T) {
	tmpl, err := local.LoadTemplate("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := tmpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[string]local.RouteAuth{}
	for _, r := range routes {
		inTemplate[r.Method+" "+r.Path] = r.Auth
	}

	doc := readSpec(t)
	inSpec := map[string]local.RouteAuth{}
	for path, item := range doc.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security *[]map[string][]string `yaml:"security"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatal(err)
			}
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			inSpec[strings.ToUpper(method)+" "+path] = auth(t, security)
		}
	}

	for route, a := range inSpec {
		ta, ok := inTemplate[route]
		switch why, pending := notYetInTemplate[route]; {
		case !ok && pending:
			t.Logf("%s: in the spec, not yet in the template (%s)", route, why)
		case !ok:
			t.Errorf("%s is in the spec, not in the template", route)
		case pending:
			t.Errorf("%s is in the template now: strike it from notYetInTemplate", route)
		case a != ta:
			t.Errorf("%s: the spec's security is %s, the template's %s", route, a, ta)
		}
	}
	for route := range inTemplate {
		if _, ok := inSpec[route]; !ok {
			t.Errorf("%s is in the template, not in the spec", route)
		}
	}
}

// auth is what a route's security requirements mean for the template: none, the default
// authorizer (an organisation key), or AWS_IAM (SigV4; locally a regulator key stands in).
func auth(t *testing.T, security []map[string][]string) local.RouteAuth {
	t.Helper()
	var schemes []string
	for _, req := range security {
		schemes = append(schemes, slices.Sorted(maps.Keys(req))...)
	}
	switch {
	case len(schemes) == 0:
		return local.AuthNone
	case slices.Equal(schemes, []string{"organisationKey"}):
		return local.AuthDefault
	case slices.Contains(schemes, "awsSigV4"):
		return local.AuthIAM
	}
	t.Fatalf("security %v: no template authorizer for it", security)
	return ""
}

// TestSpecVocabulariesAreTheCodes: every enum of the spec is the list the code validates with,
// read from internal/breach's source (the lists are unexported), and every word of each is
// accepted by the parser where the spec puts it.
func TestSpecVocabulariesAreTheCodes(t *testing.T) {
	code := readVocabularies(t)
	schemas := readSpec(t).Comps.Schemas
	versionStages := append([]string{string(breach.StageInitial)}, code.vars["supplementStages"]...)
	errorCodes := append(code.consts["Code"], "internal") // internal/apigw's answer to any other error
	base := readFile(t, "../internal/breach/testdata/gdpr-minimal.json")
	p := breach.NewParser()
	for _, v := range []struct {
		schema string
		words  []string
		path   string // where a report holds a word of it, "" when not in a report
		list   bool   // the report holds a list of them
	}{
		{"Regime", code.vars["regimes"], "regimes", true},
		{"OrganisationRole", code.vars["organisationRoles"], "organisation.role", false},
		{"Sector", code.vars["sectors"], "organisation.sector", false},
		{"BreachType", code.vars["breachTypes"], "incident.breach_types", true},
		{"Cause", code.vars["causes"], "incident.cause", false},
		{"SubjectsEstimate", code.vars["subjectEstimates"], "data.subjects_estimate", false},
		{"SubjectCategory", code.vars["subjectCategories"], "data.subject_categories", true},
		{"DataCategory", code.vars["dataCategories"], "data.data_categories", true},
		{"InformedStatus", code.vars["informedStatuses"], "subjects_informed.status", false},
		{"SupplementStage", code.vars["supplementStages"], "", false},
		{"VersionStage", versionStages, "", false},
		{"DeadlineStage", code.vars["stagesOf"], "", false},
		{"Severity", code.consts["Severity"], "", false},
		{"ErrorCode", errorCodes, "", false},
		{"Rule", code.consts["Rule"], "", false},
	} {
		s, ok := schemas[v.schema]
		if !ok {
			t.Errorf("no schema %s in the spec", v.schema)
			continue
		}
		if len(v.words) == 0 {
			t.Errorf("%s: no list found in internal/breach", v.schema)
		}
		if got, want := sorted(s.Enum), sorted(v.words); !slices.Equal(got, want) {
			t.Errorf("%s: the spec says %v, the code %v", v.schema, got, want)
		}
		if v.path == "" {
			continue
		}
		for _, w := range s.Enum {
			var value any = w
			if v.list {
				value = []any{w}
			}
			if _, err := p.Parse(mutate(t, base, map[string]any{v.path: value}), exampleOrg, exampleTime); err != nil {
				t.Errorf("%s %q at %s: the parser refuses it: %v", v.schema, w, v.path, err)
			}
		}
	}

	// Countries: every two-letter code, and the spec's enum holds exactly those the code accepts.
	inSpec := map[string]bool{}
	for _, c := range schemas["CountryCode"].Enum {
		inSpec[c] = true
	}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			if c := string([]rune{a, b}); inSpec[c] != breach.IsCountry(c) {
				t.Errorf("country %s: in the spec %v, accepted by the code %v", c, inSpec[c], breach.IsCountry(c))
			}
		}
	}
	if len(inSpec) != len(countries(1000)) {
		t.Errorf("the spec lists %d countries, the code accepts %d", len(inSpec), len(countries(1000)))
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// vocabularies are the string lists and typed string constants of internal/breach's source.
type vocabularies struct {
	vars   map[string][]string // package-level variable → the strings it holds (map values only)
	consts map[string][]string // string type → the values of its constants
}

func readVocabularies(t *testing.T) vocabularies {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(breachDir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(breachDir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	v := vocabularies{vars: map[string][]string{}, consts: map[string][]string{}}
	values := map[string]string{} // constant name → value
	specs := func(tok token.Token, each func(*ast.ValueSpec)) {
		for _, f := range files {
			for _, d := range f.Decls {
				if g, ok := d.(*ast.GenDecl); ok && g.Tok == tok {
					for _, s := range g.Specs {
						each(s.(*ast.ValueSpec))
					}
				}
			}
		}
	}
	specs(token.CONST, func(s *ast.ValueSpec) {
		for i, name := range s.Names {
			if i >= len(s.Values) {
				continue
			}
			lit, ok := s.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			value, _ := strconv.Unquote(lit.Value)
			values[name.Name] = value
			if typ, ok := s.Type.(*ast.Ident); ok {
				v.consts[typ.Name] = append(v.consts[typ.Name], value)
			}
		}
	})
	specs(token.VAR, func(s *ast.ValueSpec) {
		for i, name := range s.Names {
			if i < len(s.Values) {
				v.vars[name.Name] = stringsIn(s.Values[i], values)
			}
		}
	})
	for _, words := range v.vars {
		slices.Sort(words)
	}
	for k, words := range v.vars {
		v.vars[k] = slices.Compact(words) // stagesOf holds each stage once per regime
	}
	return v
}

// stringsIn lists the strings an expression holds: literals and constants, the values of a map
// literal (not its keys), the words of strings.Fields(`…`).
func stringsIn(e ast.Expr, consts map[string]string) []string {
	var out []string
	switch e := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			out = append(out, s)
		}
	case *ast.Ident:
		if s, ok := consts[e.Name]; ok {
			out = append(out, s)
		}
	case *ast.CompositeLit:
		for _, elt := range e.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				elt = kv.Value
			}
			out = append(out, stringsIn(elt, consts)...)
		}
	case *ast.CallExpr:
		if callee(e.Fun) == "strings.Fields" && len(e.Args) == 1 {
			for _, s := range stringsIn(e.Args[0], consts) {
				out = append(out, strings.Fields(s)...)
			}
		}
	}
	return out
}
