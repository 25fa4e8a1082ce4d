package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestDurableWaitRacesPush creates waits and pushes their matching events at
// the same moment, many times over (on Postgres, in separate transactions
// under READ COMMITTED): every wait must see its event, through its lookback
// or through the push, and its run must end.
func TestDurableWaitRacesPush(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		const runs = 100
		_, a := startEngineServer(t, eng)
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "race", Tasks: []*switchyardv1.TaskSpec{
			{Name: "run", Action: "race.run", Retry: &switchyardv1.RetryPolicy{MaxAttempts: 1}},
		}})
		cond := eventWait("paid", "race.paid", "event.payload.order == input.order", time.Hour, 0)
		var mu sync.Mutex
		atOnce := 0
		startRawWorker(t, a, []string{"race.run"}, 20, func(w *rawWorker, as *switchyardv1.TaskAssignment) {
			if as.GetAttempt() > 1 {
				if err := w.complete(as, map[string]any{}); err != nil {
					t.Errorf("complete resumed: %v", err)
				}
				return
			}
			order := as.GetInput().AsMap()["order"]
			start := make(chan struct{})
			var wg sync.WaitGroup
			var res *switchyardv1.WaitResponse
			var werr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				res, werr = w.wait(as, "w", switchyardv1.WaitMode_WAIT_MODE_ANY, cond)
			}()
			go func() {
				defer wg.Done()
				<-start
				_, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "race.paid", Payload: mustStruct(map[string]any{"order": order})}))
				if err != nil {
					t.Errorf("push: %v", err)
				}
			}()
			close(start)
			wg.Wait()
			if werr != nil {
				t.Errorf("wait: %v", werr)
				return
			}
			if res.GetResolved() {
				mu.Lock()
				atOnce++
				mu.Unlock()
				if err := w.complete(as, map[string]any{}); err != nil {
					t.Errorf("complete: %v", err)
				}
			}
		})
		ids := make([]string, runs)
		for i := range runs {
			ids[i] = runWorkflow(t, a, "race", map[string]any{"order": fmt.Sprint("o-", i)})
		}
		for _, id := range ids {
			if run := waitRun(t, a, id, 60*time.Second); run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
				t.Fatalf("run %s ended %v (task %v), want SUCCEEDED: a wait missed its event", id, run.GetStatus(), taskByName(run, "run"))
			}
		}
		t.Logf("%d of %d waits found their event by lookback, the others were woken by the push", atOnce, runs)
	})
}
