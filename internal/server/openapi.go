package server

import (
	_ "embed"
	"net/http"
)

// OpenAPIPath is where the server serves the OpenAPI 3.1 document of its REST
// routes, without a token.
const OpenAPIPath = "/openapi.json"

// openAPIDocument is generated from the protos by `make generate`
// (protoc-gen-openapiv3, merged and finished by openapi.jq).
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document of the REST routes.
func OpenAPIDocument() []byte { return openAPIDocument }

// mountOpenAPI serves the document at [OpenAPIPath] on mux.
func mountOpenAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openAPIDocument)
	})
}
