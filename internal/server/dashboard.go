package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/service"
)

// dashboardCSP is the Content-Security-Policy of every dashboard response.
// Scripts, fonts and everything else not named come only from the server's
// own origin (a Vite build emits no inline scripts). connect-src is open
// because the dashboard may be pointed at the API of another Switchyard
// server: which origins may call an API is that API's CORS policy to decide,
// and every call carries the user's token, never an ambient cookie. Styles
// allow 'unsafe-inline' for the style attributes React renders; images allow
// data: URIs, which Vite inlines for small files; frame-ancestors 'none' (with
// X-Frame-Options for older browsers) keeps the dashboard out of other sites'
// frames.
const dashboardCSP = "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

// dashboardAssets is the directory where Vite writes the bundles whose names
// carry a hash of their content: a name never changes its meaning, so
// browsers may keep them for good.
const dashboardAssets = "assets/"

// dashboardIndex is the page of the single-page app, served for every path
// that names no file.
const dashboardIndex = "index.html"

// dashboardTypes are the content types of the files a Vite build emits,
// fixed here so that they do not depend on the host's MIME tables; other
// extensions go by [mime.TypeByExtension].
var dashboardTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
}

// withDashboard serves the dashboard in files for every GET and HEAD request
// that no route of mux claims and whose path is not the API's, and passes
// every other request to mux unchanged. It asks mux rather than registering
// "GET /" because that pattern would conflict with the method-less API
// patterns such as "/v1/". Other methods keep mux's 404 at unclaimed paths:
// gRPC clients read a 404 as unimplemented.
func withDashboard(mux *http.ServeMux, files fs.FS) http.Handler {
	d := dashboard{files: files, gzipped: new(sync.Map)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !apiPath(r.URL.Path) {
			if _, pattern := mux.Handler(r); pattern == "" {
				d.ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// apiPath reports whether p belongs to the API, so that the dashboard never
// answers there even where no route matches (an unknown REST path or
// procedure, /metrics on a server without metrics): the API's own paths, and
// every path shaped like an RPC, /package.Service/Method.
func apiPath(p string) bool {
	for _, root := range []string{"/v1", strings.TrimSuffix(service.WebhookPath, "/"), LivePath, ReadyPath, MetricsPath} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	if strings.HasPrefix(p, "/switchyard.") || strings.HasPrefix(p, "/grpc.") {
		return true
	}
	first, _, nested := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return nested && strings.Contains(first, ".")
}

// dashboard serves the files of a built single-page app.
type dashboard struct {
	files fs.FS
	// gzipped holds the gzip form of each compressible asset, made on its
	// first request: assets never change under their name.
	gzipped *sync.Map // name → []byte
}

// dashboardCompressible are the extensions of assets sent gzipped to clients
// that accept it: text, which shrinks to a fraction.
var dashboardCompressible = map[string]bool{".js": true, ".mjs": true, ".css": true, ".svg": true, ".json": true, ".map": true}

// ServeHTTP answers with the file the path names, else with the app's index
// page so that the app routes the path itself (/runs/123). A missing file
// under assets/ is a 404 instead: it is a bundle of another build, which the
// app must see fail to load rather than receive as HTML.
func (d dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = dashboardIndex
	}
	if d.serveFile(w, r, name) {
		return
	}
	if !strings.HasPrefix(name, dashboardAssets) && d.serveFile(w, r, dashboardIndex) {
		return
	}
	http.NotFound(w, r)
}

// serveFile writes the regular file name and reports whether there was one.
// Hashed assets are cacheable for a year; anything else (the index page above
// all) must be revalidated, against an ETag of its content, on every use.
func (d dashboard) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	if !fs.ValidPath(name) {
		return false
	}
	f, err := d.files.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	body, ok := f.(io.ReadSeeker)
	if !ok {
		all, err := io.ReadAll(f)
		if err != nil {
			return false
		}
		body = bytes.NewReader(all)
	}
	h := w.Header()
	if strings.HasPrefix(name, dashboardAssets) {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		if dashboardCompressible[path.Ext(name)] {
			h.Add("Vary", "Accept-Encoding")
			if acceptsGzip(r) && r.Header.Get("Range") == "" {
				zipped, err := d.gzip(name, body)
				if err != nil {
					return false
				}
				h.Set("Content-Encoding", "gzip")
				body = bytes.NewReader(zipped)
			}
		}
	} else {
		tag, err := contentTag(body)
		if err != nil {
			return false
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", tag)
	}
	ext := path.Ext(name)
	ctype, known := dashboardTypes[ext]
	if !known {
		ctype = mime.TypeByExtension(ext)
	}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	// ServeContent answers HEAD, ranges and If-None-Match; it sniffs the
	// content type only when none was set.
	http.ServeContent(w, r, name, info.ModTime(), body)
	return true
}

// contentTag returns a strong ETag of what body holds, leaving it at its start.
// The small files outside assets/ are hashed on each request so that a file
// system that changes while serving (a development build) is never stale.
func contentTag(body io.ReadSeeker) (string, error) {
	sum := sha256.New()
	if _, err := io.Copy(sum, body); err != nil {
		return "", err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return `"` + base64.RawURLEncoding.EncodeToString(sum.Sum(nil)[:16]) + `"`, nil
}

// gzip returns the gzip form of the asset name, whose content body holds.
func (d dashboard) gzip(name string, body io.Reader) ([]byte, error) {
	if z, ok := d.gzipped.Load(name); ok {
		return z.([]byte), nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(zw, body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	z, _ := d.gzipped.LoadOrStore(name, buf.Bytes())
	return z.([]byte), nil
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, field := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(field), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(params, " ", "") != "q=0"
		}
	}
	return false
}
