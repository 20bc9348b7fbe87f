package booking

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3 description of the staff API, the
// source of truth for its paths, bodies, responses and error codes. The
// test in openapi_test.go checks it against the routes NewAPI registers and
// against real responses.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI serves GET /api/v1/openapi.json. It needs no login: the
// document describes the API and holds no data.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPIDocument)
}
