package api_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/breach-intake/intake/api"
)

func serveDocs(t *testing.T, method, target string) (*http.Response, string) {
	t.Helper()
	h, err := api.Handler()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	resp := w.Result()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestDocsPageShowsEveryRouteAndSchema: the page lists every operation of the spec (method,
// path, summary, each parameter and response status) and every schema, and loads nothing.
func TestDocsPageShowsEveryRouteAndSchema(t *testing.T) {
	resp, page := serveDocs(t, http.MethodGet, "/v1/docs")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := html.UnescapeString(page)
	doc := readSpec(t)
	routes := 0
	for path, item := range doc.Paths {
		var params []struct {
			Ref string `yaml:"$ref"`
		}
		if p, ok := item["parameters"]; ok {
			if err := p.Decode(&params); err != nil {
				t.Fatal(err)
			}
		}
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `yaml:"operationId"`
				Summary     string
				Parameters  []struct {
					Ref string `yaml:"$ref"`
				}
				Responses map[string]any
			}
			if err := node.Decode(&op); err != nil {
				t.Fatal(err)
			}
			routes++
			section := between(text, `id="op-`+op.OperationID+`"`, "</section>")
			if section == "" {
				t.Errorf("%s %s: no section op-%s", method, path, op.OperationID)
				continue
			}
			for _, want := range []string{strings.ToUpper(method), path, op.Summary} {
				if !strings.Contains(section, want) {
					t.Errorf("%s %s: %q is not in its section", method, path, want)
				}
			}
			for _, p := range append(params, op.Parameters...) {
				name := parameterName(t, p.Ref)
				if !strings.Contains(section, "<code>"+name+"</code>") {
					t.Errorf("%s %s: parameter %s is not in its section", method, path, name)
				}
			}
			for status := range op.Responses {
				if !strings.Contains(section, "<strong>"+status+"</strong>") {
					t.Errorf("%s %s: response %s is not in its section", method, path, status)
				}
			}
			if !strings.Contains(text, `href="#op-`+op.OperationID+`"`) {
				t.Errorf("%s %s: not in the table of routes", method, path)
			}
		}
	}
	if routes != 8 {
		t.Errorf("%d routes in the spec, API.md has 8", routes)
	}
	for name := range doc.Comps.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("schema %s is not on the page", name)
		}
	}
	// Every link within the page leads somewhere on it.
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("link to #%s, which is not on the page", m[1])
		}
	}
	// Offline: nothing to fetch, from a CDN or elsewhere.
	for _, tag := range []string{"<script", "<link", "<img", "<iframe", "@import", "src=", "url("} {
		if strings.Contains(page, tag) {
			t.Errorf("the page holds %s", tag)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", resp.Header.Get("Content-Security-Policy"))
	}
}

// parameterName reads the name of a parameter the spec refers to.
func parameterName(t *testing.T, ref string) string {
	t.Helper()
	name := strings.TrimPrefix(ref, "#/components/parameters/")
	var doc struct {
		Components struct {
			Parameters map[string]struct{ Name string }
		}
	}
	if err := yaml.Unmarshal(api.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	p, ok := doc.Components.Parameters[name]
	if !ok {
		t.Fatalf("no parameter %s", ref)
	}
	return p.Name
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	section, _, _ := strings.Cut(after, to)
	return section
}

func TestDocsServesTheSpec(t *testing.T) {
	resp, body := serveDocs(t, http.MethodGet, "/v1/docs/openapi.yaml")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal([]byte(body), api.Spec) {
		t.Fatal("the served spec is not api.Spec")
	}
	_, page := serveDocs(t, http.MethodGet, "/v1/docs")
	if !strings.Contains(page, `href="docs/openapi.yaml"`) { // relative: /v1/docs/openapi.yaml
		t.Error("the page does not link to the spec")
	}
}

func TestDocsAnswersOnlyItsRoutes(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{http.MethodHead, "/v1/docs", http.StatusOK},
		{http.MethodHead, "/v1/docs/openapi.yaml", http.StatusOK},
		{http.MethodPost, "/v1/docs", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/v1/docs/openapi.yaml", http.StatusMethodNotAllowed},
		{http.MethodGet, "/v1/docs/", http.StatusNotFound},
		{http.MethodGet, "/v1/docs/other.yaml", http.StatusNotFound},
		{http.MethodGet, "/v1/reports", http.StatusNotFound},
	} {
		if resp, _ := serveDocs(t, tc.method, tc.target); resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, resp.StatusCode, tc.status)
		}
	}
}

// TestNoFunctionLinksTheDocs: the docs are for the local stack; html/template, which the page
// needs, would bloat every bootstrap that links it (see internal/breach/validate.go).
func TestNoFunctionLinksTheDocs(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-tags", "lambda.norpc", "../functions/...")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/breach-intake/intake/api" || pkg == "html/template" {
			t.Errorf("a Lambda function links %s", pkg)
		}
	}
}

func ExampleHandler() {
	docs, err := api.Handler()
	if err != nil {
		panic(err)
	}
	// The local API server mounts it beside the template's routes.
	mux := http.NewServeMux()
	mux.Handle(api.DocsPath, docs)
	mux.Handle(api.SpecPath, docs)

	for _, path := range []string{"/v1/docs", "/v1/docs/openapi.yaml"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// /v1/docs 200 text/html; charset=utf-8
	// /v1/docs/openapi.yaml 200 application/yaml
}
