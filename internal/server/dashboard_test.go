package server_test

import (
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/switchyard/switchyard/internal/dashboard"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

const (
	testIndex  = "<!doctype html><title>test dashboard</title><script type=module src=/assets/index-Ab12Cd.js></script>"
	testScript = "console.log('test dashboard');"
	testStyle  = "body{margin:0}"
	testIcon   = `<svg xmlns="http://www.w3.org/2000/svg"/>`

	immutable = "public, max-age=31536000, immutable"
)

// testDashboard is a built dashboard as Vite lays it out.
func testDashboard() fs.FS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(testIndex)},
		"favicon.svg":             {Data: []byte(testIcon)},
		"assets/index-Ab12Cd.js":  {Data: []byte(testScript)},
		"assets/index-Ef34Gh.css": {Data: []byte(testStyle)},
	}
}

// httpResult is what one plain HTTP request got.
type httpResult struct {
	status int
	header http.Header
	body   string
}

// do sends one request to base+target with the given headers (pairs of name
// and value).
func do(t *testing.T, client *http.Client, method, base, target string, header ...string) httpResult {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+target, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return httpResult{status: res.StatusCode, header: res.Header, body: string(got)}
}

// noRedirects is an HTTP/1.1 client that reports redirects instead of
// following them.
func noRedirects() *http.Client {
	c := servertest.HTTP1Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// TestDashboardFiles checks what the dashboard serves: files with their types
// and caching, the index page for the app's own routes, HEAD alike, and
// nothing to other methods.
func TestDashboardFiles(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Dashboard: testDashboard()})
	const html, js, css = "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8"
	tests := []struct {
		method, target     string
		status             int
		ctype, cache, body string
	}{
		{"GET", "/", 200, html, "no-cache", testIndex},
		{"GET", "/index.html", 200, html, "no-cache", testIndex},
		{"GET", "/runs/abc", 200, html, "no-cache", testIndex},
		{"GET", "/runs/abc?tab=tasks", 200, html, "no-cache", testIndex},
		{"GET", "/workflows/order.created", 200, html, "no-cache", testIndex},
		{"GET", "/assets", 200, html, "no-cache", testIndex},
		{"GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", testIcon},
		{"GET", "/assets/index-Ab12Cd.js", 200, js, immutable, testScript},
		{"GET", "/assets/index-Ef34Gh.css", 200, css, immutable, testStyle},
		{"HEAD", "/", 200, html, "no-cache", ""},
		{"HEAD", "/runs/abc", 200, html, "no-cache", ""},
		{"HEAD", "/assets/index-Ab12Cd.js", 200, js, immutable, ""},
		// A bundle of another build fails to load rather than arrive as HTML.
		{"GET", "/assets/index-Old000.js", 404, "text/plain; charset=utf-8", "", "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			t.Parallel()
			got := do(t, servertest.HTTP1Client(), tt.method, srv.URL, tt.target)
			if got.status != tt.status || got.body != tt.body {
				t.Errorf("HTTP %d %q, want %d %q", got.status, got.body, tt.status, tt.body)
			}
			if ct := got.header.Get("Content-Type"); ct != tt.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
			}
			if cc := got.header.Get("Cache-Control"); cc != tt.cache {
				t.Errorf("Cache-Control %q, want %q", cc, tt.cache)
			}
			if tt.method == http.MethodHead && tt.status == http.StatusOK {
				want := len(testIndex)
				if strings.HasSuffix(tt.target, ".js") {
					want = len(testScript)
				}
				if cl := got.header.Get("Content-Length"); cl != strconv.Itoa(want) {
					t.Errorf("HEAD Content-Length %q, want %d", cl, want)
				}
			}
			wantSecurityHeaders(t, got.header)
		})
	}

	// Other methods get the mux's 404 at every path the API does not claim,
	// which gRPC clients read as unimplemented; never the app.
	for _, target := range []string{"/", "/runs/abc", "/assets/index-Ab12Cd.js"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			got := do(t, servertest.HTTP1Client(), method, srv.URL, target)
			if got.status != http.StatusNotFound || got.header.Get("Content-Security-Policy") != "" {
				t.Errorf("%s %s: HTTP %d, CSP %q; want 404 without the dashboard's headers", method, target, got.status, got.header.Get("Content-Security-Policy"))
			}
		}
	}
}

// TestDashboardRevalidates checks that the index page, which browsers must
// revalidate, answers a matching If-None-Match with 304.
func TestDashboardRevalidates(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Dashboard: testDashboard()})
	first := do(t, servertest.HTTP1Client(), http.MethodGet, srv.URL, "/runs/abc")
	tag := first.header.Get("ETag")
	if tag == "" {
		t.Fatalf("index page has no ETag; headers %v", first.header)
	}
	if again := do(t, servertest.HTTP1Client(), http.MethodGet, srv.URL, "/", "If-None-Match", tag); again.status != http.StatusNotModified || again.body != "" {
		t.Errorf("GET / with If-None-Match %s: HTTP %d %q, want 304 and no body", tag, again.status, again.body)
	}
	if other := do(t, servertest.HTTP1Client(), http.MethodGet, srv.URL, "/", "If-None-Match", `"other"`); other.status != http.StatusOK || other.body != testIndex {
		t.Errorf("GET / with another ETag: HTTP %d %q, want 200 and the index page", other.status, other.body)
	}
}

func wantSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	}
	for name, value := range want {
		if got := h.Get(name); got != value {
			t.Errorf("%s %q, want %q", name, got, value)
		}
	}
}

// TestDashboardLeavesAPIAlone sends API requests, known and unknown, to a
// server with the dashboard and to one without: each gets the same answer from
// both, never the dashboard, and the known routes still work.
func TestDashboardLeavesAPIAlone(t *testing.T) {
	t.Parallel()
	engine := storetest.Engines(t)[0]
	with := servertest.Start(t, engine, servertest.Options{Dashboard: testDashboard()})
	without := servertest.Start(t, engine, servertest.Options{})
	auth := []string{"Authorization", "Bearer " + servertest.AdminToken}
	connectJSON := append([]string{"Content-Type", "application/json"}, auth...)
	tests := []struct {
		method, target string
		header         []string
		status         int // 0: whatever the server without the dashboard says
	}{
		{"GET", "/healthz", nil, 200},
		{"HEAD", "/healthz", nil, 200},
		{"GET", "/readyz", nil, 200},
		{"GET", "/healthz/more", nil, 404},
		{"POST", "/healthz", nil, 405},
		{"GET", "/metrics", nil, 401},
		{"GET", "/metrics", auth, 200},
		{"GET", "/v1/workflows", auth, 200},
		{"GET", "/v1/workflows", nil, 401},
		{"GET", "/v1/no-such-route", auth, 0},
		{"GET", "/v1", nil, 0},
		{"POST", "/switchyard.v1.WorkflowService/ListWorkflows", connectJSON, 200},
		{"POST", "/switchyard.v1.WorkflowService/NoSuchMethod", connectJSON, 404},
		{"POST", "/switchyard.v1.NoSuchService/NoSuchMethod", connectJSON, 404},
		{"GET", "/switchyard.v1.NoSuchService/NoSuchMethod", nil, 404},
		{"GET", "/switchyard.v1.WorkflowService/ListWorkflows", auth, 0},
		{"GET", "/switchyard.v1.NoSuchService", nil, 404},
		{"GET", "/grpc.health.v1.Health/Check", nil, 0},
		{"GET", "/grpc.no.such.Service/Method", nil, 404},
		{"GET", "/other.pkg.Service/Method", nil, 404},
		{"GET", "/webhooks/no-such-hook", nil, 0},
		{"POST", "/webhooks/no-such-hook", nil, 0},
		{"GET", "/webhooks", nil, 0},
	}
	client := noRedirects()
	for _, tt := range tests {
		got := do(t, client, tt.method, with.URL, tt.target, tt.header...)
		want := do(t, client, tt.method, without.URL, tt.target, tt.header...)
		if tt.status != 0 && want.status != tt.status {
			t.Errorf("%s %s without the dashboard: HTTP %d, want %d", tt.method, tt.target, want.status, tt.status)
		}
		if got.status != want.status || got.header.Get("Content-Type") != want.header.Get("Content-Type") || got.header.Get("Location") != want.header.Get("Location") {
			t.Errorf("%s %s with the dashboard: HTTP %d %q (Location %q), without: HTTP %d %q (Location %q)", tt.method, tt.target,
				got.status, got.header.Get("Content-Type"), got.header.Get("Location"), want.status, want.header.Get("Content-Type"), want.header.Get("Location"))
		}
		if got.header.Get("Content-Security-Policy") != "" || strings.Contains(got.body, "test dashboard") {
			t.Errorf("%s %s: answered by the dashboard (HTTP %d)", tt.method, tt.target, got.status)
		}
	}
}

// TestDashboardAbsent checks that a server given no dashboard serves nothing
// at its paths.
func TestDashboardAbsent(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	for _, target := range []string{"/", "/index.html", "/runs/abc"} {
		if got := do(t, servertest.HTTP1Client(), http.MethodGet, srv.URL, target); got.status != http.StatusNotFound {
			t.Errorf("GET %s without a dashboard: HTTP %d, want 404", target, got.status)
		}
	}
}

// TestDashboardEmbedded checks that the binary's own dashboard has its index
// page.
func TestDashboardEmbedded(t *testing.T) {
	t.Parallel()
	index, err := fs.ReadFile(dashboard.Assets(), "index.html")
	if err != nil {
		t.Fatalf("embedded dashboard: %v", err)
	}
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(string(index))), "<!doctype html>") {
		t.Errorf("embedded index.html does not begin with <!doctype html>: %.80q", index)
	}
}

// TestDashboardGzip asks for a script with and without gzip: a client that
// accepts it gets the script gzipped (and told it varies by Accept-Encoding),
// one that does not gets it as it is; the index page is never compressed.
func TestDashboardGzip(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Dashboard: testDashboard()})
	for range 2 { // the second answer comes from the cache
		got := do(t, servertest.HTTP1Client(), "GET", srv.URL, "/assets/index-Ab12Cd.js", "Accept-Encoding", "br, gzip")
		if got.header.Get("Content-Encoding") != "gzip" || !slices.Contains(got.header.Values("Vary"), "Accept-Encoding") {
			t.Fatalf("script for a gzip client: Content-Encoding %q, Vary %q; want gzip, Accept-Encoding", got.header.Get("Content-Encoding"), got.header.Values("Vary"))
		}
		zr, err := gzip.NewReader(strings.NewReader(got.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || string(plain) != testScript {
			t.Errorf("gunzipped script %q, %v; want %q", plain, err, testScript)
		}
	}
	for _, accept := range []string{"identity", "gzip;q=0"} {
		got := do(t, servertest.HTTP1Client(), "GET", srv.URL, "/assets/index-Ab12Cd.js", "Accept-Encoding", accept)
		if got.header.Get("Content-Encoding") != "" || got.body != testScript {
			t.Errorf("script for Accept-Encoding %q: Content-Encoding %q, body %q; want the script as it is", accept, got.header.Get("Content-Encoding"), got.body)
		}
	}
	if got := do(t, servertest.HTTP1Client(), "GET", srv.URL, "/", "Accept-Encoding", "gzip"); got.header.Get("Content-Encoding") != "" || got.body != testIndex {
		t.Errorf("index for a gzip client: Content-Encoding %q, body %q; want the page as it is", got.header.Get("Content-Encoding"), got.body)
	}
}
