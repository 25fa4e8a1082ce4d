package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var dashboardRe = regexp.MustCompile(`dashboard on (http://[0-9.:]+/)\n`)

// TestServeDashboard checks that serve prints the dashboard's address and
// serves the embedded dashboard there by default, and neither with
// --dashboard=false.
func TestServeDashboard(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		flags      []string
		wantStatus int
	}{
		{nil, http.StatusOK},
		{[]string{"--dashboard=false"}, http.StatusNotFound},
	} {
		t.Run(strings.Join(append([]string{"serve"}, tt.flags...), " "), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout := &syncBuffer{}
			errc := make(chan error, 1)
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--database-url", ""}, tt.flags...)
			go func() { errc <- run(ctx, args, stdout, io.Discard) }()
			var url string
			for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if m := listeningRe.FindStringSubmatch(stdout.String()); m != nil {
					url = m[1]
				}
			}
			if url == "" {
				t.Fatalf("server did not print its address: %s", stdout.String())
			}
			printed := dashboardRe.FindStringSubmatch(stdout.String())
			switch {
			case tt.wantStatus == http.StatusOK && (printed == nil || printed[1] != url+"/"):
				t.Errorf("printed %q, want the line \"dashboard on %s/\"", stdout.String(), url)
			case tt.wantStatus != http.StatusOK && printed != nil:
				t.Errorf("printed %q, want no dashboard line", stdout.String())
			}

			res, err := http.Get(url + "/runs/some-run")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("GET /runs/some-run: HTTP %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.HasPrefix(strings.ToLower(string(body)), "<!doctype html>") {
					t.Errorf("GET /runs/some-run: Content-Type %q, body %.60q; want the dashboard's HTML", ct, body)
				}
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatalf("serve after cancel: %v", err)
			}
		})
	}
}

// TestBrowserAddr checks the address printed for a browser.
func TestBrowserAddr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9090}, "localhost:9090"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8080}, "[::1]:8080"},
	} {
		if got := browserAddr(tt.addr); got != tt.want {
			t.Errorf("browserAddr(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
