package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// TestFlowCommands pauses and resumes a workflow, and cancels then replays
// its runs in bulk, from the command line.
func TestFlowCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	ctx := context.Background()
	putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: "cli-flow", OnEvents: []string{"cli.flow"}})

	out := mustCLI(t, srv.URL, "workflows", "pause", "cli-flow", "--skip-cron")
	if !regexp.MustCompile(`^workflow cli-flow paused since \S+: new runs are held, cron ticks skipped\n$`).MatchString(out) {
		t.Errorf("workflows pause printed %q", out)
	}
	for range 3 {
		if _, err := c.Push(ctx, "cli.flow", map[string]any{}, sdk.WithMetadata(map[string]string{"region": "eu"})); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := mustCLI(t, srv.URL, "workflows", "resume", "cli-flow"), "workflow cli-flow resumed: 3 held run(s) released\n"; got != want {
		t.Errorf("workflows resume printed %q, want %q", got, want)
	}
	if _, err := cli(t, srv.URL, "workflows", "pause", "ghost"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("workflows pause ghost: %v, want not_found", err)
	}

	out = mustCLI(t, srv.URL, "runs", "cancel-all", "--workflow", "cli-flow", "--metadata", "region=eu", "--reason", "cli")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^\S+ cancel done: 3 matched, 3 processed, 3 cancelled$`).MatchString(lines[len(lines)-1]) {
		t.Errorf("runs cancel-all printed %q, want it to end with the operation done, 3 cancelled", out)
	}
	out = mustCLI(t, srv.URL, "runs", "replay-all", "--workflow", "cli-flow", "--status", "cancelled")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^\S+ replay done: 3 matched, 3 processed, 3 replayed$`).MatchString(lines[len(lines)-1]) {
		t.Errorf("runs replay-all printed %q, want it to end with the operation done, 3 replayed", out)
	}
	if _, err := cli(t, srv.URL, "runs", "cancel-all", "--status", "sleeping"); err == nil || !strings.Contains(err.Error(), `--status "sleeping"`) {
		t.Errorf("runs cancel-all --status sleeping: %v, want a flag error", err)
	}
}
