package local_test

import (
	"io"
	"testing"
	"time"

	"github.com/breach-intake/intake/internal/local"
)

// TestEveryTemplateFunctionRunsLocally: the local stack can build every function the template
// declares (a function added to the template but not to the local stack fails here, not in make
// dev).
func TestEveryTemplateFunctionRunsLocally(t *testing.T) {
	tpl := loadReal(t)
	names := local.PhysicalNames(tpl, "check")
	fns := local.TemplateFunctions(tpl, names, local.Config("http://127.0.0.1:1"), time.Now, io.Discard)
	n := 0
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		n++
		if _, err := fns(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if n < 4 {
		t.Fatalf("only %d functions in the template", n)
	}
}
