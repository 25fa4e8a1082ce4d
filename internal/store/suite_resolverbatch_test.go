package store_test

import (
	"context"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// The set-based writes of the wait resolver's batches.
var resolverBatchCases = []suiteCase{
	{"HeldRunWritesWaitForFlush", testHeldRunWrites},
	{"StepInsertManyFirstWinsInOrder", testStepInsertMany},
	{"WaitCandidatesProbeTheIndex", testWaitCandidatesProbe},
}

func testHeldRunWrites(t *testing.T, f *fixture) {
	a1, a2 := runOf(tenantA, "a1", 1), runOf(tenantA, "a2", 2)
	insertRunsOf(f, a1, a2, runOf(tenantB, "b1", 3))
	f.write(func(ctx context.Context, q store.Q) error {
		hq := q.HoldWrites()
		a1.Status, a1.Error, a1.FinishedAt = store.RunFailed, "boom", store.TimeMicros(9)
		if err := hq.RunSetStatus(ctx, a1); err != nil {
			return err
		}
		if err := hq.RunSetWaiting(ctx, "a2", true); err != nil {
			return err
		}
		if err := hq.RunSetWaiting(ctx, "b1", true); err != nil {
			return err
		}
		if err := hq.RunSetWaiting(ctx, "b1", false); err != nil {
			return err
		}
		got, err := q.RunGet(ctx, tenantA, "a1")
		if err != nil {
			return err
		}
		wantEqual(t, "a1 before the flush", got.Status, store.RunActive)
		return hq.FlushWrites(ctx)
	})
	a1got := read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenantA, "a1") })
	wantEqual(t, "a1 after the flush", []any{a1got.Status, a1got.Error, a1got.FinishedAt}, []any{store.RunFailed, "boom", store.TimeMicros(9)})
	for id, want := range map[string]bool{"a1": false, "a2": true} {
		wantEqual(t, id+" waiting", read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenantA, id) }).Waiting, want)
	}
	wantEqual(t, "b1 waiting (the last write)", read(f, func(ctx context.Context, q store.Q) (*store.Run, error) { return q.RunGet(ctx, tenantB, "b1") }).Waiting, false)
}

func testStepInsertMany(t *testing.T, f *fixture) {
	step := func(task, name, kind string) *store.Step {
		return &store.Step{TenantID: tenantA, TaskID: task, Name: name, Kind: kind, CreatedAt: store.TimeMicros(1)}
	}
	f.write(func(ctx context.Context, q store.Q) error {
		_, _, err := q.StepInsert(ctx, step("t1", "a", store.StepResult))
		return err
	})
	f.write(func(ctx context.Context, q store.Q) error {
		return q.StepInsertMany(ctx, []*store.Step{
			step("t1", "a", store.StepWait), step("t1", "b", store.StepWait), step("t2", "x", store.StepWait), step("t1", "c", store.StepWait),
		})
	})
	got := read(f, func(ctx context.Context, q store.Q) (map[string][]*store.Step, error) {
		return q.StepListByTasks(ctx, []string{"t1", "t2"})
	})
	// In the order recorded (by seq, which only grows), the first record of a
	// name kept.
	type named struct{ Name, Kind string }
	list := func(task string) []named {
		var out []named
		for i, s := range got[task] {
			if i > 0 && s.Seq <= got[task][i-1].Seq {
				t.Errorf("%s: step %s has seq %d after %d", task, s.Name, s.Seq, got[task][i-1].Seq)
			}
			out = append(out, named{s.Name, s.Kind})
		}
		return out
	}
	wantEqual(t, "t1", list("t1"), []named{{"a", store.StepResult}, {"b", store.StepWait}, {"c", store.StepWait}})
	wantEqual(t, "t2", list("t2"), []named{{"x", store.StepWait}})
}
