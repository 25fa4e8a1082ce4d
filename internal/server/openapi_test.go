package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// openAPIDoc is the part of the OpenAPI document the tests read.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// restRoutes returns every REST route of the switchyard.v1 services, as
// "METHOD /path/{param}": the google.api.http bindings that the server's
// transcoder serves.
func restRoutes(t *testing.T) []string {
	t.Helper()
	var routes []string
	add := func(rule *annotations.HttpRule) {
		switch p := rule.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			routes = append(routes, "GET "+p.Get)
		case *annotations.HttpRule_Post:
			routes = append(routes, "POST "+p.Post)
		case *annotations.HttpRule_Put:
			routes = append(routes, "PUT "+p.Put)
		case *annotations.HttpRule_Patch:
			routes = append(routes, "PATCH "+p.Patch)
		case *annotations.HttpRule_Delete:
			routes = append(routes, "DELETE "+p.Delete)
		case *annotations.HttpRule_Custom:
			routes = append(routes, p.Custom.GetKind()+" "+p.Custom.GetPath())
		}
	}
	protoregistry.GlobalFiles.RangeFilesByPackage("switchyard.v1", func(f protoreflect.FileDescriptor) bool {
		for i := range f.Services().Len() {
			methods := f.Services().Get(i).Methods()
			for j := range methods.Len() {
				rule, ok := proto.GetExtension(methods.Get(j).Options(), annotations.E_Http).(*annotations.HttpRule)
				if !ok || rule == nil {
					continue
				}
				add(rule)
				for _, b := range rule.GetAdditionalBindings() {
					add(b)
				}
			}
		}
		return true
	})
	if len(routes) < 30 {
		t.Fatalf("found %d REST routes in the switchyard.v1 protos, want the API's 30 or more", len(routes))
	}
	slices.Sort(routes)
	return routes
}

// documentedRoutes returns the operations of doc as "METHOD /path/{param}".
func documentedRoutes(doc openAPIDoc) []string {
	var routes []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				routes = append(routes, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(routes)
	return routes
}

// TestOpenAPIDocument: GET /openapi.json answers without a token with the
// embedded document, the committed internal/server/openapi.json, an OpenAPI
// 3.1 document whose operations are exactly the REST routes of the protos,
// each with an error response.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	res, err := http.Get(srv.URL + server.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s without a token: %d %q, want 200 application/json", server.OpenAPIPath, res.StatusCode, res.Header.Get("Content-Type"))
	}
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, committed) || !bytes.Equal(body, server.OpenAPIDocument()) {
		t.Fatalf("served document (%d bytes) differs from internal/server/openapi.json (%d bytes)", len(body), len(committed))
	}
	var doc openAPIDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	if got, want := documentedRoutes(doc), restRoutes(t); !slices.Equal(got, want) {
		t.Errorf("documented operations differ from the REST routes of the protos:\n got %v\nwant %v", got, want)
	}
	for path, item := range doc.Paths {
		for method, op := range item {
			var o struct {
				Responses map[string]struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if ref := o.Responses["default"].Content["application/json"].Schema.Ref; ref != "#/components/schemas/google.rpc.Status" {
				t.Errorf("%s %s: default response schema %q, want the google.rpc.Status error", method, path, ref)
			}
		}
	}
}

// pathParam matches a path template's parameter, such as {id}.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestOpenAPIRoutesAnswered: every operation of the document reaches a
// handler on a running server: called without a token it is unauthenticated
// (HTTP 401 with a google.rpc.Status), as only a handler's interceptors
// answer; a path the server does not route gets another error.
func TestOpenAPIRoutesAnswered(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	var doc openAPIDoc
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	call := func(method, path string) (int, string) {
		t.Helper()
		var body io.Reader
		if method != http.MethodGet && method != http.MethodDelete {
			body = strings.NewReader("{}")
		}
		req, err := http.NewRequest(method, srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	routes := documentedRoutes(doc)
	for _, route := range routes {
		method, tmpl, _ := strings.Cut(route, " ")
		path := pathParam.ReplaceAllString(tmpl, "0190a9b2-0000-7000-8000-000000000001")
		status, body := call(method, path)
		if status != http.StatusUnauthorized || !strings.Contains(body, `"code":16`) {
			t.Errorf("%s %s without a token: %d %s, want 401 unauthenticated from the handler", method, path, status, body)
		}
	}
	for _, unrouted := range []string{"/v1/no-such-route", "/v1/events/x:nothing"} {
		if status, body := call(http.MethodGet, unrouted); status == http.StatusUnauthorized || status < 400 {
			t.Errorf("GET %s: %d %s, want an error other than 401 (the check above tells routes apart)", unrouted, status, body)
		}
	}
}
