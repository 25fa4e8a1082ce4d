package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

func TestReplayCommands(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken))
	ctx := context.Background()
	putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: "cli-replay", OnEvents: []string{"cli.replay"}})
	putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: "cli-replay-big",
		EventTriggers: []*switchyardv1.EventTrigger{{Key: "cli.replay", Filter: "payload.amount > 100"}}})
	pushed, err := c.Push(ctx, "cli.replay", map[string]any{"amount": 5}, sdk.WithPriority(3))
	if err != nil {
		t.Fatal(err)
	}
	eventID, origID := pushed.GetEvent().GetId(), pushed.GetRunIds()[0]

	out := mustCLI(t, srv.URL, "events", "replay", eventID)
	replays, err := c.ListRuns(ctx, &switchyardv1.ListRunsRequest{Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
	if err != nil {
		t.Fatal(err)
	}
	if len(replays.GetRuns()) != 1 {
		t.Fatalf("events replay started runs %v, want one", runIDs(replays.GetRuns()))
	}
	eventReplayID := replays.GetRuns()[0].GetId()
	want := fmt.Sprintf(`RUNS          %s
DEDUPLICATED  false

SKIPPED WORKFLOW  VERSION  TRIGGER     REASON
cli-replay-big    1        cli.replay  filter is false
`, eventReplayID)
	if out != want {
		t.Errorf("events replay printed\n%s\nwant\n%s", out, want)
	}

	// With a key, a repeat prints the original runs, deduplicated.
	var first, second switchyardv1.ReplayEventResponse
	for _, res := range []*switchyardv1.ReplayEventResponse{&first, &second} {
		if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "events", "replay", eventID, "--idempotency-key", "cli-replay-1", "-o", "json")), res); err != nil {
			t.Fatal(err)
		}
	}
	if first.GetDeduplicated() || !second.GetDeduplicated() || len(first.GetRunIds()) != 1 || !slices.Equal(first.GetRunIds(), second.GetRunIds()) {
		t.Errorf("events replay with a key = %v then %v; want one run, deduplicated the second time", &first, &second)
	}
	if got, want := mustCLI(t, srv.URL, "events", "replay", eventID, "--idempotency-key", "cli-replay-1"),
		"RUNS          "+first.GetRunIds()[0]+"\nDEDUPLICATED  true\n"; got != want {
		t.Errorf("events replay deduplicated printed %q, want %q", got, want)
	}

	// Only an ended run can be replayed.
	_, err = cli(t, srv.URL, "runs", "replay", origID)
	if err == nil || !strings.Contains(err.Error(), "failed_precondition") || !strings.Contains(err.Error(), "has not ended") {
		t.Errorf("runs replay of a queued run: %v, want failed_precondition: has not ended", err)
	}
	if _, err := c.CancelRun(ctx, origID, "to replay it"); err != nil {
		t.Fatal(err)
	}
	replayID := strings.TrimSpace(mustCLI(t, srv.URL, "runs", "replay", origID))
	replay := mustGetRun(t, c, replayID)
	wantRun := fmt.Sprintf(`ID         %s
WORKFLOW   cli-replay (version 1)
STATUS     QUEUED
TRIGGER    REPLAY
EVENT      %s
REPLAY OF  %s
PRIORITY   3
CREATED    %s
FINISHED   -
ERROR      -

TASK  ACTION         STATUS  ATTEMPT  PARENTS  WORKER  ERROR
only  cli.test.noop  QUEUED  0/3      -        -       -
`, replayID, eventID, origID, formatTime(replay.GetCreatedAt()))
	if got := mustCLI(t, srv.URL, "runs", "get", replayID); got != wantRun {
		t.Errorf("runs get of a replay printed\n%s\nwant\n%s", got, wantRun)
	}

	var fromFailed, again switchyardv1.ReplayRunResponse
	for _, res := range []*switchyardv1.ReplayRunResponse{&fromFailed, &again} {
		if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "runs", "replay", origID, "--from-failed", "--idempotency-key", "cli-rr", "-o", "json")), res); err != nil {
			t.Fatal(err)
		}
	}
	if fromFailed.GetDeduplicated() || !again.GetDeduplicated() || fromFailed.GetRun().GetReplayOf() != origID ||
		again.GetRun().GetId() != fromFailed.GetRun().GetId() {
		t.Errorf("runs replay --from-failed with a key = %v then %v; want one replay of %s, deduplicated the second time", &fromFailed, &again, origID)
	}
	// The same key for a whole replay of the run is another replay.
	_, err = cli(t, srv.URL, "runs", "replay", origID, "--idempotency-key", "cli-rr")
	if err == nil || !strings.Contains(err.Error(), "already_exists") {
		t.Errorf("runs replay with a key used for another replay: %v, want already_exists", err)
	}

	var list switchyardv1.ListRunsResponse
	if err := protojson.Unmarshal([]byte(mustCLI(t, srv.URL, "runs", "list", "--trigger", "replay", "--workflow", "cli-replay", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{fromFailed.GetRun().GetId(), replayID, first.GetRunIds()[0], eventReplayID}
	if got := runIDs(list.GetRuns()); !slices.Equal(got, wantIDs) {
		t.Errorf("runs list --trigger replay = %v, want %v", got, wantIDs)
	}
	text := mustCLI(t, srv.URL, "runs", "list", "--trigger", "event")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], origID+"  cli-replay  1        CANCELLED  EVENT    "+eventID+"  ") {
		t.Errorf("runs list --trigger event printed\n%s\nwant one row for %s", text, origID)
	}
}
