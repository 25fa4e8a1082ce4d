package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestTLSNegotiatesHTTPVersion calls a TLS server over every protocol and checks
// the HTTP version and ALPN protocol each call ran on: HTTP/2 ("h2") for the h2
// clients, gRPC included, and HTTP/1.1 for the h1 ones, as browsers without
// HTTP/2 use; a client offering both, as browsers do, gets HTTP/2.
func TestTLSNegotiatesHTTPVersion(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{TLS: true})
	roots := servertest.TestCA().Pool

	browser := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	protocols := append(servertest.ProtocolsTLS(roots),
		servertest.Protocol{Name: "connect-json/browser+tls", TLS: true, HTTP: browser})
	for _, p := range protocols {
		t.Run(strings.ReplaceAll(p.Name, "/", "_"), func(t *testing.T) {
			t.Parallel()
			wantProto, wantALPN := "HTTP/2.0", "h2"
			if strings.Contains(p.Name, "/h1") {
				wantProto, wantALPN = "HTTP/1.1", "http/1.1"
			}
			rec := &protoRecorder{next: p.HTTP.Transport}
			p.HTTP = &http.Client{Transport: rec}
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			res, err := c.push(context.Background(), &switchyardv1.PushEventRequest{Key: "tls.alpn"})
			if err != nil {
				t.Fatalf("push over %s: %v", p.Name, err)
			}
			if res.GetEvent().GetId() == "" {
				t.Errorf("push over %s: no event id in %v", p.Name, res)
			}
			if got := rec.seen(); len(got) != 1 || got[0] != wantProto+" "+wantALPN {
				t.Errorf("responses came over %q, want one over %q", got, wantProto+" "+wantALPN)
			}
		})
	}
}

// TestTLSUnknownAuthority checks that a client trusting another CA is refused by
// its own certificate check, with the error saying why.
func TestTLSUnknownAuthority(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{TLS: true})
	other, err := servertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range servertest.ProtocolsTLS(other.Pool) {
		if p.Name != "grpc/h2+tls" && p.Name != "rest/h1+tls" {
			continue
		}
		c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
		_, err := c.push(context.Background(), &switchyardv1.PushEventRequest{Key: "tls.untrusted"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("push over %s trusting another CA: %v, want an x509.UnknownAuthorityError", p.Name, err)
		}
	}
}

// protoRecorder records the HTTP version and ALPN protocol of each response.
type protoRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	proto []string
}

func (r *protoRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err == nil {
		alpn := "(no TLS)"
		if res.TLS != nil {
			alpn = res.TLS.NegotiatedProtocol
		}
		r.mu.Lock()
		r.proto = append(r.proto, res.Proto+" "+alpn)
		r.mu.Unlock()
	}
	return res, err
}

func (r *protoRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.proto...)
}
