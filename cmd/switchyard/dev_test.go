package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDevCommand runs `switchyard dev` as a user would: it prints the
// dashboard's address and an admin token, and its demo worker, in the same
// process, runs a pushed demo.order event's run to SUCCEEDED. A second start
// on the same data prints the same token, and the end of ctx stops it all.
func TestDevCommand(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	tokenFile := filepath.Join(dataDir, devTokenFile)
	var first string
	for start := 1; start <= 2; start++ {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--task-delay", "10ms"}, &stdout, &bytes.Buffer{})
		}()
		url, token := waitForDev(t, &stdout, done)
		if start == 1 {
			first = token
		} else if token != first {
			t.Fatalf("second start printed token %s, want the first one %s", token, first)
		}
		if kept, err := os.ReadFile(tokenFile); err != nil || strings.TrimSpace(string(kept)) != token {
			t.Fatalf("%s holds %q (%v), want the printed token", tokenFile, kept, err)
		}
		page := getPage(t, url+"/")
		if !strings.Contains(page, "<html") {
			t.Fatalf("dashboard at %s/ answered %.200q, want the dashboard's page", url, page)
		}
		waitForWorkflowNamed(t, url, tokenFile, "demo.order")
		var pushed struct {
			RunIDs []string `json:"runIds"`
		}
		out := mustRun(t, "push", "demo.order.created", "--payload", `{"order_id":"o-1"}`, "-o", "json", "--server", url, "--token-file", tokenFile)
		if err := json.Unmarshal([]byte(out), &pushed); err != nil || len(pushed.RunIDs) != 1 {
			t.Fatalf("push printed %s (%v), want one run id", out, err)
		}
		watched := mustRun(t, "runs", "watch", pushed.RunIDs[0], "--server", url, "--token-file", tokenFile)
		wantOut(t, "runs watch", watched, "SUCCEEDED")
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("dev after its context ended: %v, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("dev did not stop within 30s of its context ending")
		}
	}
}

var devLineRe = regexp.MustCompile(`dashboard\s+(http://[0-9.:]+)/ .*\n\s+admin token\s+(sy_[A-Za-z0-9_-]+)\n`)

// waitForDev waits until dev printed its dashboard line and token.
func waitForDev(t *testing.T, stdout *syncBuffer, done <-chan error) (url, token string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := devLineRe.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], m[2]
		}
		select {
		case err := <-done:
			t.Fatalf("dev ended before it printed its token: %v; it printed:\n%s", err, stdout.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev printed no dashboard line and token within 30s:\n%s", stdout.String())
		}
	}
}

// waitForWorkflowNamed waits until the workflow name exists (the demo worker
// puts it when it starts).
func waitForWorkflowNamed(t *testing.T, url, tokenFile, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var stdout bytes.Buffer
		if run(context.Background(), []string{"workflows", "get", name, "--server", url, "--token-file", tokenFile}, &stdout, &bytes.Buffer{}) == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no workflow %s within 30s of dev's start", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mustRun runs a switchyard command, for at most a minute, and returns what
// it printed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("switchyard %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// getPage returns the body of a GET of url.
func getPage(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}
