package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var ackCases = []suiteCase{
	{"TaskAcknowledgeOncePerAttempt", testTaskAcknowledge},
	{"TaskListUnacked", testTaskListUnacked},
	{"TaskResent", testTaskResent},
	{"HandBackRefusesAcknowledged", testHandBackAcknowledged},
	{"WorkerAcknowledge", testWorkerAcknowledge},
	{"WorkerStreamDoubt", testWorkerStreamDoubt},
}

// sentTo makes t the running attempt of the worker, sent at sent and
// acknowledged at acked (0: not).
func sentTo(t *store.Task, worker string, attempt int32, sent, acked int64) *store.Task {
	heldBy(t, worker, attempt, sent)
	t.SentAt, t.AckedAt = store.TimeMicros(sent), store.TimeMicros(acked)
	return t
}

// ackedAt reads when each task of a run was acknowledged, by id.
func ackedAt(f *fixture, runID string) map[string]int64 {
	f.t.Helper()
	out := map[string]int64{}
	for _, t := range tasksOfRun(f, runID) {
		out[t.ID] = t.AckedAt.Micros()
	}
	return out
}

func testTaskAcknowledge(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, sentTo(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 2, 10, 0),
		sentTo(taskOf(tenantA, "r1", "t2", store.TaskQueued), "w1", 1, 10, 0),
		sentTo(taskOf(tenantA, "r1", "t3", store.TaskQueued), "w2", 1, 10, 0),
		taskOf(tenantA, "r1", "t4", store.TaskQueued))
	ack := func(refs ...store.AttemptRef) int {
		return writeResult(f, func(ctx context.Context, q store.Q) (int, error) { return q.TaskAcknowledge(ctx, "w1", refs, at(50)) })
	}
	refs := []store.AttemptRef{
		{TaskID: "t1", Attempt: 1}, // an earlier attempt
		{TaskID: "t1", Attempt: 2},
		{TaskID: "t2", Attempt: 1},
		{TaskID: "t3", Attempt: 1}, // another worker's
		{TaskID: "t4", Attempt: 0}, // not running
	}
	wantEqual(t, "attempts acknowledged", ack(refs...), 2)
	wantEqual(t, "the same acknowledgements again", ack(refs...), 0)
	wantEqual(t, "no attempts", ack(), 0)
	wantEqual(t, "acknowledgement times", ackedAt(f, "r1"), map[string]int64{"t1": 50, "t2": 50, "t3": 0, "t4": 0})
}

// testTaskListUnacked: running attempts of every tenant sent before the time
// and not acknowledged are listed, oldest sent first, but only of workers that
// acknowledge, and not those never recorded sent.
func testTaskListUnacked(t *testing.T, f *fixture) {
	acking := func(tenant, id string, acknowledges bool) *store.Worker {
		w := workerOf(tenant, id, 1, true)
		w.Acknowledges = acknowledges
		return w
	}
	insertWorkersOf(f, acking(tenantA, "w1", true), acking(tenantA, "w-silent", false), acking(tenantB, "w-b", true))
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "rb", 1))
	insertTasksOf(f,
		sentTo(taskOf(tenantA, "r1", "late", store.TaskQueued), "w1", 1, 30, 0),
		sentTo(taskOf(tenantA, "r1", "early", store.TaskQueued), "w1", 1, 10, 0),
		sentTo(taskOf(tenantA, "r1", "acked", store.TaskQueued), "w1", 1, 5, 7),
		sentTo(taskOf(tenantA, "r1", "recent", store.TaskQueued), "w1", 1, 100, 0),
		sentTo(taskOf(tenantA, "r1", "never-sent", store.TaskQueued), "w1", 1, 0, 0),
		sentTo(taskOf(tenantA, "r1", "silent-worker", store.TaskQueued), "w-silent", 1, 5, 0),
		sentTo(taskOf(tenantB, "rb", "of-b", store.TaskQueued), "w-b", 1, 20, 0),
	)
	unacked := func(limit int) []string {
		return taskIDs(read(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
			return q.TaskListUnacked(ctx, &store.TaskListUnackedParams{SentBefore: at(100), Limit: limit})
		}))
	}
	wantEqual(t, "unacknowledged", unacked(10), []string{"early", "of-b", "late"})
	wantEqual(t, "unacknowledged, limit 2", unacked(2), []string{"early", "of-b"})
}

func testTaskResent(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "rb", 1))
	insertTasksOf(f,
		sentTo(taskOf(tenantA, "r1", "unacked", store.TaskQueued), "w1", 1, 10, 0),
		sentTo(taskOf(tenantA, "r1", "acked", store.TaskQueued), "w1", 1, 10, 20),
		sentTo(taskOf(tenantA, "r1", "other-worker", store.TaskQueued), "w2", 1, 10, 0),
		sentTo(taskOf(tenantB, "rb", "of-b", store.TaskQueued), "w1", 1, 10, 0),
	)
	f.write(func(ctx context.Context, q store.Q) error { return q.TaskResent(ctx, tenantA, "w1", at(70)) })
	sent := map[string]int64{}
	for _, run := range []string{"r1", "rb"} {
		for _, task := range tasksOfRun(f, run) {
			sent[task.ID] = task.SentAt.Micros()
		}
	}
	wantEqual(t, "sent times", sent, map[string]int64{"unacked": 70, "acked": 10, "other-worker": 10, "of-b": 10})
}

func testHandBackAcknowledged(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	held := sentTo(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 10, 20)
	insertTasksOf(f, held)
	handedBack := writeResult(f, func(ctx context.Context, q store.Q) (bool, error) {
		return q.TaskHandBack(ctx, &store.Task{ID: "t1", Attempt: 1, WorkerID: "w1"})
	})
	wantEqual(t, "hand back of an acknowledged attempt", handedBack, false)
	wantEqual(t, "task after the refused hand back", tasksOfRun(f, "r1")[0], held)
}

func testWorkerAcknowledge(t *testing.T, f *fixture) {
	insertWorkersOf(f, workerOf(tenantA, "w1", 1, false))
	step := func(fn func(ctx context.Context, q store.Q) error) { f.write(fn) }
	ack := func(tenant, stream string, seq uint64) (bool, error) {
		var open bool
		err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) (err error) {
			open, err = q.WorkerAcknowledge(ctx, tenant, "w1", stream, seq)
			return err
		})
		return open, err
	}
	worker := func() *store.Worker {
		w, err := getWorker(f, tenantA, "w1")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	seq := func() int64 { return worker().StreamAckedSeq }
	_, err := ack(tenantB, "s1", 1)
	wantErr(t, "acknowledgement for A's worker by B", err, store.ErrNotFound)
	wantEqual(t, "A's worker acknowledges after B's acknowledgement", worker().Acknowledges, false)
	open, _ := ack(tenantA, "s1", 1)
	wantEqual(t, "acknowledgement on a stream never opened", open, false)
	wantEqual(t, "the worker acknowledges after it", worker().Acknowledges, true)
	step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantA, "w1", "s1", at(10)) })
	open, _ = ack(tenantA, "s1", 3)
	wantEqual(t, "acknowledgement of keep-alive 3 on the open stream", open, true)
	open, _ = ack(tenantA, "s1", 2)
	wantEqual(t, "a late acknowledgement of keep-alive 2", open, true)
	wantEqual(t, "acknowledged keep-alive", seq(), int64(3))
	_, err = ack(tenantB, "s1", 4)
	wantErr(t, "acknowledgement for A's worker by B on its open stream", err, store.ErrNotFound)
	wantEqual(t, "acknowledged keep-alive after B's", seq(), int64(3))
	step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantA, "w1", "s2", at(20)) })
	wantEqual(t, "acknowledged keep-alive of a new stream", seq(), int64(0))
	open, _ = ack(tenantA, "s1", 5)
	wantEqual(t, "acknowledgement on the replaced stream", open, false)
	step(func(ctx context.Context, q store.Q) error {
		return q.WorkerDisconnect(ctx, tenantA, "w1", "s2", at(30))
	})
	open, _ = ack(tenantA, "s2", 1)
	wantEqual(t, "acknowledgement on a closed stream", open, false)
	wantEqual(t, "acknowledged keep-alive after refused acknowledgements", seq(), int64(0))
}

func testWorkerStreamDoubt(t *testing.T, f *fixture) {
	w := workerOf(tenantA, "w1", 1, true)
	w.StreamID, w.StreamAckedSeq, w.Acknowledges = "s1", 5, true
	insertWorkersOf(f, w)
	doubt := func(tenant string) {
		f.write(func(ctx context.Context, q store.Q) error { return q.WorkerStreamDoubt(ctx, tenant, "w1") })
	}
	doubt(tenantB)
	got, _ := getWorker(f, tenantA, "w1")
	wantEqual(t, "worker after B's doubt", got, w)
	doubt(tenantA)
	w.StreamAckedSeq = 0
	got, _ = getWorker(f, tenantA, "w1")
	wantEqual(t, "worker after its stream was doubted", got, w)
}
