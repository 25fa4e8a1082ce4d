package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var taskCases = []suiteCase{
	{"InsertAndListByRun", testTaskListByRun},
	{"UpdateRoundTrip", testTaskUpdate},
	{"Outputs", testTaskOutputs},
	{"RunningRuns", testTaskRunningRuns},
	{"HandBackFencedByAttemptAndWorker", testTaskHandBack},
	{"FinishFencedUnderRunLock", testTaskFinishFenced},
	{"ListHeld", testTaskListHeld},
	{"ListLost", testTaskListLost},
	{"SlotsInUse", testTaskSlotsInUse},
	{"ListByRuns", testTaskListByRuns},
	{"RunLockByTasks", testRunLockByTasks},
	{"HeldWrites", testHeldWrites},
}

// taskOf is a task of the tenant's run, named as its id, of action "act".
func taskOf(tenant, runID, id, status string) *store.Task {
	return &store.Task{
		ID: id, TenantID: tenant, RunID: runID, Name: id, Action: "act", Parents: store.JSONOf([]string{}), Status: status,
		MaxAttempts: 3, InitialBackoffMS: 100, MaxBackoffMS: 1000, TimeoutMS: 30_000, CreatedAt: store.TimeMicros(1),
	}
}

// heldBy makes t the running attempt of the worker, started at started.
func heldBy(t *store.Task, worker string, attempt int32, started int64) *store.Task {
	t.Status, t.WorkerID, t.Attempt, t.StartedAt, t.LeaseExpiresAt = store.TaskRunning, worker, attempt, store.TimeMicros(started), store.TimeMicros(started+t.TimeoutMS*1000)
	return t
}

func insertTasksOf(f *fixture, tasks ...*store.Task) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error { return q.TaskInsertMany(ctx, tasks) })
}

func tasksOfRun(f *fixture, runID string) []*store.Task {
	f.t.Helper()
	return read(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) { return q.TaskListByRun(ctx, runID) })
}

func taskIDs(tasks []*store.Task) []string {
	return idsOf(tasks, func(t *store.Task) string { return t.ID })
}

func testTaskListByRun(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantA, "r2", 1))
	t2 := taskOf(tenantA, "r1", "t2", store.TaskPending)
	t2.Parents, t2.Priority, t2.QueueRank, t2.AvailableAt = store.JSONOf([]string{"t1"}), 4, -5, store.TimeMicros(6)
	insertTasksOf(f, t2, taskOf(tenantA, "r1", "t1", store.TaskQueued), taskOf(tenantA, "r2", "t3", store.TaskQueued), taskOf(tenantA, "r1", "t0", store.TaskQueued))
	got := tasksOfRun(f, "r1")
	wantEqual(t, "tasks of r1", taskIDs(got), []string{"t0", "t1", "t2"})
	wantEqual(t, "t2 as stored", got[2], t2)
	wantEqual(t, "tasks of a run without tasks", taskIDs(tasksOfRun(f, "missing")), []string{})
	wantEqual(t, "no tasks inserted", f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.TaskInsertMany(ctx, nil) }), nil)
}

func testTaskUpdate(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, taskOf(tenantA, "r1", "t1", store.TaskRunning))
	want := taskOf(tenantA, "r1", "t1", store.TaskSucceeded)
	want.Attempt, want.WorkerID, want.Output, want.Error, want.AvailableAt = 2, "w1", mustObject(`{"ok":true}`), "", store.TimeMicros(3)
	want.QueueRank, want.LeaseExpiresAt, want.StartedAt, want.FinishedAt = 4, store.TimeMicros(5), store.TimeMicros(6), store.TimeMicros(7)
	f.write(func(ctx context.Context, q store.Q) error { return q.TaskUpdate(ctx, want) })
	wantEqual(t, "task after TaskUpdate", tasksOfRun(f, "r1")[0], want)
}

func testTaskOutputs(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantA, "r2", 1))
	out1, out3, outOther := `{"n":1}`, `{"n":3}`, `{"n":9}`
	t1, t3, o := taskOf(tenantA, "r1", "t1", store.TaskSucceeded), taskOf(tenantA, "r1", "t3", store.TaskSucceeded), taskOf(tenantA, "r2", "t4", store.TaskSucceeded)
	t1.Output, t3.Output, o.Output = mustObject(out1), mustObject(out3), mustObject(outOther)
	o.Name = "t1"
	insertTasksOf(f, t1, taskOf(tenantA, "r1", "t2", store.TaskRunning), t3, o)
	outputs := func(names map[string][]string) map[string]map[string]string {
		objects := read(f, func(ctx context.Context, q store.Q) (map[string]map[string]store.Object, error) {
			return q.TaskOutputs(ctx, names)
		})
		texts := map[string]map[string]string{}
		for runID, byName := range objects {
			texts[runID] = map[string]string{}
			for name, o := range byName {
				texts[runID][name] = o.Text()
			}
		}
		return texts
	}
	wantEqual(t, "outputs of r1", outputs(map[string][]string{"r1": {"t1", "t2", "t3", "missing"}}),
		map[string]map[string]string{"r1": {"t1": out1, "t3": out3}})
	wantEqual(t, "outputs of r1 and r2", outputs(map[string][]string{"r1": {"t3"}, "r2": {"t1"}}),
		map[string]map[string]string{"r1": {"t3": out3}, "r2": {"t1": outOther}})
	wantEqual(t, "no names", outputs(map[string][]string{"r1": nil}), map[string]map[string]string{})
}

func testTaskRunningRuns(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantA, "r2", 1), runOf(tenantB, "r3", 1))
	insertTasksOf(f, heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w", 1, 1), taskOf(tenantA, "r1", "t2", store.TaskQueued),
		taskOf(tenantA, "r2", "t3", store.TaskQueued), heldBy(taskOf(tenantB, "r3", "t4", store.TaskQueued), "w", 1, 1))
	running := func(runs ...string) map[string]bool {
		return read(f, func(ctx context.Context, q store.Q) (map[string]bool, error) { return q.TaskRunningRuns(ctx, runs) })
	}
	wantEqual(t, "running runs", running("r1", "r2", "missing"), map[string]bool{"r1": true})
	wantEqual(t, "no runs", running(), map[string]bool{})
}

func testTaskHandBack(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	held := heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 2, 50)
	held.QueueRank, held.AvailableAt = 40, store.TimeMicros(45)
	insertTasksOf(f, held)
	handBack := func(attempt int32, worker string) bool {
		return writeResult(f, func(ctx context.Context, q store.Q) (bool, error) {
			return q.TaskHandBack(ctx, &store.Task{ID: "t1", Attempt: attempt, WorkerID: worker})
		})
	}
	wantEqual(t, "hand back by another worker", handBack(2, "w2"), false)
	wantEqual(t, "hand back of an earlier attempt", handBack(1, "w1"), false)
	wantEqual(t, "task after refused hand backs", tasksOfRun(f, "r1")[0], held)
	wantEqual(t, "hand back by its worker", handBack(2, "w1"), true)
	want := taskOf(tenantA, "r1", "t1", store.TaskQueued)
	want.Attempt, want.QueueRank, want.AvailableAt = 1, 40, store.TimeMicros(45)
	wantEqual(t, "task after the hand back", tasksOfRun(f, "r1")[0], want)
	wantEqual(t, "the same hand back again", handBack(2, "w1"), false)
}

// testTaskFinishFenced reports one attempt from concurrent transactions the way
// a report is applied: the run locked first (RunGetForUpdateByTask), then the
// task read and written only if (attempt, worker) still hold it. Exactly one
// report applies; the run lock is what makes the others see it applied.
func testTaskFinishFenced(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 10))
	applied := concurrently(t, 8, func(i int) (ok bool, err error) {
		err = f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error {
			run, err := q.RunGetForUpdateByTask(ctx, tenantA, "t1")
			if err != nil {
				return err
			}
			tasks, err := q.TaskListByRun(ctx, run.ID)
			if err != nil {
				return err
			}
			task := tasks[0]
			if task.Status != store.TaskRunning || task.Attempt != 1 || task.WorkerID != "w1" {
				return nil
			}
			ok = true
			task.Status, task.FinishedAt, task.LeaseExpiresAt = store.TaskSucceeded, store.TimeMicros(int64(100+i)), store.Time{}
			return q.TaskUpdate(ctx, task)
		})
		return ok, err
	})
	wantEqual(t, "reports applied", countTrue(applied), 1)
	wantEqual(t, "task status", tasksOfRun(f, "r1")[0].Status, store.TaskSucceeded)
	for _, c := range []struct{ tenant, task string }{{tenantB, "t1"}, {tenantA, "missing"}} {
		_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Run, error) {
			return q.RunGetForUpdateByTask(ctx, c.tenant, c.task)
		})
		wantErr(t, "run of task "+c.task+" for "+c.tenant, err, store.ErrNotFound)
	}
}

func testTaskListHeld(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "r2", 1))
	insertTasksOf(f,
		heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 20),
		heldBy(taskOf(tenantA, "r1", "t2", store.TaskQueued), "w1", 1, 10),
		heldBy(taskOf(tenantA, "r1", "t3", store.TaskQueued), "w2", 1, 5),
		taskOf(tenantA, "r1", "t4", store.TaskQueued),
		heldBy(taskOf(tenantB, "r2", "t5", store.TaskQueued), "w1", 1, 1),
	)
	held := func(tenant, worker string) []string {
		return taskIDs(read(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
			return q.TaskListHeld(ctx, tenant, worker)
		}))
	}
	wantEqual(t, "held by w1 in A", held(tenantA, "w1"), []string{"t2", "t1"})
	wantEqual(t, "held by w2 in A", held(tenantA, "w2"), []string{"t3"})
	wantEqual(t, "held by w1 in B", held(tenantB, "w1"), []string{"t5"})
	wantEqual(t, "held by w2 in B", held(tenantB, "w2"), []string{})
}

// testTaskListLost: an attempt is lost when its lease expired or its worker
// went silent (with a shorter silence allowed once its stream closed); lost
// attempts of every tenant are listed, earliest lease first.
func testTaskListLost(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "r2", 1))
	insertWorkersOf(f, workerOf(tenantA, "w-live", 1000, true), workerOf(tenantA, "w-silent", 400, true),
		workerOf(tenantA, "w-gone", 800, false), workerOf(tenantB, "w-b", 1000, true))
	lease := func(task *store.Task, expires int64) *store.Task {
		task.LeaseExpiresAt = store.TimeMicros(expires)
		return task
	}
	insertTasksOf(f,
		lease(heldBy(taskOf(tenantA, "r1", "expired", store.TaskQueued), "w-live", 1, 1), 900),
		lease(heldBy(taskOf(tenantA, "r1", "healthy", store.TaskQueued), "w-live", 1, 1), 5000),
		lease(heldBy(taskOf(tenantA, "r1", "silent", store.TaskQueued), "w-silent", 1, 1), 4000),
		lease(heldBy(taskOf(tenantA, "r1", "gone", store.TaskQueued), "w-gone", 1, 1), 3000),
		lease(heldBy(taskOf(tenantB, "r2", "expired-b", store.TaskQueued), "w-b", 1, 1), 950),
		lease(taskOf(tenantA, "r1", "queued", store.TaskQueued), 1),
	)
	lost := func(limit int) []string {
		return taskIDs(read(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
			return q.TaskListLost(ctx, &store.TaskListLostParams{Now: at(1000), ConnectedSilentSince: at(500), DisconnectedSilentSince: at(900), Limit: limit})
		}))
	}
	wantEqual(t, "lost", lost(10), []string{"expired", "expired-b", "gone", "silent"})
	wantEqual(t, "lost, limit 2", lost(2), []string{"expired", "expired-b"})
}

func testTaskSlotsInUse(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f,
		heldBy(taskOf(tenantA, "r1", "t1", store.TaskQueued), "w1", 1, 1),
		heldBy(taskOf(tenantA, "r1", "t2", store.TaskQueued), "w1", 1, 1),
		heldBy(taskOf(tenantA, "r1", "t3", store.TaskQueued), "w2", 1, 1),
		taskOf(tenantA, "r1", "t4", store.TaskSucceeded),
	)
	slots := func(workers ...string) map[string]int32 {
		return read(f, func(ctx context.Context, q store.Q) (map[string]int32, error) { return q.TaskSlotsInUse(ctx, workers) })
	}
	wantEqual(t, "slots in use", slots("w1", "w2", "w3"), map[string]int32{"w1": 2, "w2": 1})
	wantEqual(t, "no workers", slots(), map[string]int32{})
}

// testTaskListByRuns: the tasks of several runs in one statement, by run,
// each run's in creation order.
func testTaskListByRuns(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantA, "r2", 1), runOf(tenantA, "r3", 1))
	insertTasksOf(f, taskOf(tenantA, "r1", "t2", store.TaskQueued), taskOf(tenantA, "r2", "t3", store.TaskQueued), taskOf(tenantA, "r1", "t1", store.TaskQueued),
		taskOf(tenantA, "r3", "t4", store.TaskQueued))
	byRun := read(f, func(ctx context.Context, q store.Q) (map[string][]*store.Task, error) {
		return q.TaskListByRuns(ctx, []string{"r1", "r2", "missing"})
	})
	got := map[string][]string{}
	for runID, tasks := range byRun {
		got[runID] = taskIDs(tasks)
	}
	wantEqual(t, "tasks by run", got, map[string][]string{"r1": {"t1", "t2"}, "r2": {"t3"}})
}

// testRunLockByTasks: the runs of tasks of any tenant, in the order of their
// ids, once each, locked: another transaction cannot lock one of them while
// the first holds it (Postgres; SQLite has one writer at a time).
func testRunLockByTasks(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r2", 1), runOf(tenantA, "r1", 1), runOf(tenantB, "r3", 1), runOf(tenantA, "r4", 1))
	insertTasksOf(f, taskOf(tenantA, "r2", "t1", store.TaskRunning), taskOf(tenantA, "r2", "t2", store.TaskRunning),
		taskOf(tenantA, "r1", "t3", store.TaskRunning), taskOf(tenantB, "r3", "t4", store.TaskRunning), taskOf(tenantA, "r4", "t5", store.TaskRunning))
	runs := read(f, func(ctx context.Context, q store.Q) ([]*store.Run, error) {
		return q.RunLockByTasks(ctx, []string{"t4", "t1", "t2", "t3", "missing"})
	})
	wantEqual(t, "locked runs", idsOf(runs, func(r *store.Run) string { return r.ID }), []string{"r1", "r2", "r3"})
	if !f.st.Postgres() {
		return
	}
	f.write(func(ctx context.Context, q store.Q) error {
		if _, err := q.RunLockByTasks(ctx, []string{"t1"}); err != nil {
			return err
		}
		probe := func(id string) error {
			_, err := f.st.DB().ExecContext(ctx, "SELECT id FROM runs WHERE id = ? FOR UPDATE NOWAIT", id)
			return err
		}
		if err := probe("r2"); err == nil {
			t.Errorf("run r2 could be locked by another transaction while this one held it")
		}
		wantEqual(t, "lock of a run not held", probe("r4"), nil)
		return nil
	})
}

// testHeldWrites: task and run writes through a Q of HoldWrites are not sent
// until FlushWrites, which sends each row's latest state.
func testHeldWrites(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, taskOf(tenantA, "r1", "t1", store.TaskRunning), taskOf(tenantA, "r1", "t2", store.TaskPending))
	f.write(func(ctx context.Context, q store.Q) error {
		hq := q.HoldWrites()
		tasks, err := hq.TaskListByRun(ctx, "r1")
		if err != nil {
			return err
		}
		tasks[0].Status, tasks[0].Output = store.TaskSucceeded, mustObject(`{"it's":"quoted"}`)
		tasks[1].Status = store.TaskQueued
		for _, task := range tasks {
			if err := hq.TaskUpdate(ctx, task); err != nil {
				return err
			}
		}
		again := *tasks[1]
		again.Status, again.Attempt = store.TaskRunning, 1
		if err := hq.TaskUpdate(ctx, &again); err != nil { // the same row again: its latest state is written
			return err
		}
		run, err := hq.RunGet(ctx, tenantA, "r1")
		if err != nil {
			return err
		}
		run.Status, run.FinishedAt = store.RunSucceeded, store.TimeMicros(9)
		if err := hq.RunSetStatus(ctx, run); err != nil {
			return err
		}
		before, err := q.TaskListByRun(ctx, "r1")
		if err != nil {
			return err
		}
		wantEqual(t, "statuses before the flush", []string{before[0].Status, before[1].Status}, []string{store.TaskRunning, store.TaskPending})
		if err := hq.FlushWrites(ctx); err != nil {
			return err
		}
		return hq.FlushWrites(ctx) // nothing more held
	})
	after := tasksOfRun(f, "r1")
	wantEqual(t, "statuses after the flush", []string{after[0].Status, after[1].Status}, []string{store.TaskSucceeded, store.TaskRunning})
	wantEqual(t, "output", after[0].Output.Text(), `{"it's":"quoted"}`)
	wantEqual(t, "attempt of t2", after[1].Attempt, int32(1))
	run := read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenantA, "r1") })
	wantEqual(t, "run status", run.Status, store.RunSucceeded)
}
