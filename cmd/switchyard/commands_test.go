package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// wantOut fails the test unless out holds every one of want.
func wantOut(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s printed\n%s\nwant it to contain %q", what, out, w)
		}
	}
}

// TestWorkflowCommands: workflows put -f (YAML and JSON, refusing a misspelled
// field), get, run, delete --cancel-runs; runs cancel.
func TestWorkflowCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	dir := t.TempDir()
	yamlSpec := filepath.Join(dir, "ticker.yaml")
	writeSpec(t, yamlSpec, "name: ticker\nonEvents: [tick]\ntasks:\n  - name: t\n    action: nobody.handles.this\n")
	wantOut(t, "workflows put", mustCLI(t, srv.URL, "workflows", "put", "-f", yamlSpec), "WORKFLOW  ticker", "VERSION   1", "CHANGED   true")
	wantOut(t, "workflows put again", mustCLI(t, srv.URL, "workflows", "put", "-f", yamlSpec), "VERSION   1", "CHANGED   false")

	got := mustCLI(t, srv.URL, "workflows", "get", "ticker")
	spec := &switchyardv1.WorkflowSpec{}
	if err := protojson.Unmarshal([]byte(got), spec); err != nil || spec.GetName() != "ticker" || spec.GetOnEvents()[0] != "tick" {
		t.Fatalf("workflows get printed %q (%v), want the spec as JSON", got, err)
	}
	jsonSpec := filepath.Join(dir, "ticker.json")
	writeSpec(t, jsonSpec, got)
	wantOut(t, "workflows put of what get printed", mustCLI(t, srv.URL, "workflows", "put", "-f", jsonSpec), "CHANGED   false")

	typo := filepath.Join(dir, "typo.yaml")
	writeSpec(t, typo, "name: typo\nonEvent: [tick]\ntasks:\n  - name: t\n    action: x\n")
	_, err := cli(t, srv.URL, "workflows", "put", "-f", typo)
	wantErr(t, err, "-f "+typo+": ", `unknown field "onEvent"`)

	runA := strings.TrimSpace(mustCLI(t, srv.URL, "workflows", "run", "ticker"))
	wantOut(t, "runs cancel", mustCLI(t, srv.URL, "runs", "cancel", runA, "--reason", "not needed"), "CANCELLED")
	mustCLI(t, srv.URL, "workflows", "run", "ticker")
	mustCLI(t, srv.URL, "workflows", "run", "ticker", "--run-at", "+1h")
	wantOut(t, "workflows delete --cancel-runs", mustCLI(t, srv.URL, "workflows", "delete", "ticker", "--cancel-runs"),
		"deleted workflow ticker", "cancelled 2 runs")
	if _, err := cli(t, srv.URL, "workflows", "get", "ticker"); err == nil {
		t.Error("workflows get after delete succeeded, want not_found")
	}
	wantOut(t, "runs list", mustCLI(t, srv.URL, "runs", "list", "--workflow", "ticker", "--status", "queued"), "ID")
	if out := mustCLI(t, srv.URL, "runs", "list", "--workflow", "ticker", "--status", "queued"); strings.Count(out, "\n") != 1 {
		t.Errorf("queued runs after delete --cancel-runs:\n%s\nwant none", out)
	}
}

// TestEventCommands: events list and get show what push stored.
func TestEventCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	var pushed switchyardv1.PushEventResponse
	out := mustCLI(t, srv.URL, "push", "user.created", "--payload", `{"id": 42}`, "--scope", "eu", "-o", "json")
	if err := protojson.Unmarshal([]byte(out), &pushed); err != nil {
		t.Fatal(err)
	}
	id := pushed.GetEvent().GetId()
	wantOut(t, "events list", mustCLI(t, srv.URL, "events", "list", "--key", "user.created"), id, "user.created", "eu")
	wantOut(t, "events get", mustCLI(t, srv.URL, "events", "get", id), "EVENT", id, "SCOPE            eu", `PAYLOAD          {"id":42}`)
}

// TestWebhookCommands: webhooks create, list, get, rotate and delete.
func TestWebhookCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	var created switchyardv1.CreateWebhookResponse
	out := mustCLI(t, srv.URL, "webhooks", "create", "--name", "gh", "--scheme", "github", "--key-expression", `"github." + headers["x-github-event"]`, "-o", "json")
	if err := protojson.Unmarshal([]byte(out), &created); err != nil || created.GetSecret() == "" {
		t.Fatalf("webhooks create printed %q (%v), want the webhook and its secret", out, err)
	}
	id := created.GetWebhook().GetId()
	wantOut(t, "webhooks list", mustCLI(t, srv.URL, "webhooks", "list"), id, "gh", "github", "/webhooks/"+id)
	got := mustCLI(t, srv.URL, "webhooks", "get", id)
	wantOut(t, "webhooks get", got, id, "github")
	if strings.Contains(got, created.GetSecret()) {
		t.Error("webhooks get printed the secret")
	}
	rotated := mustCLI(t, srv.URL, "webhooks", "rotate", id)
	wantOut(t, "webhooks rotate", rotated, "SECRET", "shown only this once")
	if strings.Contains(rotated, created.GetSecret()) {
		t.Error("webhooks rotate printed the old secret")
	}
	wantOut(t, "webhooks delete", mustCLI(t, srv.URL, "webhooks", "delete", id), "deleted webhook "+id)
	if _, err := cli(t, srv.URL, "webhooks", "get", id); err == nil {
		t.Error("webhooks get after delete succeeded")
	}
}

// TestVersionHelpAndTokenFile: version prints a version line, every client
// command answers -h with its usage and help, and --token-file takes the token
// from a file.
func TestVersionHelpAndTokenFile(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &stdout, &bytes.Buffer{}); err != nil || !strings.HasPrefix(stdout.String(), "switchyard ") {
		t.Errorf("version: %v, printed %q", err, stdout.String())
	}
	for _, g := range groups {
		for _, s := range g.subs {
			var stderr bytes.Buffer
			err := g.run(context.Background(), []string{s.name, "-h"}, &bytes.Buffer{}, &stderr)
			help, _, _ := strings.Cut(s.line, "\t")
			if err == nil || !strings.Contains(stderr.String(), "usage: switchyard "+help) || !strings.Contains(stderr.String(), "-server") {
				t.Errorf("%s %s -h: %v, printed %q; want the usage and the flags", g.name, s.name, err, stderr.String())
			}
		}
	}
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	file := filepath.Join(t.TempDir(), "token")
	writeSpec(t, file, servertest.AdminToken+"\n")
	stdout.Reset()
	if err := run(context.Background(), []string{"whoami", "--server", srv.URL, "--token-file", file}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("whoami --token-file: %v", err)
	}
	wantOut(t, "whoami --token-file", stdout.String(), "ADMIN")
}

func writeSpec(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
