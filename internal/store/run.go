package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"
)

// Run statuses, as stored. A run that has not ended is ACTIVE; whether it is
// queued or running is derived from its tasks when read, so that claiming a task
// never writes (or locks) its run.
// A run waiting to start is SCHEDULED (until its scheduled_at) or WAITING (for a
// run with its concurrency key to end); its tasks stay PENDING meanwhile.
const (
	RunScheduled = "SCHEDULED"
	RunWaiting   = "WAITING"
	RunActive    = "ACTIVE"
	RunSucceeded = "SUCCEEDED"
	RunFailed    = "FAILED"
	RunCancelled = "CANCELLED"
	// RunSkipped is a run a trigger's rate limit did not start (its
	// over_limit is SKIP); it ended when it was stored.
	RunSkipped = "SKIPPED"
)

// What started a run.
const (
	TriggerEvent  = "EVENT"
	TriggerCron   = "CRON"
	TriggerManual = "MANUAL"
	TriggerReplay = "REPLAY"
)

// The statuses an active run shows, derived from its tasks.
const (
	RunQueuedDerived  = "QUEUED"
	RunRunningDerived = "RUNNING"
)

// Run is one execution of a workflow version.
type Run struct {
	bun.BaseModel `bun:"table:runs"`

	ID              string `bun:"id,pk"`
	TenantID        string `bun:"tenant_id"`
	WorkflowName    string `bun:"workflow_name"`
	WorkflowVersion int32  `bun:"workflow_version"`
	Status          string `bun:"status"`
	EventID         string `bun:"event_id"`
	Input           Object `bun:"input"`
	Error           string `bun:"error"`
	Priority        int32  `bun:"priority"`
	IdempotencyKey  string `bun:"idempotency_key,nullzero"`
	CreatedAt       Time   `bun:"created_at"`
	UpdatedAt       Time   `bun:"updated_at"`
	FinishedAt      Time   `bun:"finished_at"`
	TriggerKind     string `bun:"trigger_kind"`
	ReplayOf        string `bun:"replay_of"`
	CronTick        Time   `bun:"cron_tick"`
	ScheduledAt     Time   `bun:"scheduled_at"`
	// The concurrency rule the run was created under; an empty key means none.
	ConcurrencyKey      string `bun:"concurrency_key"`
	ConcurrencyMax      int32  `bun:"concurrency_max"`
	ConcurrencyStrategy string `bun:"concurrency_strategy"`
	// TraceParent is the W3C traceparent of the span that started the run
	// (empty when not traced): the parent of its tasks' spans.
	TraceParent string `bun:"trace_parent"`
	// WaitReason says why a scheduled run waits (a trigger's throttle).
	WaitReason string `bun:"wait_reason"`
	// A child run's parent run and task, and its key among the task's
	// children (step name "/" index), unique per parent task.
	ParentRunID  string `bun:"parent_run_id"`
	ParentTaskID string `bun:"parent_task_id"`
	ChildKey     string `bun:"child_key"`
	// Waiting says the ACTIVE run has no task queued or running and a task
	// WAITING on a durable wait; HasChildren that it spawned child runs.
	Waiting     bool `bun:"waiting"`
	HasChildren bool `bun:"has_children"`
}

// RunInsertMany inserts runs. With skipUsedKeys, a run whose idempotency key the
// tenant already used is skipped; the ids actually inserted are returned.
func (q Q) RunInsertMany(ctx context.Context, runs []*Run) (map[string]bool, error) {
	if len(runs) == 0 {
		return map[string]bool{}, nil
	}
	return insertNew(ctx, q, &runs, "runs")
}

// RunGet returns one run of the tenant.
func (q Q) RunGet(ctx context.Context, tenantID, id string) (*Run, error) {
	return getOne[Run](ctx, q, false, "run "+id, "tenant_id = ? AND id = ?", tenantID, id)
}

// RunGetMany returns the tenant's runs with the given ids, by id.
func (q Q) RunGetMany(ctx context.Context, tenantID string, ids []string) (map[string]*Run, error) {
	var runs []*Run
	if err := q.db.NewSelect().Model(&runs).Where("tenant_id = ? AND id IN (?)", tenantID, bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get runs: %w", err)
	}
	out := make(map[string]*Run, len(runs))
	for _, r := range runs {
		out[r.ID] = r
	}
	return out, nil
}

// RunGetForUpdate returns one run of the tenant and locks it (on Postgres) until
// the transaction ends, so changes to one run take turns.
func (q Q) RunGetForUpdate(ctx context.Context, tenantID, id string) (*Run, error) {
	return getOne[Run](ctx, q, true, "run "+id, "tenant_id = ? AND id = ?", tenantID, id)
}

// RunGetForUpdateByTask is RunGetForUpdate for the run of a task, in one
// statement.
func (q Q) RunGetForUpdateByTask(ctx context.Context, tenantID, taskID string) (*Run, error) {
	return getOne[Run](ctx, q, true, "run of task "+taskID,
		"tenant_id = ? AND id = (SELECT t.run_id FROM tasks AS t WHERE t.id = ? AND t.tenant_id = ?)", tenantID, taskID, tenantID)
}

// RunLockByTasks returns the runs of the tasks with the given ids (of any
// tenant) and locks them (on Postgres) until the transaction ends, in the order
// of their ids, so that writers that lock several runs never wait for each
// other in a circle; one statement.
func (q Q) RunLockByTasks(ctx context.Context, taskIDs []string) ([]*Run, error) {
	if len(taskIDs) == 0 {
		return nil, nil
	}
	var runs []*Run
	sel := q.db.NewSelect().Model(&runs).
		Where("id IN (SELECT t.run_id FROM tasks AS t WHERE t.id IN (?))", bun.List(taskIDs)).OrderExpr("id")
	if q.postgres() {
		sel.For("UPDATE")
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock runs of %d tasks: %w", len(taskIDs), err)
	}
	return runs, nil
}

// RunGetByIdempotencyKey returns the tenant's run started with key.
func (q Q) RunGetByIdempotencyKey(ctx context.Context, tenantID, key string) (*Run, error) {
	return getOne[Run](ctx, q, false, "run by idempotency key", "tenant_id = ? AND idempotency_key = ?", tenantID, key)
}

// RunIDsByEvents returns the ids of the runs each event started (a debounced
// or batched event, the run its window started), by event id.
func (q Q) RunIDsByEvents(ctx context.Context, tenantID string, eventIDs []string) (map[string][]string, error) {
	out := make(map[string][]string)
	if len(eventIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID      string `bun:"id"`
		EventID string `bun:"event_id"`
	}
	err := q.db.NewSelect().Model((*Run)(nil)).Column("id", "event_id").
		Where("tenant_id = ? AND event_id IN (?)", tenantID, bun.List(eventIDs)).OrderExpr("id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("runs of events: %w", err)
	}
	for _, r := range rows {
		out[r.EventID] = append(out[r.EventID], r.ID)
	}
	windowed, err := q.WindowRunIDsByEvents(ctx, tenantID, eventIDs)
	if err != nil {
		return nil, err
	}
	for ev, ids := range windowed {
		for _, id := range ids {
			if !slices.Contains(out[ev], id) {
				out[ev] = append(out[ev], id)
			}
		}
	}
	return out, nil
}

// RunSetStatusIf sets a run's status (and error and times) only while its stored
// status is from, and reports whether it did: a compare-and-set, so that of
// several server processes exactly one moves a run on.
func (q Q) RunSetStatusIf(ctx context.Context, r *Run, from string) (bool, error) {
	res, err := q.db.NewUpdate().Model(r).Column("status", "error", "updated_at", "finished_at").
		WherePK().Where("status = ?", from).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("update run %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RunSetStatus sets a run's status, error and finish time (or holds the
// write: see [Q.HoldWrites]).
func (q Q) RunSetStatus(ctx context.Context, r *Run) error {
	if q.held != nil {
		q.held.holdRun(r)
		return nil
	}
	if _, err := q.runSetStatus(r).Exec(ctx); err != nil {
		return fmt.Errorf("update run %s: %w", r.ID, err)
	}
	return nil
}

func (q Q) runSetStatus(r *Run) *bun.UpdateQuery {
	return q.db.NewUpdate().Model(r).Column("status", "error", "updated_at", "finished_at").WherePK()
}

// RunListParams filters and pages RunList.
type RunListParams struct {
	TenantID string
	Workflow string
	Status   string
	EventID  string
	Trigger  string
	// ParentRunID selects the child runs of a run.
	ParentRunID string
	ListPage
}

// RunList returns the tenant's runs, newest first.
func (q Q) RunList(ctx context.Context, p *RunListParams) ([]*Run, error) {
	return list[Run](ctx, q, "runs", p.ListPage, func(sel *bun.SelectQuery) {
		sel.Where("tenant_id = ?", p.TenantID)
		whereEqual(sel, "workflow_name", p.Workflow)
		whereEqual(sel, "event_id", p.EventID)
		whereEqual(sel, "trigger_kind", p.Trigger)
		whereEqual(sel, "parent_run_id", p.ParentRunID)
		switch p.Status {
		case "":
		case RunWaiting:
			sel.WhereGroup(" AND ", func(sel *bun.SelectQuery) *bun.SelectQuery {
				return sel.Where("status = ?", RunWaiting).WhereOr("status = ? AND waiting", RunActive)
			})
		case RunQueuedDerived:
			sel.Where("status = ? AND NOT waiting AND NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.run_id = run.id AND t.status = ?)", RunActive, TaskRunning)
		case RunRunningDerived:
			sel.Where("status = ? AND NOT waiting AND EXISTS (SELECT 1 FROM tasks AS t WHERE t.run_id = run.id AND t.status = ?)", RunActive, TaskRunning)
		default:
			sel.Where("status = ?", p.Status)
		}
	})
}

// RunSetWaiting records whether an active run waits on a durable wait only
// (or holds the write: see [Q.HoldWrites]).
func (q Q) RunSetWaiting(ctx context.Context, runID string, waiting bool) error {
	if q.held != nil {
		q.held.waiting[runID] = waiting
		return nil
	}
	if _, err := q.runSetWaiting([]string{runID}, waiting).Exec(ctx); err != nil {
		return fmt.Errorf("mark run %s waiting: %w", runID, err)
	}
	return nil
}

// RunSetHasChildren records that a run spawned child runs.
func (q Q) RunSetHasChildren(ctx context.Context, runID string) error {
	if _, err := q.db.NewUpdate().Model((*Run)(nil)).Set("has_children = TRUE").Where("id = ?", runID).Exec(ctx); err != nil {
		return fmt.Errorf("mark run %s a parent: %w", runID, err)
	}
	return nil
}

// RunIDsByChildKeys returns the child runs a parent task started under keys,
// by key.
func (q Q) RunIDsByChildKeys(ctx context.Context, parentTaskID string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []struct {
		ID       string `bun:"id"`
		ChildKey string `bun:"child_key"`
	}
	err := q.db.NewSelect().Model((*Run)(nil)).Column("id", "child_key").
		Where("parent_task_id = ? AND child_key IN (?)", parentTaskID, bun.List(keys)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("child runs of task %s: %w", parentTaskID, err)
	}
	for _, r := range rows {
		out[r.ChildKey] = r.ID
	}
	return out, nil
}

// RunIDsOpenChildren returns the child runs of a run that have not ended.
func (q Q) RunIDsOpenChildren(ctx context.Context, parentRunID string) ([]string, error) {
	var ids []string
	err := q.db.NewSelect().Model((*Run)(nil)).Column("id").
		Where("parent_run_id = ? AND status NOT IN (?)", parentRunID, bun.List([]string{RunSucceeded, RunFailed, RunCancelled, RunSkipped})).
		OrderExpr("id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("open children of run %s: %w", parentRunID, err)
	}
	return ids, nil
}
