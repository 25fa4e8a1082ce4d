package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// pushRuns starts n runs of the workflow that key triggers, with metadata.
func pushRuns(t testing.TB, a *api, key string, n int, metadata map[string]string) {
	t.Helper()
	for from := 0; from < n; from += 1000 {
		var events []*switchyardv1.PushEventRequest
		for i := from; i < min(n, from+1000); i++ {
			events = append(events, &switchyardv1.PushEventRequest{Key: key, Payload: mustStruct(map[string]any{"i": i}), Metadata: metadata})
		}
		if _, err := a.events.BulkPushEvents(context.Background(), connect.NewRequest(&switchyardv1.BulkPushEventsRequest{Events: events})); err != nil {
			t.Fatal(err)
		}
	}
}

// watchBulk watches an operation to its end and returns its last state and
// how many messages came.
func watchBulk(t testing.TB, a *api, id string) (*switchyardv1.BulkOperation, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	stream, err := a.runs.WatchBulkOperation(ctx, connect.NewRequest(&switchyardv1.WatchBulkOperationRequest{Id: id}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var last *switchyardv1.BulkOperation
	n := 0
	for stream.Receive() {
		if op := stream.Msg().GetOperation(); op != nil {
			if last != nil && op.GetProcessed() < last.GetProcessed() {
				t.Fatalf("progress went back from %d to %d", last.GetProcessed(), op.GetProcessed())
			}
			last, n = op, n+1
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("watch: %v", err)
	}
	if last == nil || !last.GetDone() {
		t.Fatalf("the stream ended before the operation was done: %v", last)
	}
	return last, n
}

// TestBulkCancelAndReplay cancels the queued runs of one workflow started by
// events with given metadata (more than one batch of them), leaving the rest;
// then replays the cancelled runs.
func TestBulkCancelAndReplay(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		a := newAPI(srv.URL, grpcProtocol())
		for _, name := range []string{"bulk", "other"} {
			putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: name, OnEvents: []string{name + ".go"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		}
		const n = 1200 // more than two batches
		pushRuns(t, a, "bulk.go", n, map[string]string{"region": "eu"})
		pushRuns(t, a, "bulk.go", 30, map[string]string{"region": "us"})
		pushRuns(t, a, "other.go", 20, map[string]string{"region": "eu"})
		res, err := a.runs.BulkCancelRuns(context.Background(), connect.NewRequest(&switchyardv1.BulkCancelRunsRequest{
			Selector: &switchyardv1.RunSelector{Workflow: "bulk", Statuses: []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_QUEUED},
				EventKey: "bulk.go", EventMetadata: map[string]string{"region": "eu"}},
			Reason: "region drained"}))
		if err != nil {
			t.Fatal(err)
		}
		if op := res.Msg.GetOperation(); op.GetMatched() != n || op.GetKind() != switchyardv1.BulkOperationKind_BULK_OPERATION_KIND_CANCEL {
			t.Fatalf("operation started: %v, want %d matched", op, n)
		}
		op, msgs := watchBulk(t, a, res.Msg.GetOperation().GetId())
		if op.GetProcessed() != n || op.GetAffected() != n {
			t.Fatalf("operation done: %v, want %d processed and cancelled", op, n)
		}
		if msgs < 2 {
			t.Fatalf("%d progress messages, want the start and the end at least", msgs)
		}
		if queued := listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "bulk", Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED}); len(queued) != 30 {
			t.Fatalf("%d bulk runs queued, want the 30 us runs", len(queued))
		}
		if got := runStatuses(t, a, "other"); got[switchyardv1.RunStatus_RUN_STATUS_QUEUED] != 20 {
			t.Fatalf("other workflow's statuses %v, want 20 queued", got)
		}
		cancelled := listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "bulk", Status: switchyardv1.RunStatus_RUN_STATUS_CANCELLED})
		if e := cancelled[0].GetError(); e != "region drained" {
			t.Fatalf("cancelled run's error %q", e)
		}

		rep, err := a.runs.BulkReplayRuns(context.Background(), connect.NewRequest(&switchyardv1.BulkReplayRunsRequest{
			Selector: &switchyardv1.RunSelector{Workflow: "bulk", Statuses: []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_CANCELLED},
				CreatedAfter: cancelled[len(cancelled)-1].GetCreatedAt()}}))
		if err != nil {
			t.Fatal(err)
		}
		matched := rep.Msg.GetOperation().GetMatched()
		op, _ = watchBulk(t, a, rep.Msg.GetOperation().GetId())
		if matched == 0 || op.GetAffected() != matched {
			t.Fatalf("replay: %v, want each of the %d matched runs replayed", op, matched)
		}
		replays := listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "bulk", Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY})
		if int64(len(replays)) != min(matched, 500) {
			t.Fatalf("%d replays listed, want %d", len(replays), min(matched, 500))
		}
	})
}

// TestCancelOnEvent cancels the run of one order when its cancellation event
// comes: the other orders' runs go on.
func TestCancelOnEvent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv := servertest.Start(t, eng, servertest.Options{Engine: fastEngine})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "order", OnEvents: []string{"order.placed"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")},
			CancelOn: []*switchyardv1.CancelOnEvent{{Key: "order.cancelled", Condition: "event.payload.order_id == input.order_id"}}})
		runs := map[string]string{}
		for _, id := range []string{"o1", "o2", "o3"} {
			res, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "order.placed", Payload: mustStruct(map[string]any{"order_id": id})}))
			if err != nil {
				t.Fatal(err)
			}
			runs[id] = res.Msg.GetRunIds()[0]
		}
		ev, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "order.cancelled", Payload: mustStruct(map[string]any{"order_id": "o2"})}))
		if err != nil {
			t.Fatal(err)
		}
		for id, runID := range runs {
			run := getRun(t, a, runID)
			want := switchyardv1.RunStatus_RUN_STATUS_QUEUED
			if id == "o2" {
				want = switchyardv1.RunStatus_RUN_STATUS_CANCELLED
				if e := fmt.Sprintf("cancelled by event %s (order.cancelled)", ev.Msg.GetEvent().GetId()); run.GetError() != e {
					t.Fatalf("cancelled run's error %q, want %q", run.GetError(), e)
				}
			}
			if run.GetStatus() != want {
				t.Fatalf("run of %s is %s, want %s", id, run.GetStatus(), want)
			}
		}
	})
}

// TestIdleLoopsWakeOnTheirWork: with the engine's loops looking for work only
// once an hour (as an idle server's do, at most every IdleInterval), a
// debounce window still fires at its time and a bulk operation runs when it
// is started: each wakes the servers itself.
func TestIdleLoopsWakeOnTheirWork(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		cfg := fastEngine
		cfg.ScheduleInterval, cfg.IdleInterval = time.Hour, time.Hour
		srv := servertest.Start(t, eng, servertest.Options{Engine: cfg})
		a := newAPI(srv.URL, grpcProtocol())
		putWorkflow(t, a, debounceSpec("typing"))
		putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "bulk", OnEvents: []string{"bulk.go"}, Tasks: []*switchyardv1.TaskSpec{task("t", "nobody")}})
		pushed, err := a.events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{
			Key: "typing.key", Payload: mustStruct(map[string]any{"user": "u1"})}))
		if err != nil {
			t.Fatal(err)
		}
		pushRuns(t, a, "bulk.go", 3, nil)
		res, err := a.runs.BulkCancelRuns(context.Background(), connect.NewRequest(&switchyardv1.BulkCancelRunsRequest{
			Selector: &switchyardv1.RunSelector{Workflow: "bulk"}}))
		if err != nil {
			t.Fatal(err)
		}
		if op, _ := watchBulk(t, a, res.Msg.GetOperation().GetId()); op.GetAffected() != 3 {
			t.Fatalf("bulk operation: %v, want its 3 runs cancelled", op)
		}
		// The quiet period is 2 s.
		waitFor(t, "the debounced run", 30*time.Second, func() bool {
			return len(listRuns(t, a, &switchyardv1.ListRunsRequest{Workflow: "typing", EventId: pushed.Msg.GetEvent().GetId()})) == 1
		})
	})
}
