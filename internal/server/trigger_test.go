package server_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// runWorkflows returns the workflow of each run, sorted.
func runWorkflows(t *testing.T, a *api, runIDs []string) []string {
	t.Helper()
	var names []string
	for _, id := range runIDs {
		res, err := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
		if err != nil {
			t.Fatalf("get run %s: %v", id, err)
		}
		names = append(names, res.Msg.GetRun().GetWorkflow())
	}
	slices.Sort(names)
	return names
}

func getEvent(t *testing.T, a *api, id string) *switchyardv1.Event {
	t.Helper()
	res, err := a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: id}))
	if err != nil {
		t.Fatalf("get event %s: %v", id, err)
	}
	return res.Msg.GetEvent()
}

// TestTriggerMatching pushes events over every protocol against workflows with
// exact keys, * and ** patterns, filters, a scope and a failing filter, and
// checks the runs each event started (created in the push, returned in run_ids,
// listed by GetEvent) and the triggers it skipped.
func TestTriggerMatching(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, a := startEngineServer(t, eng)
		one := []*switchyardv1.TaskSpec{task("t", "match.noop")}
		for _, spec := range []*switchyardv1.WorkflowSpec{
			{Name: "exact", OnEvents: []string{"user.created"}, Tasks: one},
			{Name: "star", OnEvents: []string{"user.*"}, Tasks: one},
			{Name: "rest", OnEvents: []string{"order.**"}, Tasks: one},
			{Name: "filtered", EventTriggers: []*switchyardv1.EventTrigger{{Key: "order.*", Filter: `payload.amount > 100 && metadata.region == "eu"`}}, Tasks: one},
			{Name: "scoped", EventTriggers: []*switchyardv1.EventTrigger{{Key: "user.created", Scope: "acme"}}, Tasks: one},
			{Name: "broken", EventTriggers: []*switchyardv1.EventTrigger{{Key: "pay.done", Filter: `payload.missing.deeper == 1`}}, Tasks: one},
			// Quadratic work over a long list runs into the cost limit.
			{Name: "costly", EventTriggers: []*switchyardv1.EventTrigger{{Key: "cost.check", Filter: `payload.items.all(x, payload.items.all(y, x >= 0))`}}, Tasks: one},
			// Two triggers of one workflow that both match start one run.
			{Name: "twice", OnEvents: []string{"dup.*", "dup.**"}, Tasks: one},
		} {
			putWorkflow(t, a, spec)
		}
		eu := map[string]string{"region": "eu"}
		tests := []struct {
			key      string
			scope    string
			payload  map[string]any
			metadata map[string]string
			want     []string
			skipped  map[string]string // workflow -> part of the reason
		}{
			{key: "user.created", want: []string{"exact", "star"}},
			{key: "user.created", scope: "acme", want: []string{"exact", "scoped", "star"}},
			{key: "user.created", scope: "other", want: []string{"exact", "star"}},
			{key: "user.a.b"},
			{key: "user"},
			{key: "order.paid", payload: map[string]any{"amount": 150}, metadata: eu, want: []string{"filtered", "rest"}},
			{key: "order.paid", payload: map[string]any{"amount": 50}, metadata: eu, want: []string{"rest"}, skipped: map[string]string{"filtered": "filter is false"}},
			{key: "order.eu.paid", payload: map[string]any{"amount": 150}, metadata: eu, want: []string{"rest"}},
			{key: "order"},
			{key: "pay.done", payload: map[string]any{"x": 1}, skipped: map[string]string{"broken": "no such key"}},
			{key: "dup.one", want: []string{"twice"}},
			{key: "cost.check", payload: map[string]any{"items": numbers(1000)}, skipped: map[string]string{"costly": "cost limit"}},
		}
		protocols := servertest.Protocols()
		for i, tt := range tests {
			p := protocols[i%len(protocols)]
			c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
			res, err := c.push(context.Background(), &switchyardv1.PushEventRequest{Key: tt.key, Scope: tt.scope, Payload: mustStruct(tt.payload), Metadata: tt.metadata})
			if err != nil {
				t.Fatalf("%s %s: push: %v", p.Name, tt.key, err)
			}
			got := runWorkflows(t, a, res.GetRunIds())
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: %s (scope %q, payload %v) started %v, want %v", p.Name, tt.key, tt.scope, tt.payload, got, tt.want)
			}
			ev := getEvent(t, a, res.GetEvent().GetId())
			if !slices.Equal(ev.GetRunIds(), res.GetRunIds()) {
				t.Errorf("%s: GetEvent lists runs %v, the push returned %v", tt.key, ev.GetRunIds(), res.GetRunIds())
			}
			skipped := map[string]string{}
			for _, s := range ev.GetSkippedTriggers() {
				skipped[s.GetWorkflow()] = s.GetReason()
				if s.GetWorkflowVersion() != 1 || s.GetTrigger() == "" {
					t.Errorf("%s: skipped trigger %v lacks its version or pattern", tt.key, s)
				}
			}
			if len(skipped) != len(tt.skipped) {
				t.Errorf("%s: skipped %v, want %v", tt.key, skipped, tt.skipped)
			}
			for wf, part := range tt.skipped {
				if !strings.Contains(skipped[wf], part) {
					t.Errorf("%s: %s skipped with %q, want a reason containing %q", tt.key, wf, skipped[wf], part)
				}
			}
			for _, id := range res.GetRunIds() {
				r, _ := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
				if r.Msg.GetRun().GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_EVENT || r.Msg.GetRun().GetEventId() != ev.GetId() {
					t.Errorf("%s: run %s has trigger %v, event %s", tt.key, id, r.Msg.GetRun().GetTrigger(), r.Msg.GetRun().GetEventId())
				}
			}
		}
	})
}

// TestTriggerRulesAreChecked puts specs with bad patterns, filters, cron
// schedules, time zones and concurrency keys: each is invalid_argument naming the
// field (and the position, for expressions), and nothing is stored.
func TestTriggerRulesAreChecked(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		one := []*switchyardv1.TaskSpec{task("t", "x")}
		tests := []struct {
			name  string
			spec  *switchyardv1.WorkflowSpec
			field string
			want  string
		}{
			{"partial star", &switchyardv1.WorkflowSpec{OnEvents: []string{"us*er.created"}}, "spec.on_events[0]", "whole segments"},
			{"inner **", &switchyardv1.WorkflowSpec{EventTriggers: []*switchyardv1.EventTrigger{{Key: "a.**.b"}}}, "spec.event_triggers[0].key", "last segment"},
			{"empty segment", &switchyardv1.WorkflowSpec{OnEvents: []string{"a..b"}}, "spec.on_events[0]", "empty"},
			{"syntax", &switchyardv1.WorkflowSpec{EventTriggers: []*switchyardv1.EventTrigger{{Key: "a", Filter: "payload.amount >"}}}, "spec.event_triggers[0].filter", "1:17"},
			{"not bool", &switchyardv1.WorkflowSpec{EventTriggers: []*switchyardv1.EventTrigger{{Key: "a", Filter: `key + "x"`}}}, "spec.event_triggers[0].filter", "not bool"},
			{"unknown variable", &switchyardv1.WorkflowSpec{EventTriggers: []*switchyardv1.EventTrigger{{Key: "a", Filter: "body.x == 1"}}}, "spec.event_triggers[0].filter", "undeclared reference to 'body'"},
			{"cron fields", &switchyardv1.WorkflowSpec{OnCron: []*switchyardv1.CronTrigger{{Schedule: "61 * * * *"}}}, "spec.on_cron[0]", "61"},
			{"cron zone", &switchyardv1.WorkflowSpec{OnCron: []*switchyardv1.CronTrigger{{Schedule: "@hourly", TimeZone: "Mars/Olympus"}}}, "spec.on_cron[0]", "unknown time zone"},
			{"cron twice", &switchyardv1.WorkflowSpec{OnCron: []*switchyardv1.CronTrigger{{Schedule: "@hourly"}, {Schedule: "@hourly"}}}, "spec.on_cron[1]", "twice"},
			{"concurrency key", &switchyardv1.WorkflowSpec{Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.", MaxRuns: 1}}, "spec.concurrency.key", "1:9"},
			{"concurrency list", &switchyardv1.WorkflowSpec{Concurrency: &switchyardv1.ConcurrencyRule{Key: "[1]", MaxRuns: 1}}, "spec.concurrency.key", "not string"},
			{"max runs", &switchyardv1.WorkflowSpec{Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.id", MaxRuns: 0}}, "spec.concurrency.max_runs", ""},
		}
		for _, tt := range tests {
			tt.spec.Name, tt.spec.Tasks = "bad", one
			_, err := a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: tt.spec}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("%s: %v, want invalid_argument naming %s and mentioning %q", tt.name, err, tt.field, tt.want)
			}
		}
		if _, err := a.workflows.GetWorkflow(context.Background(), connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "bad"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("a rejected spec was stored: %v", err)
		}
		// A valid spec with every rule comes back as it was put.
		spec := &switchyardv1.WorkflowSpec{
			Name: "full", Tasks: one, OnEvents: []string{"a.*"},
			EventTriggers: []*switchyardv1.EventTrigger{{Key: "b.**", Filter: "payload.n > 1", Scope: "s"}},
			OnCron:        []*switchyardv1.CronTrigger{{Schedule: "*/5 * * * *", TimeZone: "Europe/Paris"}, {Schedule: "30 * * * * *"}},
			Concurrency:   &switchyardv1.ConcurrencyRule{Key: "payload.customer", MaxRuns: 2, Strategy: switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST},
		}
		res, err := a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: spec}))
		if err != nil {
			t.Fatal(err)
		}
		got := res.Msg.GetWorkflow().GetSpec()
		if len(got.GetEventTriggers()) != 1 || got.GetEventTriggers()[0].GetFilter() != "payload.n > 1" || len(got.GetOnCron()) != 2 ||
			got.GetOnCron()[0].GetTimeZone() != "Europe/Paris" || got.GetConcurrency().GetStrategy() != switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST {
			t.Fatalf("stored spec %v", got)
		}
		spec.Concurrency.Strategy = switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_UNSPECIFIED
		spec.Name = "defaulted"
		res, err = a.workflows.PutWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: spec}))
		if err != nil || res.Msg.GetWorkflow().GetSpec().GetConcurrency().GetStrategy() != switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE {
			t.Fatalf("unspecified strategy: %v, %v; want QUEUE", res, err)
		}
	})
}

// TestReplayEvent replays an event after a second workflow started listening:
// the replay starts runs of both, linked to the event with trigger REPLAY, and
// its idempotency key makes it safe to retry.
func TestReplayEvent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "first", OnEvents: []string{"replay.me"}, Tasks: []*switchyardv1.TaskSpec{task("t", "x")}})
		pushed, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "replay.me", Payload: mustStruct(map[string]any{"n": 7})}))
		if err != nil {
			t.Fatal(err)
		}
		evID := pushed.Msg.GetEvent().GetId()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "second", OnEvents: []string{"replay.*"}, Tasks: []*switchyardv1.TaskSpec{task("t", "x")}})
		req := &switchyardv1.ReplayEventRequest{Id: evID, IdempotencyKey: "replay-1"}
		r1, err := a.events.ReplayEvent(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatal(err)
		}
		if got := runWorkflows(t, a, r1.Msg.GetRunIds()); !slices.Equal(got, []string{"first", "second"}) || r1.Msg.GetDeduplicated() {
			t.Fatalf("replay started %v (deduplicated %v), want first and second", got, r1.Msg.GetDeduplicated())
		}
		for _, id := range r1.Msg.GetRunIds() {
			r, _ := a.runs.GetRun(ctx, connect.NewRequest(&switchyardv1.GetRunRequest{Id: id}))
			run := r.Msg.GetRun()
			if run.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY || run.GetEventId() != evID || run.GetInput().GetFields()["n"].GetNumberValue() != 7 {
				t.Errorf("replayed run %v", run)
			}
		}
		r2, err := a.events.ReplayEvent(ctx, connect.NewRequest(req))
		if err != nil || !r2.Msg.GetDeduplicated() || !slices.Equal(r2.Msg.GetRunIds(), r1.Msg.GetRunIds()) {
			t.Fatalf("repeated replay: %v, %v; want the first runs, deduplicated", r2, err)
		}
		other, _ := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "replay.other"}))
		_, err = a.events.ReplayEvent(ctx, connect.NewRequest(&switchyardv1.ReplayEventRequest{Id: other.Msg.GetEvent().GetId(), IdempotencyKey: "replay-1"}))
		if connect.CodeOf(err) != connect.CodeAlreadyExists {
			t.Fatalf("key reused for another event: %v, want already_exists", err)
		}
		_, err = a.events.ReplayEvent(ctx, connect.NewRequest(&switchyardv1.ReplayEventRequest{Id: "0193e0a4-0000-7000-8000-000000000000"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("replay of an unknown event: %v, want not_found", err)
		}
		ev := getEvent(t, a, evID)
		if len(ev.GetRunIds()) != 3 {
			t.Fatalf("event lists runs %v, want the original and the two replays", ev.GetRunIds())
		}
		list, err := a.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY}))
		if err != nil || len(list.Msg.GetRuns()) != 2 {
			t.Fatalf("runs listed with trigger REPLAY: %v, %v; want 2", list, err)
		}
	})
}

// TestReplayRun fails a run in its second task, then replays it from the failed
// task (the first keeps its output and does not run again) and whole.
func TestReplayRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		_, a := startEngineServer(t, eng)
		ctx := context.Background()
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "flaky", Tasks: []*switchyardv1.TaskSpec{
			task("fetch", "replay.fetch"), {Name: "use", Action: "replay.use", Parents: []string{"fetch"}, Retry: fastRetry(1)},
		}})
		assigned := make(chan *switchyardv1.TaskAssignment, 16)
		var failUse atomic.Bool
		failUse.Store(true)
		startRawWorker(t, a, []string{"replay.fetch", "replay.use"}, 2, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			assigned <- as
			if as.GetTaskName() == "use" && failUse.Load() {
				_ = w.fail(as, "boom", false)
				return
			}
			_ = w.complete(as, map[string]any{"from": as.GetTaskName() + "/" + as.GetRunId()})
		})
		started, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "flaky", Input: mustStruct(map[string]any{"n": 1})}))
		if err != nil {
			t.Fatal(err)
		}
		orig := waitRun(t, a, started.Msg.GetRunId(), 20*time.Second)
		if orig.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_FAILED {
			t.Fatalf("original run %v, want FAILED", orig.GetStatus())
		}
		drain := func() []string {
			var names []string
			for {
				select {
				case as := <-assigned:
					names = append(names, as.GetTaskName())
				default:
					return names
				}
			}
		}
		drain()
		failUse.Store(false)
		res, err := a.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: orig.GetId(), Mode: switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED, IdempotencyKey: "rr"}))
		if err != nil {
			t.Fatal(err)
		}
		replay := waitRun(t, a, res.Msg.GetRun().GetId(), 20*time.Second)
		fetchOut := taskByName(orig, "fetch").GetOutput().GetFields()["from"].GetStringValue()
		if replay.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED || replay.GetReplayOf() != orig.GetId() ||
			replay.GetTrigger() != switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY || replay.GetInput().GetFields()["n"].GetNumberValue() != 1 {
			t.Fatalf("replay from failed: %v", replay)
		}
		if got := taskByName(replay, "fetch").GetOutput().GetFields()["from"].GetStringValue(); got != fetchOut {
			t.Errorf("fetch output in the replay %q, want the original %q", got, fetchOut)
		}
		if names := drain(); !slices.Equal(names, []string{"use"}) {
			t.Errorf("replay from failed ran %v, want only use", names)
		}
		again, err := a.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: orig.GetId(), Mode: switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED, IdempotencyKey: "rr"}))
		if err != nil || !again.Msg.GetDeduplicated() || again.Msg.GetRun().GetId() != replay.GetId() {
			t.Fatalf("repeated replay: %v, %v", again, err)
		}
		whole, err := a.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: orig.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		if r := waitRun(t, a, whole.Msg.GetRun().GetId(), 20*time.Second); r.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
			t.Fatalf("whole replay %v", r.GetStatus())
		}
		if names := drain(); !slices.Equal(names, []string{"fetch", "use"}) {
			t.Errorf("whole replay ran %v, want fetch then use", names)
		}
		_, err = a.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: replay.GetId(), Mode: switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED}))
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Errorf("from-failed replay of a succeeded run: %v, want failed_precondition", err)
		}
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "idle", Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		active, _ := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "idle"}))
		_, err = a.runs.ReplayRun(ctx, connect.NewRequest(&switchyardv1.ReplayRunRequest{Id: active.Msg.GetRunId()}))
		if connect.CodeOf(err) != connect.CodeFailedPrecondition {
			t.Errorf("replay of an active run: %v, want failed_precondition", err)
		}
	})
}

// numbers returns 0..n-1 as a JSON list.
func numbers(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}
