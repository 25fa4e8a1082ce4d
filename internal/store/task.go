package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Task statuses, as stored.
const (
	TaskPending   = "PENDING"
	TaskQueued    = "QUEUED"
	TaskRunning   = "RUNNING"
	TaskSucceeded = "SUCCEEDED"
	TaskFailed    = "FAILED"
	TaskCancelled = "CANCELLED"
	// TaskWaiting waits, without a worker, for a durable wait to resolve.
	TaskWaiting = "WAITING"
	// TaskSkipped was not run (skip_if, or a declared wait's timeout); it
	// counts as done for its children and its run.
	TaskSkipped = "SKIPPED"
)

// Task is one node of a run. A zero time means not yet.
type Task struct {
	bun.BaseModel `bun:"table:tasks,alias:task"`

	ID               string         `bun:"id,pk"`
	TenantID         string         `bun:"tenant_id"`
	RunID            string         `bun:"run_id"`
	Name             string         `bun:"name"`
	Action           string         `bun:"action"`
	Parents          JSON[[]string] `bun:"parents"` // the names of the tasks it waits for
	Status           string         `bun:"status"`
	Attempt          int32          `bun:"attempt"`
	MaxAttempts      int32          `bun:"max_attempts"`
	InitialBackoffMS int64          `bun:"initial_backoff_ms"`
	MaxBackoffMS     int64          `bun:"max_backoff_ms"`
	TimeoutMS        int64          `bun:"timeout_ms"`
	Priority         int32          `bun:"priority"`
	WorkerID         string         `bun:"worker_id"`
	Output           Object         `bun:"output"` // once succeeded
	Error            string         `bun:"error"`
	AvailableAt      Time           `bun:"available_at"`
	// QueueRank orders queued tasks, lowest first: the time the task became
	// ready, moved earlier by its priority (see the engine's queue rule).
	QueueRank      int64 `bun:"queue_rank"`
	LeaseExpiresAt Time  `bun:"lease_expires_at"`
	// SentAt is when the running attempt was last sent to its worker (claimed,
	// or sent again on a new stream); AckedAt when the worker acknowledged
	// receiving it, zero until then.
	SentAt     Time `bun:"sent_at"`
	AckedAt    Time `bun:"acked_at"`
	StartedAt  Time `bun:"started_at"`
	FinishedAt Time `bun:"finished_at"`
	CreatedAt  Time `bun:"created_at"`
	// RateLimits are the named limits the task consumes from when it starts;
	// WaitReason says why it is queued past its time (a rate limit), empty
	// when nothing holds it back.
	RateLimits JSON[[]TaskRateLimit] `bun:"rate_limits"`
	WaitReason string                `bun:"wait_reason"`
	// Resumes counts the attempts that resumed the task after a wait; the
	// retry policy counts Attempt - Resumes.
	Resumes int32 `bun:"resumes"`
	// Declared is the task's declared wait_for, skip_if, cancel_if and
	// on_wait_timeout as the engine encodes them; "" when none.
	Declared string `bun:"declared"`

	// Of the task's run, as TaskClaim returns them (and nothing else): what
	// an assignment carries, read in the claim's own statement.
	RunWorkflow    string `bun:"run_workflow,scanonly"`
	RunInput       Object `bun:"run_input,scanonly"`
	RunTraceParent string `bun:"run_trace_parent,scanonly"`
}

// TaskInsertMany inserts tasks.
func (q Q) TaskInsertMany(ctx context.Context, tasks []*Task) error {
	if len(tasks) == 0 {
		return nil
	}
	if _, err := q.db.NewInsert().Model(&tasks).Exec(ctx); err != nil {
		return fmt.Errorf("insert tasks: %w", err)
	}
	return nil
}

// TaskListByRun returns a run's tasks in creation order.
func (q Q) TaskListByRun(ctx context.Context, runID string) ([]*Task, error) {
	var tasks []*Task
	if err := q.db.NewSelect().Model(&tasks).Where("run_id = ?", runID).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tasks of run %s: %w", runID, err)
	}
	return tasks, nil
}

// TaskListByRuns returns the tasks of the runs, by run id, each run's in
// creation order; one statement.
func (q Q) TaskListByRuns(ctx context.Context, runIDs []string) (map[string][]*Task, error) {
	out := make(map[string][]*Task, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var tasks []*Task
	if err := q.db.NewSelect().Model(&tasks).Where("run_id IN (?)", bun.List(runIDs)).OrderExpr("run_id, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tasks of %d runs: %w", len(runIDs), err)
	}
	for _, t := range tasks {
		out[t.RunID] = append(out[t.RunID], t)
	}
	return out, nil
}

// TaskRunningRuns returns which of the runs have a running task.
func (q Q) TaskRunningRuns(ctx context.Context, runIDs []string) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(runIDs) == 0 {
		return out, nil
	}
	var ids []string
	err := q.db.NewSelect().Model((*Task)(nil)).Distinct().Column("run_id").
		Where("run_id IN (?) AND status = ?", bun.List(runIDs), TaskRunning).Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// TaskOutputs returns the outputs of the named succeeded tasks of runs
// (names by run id), by run id and name; one statement.
func (q Q) TaskOutputs(ctx context.Context, names map[string][]string) (map[string]map[string]Object, error) {
	out := make(map[string]map[string]Object)
	var runIDs, all []string
	for runID, ns := range names {
		if len(ns) > 0 {
			runIDs = append(runIDs, runID)
			all = append(all, ns...)
		}
	}
	if len(runIDs) == 0 {
		return out, nil
	}
	slices.Sort(all)
	var tasks []*Task
	err := q.db.NewSelect().Model(&tasks).Column("run_id", "name", "output").
		Where("run_id IN (?) AND name IN (?) AND status = ?", bun.List(runIDs), bun.List(slices.Compact(all)), TaskSucceeded).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("outputs of %d runs: %w", len(runIDs), err)
	}
	for _, t := range tasks {
		if t.Output.IsZero() || !slices.Contains(names[t.RunID], t.Name) {
			continue
		}
		if out[t.RunID] == nil {
			out[t.RunID] = make(map[string]Object)
		}
		out[t.RunID][t.Name] = t.Output
	}
	return out, nil
}

// TaskUpdate writes a task's state (or holds it: see [Q.HoldWrites]).
func (q Q) TaskUpdate(ctx context.Context, t *Task) error {
	if q.held != nil {
		q.held.holdTask(t)
		return nil
	}
	if _, err := q.taskUpdate(t).Exec(ctx); err != nil {
		return fmt.Errorf("update task %s: %w", t.ID, err)
	}
	return nil
}

func (q Q) taskUpdate(t *Task) *bun.UpdateQuery {
	return q.db.NewUpdate().Model(t).
		Column("status", "attempt", "worker_id", "output", "error", "available_at", "queue_rank", "lease_expires_at", "started_at", "finished_at", "resumes").
		WherePK()
}

// TaskHandBack returns an attempt that was assigned but never reached its
// worker to the queue, as if it had not been taken: its attempt number goes
// back and it keeps its place in line. It reports whether the attempt was
// still the worker's and unacknowledged (an acknowledged attempt reached its
// worker, so it is never handed back).
func (q Q) TaskHandBack(ctx context.Context, t *Task) (bool, error) {
	res, err := q.db.NewUpdate().Model((*Task)(nil)).
		Set("status = ?, attempt = attempt - 1, worker_id = '', started_at = 0, lease_expires_at = 0, sent_at = 0", TaskQueued).
		Where("id = ? AND attempt = ? AND worker_id = ? AND status = ? AND acked_at = 0", t.ID, t.Attempt, t.WorkerID, TaskRunning).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("hand back task %s: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// runOfTask is the select list of a task's Run fields, for the tasks table
// under the alias.
func runOfTask(alias string) string {
	return strings.NewReplacer("$t", alias).Replace(`(SELECT r.workflow_name FROM runs AS r WHERE r.id = $t.run_id) AS run_workflow,
		(SELECT r.input FROM runs AS r WHERE r.id = $t.run_id) AS run_input,
		(SELECT r.trace_parent FROM runs AS r WHERE r.id = $t.run_id) AS run_trace_parent`)
}

// TaskListHeld returns the running attempts a worker holds, oldest first,
// with their runs' workflow, input and trace parent (the Run fields of [Task]).
func (q Q) TaskListHeld(ctx context.Context, tenantID, workerID string) ([]*Task, error) {
	var tasks []*Task
	err := q.db.NewSelect().Model(&tasks).ColumnExpr("task.*").ColumnExpr(runOfTask("task")).
		Where("task.tenant_id = ? AND task.worker_id = ? AND task.status = ?", tenantID, workerID, TaskRunning).
		OrderExpr("task.started_at, task.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tasks held by worker %s: %w", workerID, err)
	}
	return tasks, nil
}

// TaskResent starts a new acknowledgement window, from now, for the running
// attempts a worker holds and has not acknowledged: they are being sent again.
func (q Q) TaskResent(ctx context.Context, tenantID, workerID string, now time.Time) error {
	_, err := q.db.NewUpdate().Model((*Task)(nil)).Set("sent_at = ?", TimeOf(now)).
		Where("tenant_id = ? AND worker_id = ? AND status = ? AND acked_at = 0", tenantID, workerID, TaskRunning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark tasks of worker %s sent again: %w", workerID, err)
	}
	return nil
}

// TaskClaimParams says what a worker can take.
type TaskClaimParams struct {
	TenantID string
	WorkerID string
	Actions  []string
	Limit    int
	Now      time.Time
}

// TaskClaim assigns up to Limit queued tasks whose backoff has passed to the
// worker, lowest queue rank first, then oldest: one statement that locks, skips rows
// another claim holds (Postgres), and marks them RUNNING with the next attempt and
// a lease of their timeout. It returns them with their runs' workflow, input
// and trace parent (the Run fields of [Task]).
func (q Q) TaskClaim(ctx context.Context, p *TaskClaimParams) ([]*Task, error) {
	if p.Limit <= 0 || len(p.Actions) == 0 {
		return nil, nil
	}
	lock := ""
	if q.postgres() {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	var tasks []*Task
	err := q.db.NewRaw(`
		WITH claimable AS (
			SELECT id FROM tasks
			WHERE tenant_id = ? AND status = ? AND action IN (?) AND available_at <= ?
			ORDER BY queue_rank, id
			LIMIT ? `+lock+`
		)
		UPDATE tasks SET
			status = ?, attempt = attempt + 1, worker_id = ?, error = '',
			started_at = ?, lease_expires_at = ? + timeout_ms * 1000, sent_at = ?, acked_at = 0
		WHERE id IN (SELECT id FROM claimable) AND status = ?
		RETURNING *, `+runOfTask("tasks"),
		p.TenantID, TaskQueued, bun.List(p.Actions), TimeOf(p.Now), p.Limit,
		TaskRunning, p.WorkerID, TimeOf(p.Now), TimeOf(p.Now), TimeOf(p.Now), TaskQueued,
	).Scan(ctx, &tasks)
	if err != nil {
		return nil, fmt.Errorf("claim tasks: %w", err)
	}
	return tasks, nil
}

// TaskListLostParams says when an attempt counts as lost.
type TaskListLostParams struct {
	// Now: attempts whose lease expired before it are lost.
	Now time.Time
	// ConnectedSilentSince: attempts of a worker with an open stream whose last
	// heartbeat is older are lost.
	ConnectedSilentSince time.Time
	// DisconnectedSilentSince: the same for a worker whose stream closed.
	DisconnectedSilentSince time.Time
	Limit                   int
}

// TaskListLost returns running tasks of every tenant whose attempt is lost: the
// lease expired, or the worker went silent.
func (q Q) TaskListLost(ctx context.Context, p *TaskListLostParams) ([]*Task, error) {
	var tasks []*Task
	err := q.db.NewSelect().Model(&tasks).
		Where("task.status = ?", TaskRunning).
		WhereGroup(" AND ", func(sq *bun.SelectQuery) *bun.SelectQuery {
			return sq.Where("task.lease_expires_at < ?", TimeOf(p.Now)).
				WhereOr(`task.worker_id IN (SELECT w.id FROM workers AS w
					WHERE (w.connected AND w.last_heartbeat_at < ?) OR (NOT w.connected AND w.last_heartbeat_at < ?))`,
					TimeOf(p.ConnectedSilentSince), TimeOf(p.DisconnectedSilentSince))
		}).
		OrderExpr("task.lease_expires_at").Limit(int64(p.Limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list lost tasks: %w", err)
	}
	return tasks, nil
}

// TaskSlotsInUse counts running tasks per worker, for the given workers.
func (q Q) TaskSlotsInUse(ctx context.Context, workerIDs []string) (map[string]int32, error) {
	out := make(map[string]int32)
	if len(workerIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		WorkerID string `bun:"worker_id"`
		N        int32  `bun:"n"`
	}
	err := q.db.NewSelect().Model((*Task)(nil)).ColumnExpr("worker_id, COUNT(*) AS n").
		Where("worker_id IN (?) AND status = ?", bun.List(workerIDs), TaskRunning).Group("worker_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("slots in use: %w", err)
	}
	for _, r := range rows {
		out[r.WorkerID] = r.N
	}
	return out, nil
}
