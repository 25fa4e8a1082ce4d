package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

func TestWorkflowsRunCommand(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	ctx := context.Background()
	putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: "cli-run"})

	// Text output is the run's id alone.
	id := strings.TrimSpace(mustCLI(t, srv.URL, "workflows", "run", "cli-run", "--input", `{"n":1}`, "--priority", "6"))
	run, err := c.GetRun(ctx, id)
	if err != nil {
		t.Fatalf("workflows run printed %q: %v", id, err)
	}
	if run.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL || run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED ||
		run.GetPriority() != 6 || run.GetScheduledAt() != nil || run.GetInput().GetFields()["n"].GetNumberValue() != 1 {
		t.Errorf("run = %v; want MANUAL, QUEUED, priority 6, not scheduled, input n=1", run)
	}

	// --run-at +DURATION counts from now.
	before := time.Now()
	var delayed switchyardv1.RunWorkflowResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "workflows", "run", "cli-run", "--run-at", "+1h", "-o", "json")), &delayed); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	run, err = c.GetRun(ctx, delayed.GetRunId())
	if err != nil {
		t.Fatal(err)
	}
	at := run.GetScheduledAt().AsTime()
	if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || at.Before(before.Add(time.Hour).Truncate(time.Microsecond)) || at.After(after.Add(time.Hour)) {
		t.Errorf("run --run-at +1h = status %s, scheduled_at %v; want SCHEDULED between %v and %v",
			run.GetStatus(), at, before.Add(time.Hour), after.Add(time.Hour))
	}

	// --run-at RFC3339 with a key: a repeat prints the same run, deduplicated.
	runAt := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	args := []string{"workflows", "run", "cli-run", "--run-at", runAt.Format(time.RFC3339), "--idempotency-key", "cli-run-1"}
	first := strings.TrimSpace(mustCLI(t, srv.URL, args...))
	var repeat switchyardv1.RunWorkflowResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, append(args, "-o", "json")...)), &repeat); err != nil {
		t.Fatal(err)
	}
	if !repeat.GetDeduplicated() || repeat.GetRunId() != first {
		t.Errorf("repeat with the key = %v, want run %s deduplicated", &repeat, first)
	}

	run, err = c.GetRun(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	wantRun := fmt.Sprintf(`ID         %s
WORKFLOW   cli-run (version 1)
STATUS     SCHEDULED
TRIGGER    MANUAL
EVENT      -
PRIORITY   0
SCHEDULED  %s
CREATED    %s
FINISHED   -
ERROR      -

TASK  ACTION         STATUS   ATTEMPT  PARENTS  WORKER  ERROR
only  cli.test.noop  PENDING  0/3      -        -       -
`, first, runAt.Format(time.RFC3339), formatTime(run.GetCreatedAt()))
	if got := mustCLI(t, srv.URL, "runs", "get", first); got != wantRun {
		t.Errorf("runs get printed\n%s\nwant\n%s", got, wantRun)
	}

	wantList := fmt.Sprintf(`ID                                    WORKFLOW  VERSION  STATUS     TRIGGER  EVENT  CREATED               FINISHED
%s  cli-run   1        SCHEDULED  MANUAL   -      %s  -
%s  cli-run   1        SCHEDULED  MANUAL   -      %s  -
`, first, formatTime(run.GetCreatedAt()), delayed.GetRunId(), formatTime(mustGetRun(t, c, delayed.GetRunId()).GetCreatedAt()))
	if got := mustCLI(t, srv.URL, "runs", "list", "--status", "scheduled", "--trigger", "MANUAL"); got != wantList {
		t.Errorf("runs list --status scheduled printed\n%s\nwant\n%s", got, wantList)
	}
	if got, want := mustCLI(t, srv.URL, "runs", "list", "--status", "waiting"), "ID  WORKFLOW  VERSION  STATUS  TRIGGER  EVENT  CREATED  FINISHED\n"; got != want {
		t.Errorf("runs list --status waiting printed %q, want only the header %q", got, want)
	}
}

func TestParseRunAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"+10m", now.Add(10 * time.Minute), ""},
		{"+1h30m", now.Add(90 * time.Minute), ""},
		{"2026-03-04T05:06:07Z", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), ""},
		{"2026-03-04T05:06:07.5+02:00", time.Date(2026, 3, 4, 3, 6, 7, 500_000_000, time.UTC), ""},
		{"+0s", time.Time{}, "want a positive duration"},
		{"+-5m", time.Time{}, "want a positive duration"},
		{"+soon", time.Time{}, "want a positive duration"},
		{"10m", time.Time{}, "want an RFC 3339 time"},
		{"2026-03-04", time.Time{}, "want an RFC 3339 time"},
	}
	for _, tt := range tests {
		got, err := parseRunAt(tt.in, now)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseRunAt(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("parseRunAt(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
