// Package api holds the intake's HTTP contract as an OpenAPI 3.1 document, and serves it with a
// reference page rendered from it.
//
// It is for the local stack and tests only: no Lambda function imports it (html/template would
// bloat their bootstraps).
package api

import (
	_ "embed"
	"net/http"
)

// Spec is api/openapi.yaml, the OpenAPI 3.1 description of every route of API.md. A test proves
// that it accepts and refuses report bodies exactly as the handlers do, and that its routes and
// vocabularies are the template's and the code's.
//
//go:embed openapi.yaml
var Spec []byte

// Paths the handler serves.
const (
	DocsPath = "/v1/docs"
	SpecPath = "/v1/docs/openapi.yaml"
)

// Handler serves the reference page at /v1/docs and the spec at /v1/docs/openapi.yaml (GET and
// HEAD). The page is rendered once, here, from the spec; it needs nothing from the network.
func Handler() (http.Handler, error) {
	page, err := render(Spec)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DocsPath, func(w http.ResponseWriter, _ *http.Request) {
		serve(w, "text/html; charset=utf-8", page)
	})
	mux.HandleFunc("GET "+SpecPath, func(w http.ResponseWriter, _ *http.Request) {
		serve(w, "application/yaml", Spec)
	})
	return mux, nil
}

func serve(w http.ResponseWriter, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	// The page loads nothing: no script, no font, no stylesheet but its own.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(body)
}
