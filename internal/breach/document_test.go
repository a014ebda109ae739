package breach_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/breach-intake/intake/internal/breach"
)

// assertCanonical fails unless doc is already RFC 8785 canonical JSON.
func assertCanonical(t testing.TB, doc []byte) {
	t.Helper()
	v := jsontext.Value(slices.Clone(doc))
	if err := v.Canonicalize(); err != nil {
		t.Fatalf("stored document: %v", err)
	}
	if string(v) != string(doc) {
		t.Fatalf("stored document is not canonical:\n%s\nwant\n%s", doc, v)
	}
}

// TestCanonicalFieldOrder: every struct of the stored document declares its fields in the byte
// order of their JSON names, which is what makes json.Marshal's output canonical.
func TestCanonicalFieldOrder(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() != reflect.TypeFor[breach.Report]().PkgPath() {
			return
		}
		seen[typ] = true
		var names []string
		for f := range typ.Fields() {
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			names = append(names, name)
			walk(f.Type)
		}
		if !slices.IsSorted(names) {
			t.Errorf("%s declares its fields as %v: keep them in the order of their JSON names", typ.Name(), names)
		}
	}
	walk(reflect.TypeFor[breach.Report]())
	walk(reflect.TypeFor[breach.Deadline]())
	if len(seen) < 9 {
		t.Fatalf("walked only %d types", len(seen))
	}
}
