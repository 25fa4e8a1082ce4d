package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var metricsRe = regexp.MustCompile(`metrics \(no authentication\) on (http://[0-9.:]+/metrics)`)

// TestMetricsAddr checks that --metrics-addr serves /metrics without a token
// while /metrics on --addr still wants one, and that Go's profiles
// (/debug/pprof/) are served on the metrics address only.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
			"--data-dir", t.TempDir(), "--admin-token", "sy_metrics_admin"}, stdout, io.Discard)
	}()
	var url, metricsURL string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
		}
	}
	if m := metricsRe.FindStringSubmatch(stdout.String()); m != nil {
		metricsURL = m[1]
	}
	if url == "" || metricsURL == "" {
		t.Fatalf("server did not print both addresses: %s", stdout.String())
	}
	if _, err := push(t, url, "sy_metrics_admin"); err != nil {
		t.Fatal(err)
	}

	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	const pushed = `switchyard_rpc_requests_total{code="ok",procedure="/switchyard.v1.EventService/PushEvent",protocol="grpc"} 1`
	if code, body := get(metricsURL, ""); code != http.StatusOK || !strings.Contains(body, pushed) {
		t.Errorf("--metrics-addr without a token: HTTP %d, want 200 with %q", code, pushed)
	}
	if code, _ := get(url+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics on --addr without a token: HTTP %d, want 401", code)
	}
	if code, body := get(url+"/metrics", "sy_metrics_admin"); code != http.StatusOK || !strings.Contains(body, pushed) {
		t.Errorf("/metrics on --addr with the admin token: HTTP %d, want 200 with %q", code, pushed)
	}
	// Go's profiles are on the private listener, and only there.
	if code, body := get(strings.TrimSuffix(metricsURL, "/metrics")+"/debug/pprof/goroutine?debug=1", ""); code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("/debug/pprof/goroutine on --metrics-addr: HTTP %d, want 200 with a goroutine profile: %.200s", code, body)
	}
	if code, body := get(url+"/debug/pprof/goroutine?debug=1", "sy_metrics_admin"); strings.Contains(body, "goroutine profile:") {
		t.Errorf("/debug/pprof/goroutine on --addr: HTTP %d, a goroutine profile, want it not served", code)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}
}
