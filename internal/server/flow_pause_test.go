package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

func pauseWorkflow(t *testing.T, a *api, name string, skipCron bool) *switchyardv1.Workflow {
	t.Helper()
	res, err := a.workflows.PauseWorkflow(context.Background(), connect.NewRequest(&switchyardv1.PauseWorkflowRequest{Name: name, SkipCronTicks: skipCron}))
	if err != nil {
		t.Fatalf("pause %s: %v", name, err)
	}
	return res.Msg.GetWorkflow()
}

func runStatuses(t *testing.T, a *api, workflow string) map[switchyardv1.RunStatus]int {
	t.Helper()
	out := map[switchyardv1.RunStatus]int{}
	for _, r := range listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: workflow}) {
		out[r.GetStatus()]++
	}
	return out
}

// TestPauseKeepsRunsAcrossRestart pauses a workflow: the runs its events and
// a manual call start are held PAUSED, through a server restart; resuming on
// the new server releases them all, in the order they were created, and they
// run to the end.
func TestPauseKeepsRunsAcrossRestart(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		cfg := restartableStore(t, eng)
		first := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		a := newAPI(first.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "mail", OnEvents: []string{"mail.send"}, Tasks: []*switchyardv1.TaskSpec{task("t", "mail")}})
		if wf := pauseWorkflow(t, a, "mail", false); !wf.GetPaused() || wf.GetPausedAt() == nil {
			t.Fatalf("paused workflow: %v", wf)
		}
		var created []string
		for i := range 5 {
			res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "mail.send", Payload: mustStruct(map[string]any{"i": i})}))
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, res.Msg.GetRunIds()...)
		}
		manual, err := a.workflows.RunWorkflow(context.Background(), connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "mail"}))
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, manual.Msg.GetRunId())
		if got := runStatuses(t, a, "mail"); got[switchyardv1.RunStatus_RUN_STATUS_PAUSED] != 6 || len(got) != 1 {
			t.Fatalf("statuses while paused: %v, want 6 PAUSED", got)
		}
		first.Stop()

		second := servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: fastEngine})
		b := newAPI(second.URL, grpcProtocol())
		var mu sync.Mutex
		var order []string
		startRawWorker(t, b, []string{"mail"}, 1, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			mu.Lock()
			order = append(order, as.GetRunId())
			mu.Unlock()
			if err := w.complete(as, nil); err != nil {
				t.Errorf("complete: %v", err)
			}
		})
		wf, err := b.workflows.GetWorkflow(context.Background(), connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: "mail"}))
		if err != nil || !wf.Msg.GetWorkflow().GetPaused() {
			t.Fatalf("after the restart: %v, %v; want paused", wf, err)
		}
		if got := runStatuses(t, b, "mail"); got[switchyardv1.RunStatus_RUN_STATUS_PAUSED] != 6 || len(got) != 1 {
			t.Fatalf("statuses after the restart: %v, want 6 PAUSED", got)
		}
		res, err := b.workflows.ResumeWorkflow(context.Background(), connect.NewRequest(&switchyardv1.ResumeWorkflowRequest{Name: "mail"}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Msg.GetReleased() != 6 || res.Msg.GetWorkflow().GetPaused() {
			t.Fatalf("resume: %v, want 6 released and not paused", res.Msg)
		}
		waitFor(t, "the released runs to succeed", 30*time.Second, func() bool {
			return runStatuses(t, b, "mail")[switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED] == 6
		})
		mu.Lock()
		defer mu.Unlock()
		if len(order) != 6 {
			t.Fatalf("%d tasks ran, want 6", len(order))
		}
		for i := range order {
			if order[i] != created[i] {
				t.Fatalf("runs ran in order %v, want the order they were created %v", order, created)
			}
		}
	})
}

// TestPauseCronTicks: a paused workflow skipping ticks adds no cron run; one
// keeping them adds held runs.
func TestPauseCronTicks(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "tick", OnCron: []*switchyardv1.CronTrigger{{Schedule: "@every 1s"}}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		if wf := pauseWorkflow(t, a, "tick", true); !wf.GetSkipCronWhilePaused() {
			t.Fatalf("paused workflow: %v, want skipping cron ticks", wf)
		}
		before := len(listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "tick"}))
		time.Sleep(2500 * time.Millisecond) // two ticks or more
		if got := runStatuses(t, a, "tick"); got[switchyardv1.RunStatus_RUN_STATUS_PAUSED] != 0 || len(listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "tick"})) != before {
			t.Fatalf("ticks skipped while paused added runs: %v (had %d)", got, before)
		}
		pauseWorkflow(t, a, "tick", false)
		waitFor(t, "a held cron run", 10*time.Second, func() bool {
			return runStatuses(t, a, "tick")[switchyardv1.RunStatus_RUN_STATUS_PAUSED] > 0
		})
	})
}
