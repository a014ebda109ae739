package api_test

import (
	stdjson "encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/breach"
)

// The corpus is every body the parser's own tests feed it, read from where they live, so that a
// case added there is checked against the spec here without anyone copying it:
//   - the examples (internal/breach/testdata/*.json, copies of shared/examples);
//   - the tables of internal/breach's tests (validate_test.go today): fieldCases and validCases
//     (edits on the gdpr-minimal example) and jsonCases (raw bodies);
//   - the fuzz corpus (internal/breach/testdata/fuzz/FuzzParse).
//
// The tables are Go source: they are read with go/parser and their few kinds of expression
// evaluated. A case written with an expression of another kind fails the test, naming it.

const breachDir = "../internal/breach"

// corpusCase is one body, parsed for org.
type corpusCase struct {
	name string
	body []byte
	org  breach.Organisation
}

// Validation time and organisation of internal/breach's tests (intake_test.go): the tables'
// timestamps are relative to them.
var (
	exampleTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	exampleOrg  = breach.Organisation{ID: "org-example", LegalName: "Exemple", Country: "FR"}
)

func corpus(t *testing.T) []corpusCase {
	t.Helper()
	var cases []corpusCase
	examples, err := filepath.Glob(filepath.Join(breachDir, "testdata", "*.json"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples in %s/testdata: %v", breachDir, err)
	}
	for _, path := range examples {
		cases = append(cases, corpusCase{"example " + filepath.Base(path), readFile(t, path), exampleOrg})
	}
	cases = append(cases, tableCases(t)...)
	cases = append(cases, fuzzCases(t, filepath.Join(breachDir, "testdata", "fuzz", "FuzzParse"))...)
	return cases
}

// deleteField stands for validate_test.go's deleteField: the edit removes the member.
type deleteField struct{}

// tableCases evaluates the parser's case tables, wherever they are among internal/breach's tests.
func tableCases(t *testing.T) []corpusCase {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(breachDir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]*ast.CompositeLit{}
	for _, src := range files {
		file, err := parser.ParseFile(fset, src, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						break
					}
					if lit, ok := vs.Values[i].(*ast.CompositeLit); ok {
						tables[name.Name] = lit
					}
				}
			}
		}
	}
	base := readFile(t, filepath.Join(breachDir, "testdata", "gdpr-minimal.json"))
	ev := evaluator{fset: fset}
	var cases []corpusCase
	for _, table := range []struct {
		name   string
		fields []string // the case struct's fields, in order
	}{
		{"fieldCases", []string{"name", "edits", "want"}},
		{"validCases", []string{"name", "edits"}},
		{"jsonCases", []string{"name", "body"}},
	} {
		lit, ok := tables[table.name]
		if !ok {
			t.Fatalf("no table %s in %s's tests: the corpus reader follows them, update it", table.name, breachDir)
		}
		if len(lit.Elts) == 0 {
			t.Fatalf("table %s is empty", table.name)
		}
		for _, elt := range lit.Elts {
			row := ev.row(elt, table.fields)
			name, _ := row["name"].(string)
			c := corpusCase{name: table.name + ": " + name, org: exampleOrg}
			switch body := row["body"].(type) {
			case string:
				c.body = []byte(body)
			case nil:
				edits, _ := row["edits"].(map[string]any)
				c.body = mutate(t, base, edits)
			}
			cases = append(cases, c)
		}
		if ev.err != nil {
			t.Fatalf("%v: teach the corpus reader this expression, or write the case with the ones it knows", ev.err)
		}
	}
	return cases
}

// evaluator computes the constant expressions the tables are written with; the first it cannot
// is its error.
type evaluator struct {
	fset *token.FileSet
	err  error
}

func (ev *evaluator) fail(n ast.Node, format string, args ...any) any {
	if ev.err == nil {
		ev.err = fmt.Errorf("%s: %s", ev.fset.Position(n.Pos()), fmt.Sprintf(format, args...))
	}
	return nil
}

// row evaluates the fields of one case, positional or keyed, that the corpus needs.
func (ev *evaluator) row(elt ast.Expr, fields []string) map[string]any {
	lit, ok := elt.(*ast.CompositeLit)
	if !ok {
		ev.fail(elt, "a case that is not a composite literal")
		return nil
	}
	row := map[string]any{}
	for i, e := range lit.Elts {
		name := ""
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok {
				name = id.Name
			}
			e = kv.Value
		} else if i < len(fields) {
			name = fields[i]
		}
		if name == "name" || name == "edits" || name == "body" {
			row[name] = ev.eval(e)
		}
	}
	return row
}

func (ev *evaluator) eval(e ast.Expr) any {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return ev.eval(e.X)
	case *ast.BasicLit:
		switch e.Kind {
		case token.STRING:
			s, err := strconv.Unquote(e.Value)
			if err != nil {
				return ev.fail(e, "%v", err)
			}
			return s
		case token.INT:
			n, err := strconv.ParseInt(e.Value, 0, 64)
			if err != nil {
				return ev.fail(e, "%v", err)
			}
			return n
		case token.FLOAT:
			f, err := strconv.ParseFloat(e.Value, 64)
			if err != nil {
				return ev.fail(e, "%v", err)
			}
			return f
		}
	case *ast.Ident:
		switch e.Name {
		case "nil":
			return nil
		case "true", "false":
			return e.Name == "true"
		case "deleteField":
			return deleteField{}
		}
	case *ast.UnaryExpr:
		if n, ok := ev.eval(e.X).(int64); ok && e.Op == token.SUB {
			return -n
		}
	case *ast.BinaryExpr:
		x, y := ev.eval(e.X), ev.eval(e.Y)
		xs, ok1 := x.(string)
		ys, ok2 := y.(string)
		if e.Op == token.ADD && ok1 && ok2 {
			return xs + ys
		}
	case *ast.CallExpr:
		args := make([]any, len(e.Args))
		for i, a := range e.Args {
			args[i] = ev.eval(a)
		}
		switch fn := callee(e.Fun); {
		case fn == "raw" && len(args) == 1:
			if s, ok := args[0].(string); ok {
				return stdjson.RawMessage(s)
			}
		case fn == "strings.Repeat" && len(args) == 2:
			s, ok1 := args[0].(string)
			n, ok2 := args[1].(int64)
			if ok1 && ok2 {
				return strings.Repeat(s, int(n))
			}
		case fn == "strings.TrimSuffix" && len(args) == 2:
			s, ok1 := args[0].(string)
			suffix, ok2 := args[1].(string)
			if ok1 && ok2 {
				return strings.TrimSuffix(s, suffix)
			}
		}
	case *ast.CompositeLit:
		switch e.Type.(type) {
		case *ast.ArrayType:
			list := []any{}
			for _, x := range e.Elts {
				list = append(list, ev.eval(x))
			}
			return list
		case *ast.MapType:
			m := map[string]any{}
			for _, x := range e.Elts {
				kv, ok := x.(*ast.KeyValueExpr)
				if !ok {
					return ev.fail(x, "a map element without a key")
				}
				k, ok := ev.eval(kv.Key).(string)
				if !ok {
					return ev.fail(kv.Key, "a map key that is not a string")
				}
				m[k] = ev.eval(kv.Value)
			}
			return m
		}
	}
	return ev.fail(e, "cannot evaluate %T", e)
}

// callee names a called function: raw, strings.Repeat…
func callee(fun ast.Expr) string {
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if pkg, ok := f.X.(*ast.Ident); ok {
			return pkg.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// mutate is validate_test.go's: the base document with the value at each dotted path replaced,
// or deleted for deleteField, marshalled again with encoding/json.
func mutate(t testing.TB, base []byte, edits map[string]any) []byte {
	t.Helper()
	var doc map[string]any
	if err := stdjson.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	for path, value := range edits {
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		if _, ok := value.(deleteField); ok {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = value
		}
	}
	b, err := stdjson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fuzzCases reads a fuzz target's corpus ("go test fuzz v1", then one []byte(…) line).
func fuzzCases(t *testing.T, dir string) []corpusCase {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, e := range entries {
		lines := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, e.Name())))), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a one-value fuzz corpus file", e.Name())
		}
		quoted, ok := strings.CutPrefix(lines[1], "[]byte(")
		quoted, ok2 := strings.CutSuffix(quoted, ")")
		body, err := strconv.Unquote(quoted)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: %q is not []byte(\"…\")", e.Name(), lines[1])
		}
		cases = append(cases, corpusCase{"fuzz corpus " + e.Name(), []byte(body), exampleOrg})
	}
	return cases
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
