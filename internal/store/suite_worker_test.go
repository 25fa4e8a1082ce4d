package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var workerCases = []suiteCase{
	{"RegisterAndGet", testWorkerRegister},
	{"InsertOnceByIdempotencyKey", testWorkerInsertOnce},
	{"ConnectAndDisconnect", testWorkerConnect},
	{"Heartbeat", testWorkerTouch},
	{"Load", testWorkerLoad},
	{"ListPages", testWorkerList},
	{"MalformedJSONIsAnError", testWorkerMalformedJSON},
}

var statsCases = []suiteCase{
	{"Queues", testStatsQueues},
	{"Workers", testStatsWorkers},
	{"RefreshAnalyzesChangedTables", testStatsRefresh},
}

// workerOf is a worker of the tenant with action "act" and 4 slots.
func workerOf(tenant, id string, heartbeat int64, connected bool) *store.Worker {
	return &store.Worker{
		ID: id, TenantID: tenant, Name: "worker " + id, Actions: store.JSONOf([]string{"act"}), Slots: 4, Labels: store.JSONOf(map[string]string{}),
		Connected: connected, LastHeartbeatAt: store.TimeMicros(heartbeat), CreatedAt: store.TimeMicros(1),
	}
}

func insertWorkersOf(f *fixture, workers ...*store.Worker) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error {
		for _, w := range workers {
			if err := q.WorkerInsert(ctx, w); err != nil {
				return err
			}
		}
		return nil
	})
}

func getWorker(f *fixture, tenant, id string) (*store.Worker, error) {
	return readErr(f, func(ctx context.Context, q store.Q) (*store.Worker, error) { return q.WorkerGet(ctx, tenant, id) })
}

func testWorkerRegister(t *testing.T, f *fixture) {
	want := &store.Worker{
		ID: "w1", TenantID: tenantA, Name: "billing", Actions: store.JSONOf([]string{"a", "b"}), Slots: 3, Labels: store.JSONOf(map[string]string{"zone": "x"}),
		Connected: true, LastHeartbeatAt: store.TimeMicros(5), CreatedAt: store.TimeMicros(4), StreamID: "s1", IdempotencyKey: "idem",
	}
	insertWorkersOf(f, want)
	got, err := getWorker(f, tenantA, "w1")
	wantEqual(t, "WorkerGet", got, want)
	wantEqual(t, "WorkerGet error", err, nil)
	_, err = getWorker(f, tenantB, "w1")
	wantErr(t, "A's worker read by B", err, store.ErrNotFound)
	_, err = getWorker(f, tenantA, "missing")
	wantErr(t, "unknown worker", err, store.ErrNotFound)
	err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		return q.WorkerInsert(ctx, workerOf(tenantB, "w1", 1, false))
	})
	wantErr(t, "worker id of another worker", err, store.ErrConflict)
}

func testWorkerInsertOnce(t *testing.T, f *fixture) {
	once := func(w *store.Worker, key string) string {
		w.IdempotencyKey = key
		return writeResult(f, func(ctx context.Context, q store.Q) (*store.Worker, error) { return q.WorkerInsertOnce(ctx, w) }).ID
	}
	wantEqual(t, "first registration with key k", once(workerOf(tenantA, "w1", 1, false), "k"), "w1")
	wantEqual(t, "second registration with key k", once(workerOf(tenantA, "w2", 2, false), "k"), "w1")
	wantEqual(t, "registration with key k in B", once(workerOf(tenantB, "w3", 3, false), "k"), "w3")
	wantEqual(t, "registration without a key", once(workerOf(tenantA, "w4", 4, false), ""), "w4")
	wantEqual(t, "workers stored", ids(t, f.st, "workers"), []string{"w1", "w3", "w4"})
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
		_, err := q.WorkerInsertOnce(ctx, workerOf(tenantA, "w4", 5, false))
		return err
	})
	wantErr(t, "registration without a key under a taken id", err, store.ErrConflict)
}

func testWorkerConnect(t *testing.T, f *fixture) {
	insertWorkersOf(f, workerOf(tenantA, "w1", 1, false))
	state := func() string {
		w, err := getWorker(f, tenantA, "w1")
		if err != nil {
			t.Fatal(err)
		}
		return fmtState(w)
	}
	step := func(fn func(ctx context.Context, q store.Q) error) error { return f.st.Write(f.ctx, fn) }
	wantEqual(t, "connect on stream s1", step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantA, "w1", "s1", at(10)) }), nil)
	wantEqual(t, "after connect s1", state(), "connected s1 at 10")
	wantEqual(t, "connect on stream s2", step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantA, "w1", "s2", at(20)) }), nil)
	wantEqual(t, "disconnect of the older stream s1", step(func(ctx context.Context, q store.Q) error {
		return q.WorkerDisconnect(ctx, tenantA, "w1", "s1", at(30))
	}), nil)
	wantEqual(t, "after disconnect s1", state(), "connected s2 at 20")
	wantEqual(t, "disconnect of s2 by B", step(func(ctx context.Context, q store.Q) error {
		return q.WorkerDisconnect(ctx, tenantB, "w1", "s2", at(35))
	}), nil)
	wantEqual(t, "after B's disconnect", state(), "connected s2 at 20")
	wantEqual(t, "disconnect s2", step(func(ctx context.Context, q store.Q) error {
		return q.WorkerDisconnect(ctx, tenantA, "w1", "s2", at(40))
	}), nil)
	wantEqual(t, "after disconnect s2", state(), "disconnected s2 at 40")
	wantErr(t, "connect of A's worker by B", step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantB, "w1", "s3", at(50)) }), store.ErrNotFound)
	wantErr(t, "connect of an unknown worker", step(func(ctx context.Context, q store.Q) error { return q.WorkerConnect(ctx, tenantA, "nope", "s3", at(50)) }), store.ErrNotFound)
	wantEqual(t, "after refused connects", state(), "disconnected s2 at 40")
}

func fmtState(w *store.Worker) string {
	s := "disconnected"
	if w.Connected {
		s = "connected"
	}
	return fmt.Sprintf("%s %s at %d", s, w.StreamID, w.LastHeartbeatAt.Micros())
}

func testWorkerTouch(t *testing.T, f *fixture) {
	insertWorkersOf(f, workerOf(tenantA, "w1", 1, true))
	touch := func(tenant, id string, now int64) error {
		return f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WorkerTouch(ctx, tenant, id, at(now)) })
	}
	wantEqual(t, "touch", touch(tenantA, "w1", 7), nil)
	wantErr(t, "touch of A's worker by B", touch(tenantB, "w1", 9), store.ErrNotFound)
	wantErr(t, "touch of an unknown worker", touch(tenantA, "nope", 9), store.ErrNotFound)
	w, _ := getWorker(f, tenantA, "w1")
	wantEqual(t, "worker after touches", w, workerOf(tenantA, "w1", 7, true))
}

func testWorkerLoad(t *testing.T, f *fixture) {
	acking := workerOf(tenantA, "w1", 70, true)
	acking.Acknowledges, acking.StreamAckedSeq = true, 4
	insertWorkersOf(f, acking, workerOf(tenantA, "w2", 80, true))
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 1),
		heldBy(taskOf(tenantA, "r1", "t2", store.TaskQueued), "w1", 1, 1), taskOf(tenantA, "r1", "t3", store.TaskQueued))
	loadOf := func(tenant, id string) (*store.WorkerLoad, error) {
		return readErr(f, func(ctx context.Context, q store.Q) (*store.WorkerLoad, error) { return q.WorkerLoad(ctx, tenant, id) })
	}
	got, _ := loadOf(tenantA, "w1")
	wantEqual(t, "load of w1", got, &store.WorkerLoad{LastHeartbeatAt: store.TimeMicros(70), Running: 2, Acknowledges: true, StreamAckedSeq: 4})
	got, _ = loadOf(tenantA, "w2")
	wantEqual(t, "load of w2", got, &store.WorkerLoad{LastHeartbeatAt: store.TimeMicros(80)})
	_, err := loadOf(tenantB, "w1")
	wantErr(t, "load of A's worker read by B", err, store.ErrNotFound)
}

func testWorkerList(t *testing.T, f *fixture) {
	insertWorkersOf(f, workerOf(tenantA, "w1", 1, true), workerOf(tenantA, "w2", 1, true), workerOf(tenantA, "w3", 1, false),
		workerOf(tenantB, "w4", 1, true))
	wantNewestFirstPages(t, f, "w", store.Q.WorkerList, func(w *store.Worker) string { return w.ID })
}

func testStatsQueues(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "rb", 1))
	q := func(tenant, run, id, action string, availableAt int64) *store.Task {
		task := taskOf(tenant, run, id, store.TaskQueued)
		task.Action, task.AvailableAt = action, store.TimeMicros(availableAt)
		return task
	}
	insertTasksOf(f, q(tenantA, "r1", "t1", "a", 100), q(tenantA, "r1", "t2", "a", 200), q(tenantA, "r1", "t3", "b", 300),
		q(tenantA, "r1", "t4", "c", 2000), heldBy(q(tenantA, "r1", "t5", "a", 10), "w", 1, 10), q(tenantB, "rb", "t6", "a", 50))
	got := read(f, func(ctx context.Context, q store.Q) ([]store.QueueStats, error) { return q.StatsQueues(ctx, at(1000)) })
	wantEqual(t, "queues", got, []store.QueueStats{{Action: "a", Depth: 3, OldestAvailableAt: store.TimeMicros(50)}, {Action: "b", Depth: 1, OldestAvailableAt: store.TimeMicros(300)}})
}

func testStatsWorkers(t *testing.T, f *fixture) {
	w := func(tenant, id string, slots int32, connected bool) *store.Worker {
		wk := workerOf(tenant, id, 1, connected)
		wk.Slots = slots
		return wk
	}
	insertWorkersOf(f, w(tenantA, "w1", 4, true), w(tenantA, "w2", 2, true), w(tenantA, "w3", 8, false), w(tenantB, "w4", 1, true))
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "rb", 1))
	insertTasksOf(f, heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 1),
		heldBy(taskOf(tenantA, "r1", "t2", store.TaskQueued), "w1", 1, 1),
		heldBy(taskOf(tenantA, "r1", "t3", store.TaskQueued), "w3", 1, 1),
		heldBy(taskOf(tenantB, "rb", "t4", store.TaskQueued), "w4", 1, 1))
	got := read(f, func(ctx context.Context, q store.Q) (*store.WorkerStats, error) { return q.StatsWorkers(ctx) })
	wantEqual(t, "connected workers", got, &store.WorkerStats{Connected: 3, Slots: 7, SlotsInUse: 3})
}

// testWorkerMalformedJSON: a JSON column that does not hold its type's JSON is
// an error when read, not an empty value.
func testWorkerMalformedJSON(t *testing.T, f *fixture) {
	insertWorkersOf(f, workerOf(tenantA, "w1", 1, true), workerOf(tenantA, "w2", 1, true))
	f.write(func(ctx context.Context, q store.Q) error {
		if err := q.ExecRaw(ctx, "UPDATE workers SET labels = 'not json' WHERE id = 'w1'"); err != nil {
			return err
		}
		return q.ExecRaw(ctx, `UPDATE workers SET actions = '{"a":1}' WHERE id = 'w2'`)
	})
	_, err := getWorker(f, tenantA, "w1")
	wantErr(t, "WorkerGet of labels 'not json'", err, store.ErrJSONColumn)
	_, err = getWorker(f, tenantA, "w2")
	wantErr(t, "WorkerGet of actions that are an object", err, store.ErrJSONColumn)
}
