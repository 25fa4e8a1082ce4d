package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

// retentionRun is a run of the default tenant with its tasks.
func retentionRun(id, status, eventID string, created, finished int64, tasks int) (*store.Run, []*store.Task) {
	r := &store.Run{
		ID: id, TenantID: store.DefaultTenant, WorkflowName: "wf", WorkflowVersion: 1, Status: status,
		EventID: eventID, Input: mustObject(`{}`), CreatedAt: store.TimeMicros(created), UpdatedAt: store.TimeMicros(created), FinishedAt: store.TimeMicros(finished), TriggerKind: store.TriggerEvent,
	}
	var ts []*store.Task
	for i := range tasks {
		ts = append(ts, &store.Task{
			ID: fmt.Sprintf("%s-t%d", id, i), TenantID: store.DefaultTenant, RunID: id, Name: fmt.Sprint("t", i), Action: "a",
			Parents: store.JSONOf([]string{}), Status: store.TaskSucceeded, MaxAttempts: 1, AvailableAt: store.TimeMicros(created), CreatedAt: store.TimeMicros(created),
		})
	}
	return r, ts
}

func insertRuns(t *testing.T, st *store.Store, runs ...*store.Run) {
	t.Helper()
	insertRunsWithTasks(t, st, runs, nil)
}

func insertRunsWithTasks(t *testing.T, st *store.Store, runs []*store.Run, tasks []*store.Task) {
	t.Helper()
	err := st.Write(context.Background(), func(ctx context.Context, q store.Q) error {
		if _, err := q.RunInsertMany(ctx, runs); err != nil {
			return err
		}
		return q.TaskInsertMany(ctx, tasks)
	})
	if err != nil {
		t.Fatalf("insert runs: %v", err)
	}
}

func insertEvents(t *testing.T, st *store.Store, events ...*store.Event) {
	t.Helper()
	err := st.Write(context.Background(), func(ctx context.Context, q store.Q) error {
		_, err := q.EventInsertMany(ctx, events)
		return err
	})
	if err != nil {
		t.Fatalf("insert events: %v", err)
	}
}

// ids lists the ids of a table's rows, sorted.
func ids(t *testing.T, st *store.Store, table string) []string {
	t.Helper()
	var out []string
	if err := st.DB().NewSelect().Table(table).Column("id").OrderExpr("id").Scan(context.Background(), &out); err != nil {
		t.Fatalf("ids of %s: %v", table, err)
	}
	return out
}

func testRunPruneTakesEndedRunsWithTheirTasks(t *testing.T, f *fixture) {
	st := f.st
	const before = 1_000_000
	var runs []*store.Run
	var tasks []*store.Task
	add := func(id, status string, created, finished int64) {
		r, ts := retentionRun(id, status, "", created, finished, 2)
		runs, tasks = append(runs, r), append(tasks, ts...)
	}
	add("old-succeeded", store.RunSucceeded, 10, 20)
	add("old-failed", store.RunFailed, 10, 30)
	add("old-cancelled", store.RunCancelled, 10, before-1)
	add("recent-succeeded", store.RunSucceeded, 10, before)
	add("old-active", store.RunActive, 10, 0)
	add("old-scheduled", store.RunScheduled, 10, 0)
	add("old-waiting", store.RunWaiting, 10, 0)
	insertRunsWithTasks(t, st, runs, tasks)

	var nRuns, nTasks int64
	err := st.Write(context.Background(), func(ctx context.Context, q store.Q) (err error) {
		nRuns, nTasks, err = q.RunPrune(ctx, at(before), 500)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if nRuns != 3 || nTasks != 6 {
		t.Fatalf("pruned %d runs and %d tasks, want 3 and 6", nRuns, nTasks)
	}
	wantRuns := []string{"old-active", "old-scheduled", "old-waiting", "recent-succeeded"}
	if got := ids(t, st, "runs"); !slices.Equal(got, wantRuns) {
		t.Fatalf("runs left %v, want %v", got, wantRuns)
	}
	var wantTasks []string
	for _, r := range wantRuns {
		wantTasks = append(wantTasks, r+"-t0", r+"-t1")
	}
	if got := ids(t, st, "tasks"); !slices.Equal(got, wantTasks) {
		t.Fatalf("tasks left %v, want %v", got, wantTasks)
	}
}

func testRunPruneInBatches(t *testing.T, f *fixture) {
	st := f.st
	var runs []*store.Run
	var tasks []*store.Task
	for i := range 7 {
		r, ts := retentionRun(fmt.Sprintf("r%d", i), store.RunSucceeded, "", 1, int64(10+i), 1)
		runs, tasks = append(runs, r), append(tasks, ts...)
	}
	insertRunsWithTasks(t, st, runs, tasks)
	var got []int64
	for range 4 {
		err := st.Write(context.Background(), func(ctx context.Context, q store.Q) error {
			n, nt, err := q.RunPrune(ctx, at(100), 3)
			if n != nt {
				return fmt.Errorf("%d runs but %d tasks", n, nt)
			}
			got = append(got, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{3, 3, 1, 0}; !slices.Equal(got, want) {
		t.Fatalf("batches pruned %v, want %v", got, want)
	}
	if left := ids(t, st, "runs"); len(left) != 0 {
		t.Fatalf("runs left: %v", left)
	}
}

func testEventPruneKeepsEventsThatRunsReferTo(t *testing.T, f *fixture) {
	st := f.st
	const before = 1_000_000
	insertEvents(t, st,
		event("old-bare", "k", "idem-old-bare", 10),
		event("old-with-ended-run", "k", "idem-ended", 10),
		event("old-with-active-run", "k", "idem-active", 20),
		event("recent-bare", "k", "idem-recent", before),
	)
	ended, _ := retentionRun("ended", store.RunSucceeded, "old-with-ended-run", 10, before+5, 0)
	active, _ := retentionRun("active", store.RunActive, "old-with-active-run", 20, 0, 0)
	insertRuns(t, st, ended, active)

	prune := func() int64 {
		var n int64
		err := st.Write(context.Background(), func(ctx context.Context, q store.Q) (err error) {
			n, err = q.EventPrune(ctx, at(before), 500)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := prune(); n != 1 {
		t.Fatalf("pruned %d events, want 1", n)
	}
	want := []string{"old-with-active-run", "old-with-ended-run", "recent-bare"}
	if got := ids(t, st, "events"); !slices.Equal(got, want) {
		t.Fatalf("events left %v, want %v", got, want)
	}
	// Once its run is pruned, the event goes too; the active run's stays.
	err := st.Write(context.Background(), func(ctx context.Context, q store.Q) error {
		_, _, err := q.RunPrune(ctx, at(before+10), 500)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := prune(); n != 1 {
		t.Fatalf("pruned %d events after the run went, want 1", n)
	}
	want = []string{"old-with-active-run", "recent-bare"}
	if got := ids(t, st, "events"); !slices.Equal(got, want) {
		t.Fatalf("events left %v, want %v", got, want)
	}
	// The pruned events' idempotency keys are free again.
	var inserted map[string]bool
	err = st.Write(context.Background(), func(ctx context.Context, q store.Q) (err error) {
		inserted, err = q.EventInsertMany(ctx, []*store.Event{
			event("again-bare", "k", "idem-old-bare", before+20),
			event("again-active", "k", "idem-active", before+20),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !inserted["again-bare"] || inserted["again-active"] {
		t.Fatalf("inserted %v, want again-bare only (idem-active is still held)", inserted)
	}
}

func testEventPruneInBatches(t *testing.T, f *fixture) {
	st := f.st
	var events []*store.Event
	for i := range 1200 {
		events = append(events, event(fmt.Sprintf("e%04d", i), "k", "", int64(1+i)))
	}
	events = append(events, event("recent", "k", "", 5000))
	insertEvents(t, st, events...)
	var got []int64
	for {
		var n int64
		err := st.Write(context.Background(), func(ctx context.Context, q store.Q) (err error) {
			n, err = q.EventPrune(ctx, at(5000), 500)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
		if n < 500 {
			break
		}
	}
	if want := []int64{500, 500, 200}; !slices.Equal(got, want) {
		t.Fatalf("batches pruned %v, want %v", got, want)
	}
	if left := ids(t, st, "events"); !slices.Equal(left, []string{"recent"}) {
		t.Fatalf("events left %v, want [recent]", left)
	}
}

func testReplayPrune(t *testing.T, f *fixture) {
	st := f.st
	ctx := context.Background()
	err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
		for i, created := range []int64{10, 20, 30, 100} {
			r := &store.Replay{TenantID: store.DefaultTenant, IdempotencyKey: fmt.Sprint("k", i), Source: "event x", RunIDs: store.JSONOf([]string{}), CreatedAt: store.TimeMicros(created)}
			if _, err := q.ReplayInsert(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for range 3 {
		err := st.Write(ctx, func(ctx context.Context, q store.Q) error {
			n, err := q.ReplayPrune(ctx, at(100), 2)
			got = append(got, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{2, 1, 0}; !slices.Equal(got, want) {
		t.Fatalf("batches pruned %v, want %v", got, want)
	}
	err = st.Read(ctx, func(ctx context.Context, q store.Q) error {
		if _, err := q.ReplayGet(ctx, store.DefaultTenant, "k3"); err != nil {
			return fmt.Errorf("recent replay: %w", err)
		}
		ok, err := q.ReplayInsert(ctx, &store.Replay{TenantID: store.DefaultTenant, IdempotencyKey: "k0", Source: "event y", RunIDs: store.JSONOf([]string{}), CreatedAt: store.TimeMicros(200)})
		if !ok {
			return fmt.Errorf("pruned key k0 not usable again (err %v)", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testLeaseAcquire(t *testing.T, f *fixture) {
	st := f.st
	ctx := context.Background()
	acquire := func(holder string, now, until int64) bool {
		t.Helper()
		var ok bool
		err := st.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
			ok, err = q.LeaseAcquire(ctx, "job", holder, at(now), at(until))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	steps := []struct {
		holder     string
		now, until int64
		want       bool
	}{
		{"a", 100, 200, true},  // free
		{"b", 150, 250, false}, // a holds it until 200
		{"a", 150, 250, true},  // a renews
		{"b", 240, 340, false}, // renewed until 250
		{"b", 250, 350, true},  // expired: b takes it
		{"a", 260, 360, false}, // b holds it now
		{"b", 300, 400, true},  // b renews
	}
	for i, s := range steps {
		if got := acquire(s.holder, s.now, s.until); got != s.want {
			t.Fatalf("step %d: %s acquiring at %d: %v, want %v", i, s.holder, s.now, got, s.want)
		}
	}
	var l *store.Lease
	_ = st.Read(ctx, func(ctx context.Context, q store.Q) (err error) {
		l, err = q.LeaseGet(ctx, "job")
		return err
	})
	if l == nil || l.Holder != "b" || l.ExpiresAt.Micros() != 400 {
		t.Fatalf("lease %+v, want b until 400", l)
	}
	// Another lease name is independent.
	if acquire("a", 300, 400) {
		t.Fatal("a took job while b holds it")
	}
	err := st.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
		ok, err := q.LeaseAcquire(ctx, "other", "a", at(300), at(400))
		if !ok {
			return fmt.Errorf("lease other not taken (err %v)", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Only the holder's release frees it.
	release := func(holder string) {
		t.Helper()
		if err := st.Write(ctx, func(ctx context.Context, q store.Q) error { return q.LeaseRelease(ctx, "job", holder) }); err != nil {
			t.Fatal(err)
		}
	}
	release("a")
	if acquire("a", 310, 410) {
		t.Fatal("a took job after releasing a lease it did not hold")
	}
	release("b")
	if !acquire("a", 310, 410) {
		t.Fatal("a could not take job after b released it")
	}
}

// testLeaseAcquireRace has many processes' worth of holders ask for one free
// lease at once: exactly one gets it.
func testLeaseAcquireRace(t *testing.T, f *fixture) {
	st := f.st
	for round, now := range []int64{100, 1000, 2000} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := fmt.Sprintf("h%d-%d", round, i)
				var ok bool
				err := st.Write(context.Background(), func(ctx context.Context, q store.Q) (err error) {
					ok, err = q.LeaseAcquire(ctx, "job", holder, at(now), at(now+500))
					return err
				})
				if err != nil {
					t.Errorf("%s: %v", holder, err)
					return
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: winners %v, want exactly one", round, winners)
		}
	}
}
