package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// cli runs a client command against url with the admin token and returns what
// it printed on stdout.
func cli(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "--server", url, "--token", servertest.AdminToken)
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

// mustCLI is cli that fails the test on an error.
func mustCLI(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, err := cli(t, url, args...)
	if err != nil {
		t.Fatalf("switchyard %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestPushCommand(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})

	// Flags may come before and after the key.
	out := mustCLI(t, srv.URL, "push", "--scope", "eu", "cli.push", "--payload", `{"n":1,"tags":["a"]}`,
		"--metadata", "source=cli,team=core", "--idempotency-key", "cli-1", "--priority", "4", "-o", "json")
	var first switchyardv1.PushEventResponse
	if err := protojson.Unmarshal([]byte(out), &first); err != nil {
		t.Fatalf("push -o json printed %q: %v", out, err)
	}
	ev := first.GetEvent()
	if first.GetDeduplicated() || ev.GetKey() != "cli.push" || ev.GetScope() != "eu" || ev.GetPriority() != 4 ||
		ev.GetIdempotencyKey() != "cli-1" || ev.GetMetadata()["source"] != "cli" || ev.GetMetadata()["team"] != "core" ||
		ev.GetPayload().GetFields()["n"].GetNumberValue() != 1 || ev.GetPayload().GetFields()["tags"].GetListValue().GetValues()[0].GetStringValue() != "a" {
		t.Errorf("pushed %v", &first)
	}

	// The same key again, as a table: the original event, deduplicated.
	out = mustCLI(t, srv.URL, "push", "cli.push", "--scope", "eu", "--payload", `{"n":1,"tags":["a"]}`,
		"--metadata", "source=cli,team=core", "--idempotency-key", "cli-1", "--priority", "4")
	want := fmt.Sprintf(`EVENT            %s
KEY              cli.push
CREATED          %s
IDEMPOTENCY KEY  cli-1
DEDUPLICATED     true
RUNS             -
`, ev.GetId(), ev.GetCreatedAt().AsTime().UTC().Format(time.RFC3339))
	if out != want {
		t.Errorf("push printed\n%s\nwant\n%s", out, want)
	}
}

func TestClientCommandErrors(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error, in order
	}{
		{"bad key", []string{"push", "not a key!"}, []string{"invalid_argument", "key: does not match regex pattern", "request id: "}},
		{"bad payload", []string{"push", "a.b", "--payload", "[1]"}, []string{`invalid value "[1]" for flag -payload: want a JSON object`}},
		{"bad metadata", []string{"push", "a.b", "--metadata", "novalue"}, []string{`--metadata: "novalue": want key=value`}},
		{"no key", []string{"push"}, []string{"usage: switchyard push KEY"}},
		{"bad token", []string{"workflows", "list", "--token", "sy_wrong"}, []string{"unauthenticated"}},
		{"missing run", []string{"runs", "get", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found", "run 0193a7a0-0000-7000-8000-000000000000 not found"}},
		{"bad run id", []string{"runs", "get", "nope"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"bad status", []string{"runs", "list", "--status", "sleeping"}, []string{`--status "sleeping"`}},
		{"bad output", []string{"workers", "list", "-o", "yaml"}, []string{`-o "yaml": want text or json`}},
		{"bad protocol", []string{"workers", "list", "--protocol", "soap"}, []string{`--protocol "soap"`}},
		{"bad trigger", []string{"runs", "list", "--trigger", "webhook"}, []string{`--trigger "webhook": want event, cron, manual or replay`}},
		{"no subcommand", []string{"runs"}, []string{"usage: switchyard runs list|get ID|watch ID|cancel ID|replay ID"}},
		{"unknown subcommand", []string{"runs", "delete"}, []string{"runs delete: unknown subcommand; want list, get, watch, cancel, replay, cancel-all, replay-all or bulk"}},
		{"cancel without id", []string{"runs", "cancel"}, []string{"usage: switchyard runs cancel ID [flags] (got 0 arguments, want 1)"}},
		{"cancel missing run", []string{"runs", "cancel", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found"}},
		{"replay without id", []string{"runs", "replay"}, []string{"usage: switchyard runs replay ID [flags] (got 0 arguments, want 1)"}},
		{"replay bad run id", []string{"runs", "replay", "nope", "--from-failed"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"replay missing run", []string{"runs", "replay", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found"}},
		{"events without subcommand", []string{"events"}, []string{"usage: switchyard events list|get ID|replay ID"}},
		{"events unknown subcommand", []string{"events", "delete"}, []string{"events delete: unknown subcommand; want list, get or replay"}},
		{"event get bad id", []string{"events", "get", "nope"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"event get missing event", []string{"events", "get", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found"}},
		{"event replay without id", []string{"events", "replay"}, []string{"usage: switchyard events replay ID [flags] (got 0 arguments, want 1)"}},
		{"event replay bad id", []string{"events", "replay", "nope"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"event replay missing event", []string{"events", "replay", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found", "event 0193a7a0-0000-7000-8000-000000000000 not found"}},
		{"workflows without subcommand", []string{"workflows"}, []string{"usage: switchyard workflows list|get NAME|put|delete NAME|run NAME"}},
		{"workflows unknown subcommand", []string{"workflows", "remove"}, []string{"workflows remove: unknown subcommand; want list, get, put, delete, run, pause or resume"}},
		{"put without file", []string{"workflows", "put"}, []string{"workflows put: -f FILE is required"}},
		{"put missing file", []string{"workflows", "put", "-f", "/nonexistent/w.json"}, []string{"-f /nonexistent/w.json:", "no such file"}},
		{"delete without name", []string{"workflows", "delete"}, []string{"usage: switchyard workflows delete NAME [flags] (got 0 arguments, want 1)"}},
		{"delete missing workflow", []string{"workflows", "delete", "nope"}, []string{"not_found", "workflow nope not found"}},
		{"get missing workflow", []string{"workflows", "get", "nope"}, []string{"not_found", "workflow nope not found"}},
		{"webhook create without settings", []string{"webhooks", "create", "--name", "x"}, []string{"give --name, --scheme and --key-expression, or -f FILE"}},
		{"webhook bad scheme", []string{"webhooks", "create", "--name", "x", "--scheme", "gitlab", "--key-expression", "'a'"}, []string{`--scheme "gitlab": want none, github, stripe, slack, svix, hmac or bearer`}},
		{"webhook get bad id", []string{"webhooks", "get", "nope"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"webhook delete missing", []string{"webhooks", "delete", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found"}},
		{"token file missing", []string{"workers", "list", "--token", "", "--token-file", "/nonexistent/token"}, []string{"--token-file:", "no such file"}},
		{"version with argument", []string{"version", "now"}, []string{`usage: switchyard version (takes no arguments, got "now")`}},
		{"run without name", []string{"workflows", "run", "--priority", "1"}, []string{"usage: switchyard workflows run NAME [flags] (got 0 arguments, want 1)"}},
		{"run bad input", []string{"workflows", "run", "w", "--input", "[1]"}, []string{`invalid value "[1]" for flag -input: want a JSON object`}},
		{"run bad run-at", []string{"workflows", "run", "w", "--run-at", "tomorrow"}, []string{`--run-at "tomorrow": want an RFC 3339 time`}},
		{"run negative run-at", []string{"workflows", "run", "w", "--run-at", "+-5m"}, []string{`--run-at "+-5m": want a positive duration`}},
		{"run bad priority", []string{"workflows", "run", "w", "--priority", "12"}, []string{"invalid_argument", "priority: must be"}},
		{"run too far ahead", []string{"workflows", "run", "w", "--run-at", "+9000h"}, []string{"invalid_argument", "run_at"}},
		{"run missing workflow", []string{"workflows", "run", "nope"}, []string{"not_found", "workflow nope not found"}},
		{"workers without list", []string{"workers"}, []string{"usage: switchyard workers list"}},
		{"server down", []string{"workflows", "list", "--server", "http://127.0.0.1:1"}, []string{"unavailable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			args := slices.Clone(tt.args)
			if !slices.Contains(args, "--server") {
				args = append(args, "--server", srv.URL)
			}
			if !slices.Contains(args, "--token") {
				args = append(args, "--token", servertest.AdminToken)
			}
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("switchyard %v succeeded, printing %q", tt.args, stdout.String())
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestRunCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	w := sdk.NewWorker(c, sdk.WorkerConfig{Name: "cli-worker", Slots: 3, Labels: map[string]string{"zone": "a"}})
	w.Workflow(&switchyardv1.WorkflowSpec{
		Name: "cli-flow", OnEvents: []string{"cli.start"},
		Tasks: []*switchyardv1.TaskSpec{
			{Name: "first", Action: "cli.ok"},
			{Name: "second", Action: "cli.ok", Parents: []string{"first"}},
		},
	})
	w.Workflow(&switchyardv1.WorkflowSpec{
		Name: "cli-broken", OnEvents: []string{"cli.break"},
		Tasks: []*switchyardv1.TaskSpec{{Name: "only", Action: "cli.fail"}},
	})
	w.Handle("cli.ok", func(context.Context, *sdk.Task) (map[string]any, error) { return map[string]any{"ok": true}, nil })
	w.Handle("cli.fail", func(context.Context, *sdk.Task) (map[string]any, error) {
		return nil, sdk.Permanent(errors.New("broken on purpose"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	waitForWorkflows(t, c, 2)

	var pushed switchyardv1.PushEventResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "push", "cli.start", "-o", "json")), &pushed); err != nil {
		t.Fatal(err)
	}
	if len(pushed.GetRunIds()) != 1 {
		t.Fatalf("push started runs %v, want one", pushed.GetRunIds())
	}
	runID := pushed.GetRunIds()[0]

	watched := mustCLI(t, srv.URL, "runs", "watch", runID)
	lines := strings.Split(strings.TrimSpace(watched), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "  SUCCEEDED  first=SUCCEEDED  second=SUCCEEDED") {
		t.Errorf("runs watch ended with %q, want the SUCCEEDED state", last)
	}

	run, err := c.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	workerID := run.GetTasks()[0].GetWorkerId()
	wantRun := fmt.Sprintf(`ID        %s
WORKFLOW  cli-flow (version 1)
STATUS    SUCCEEDED
TRIGGER   EVENT
EVENT     %s
PRIORITY  0
CREATED   %s
FINISHED  %s
ERROR     -

TASK    ACTION  STATUS     ATTEMPT  PARENTS  WORKER                                ERROR
first   cli.ok  SUCCEEDED  1/3      -        %s  -
second  cli.ok  SUCCEEDED  1/3      first    %s  -
`, runID, pushed.GetEvent().GetId(), formatTime(run.GetCreatedAt()), formatTime(run.GetFinishedAt()), workerID, workerID)
	if got := mustCLI(t, srv.URL, "runs", "get", runID); got != wantRun {
		t.Errorf("runs get printed\n%s\nwant\n%s", got, wantRun)
	}

	var list switchyardv1.ListRunsResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "runs", "list", "--workflow", "cli-flow", "--status", "succeeded", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.GetRuns()) != 1 || list.GetRuns()[0].GetId() != runID {
		t.Errorf("runs list --status succeeded = %v, want the one run", list.GetRuns())
	}
	if got, want := mustCLI(t, srv.URL, "runs", "list", "--status", "FAILED"), "ID  WORKFLOW  VERSION  STATUS  TRIGGER  EVENT  CREATED  FINISHED\n"; got != want {
		t.Errorf("runs list --status FAILED printed %q, want only the header %q", got, want)
	}

	// A run that fails makes `runs watch` fail.
	broken := mustCLI(t, srv.URL, "push", "cli.break", "-o", "json")
	var brokenRes switchyardv1.PushEventResponse
	if err := protojson.Unmarshal([]byte(broken), &brokenRes); err != nil {
		t.Fatal(err)
	}
	_, err = cli(t, srv.URL, "runs", "watch", brokenRes.GetRunIds()[0])
	if want := fmt.Sprintf("run %s ended FAILED: task only failed after 1 attempt(s): broken on purpose", brokenRes.GetRunIds()[0]); err == nil || err.Error() != want {
		t.Errorf("runs watch of a failing run: %v, want %q", err, want)
	}

	workflows := mustCLI(t, srv.URL, "workflows", "list")
	wf, err := c.GetWorkflow(context.Background(), "cli-flow", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRow := fmt.Sprintf("cli-flow    1        2      cli.start  %s\n", formatTime(wf.GetCreatedAt()))
	if !strings.HasPrefix(workflows, "NAME        VERSION  TASKS  ON EVENTS  CREATED\n") || !strings.HasSuffix(workflows, wantRow) {
		t.Errorf("workflows list printed\n%s\nwant cli-flow's row %q last", workflows, wantRow)
	}

	var workers switchyardv1.ListWorkersResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "workers", "list", "-o", "json")), &workers); err != nil {
		t.Fatal(err)
	}
	if len(workers.GetWorkers()) != 1 || workers.GetWorkers()[0].GetId() != workerID ||
		workers.GetWorkers()[0].GetStatus() != switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE ||
		workers.GetWorkers()[0].GetSlots() != 3 || workers.GetWorkers()[0].GetLabels()["zone"] != "a" {
		t.Errorf("workers list = %v, want cli-worker (%s), active, 3 slots, zone=a", workers.GetWorkers(), workerID)
	}
	text := mustCLI(t, srv.URL, "workers", "list")
	if !strings.Contains(text, workerID+"  cli-worker  ACTIVE  0/3    cli.fail,cli.ok  zone=a") {
		t.Errorf("workers list printed\n%s\nwant a row for %s", text, workerID)
	}
}

// TestClientFlagsFromEnvironment sets SWITCHYARD_SERVER and SWITCHYARD_TOKEN,
// so it cannot run in parallel.
func TestClientFlagsFromEnvironment(t *testing.T) {
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	t.Setenv("SWITCHYARD_SERVER", srv.URL)
	t.Setenv("SWITCHYARD_TOKEN", servertest.AdminToken)
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"workflows", "list"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("workflows list with the server and token from the environment: %v", err)
	}
	if got, want := stdout.String(), "NAME  VERSION  TASKS  ON EVENTS  CREATED\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	// A flag beats its variable.
	err := run(context.Background(), []string{"workflows", "list", "--token", "sy_wrong"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Errorf("--token over SWITCHYARD_TOKEN: %v, want unauthenticated", err)
	}
}

// waitForWorkflows waits until n workflows exist (a worker declared them).
func waitForWorkflows(t *testing.T, c *sdk.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.ListWorkflows(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetWorkflows()) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workflows after 30s, want %d", len(res.GetWorkflows()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// putOneTaskWorkflow puts spec with one task added.
func putOneTaskWorkflow(t *testing.T, c *sdk.Client, spec *switchyardv1.WorkflowSpec) {
	t.Helper()
	spec.Tasks = []*switchyardv1.TaskSpec{{Name: "only", Action: "cli.test.noop"}}
	if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
		t.Fatalf("put workflow %s: %v", spec.GetName(), err)
	}
}

func mustGetRun(t *testing.T, c *sdk.Client, id string) *switchyardv1.Run {
	t.Helper()
	run, err := c.GetRun(context.Background(), id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return run
}

func runIDs(runs []*switchyardv1.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.GetId()
	}
	return ids
}

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

	manual := filepath.Join(dir, "manual.yaml")
	writeSpec(t, manual, "name: by-hand\ntasks:\n  - name: t\n    action: x\n")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"workflows", "put", "-f", manual, "--server", srv.URL, "--token", servertest.AdminToken}, &stdout, &stderr); err != nil {
		t.Fatalf("workflows put of a workflow with no trigger: %v", err)
	}
	wantOut(t, "workflows put of a workflow with no trigger", stdout.String(), "WORKFLOW  by-hand", "CHANGED   true")
	wantOut(t, "its warning", stderr.String(), "warning: workflow by-hand has no trigger")
	stderr.Reset()
	if err := run(context.Background(), []string{"workflows", "put", "-f", yamlSpec, "--server", srv.URL, "--token", servertest.AdminToken}, &bytes.Buffer{}, &stderr); err != nil || stderr.Len() != 0 {
		t.Errorf("workflows put of a triggered workflow: %v, printed %q on stderr, want nothing", err, stderr.String())
	}

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
