package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

var claimCases = []suiteCase{
	{"RankThenIDOrder", testClaimOrder},
	{"ClaimedAttempt", testClaimedAttempt},
	{"Limit", testClaimLimit},
	{"ActionsFilter", testClaimActions},
	{"NotBeforeAvailable", testClaimAvailableAt},
	{"OnlyQueuedOfTheTenant", testClaimOnlyQueuedOfTenant},
	{"ConcurrentClaimsDisjoint", testClaimConcurrent},
	{"SkipsLockedRows", testClaimSkipsLocked},
}

// queuedTask is a queued task of tenant A's run r1 with a queue rank.
func queuedTask(id, action string, rank int64) *store.Task {
	t := taskOf(tenantA, "r1", id, store.TaskQueued)
	t.Action, t.QueueRank = action, rank
	return t
}

// claim claims for a worker of tenant A at now 1000 and returns the ids
// claimed, sorted (a claim returns its tasks in no particular order).
func claim(f *fixture, worker string, limit int, actions ...string) []string {
	f.t.Helper()
	return claimAt(f, store.TaskClaimParams{TenantID: tenantA, WorkerID: worker, Actions: actions, Limit: limit, Now: at(1000)})
}

func claimAt(f *fixture, p store.TaskClaimParams) []string {
	f.t.Helper()
	got := taskIDs(writeResult(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) { return q.TaskClaim(ctx, &p) }))
	slices.Sort(got)
	return got
}

func testClaimOrder(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, queuedTask("t1", "act", 300), queuedTask("t3", "act", 100), queuedTask("t2", "act", 100),
		queuedTask("t4", "act", 200), queuedTask("t5", "act", -50))
	var order []string
	for range 6 {
		order = append(order, claim(f, "w", 1, "act")...)
	}
	wantEqual(t, "claim order, one at a time", order, []string{"t5", "t2", "t3", "t4", "t1"})
}

func testClaimedAttempt(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	before := queuedTask("t1", "act", 10)
	before.Attempt, before.Error, before.AvailableAt, before.SentAt, before.AckedAt = 1, "previous attempt failed", store.TimeMicros(900), store.TimeMicros(500), store.TimeMicros(600)
	insertTasksOf(f, before)
	got := writeResult(f, func(ctx context.Context, q store.Q) ([]*store.Task, error) {
		return q.TaskClaim(ctx, &store.TaskClaimParams{TenantID: tenantA, WorkerID: "w1", Actions: []string{"act"}, Limit: 5, Now: at(1000)})
	})
	want := queuedTask("t1", "act", 10)
	want.Status, want.Attempt, want.WorkerID, want.Error, want.AvailableAt = store.TaskRunning, 2, "w1", "", store.TimeMicros(900)
	want.StartedAt, want.LeaseExpiresAt, want.SentAt = store.TimeMicros(1000), store.TimeMicros(1000+30_000*1000), store.TimeMicros(1000)
	wantEqual(t, "stored task", tasksOfRun(f, "r1"), []*store.Task{want})
	claimed := *want
	claimed.RunWorkflow, claimed.RunInput = "wf", mustObject(`{}`) // the run's, returned with the task
	wantEqual(t, "claimed task", got, []*store.Task{&claimed})
}

func testClaimLimit(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, queuedTask("t1", "act", 1), queuedTask("t2", "act", 2), queuedTask("t3", "act", 3),
		queuedTask("t4", "act", 4), queuedTask("t5", "act", 5))
	wantEqual(t, "limit 0", claim(f, "w", 0, "act"), []string{})
	wantEqual(t, "no actions", claim(f, "w", 5), []string{})
	wantEqual(t, "first claim of 3", claim(f, "w", 3, "act"), []string{"t1", "t2", "t3"})
	wantEqual(t, "second claim of 3", claim(f, "w", 3, "act"), []string{"t4", "t5"})
	wantEqual(t, "third claim of 3", claim(f, "w", 3, "act"), []string{})
}

func testClaimActions(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, queuedTask("t1", "a", 1), queuedTask("t2", "b", 2), queuedTask("t3", "c", 3), queuedTask("t4", "a", 4))
	wantEqual(t, "actions a and c", claim(f, "w", 10, "a", "c"), []string{"t1", "t3", "t4"})
	wantEqual(t, "action d", claim(f, "w", 10, "d"), []string{})
	wantEqual(t, "action b", claim(f, "w", 10, "b"), []string{"t2"})
}

func testClaimAvailableAt(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	later := queuedTask("later", "act", 1)
	later.AvailableAt = store.TimeMicros(1001)
	now := queuedTask("now", "act", 2)
	now.AvailableAt = store.TimeMicros(1000)
	insertTasksOf(f, later, now)
	wantEqual(t, "claim at 1000", claim(f, "w", 10, "act"), []string{"now"})
	wantEqual(t, "claim at 1001", claimAt(f, store.TaskClaimParams{TenantID: tenantA, WorkerID: "w", Actions: []string{"act"}, Limit: 10, Now: at(1001)}), []string{"later"})
}

func testClaimOnlyQueuedOfTenant(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1), runOf(tenantB, "rb", 1))
	var tasks []*store.Task
	for _, status := range []string{store.TaskPending, store.TaskRunning, store.TaskSucceeded, store.TaskFailed, store.TaskCancelled, store.TaskQueued} {
		tasks = append(tasks, taskOf(tenantA, "r1", "a-"+status, status))
	}
	insertTasksOf(f, append(tasks, taskOf(tenantB, "rb", "b-QUEUED", store.TaskQueued))...)
	wantEqual(t, "claim of B", claimAt(f, store.TaskClaimParams{TenantID: tenantB, WorkerID: "w", Actions: []string{"act"}, Limit: 10, Now: at(1000)}), []string{"b-QUEUED"})
	wantEqual(t, "claim of A", claim(f, "w", 10, "act"), []string{"a-QUEUED"})
	wantEqual(t, "claim of A again", claim(f, "w", 10, "act"), []string{})
}

// testClaimConcurrent has workers claim at once (on Postgres, really at once):
// every task is claimed exactly once.
func testClaimConcurrent(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	var tasks []*store.Task
	var want []string
	for i := range 60 {
		id := fmt.Sprintf("t%02d", i)
		tasks, want = append(tasks, queuedTask(id, "act", int64(i%7))), append(want, id)
	}
	insertTasksOf(f, tasks...)
	claims := concurrently(t, 8, func(i int) ([]string, error) {
		var mine []string
		for {
			var got []*store.Task
			err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) (err error) {
				got, err = q.TaskClaim(ctx, &store.TaskClaimParams{TenantID: tenantA, WorkerID: fmt.Sprint("w", i), Actions: []string{"act"}, Limit: 3, Now: at(1000)})
				return err
			})
			if err != nil || len(got) == 0 {
				return mine, err
			}
			mine = append(mine, taskIDs(got)...)
		}
	})
	var all []string
	for _, c := range claims {
		all = append(all, c...)
	}
	slices.Sort(all)
	wantEqual(t, "tasks claimed by all workers", all, want)
	held := read(f, func(ctx context.Context, q store.Q) (map[string]int32, error) {
		return q.TaskSlotsInUse(ctx, []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"})
	})
	for i, c := range claims {
		wantEqual(t, fmt.Sprintf("tasks held by w%d", i), held[fmt.Sprint("w", i)], int32(len(c)))
	}
}

// testClaimSkipsLocked claims while another claim's transaction is open. On
// Postgres the second claim passes over the rows the first holds and returns
// the next ones at once (the first commits only after it); on SQLite, where
// writes take turns, it runs after the first commits and gets the same.
func testClaimSkipsLocked(t *testing.T, f *fixture) {
	insertRunsOf(f, runOf(tenantA, "r1", 1))
	insertTasksOf(f, queuedTask("t1", "act", 1), queuedTask("t2", "act", 2), queuedTask("t3", "act", 3), queuedTask("t4", "act", 4))
	p := func(worker string) *store.TaskClaimParams {
		return &store.TaskClaimParams{TenantID: tenantA, WorkerID: worker, Actions: []string{"act"}, Limit: 2, Now: at(1000)}
	}
	done := make(chan []string, 1)
	secondClaim := func() {
		// Bounded so that a claim that waits for the open transaction fails
		// the test instead of hanging it.
		ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
		defer cancel()
		var got []*store.Task
		err := f.st.Write(ctx, func(ctx context.Context, q store.Q) (err error) {
			got, err = q.TaskClaim(ctx, p("w2"))
			return err
		})
		if err != nil {
			t.Errorf("second claim: %v", err)
		}
		done <- taskIDs(got)
	}
	var first, second []string
	f.write(func(ctx context.Context, q store.Q) error {
		got, err := q.TaskClaim(ctx, p("w1"))
		if err != nil {
			return err
		}
		first = taskIDs(got)
		go secondClaim()
		if f.st.Postgres() {
			second = <-done
		}
		return nil
	})
	if !f.st.Postgres() {
		second = <-done
	}
	slices.Sort(first)
	slices.Sort(second)
	wantEqual(t, "first claim", first, []string{"t1", "t2"})
	wantEqual(t, "second claim, while the first was open", second, []string{"t3", "t4"})
}
