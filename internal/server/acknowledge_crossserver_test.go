package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
)

// TestAcknowledgeOnOtherServerWakesStreamHolder gives a worker a Listen stream
// on server A and sends its acknowledgements to server B (both on one
// Postgres database). Both servers dispatch only when woken: their dispatch
// and idle intervals are ten minutes. The worker acknowledged before, so its
// new stream gets work only once its first keep-alive is acknowledged; a task
// queued before that acknowledgement must reach the stream once B stores it,
// which only a wake-up of A, not its next look, can do within the deadline.
func TestAcknowledgeOnOtherServerWakesStreamHolder(t *testing.T) {
	t.Parallel()
	a, b := startTwoServers(t, engine.Config{
		HeartbeatInterval: time.Minute,
		KeepaliveInterval: time.Minute, // no keep-alive after the first during the test
		DispatchInterval:  10 * time.Minute,
		IdleInterval:      10 * time.Minute,
	})
	ctx := context.Background()
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "crossack", OnEvents: []string{"crossack.go"}, Tasks: []*switchyardv1.TaskSpec{task("job", "crossack.job")}})
	putWorkflow(t, a, &switchyardv1.WorkflowSpec{Name: "probe", Tasks: []*switchyardv1.TaskSpec{task("job", "probe.job")}})
	ackKeepalive := func(workerID string, k *switchyardv1.Keepalive) {
		t.Helper()
		res, err := b.workers.Acknowledge(ctx, connect.NewRequest(&switchyardv1.AcknowledgeRequest{
			WorkerId: workerID, StreamId: k.GetStreamId(), KeepaliveSeq: k.GetSeq(),
		}))
		if err != nil || !res.Msg.GetStreamOpen() {
			t.Fatalf("acknowledge keep-alive %d on server B: %v, %v; want stream_open", k.GetSeq(), res, err)
		}
	}

	// The worker acknowledges (its first stream's keep-alive, through B); its
	// second stream, on A, waits for an acknowledged keep-alive of its own.
	first := openStream(t, a, "crossack.job")
	ackKeepalive(first.workerID, first.first)
	s, err := a.workers.Listen(ctx, connect.NewRequest(&switchyardv1.ListenRequest{WorkerId: first.workerID}))
	if err != nil {
		t.Fatalf("listen again: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !s.Receive() || s.Msg().GetKeepalive() == nil {
		t.Fatalf("second stream's first message %v (%v), want a keep-alive", s.Msg(), s.Err())
	}
	second := s.Msg().GetKeepalive()

	pushed, err := a.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "crossack.go"}))
	if err != nil || len(pushed.Msg.GetRunIds()) != 1 {
		t.Fatalf("push: %v, %v; want one run", pushed, err)
	}
	waitTaskQueued(t, a, pushed.Msg.GetRunIds()[0])
	// A dispatches to a worker of its own after the task was queued, so its
	// look at the waiting stream is over before the acknowledgement.
	probed := make(chan struct{}, 1)
	startRawWorkerHeartbeating(t, a, []string{"probe.job"}, 1, false, func(*rawWorker, *switchyardv1.TaskAssignment) {
		select {
		case probed <- struct{}{}:
		default:
		}
	})
	if _, err := a.workflows.RunWorkflow(ctx, connect.NewRequest(&switchyardv1.RunWorkflowRequest{Name: "probe"})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-probed:
	case <-time.After(30 * time.Second):
		t.Fatal("the probe worker on server A got no assignment in 30s")
	}

	ackKeepalive(first.workerID, second)
	got := make(chan *switchyardv1.TaskAssignment, 1)
	go func() {
		for s.Receive() {
			if as := s.Msg().GetAssignment(); as != nil {
				got <- as
				return
			}
		}
	}()
	select {
	case as := <-got:
		if as.GetRunId() != pushed.Msg.GetRunIds()[0] {
			t.Fatalf("assignment for run %s, want the pushed event's run %s", as.GetRunId(), pushed.Msg.GetRunIds()[0])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no assignment on server A's stream within 30s of its keep-alive's acknowledgement on server B: A was not woken")
	}
}

// waitTaskQueued polls the run until its task is queued.
func waitTaskQueued(t *testing.T, a *api, runID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := a.runs.GetRun(context.Background(), connect.NewRequest(&switchyardv1.GetRunRequest{Id: runID}))
		if err != nil {
			t.Fatal(err)
		}
		if tk := taskByName(res.Msg.GetRun(), "job"); tk.GetStatus() == switchyardv1.TaskStatus_TASK_STATUS_QUEUED {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s's task not queued in 30s: %v", runID, res.Msg.GetRun())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
