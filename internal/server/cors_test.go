package server_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

const (
	dashOrigin  = "http://dash.example"
	otherOrigin = "http://other.example"
)

// originTransport sends every request with an Origin header, as a browser
// does for a cross-origin call, and keeps the last response's headers.
type originTransport struct {
	base   http.RoundTripper
	origin string

	mu   sync.Mutex
	last http.Header
}

func (o *originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Origin", o.origin)
	res, err := o.base.RoundTrip(req)
	if err == nil {
		o.mu.Lock()
		o.last = res.Header.Clone()
		o.mu.Unlock()
	}
	return res, err
}

func (o *originTransport) lastHeader() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// headerList returns the comma-separated values of name in h, lower-cased.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, strings.ToLower(part))
			}
		}
	}
	return out
}

// missing reports the names of want missing from got (both lower-cased).
func missing(got []string, want ...string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, strings.ToLower(w)) {
			out = append(out, w)
		}
	}
	return out
}

// TestCORSGRPCWeb calls the API over gRPC-Web as a dashboard served from
// another origin would: an origin given in CORSOrigins may read the answer and
// the headers that carry its status and request id, on success and on error;
// any other origin gets no allow header, so its browser hides the answer.
func TestCORSGRPCWeb(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{CORSOrigins: []string{dashOrigin}})
	for _, p := range servertest.Protocols() {
		if p.Name != "grpc-web/h1" && p.Name != "grpc-web/h2" {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range []struct {
				origin, token string
				wantAllow     string
				wantCode      connect.Code // 0: success
			}{
				{dashOrigin, servertest.AdminToken, dashOrigin, 0},
				{dashOrigin, "", dashOrigin, connect.CodeUnauthenticated},
				{otherOrigin, servertest.AdminToken, "", 0},
			} {
				transport := &originTransport{base: p.HTTP.Transport, origin: tt.origin}
				client := switchyardv1connect.NewWorkflowServiceClient(&http.Client{Transport: transport}, srv.URL,
					append(p.Options, connect.WithInterceptors(servertest.BearerInterceptor(tt.token)))...)
				_, err := client.ListWorkflows(t.Context(), connect.NewRequest(&switchyardv1.ListWorkflowsRequest{}))
				if code := connect.CodeOf(err); (tt.wantCode == 0 && err != nil) || (tt.wantCode != 0 && code != tt.wantCode) {
					t.Errorf("origin %s, token %q: error %v, want code %v", tt.origin, tt.token, err, tt.wantCode)
				}
				h := transport.lastHeader()
				if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
					t.Errorf("origin %s: Access-Control-Allow-Origin %q, want %q", tt.origin, got, tt.wantAllow)
				}
				exposed := headerList(h, "Access-Control-Expose-Headers")
				if tt.wantAllow == "" {
					if len(exposed) != 0 {
						t.Errorf("origin %s: exposes %v, want nothing", tt.origin, exposed)
					}
					continue
				}
				if m := missing(exposed, "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "X-Request-Id"); len(m) > 0 {
					t.Errorf("origin %s: Access-Control-Expose-Headers %v lacks %v", tt.origin, exposed, m)
				}
				if !slices.Contains(headerList(h, "Vary"), "origin") {
					t.Errorf("origin %s: Vary %v, want it to name Origin", tt.origin, h.Values("Vary"))
				}
			}
		})
	}
}

// TestCORSPreflight sends the preflight a browser sends before a gRPC-Web call
// with a token: it succeeds for an allowed origin and names no origin for
// another, nor for any on a server that lists no origins.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{CORSOrigins: []string{dashOrigin}, Dashboard: testDashboard()})
	bare := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	// As a browser sends it (Fetch: lower case, sorted, comma-separated);
	// rs/cors accepts the list only in that form.
	const requested = "authorization,content-type,x-grpc-web,x-user-agent"
	for _, target := range []string{"/switchyard.v1.WorkflowService/ListWorkflows", "/v1/workflows"} {
		preflight := func(origin string) httpResult {
			return do(t, servertest.HTTP1Client(), http.MethodOptions, srv.URL, target,
				"Origin", origin,
				"Access-Control-Request-Method", http.MethodPost,
				"Access-Control-Request-Headers", requested)
		}

		got := preflight(dashOrigin)
		if got.status != http.StatusNoContent || got.header.Get("Access-Control-Allow-Origin") != dashOrigin {
			t.Errorf("preflight of %s from %s: HTTP %d, Access-Control-Allow-Origin %q; want 204 and %q",
				target, dashOrigin, got.status, got.header.Get("Access-Control-Allow-Origin"), dashOrigin)
		}
		if m := missing(headerList(got.header, "Access-Control-Allow-Headers"), strings.Split(requested, ",")...); len(m) > 0 {
			t.Errorf("preflight of %s: Access-Control-Allow-Headers %v lacks %v", target, got.header.Values("Access-Control-Allow-Headers"), m)
		}
		if m := missing(headerList(got.header, "Access-Control-Allow-Methods"), http.MethodPost); len(m) > 0 {
			t.Errorf("preflight of %s: Access-Control-Allow-Methods %v lacks POST", target, got.header.Values("Access-Control-Allow-Methods"))
		}
		if age := got.header.Get("Access-Control-Max-Age"); age != "7200" {
			t.Errorf("preflight of %s: Access-Control-Max-Age %q, want 7200", target, age)
		}

		if got := do(t, servertest.HTTP1Client(), http.MethodOptions, bare.URL, target,
			"Origin", dashOrigin, "Access-Control-Request-Method", http.MethodPost,
			"Access-Control-Request-Headers", requested); got.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of %s on a server without --cors-origins: Access-Control-Allow-Origin %q, want none", target, got.header.Get("Access-Control-Allow-Origin"))
		}

		other := preflight(otherOrigin)
		for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods"} {
			if v := other.header.Get(name); v != "" {
				t.Errorf("preflight of %s from %s: %s %q, want none", target, otherOrigin, name, v)
			}
		}
	}
}
