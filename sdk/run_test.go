package sdk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

func TestClientRunWorkflowOptions(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		srv := servertest.Start(t, eng, servertest.Options{})
		for _, p := range protocols {
			t.Run(eng.Name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p))
				name := "sdk-run-" + p.String()
				putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: name})

				at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
				res, err := c.RunWorkflow(ctx, name, map[string]any{"n": 1}, sdk.WithRunAt(at), sdk.WithPriority(7))
				if err != nil {
					t.Fatalf("run workflow: %v", err)
				}
				run, err := c.GetRun(ctx, res.GetRunId())
				if err != nil {
					t.Fatal(err)
				}
				if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SCHEDULED || !run.GetScheduledAt().AsTime().Equal(at) ||
					run.GetPriority() != 7 || run.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL {
					t.Errorf("run = status %s, scheduled_at %v, priority %d, trigger %s; want SCHEDULED, %v, 7, MANUAL",
						run.GetStatus(), run.GetScheduledAt().AsTime(), run.GetPriority(), run.GetTrigger(), at)
				}

				// Without options the run starts now, with priority 0.
				now, err := c.RunWorkflow(ctx, name, nil)
				if err != nil {
					t.Fatalf("run workflow: %v", err)
				}
				run, err = c.GetRun(ctx, now.GetRunId())
				if err != nil {
					t.Fatal(err)
				}
				if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED || run.GetScheduledAt() != nil || run.GetPriority() != 0 {
					t.Errorf("run without options = status %s, scheduled_at %v, priority %d; want QUEUED, none, 0",
						run.GetStatus(), run.GetScheduledAt(), run.GetPriority())
				}

				scheduled, err := c.ListRuns(ctx, &switchyardv1.ListRunsRequest{Workflow: name, Status: switchyardv1.RunStatus_RUN_STATUS_SCHEDULED})
				if err != nil {
					t.Fatalf("list runs: %v", err)
				}
				if got := runIDs(scheduled.GetRuns()); !slices.Equal(got, []string{res.GetRunId()}) {
					t.Errorf("scheduled runs = %v, want [%s]", got, res.GetRunId())
				}

				// The same options and key again: the original run.
				again, err := c.RunWorkflow(ctx, name, map[string]any{"n": 1}, sdk.WithRunAt(at), sdk.WithPriority(7),
					sdk.WithIdempotencyKey("delayed-"+p.String()))
				if err != nil {
					t.Fatal(err)
				}
				repeat, err := c.RunWorkflow(ctx, name, map[string]any{"n": 1}, sdk.WithRunAt(at), sdk.WithPriority(7),
					sdk.WithIdempotencyKey("delayed-"+p.String()))
				if err != nil {
					t.Fatal(err)
				}
				if again.GetDeduplicated() || !repeat.GetDeduplicated() || repeat.GetRunId() != again.GetRunId() {
					t.Errorf("deduplicated = %v then %v, runs %s and %s; want false then true, one run",
						again.GetDeduplicated(), repeat.GetDeduplicated(), again.GetRunId(), repeat.GetRunId())
				}
				_, err = c.RunWorkflow(ctx, name, map[string]any{"n": 1}, sdk.WithRunAt(at.Add(time.Minute)), sdk.WithPriority(7),
					sdk.WithIdempotencyKey("delayed-"+p.String()))
				if connect.CodeOf(err) != connect.CodeAlreadyExists {
					t.Errorf("the key with another run_at: %v, want already_exists", err)
				}
			})
		}
	}
}

func TestClientReplay(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		srv := servertest.Start(t, eng, servertest.Options{})
		for _, p := range protocols {
			t.Run(eng.Name+"/"+p.String(), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				c := sdk.NewClient(srv.URL, sdk.WithToken(servertest.AdminToken), sdk.WithProtocol(p))
				key := "sdk.replay." + p.String()
				name := "sdk-replay-" + p.String()
				filtered := "sdk-replay-filtered-" + p.String()
				putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: name, OnEvents: []string{key}})
				putOneTaskWorkflow(t, c, &switchyardv1.WorkflowSpec{Name: filtered,
					EventTriggers: []*switchyardv1.EventTrigger{{Key: key, Filter: "payload.n > 100"}}})

				pushed, err := c.Push(ctx, key, map[string]any{"n": 1}, sdk.WithPriority(4))
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				if len(pushed.GetRunIds()) != 1 {
					t.Fatalf("push started %v, want one run", pushed.GetRunIds())
				}
				eventID, origID := pushed.GetEvent().GetId(), pushed.GetRunIds()[0]

				replayed, err := c.ReplayEvent(ctx, eventID)
				if err != nil {
					t.Fatalf("replay event: %v", err)
				}
				wantSkipped := []*switchyardv1.SkippedTrigger{{Workflow: filtered, WorkflowVersion: 1, Trigger: key, Reason: "filter is false"}}
				if replayed.GetDeduplicated() || len(replayed.GetRunIds()) != 1 || replayed.GetRunIds()[0] == origID ||
					!slices.EqualFunc(replayed.GetSkippedTriggers(), wantSkipped, func(a, b *switchyardv1.SkippedTrigger) bool { return proto.Equal(a, b) }) {
					t.Errorf("replay event = %v; want one new run, %v skipped, not deduplicated", replayed, wantSkipped)
				}
				run, err := c.GetRun(ctx, replayed.GetRunIds()[0])
				if err != nil {
					t.Fatal(err)
				}
				if run.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY || run.GetEventId() != eventID || run.GetPriority() != 4 || run.GetWorkflow() != name {
					t.Errorf("replayed run = trigger %s, event %s, priority %d, workflow %s; want REPLAY, %s, 4, %s",
						run.GetTrigger(), run.GetEventId(), run.GetPriority(), run.GetWorkflow(), eventID, name)
				}

				// Without a caller's key each call has its own: a second replay
				// starts a second run.
				again, err := c.ReplayEvent(ctx, eventID)
				if err != nil {
					t.Fatal(err)
				}
				if again.GetDeduplicated() || len(again.GetRunIds()) != 1 || again.GetRunIds()[0] == replayed.GetRunIds()[0] {
					t.Errorf("second replay without a key = %v, want one more new run", again)
				}

				// A caller's key makes a second call return the first one's runs.
				first, err := c.ReplayEvent(ctx, eventID, sdk.WithIdempotencyKey("replay-"+p.String()))
				if err != nil {
					t.Fatal(err)
				}
				second, err := c.ReplayEvent(ctx, eventID, sdk.WithIdempotencyKey("replay-"+p.String()))
				if err != nil {
					t.Fatal(err)
				}
				if first.GetDeduplicated() || !second.GetDeduplicated() || !slices.Equal(first.GetRunIds(), second.GetRunIds()) {
					t.Errorf("replays with one key = %v then %v; want the same runs, deduplicated the second time", first, second)
				}

				// Only an ended run can be replayed.
				_, err = c.ReplayRun(ctx, origID, switchyardv1.ReplayMode_REPLAY_MODE_WHOLE)
				if connect.CodeOf(err) != connect.CodeFailedPrecondition {
					t.Errorf("replay run of a queued run: %v, want failed_precondition", err)
				}
				if _, err := c.CancelRun(ctx, origID, "to replay it"); err != nil {
					t.Fatal(err)
				}
				whole, err := c.ReplayRun(ctx, origID, switchyardv1.ReplayMode_REPLAY_MODE_WHOLE)
				if err != nil {
					t.Fatalf("replay run: %v", err)
				}
				if r := whole.GetRun(); whole.GetDeduplicated() || r.GetId() == origID || r.GetReplayOf() != origID ||
					r.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY || r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_QUEUED ||
					r.GetEventId() != eventID || r.GetPriority() != 4 || len(r.GetTasks()) != 1 {
					t.Errorf("replay run = %v; want a new QUEUED run with replay_of %s, trigger REPLAY, event %s, priority 4, one task",
						whole, origID, eventID)
				}
				fromFailed, err := c.ReplayRun(ctx, origID, switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED, sdk.WithIdempotencyKey("rr-"+p.String()))
				if err != nil {
					t.Fatalf("replay run from failed: %v", err)
				}
				repeat, err := c.ReplayRun(ctx, origID, switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED, sdk.WithIdempotencyKey("rr-"+p.String()))
				if err != nil {
					t.Fatal(err)
				}
				if fromFailed.GetDeduplicated() || !repeat.GetDeduplicated() || repeat.GetRun().GetId() != fromFailed.GetRun().GetId() ||
					fromFailed.GetRun().GetReplayOf() != origID {
					t.Errorf("replays from failed with one key = %v then %v; want one run replaying %s, deduplicated the second time",
						fromFailed, repeat, origID)
				}

				replays, err := c.ListRuns(ctx, &switchyardv1.ListRunsRequest{Workflow: name, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
				if err != nil {
					t.Fatalf("list runs: %v", err)
				}
				want := []string{ // newest first
					fromFailed.GetRun().GetId(), whole.GetRun().GetId(), first.GetRunIds()[0], again.GetRunIds()[0], replayed.GetRunIds()[0],
				}
				if got := runIDs(replays.GetRuns()); !slices.Equal(got, want) {
					t.Errorf("replay runs = %v, want %v", got, want)
				}
			})
		}
	}
}

// putOneTaskWorkflow puts spec with one task added.
func putOneTaskWorkflow(t *testing.T, c *sdk.Client, spec *switchyardv1.WorkflowSpec) {
	t.Helper()
	spec.Tasks = []*switchyardv1.TaskSpec{{Name: "only", Action: "sdk.test.noop"}}
	if _, err := c.PutWorkflow(context.Background(), spec); err != nil {
		t.Fatalf("put workflow %s: %v", spec.GetName(), err)
	}
}

func runIDs(runs []*switchyardv1.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.GetId()
	}
	return ids
}
