package engine

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Run statuses as the API shows them; QUEUED and RUNNING are derived from the
// tasks of an active run.
const (
	RunQueued    = store.RunQueuedDerived
	RunRunning   = store.RunRunningDerived
	RunSucceeded = store.RunSucceeded
	RunFailed    = store.RunFailed
	RunCancelled = store.RunCancelled
	RunScheduled = store.RunScheduled
	RunWaiting   = store.RunWaiting
	RunSkipped   = store.RunSkipped
	RunPaused    = store.RunPaused
)

// What starts a run, as [Run.Trigger] says.
const (
	TriggerEvent  = store.TriggerEvent
	TriggerCron   = store.TriggerCron
	TriggerManual = store.TriggerManual
	TriggerReplay = store.TriggerReplay
)

// Run is one execution of a workflow version.
type Run struct {
	ID              string
	Workflow        string
	WorkflowVersion int32
	Status          string
	EventID         string
	Input           map[string]any
	Tasks           []*Task // GetRun and WatchRun only
	Error           string
	CreatedAt       time.Time
	FinishedAt      time.Time
	Trigger         string // one of the Trigger* kinds
	ReplayOf        string
	CronTick        time.Time
	Priority        int32
	ScheduledAt     time.Time
	ConcurrencyKey  string
	// WaitReason says why a queued or scheduled run waits (a rate limit of
	// one of its tasks, a trigger's throttle); empty when nothing holds it.
	WaitReason string
	EventIDs   []string // GetRun and WatchRun only: a debounced or batched run's events
	// A child run's parent run and task.
	ParentRunID  string
	ParentTaskID string
	// Waits are the open durable waits of its tasks; WaitingUntil the
	// earliest deadline among them (zero: none).
	Waits        []*WaitInfo
	WaitingUntil time.Time
}

// Ended reports whether the run reached a final status.
func (r *Run) Ended() bool {
	return r.Status == RunSucceeded || r.Status == RunFailed || r.Status == RunCancelled || r.Status == RunSkipped
}

// Task is one node of a run.
type Task struct {
	ID          string
	Name        string
	Action      string
	Status      string
	Attempt     int32
	MaxAttempts int32
	WorkerID    string
	Output      map[string]any
	Error       string
	Parents     []string
	StartedAt   time.Time
	FinishedAt  time.Time
	AvailableAt time.Time
	// WaitReason says why a queued task waits past its time (a rate limit).
	WaitReason string
	// Waits are its durable waits' conditions, oldest first (GetRun and
	// WatchRun); Resumes the attempts that resumed it after a wait.
	Waits   []*WaitInfo
	Resumes int32
}

func runFromRow(row *store.Run, running bool, tasks []*store.Task) *Run {
	r := &Run{
		ID:              row.ID,
		Workflow:        row.WorkflowName,
		WorkflowVersion: row.WorkflowVersion,
		Status:          row.Status,
		EventID:         row.EventID,
		Error:           row.Error,
		CreatedAt:       row.CreatedAt.Time,
		FinishedAt:      row.FinishedAt.Time,
		Trigger:         row.TriggerKind,
		ReplayOf:        row.ReplayOf,
		CronTick:        row.CronTick.Time,
		Priority:        row.Priority,
		ScheduledAt:     row.ScheduledAt.Time,
		ConcurrencyKey:  row.ConcurrencyKey,
		Input:           row.Input.Map(),
		ParentRunID:     row.ParentRunID,
		ParentTaskID:    row.ParentTaskID,
	}
	if row.Status == store.RunActive {
		r.Status = RunQueued
		if running {
			r.Status = RunRunning
		}
		if row.Waiting {
			r.Status = RunWaiting
		}
	}
	if row.Status == store.RunScheduled {
		r.WaitReason = row.WaitReason
	}
	for _, t := range tasks {
		task := &Task{
			ID:          t.ID,
			Name:        t.Name,
			Action:      t.Action,
			Status:      t.Status,
			Attempt:     t.Attempt,
			MaxAttempts: t.MaxAttempts,
			Parents:     t.Parents.V,
			WorkerID:    t.WorkerID,
			Error:       t.Error,
			StartedAt:   t.StartedAt.Time,
			FinishedAt:  t.FinishedAt.Time,
			AvailableAt: t.AvailableAt.Time,
			Output:      t.Output.Map(),
			Resumes:     t.Resumes,
		}
		if t.Status == store.TaskQueued {
			task.WaitReason = t.WaitReason
			if r.Status == RunQueued && task.WaitReason != "" {
				r.WaitReason = task.WaitReason
			}
		}
		r.Tasks = append(r.Tasks, task)
	}
	return r
}

func hasRunning(tasks []*store.Task) bool {
	for _, t := range tasks {
		if t.Status == store.TaskRunning {
			return true
		}
	}
	return false
}

func notFoundRun(id string) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf("run %s not found", id)}
}

// GetRun returns a run with its tasks.
func (e *Engine) GetRun(ctx context.Context, tenantID, id string) (*Run, error) {
	var run *Run
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		row, err := q.RunGet(ctx, tenantID, id)
		if err != nil {
			return err
		}
		tasks, err := q.TaskListByRun(ctx, id)
		if err != nil {
			return err
		}
		run = runFromRow(row, hasRunning(tasks), tasks)
		if run.EventIDs, err = q.RunEventIDs(ctx, id); err != nil {
			return err
		}
		return addWaits(ctx, q, []*Run{run})
	})
	if err = answer(err, notFoundRun(id), "get run %s", id); err != nil {
		return nil, err
	}
	return run, nil
}

// RunFilter selects runs for ListRuns.
type RunFilter struct {
	Workflow      string
	Status        string // one of the Run* statuses, or ""
	EventID       string
	Trigger       string // one of the Trigger* kinds, or ""
	CreatedAfter  time.Time
	CreatedBefore time.Time
	ParentRunID   string // only child runs of this run
}

// ListRuns returns one page of the tenant's runs, newest first, without tasks.
func (e *Engine) ListRuns(ctx context.Context, tenantID string, f RunFilter, page Page) ([]*Run, string, error) {
	p := &store.RunListParams{TenantID: tenantID, Workflow: f.Workflow, Status: f.Status, EventID: f.EventID, Trigger: f.Trigger, ParentRunID: f.ParentRunID,
		ListPage: store.ListPage{CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}}
	var running map[string]bool
	var waits map[string]string
	var open map[string][]*WaitInfo
	id := func(r *store.Run) string { return r.ID }
	return listPage(ctx, e, "runs", page, f,
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Run, error) {
			p.BeforeID, p.Limit = after, limit
			rows, err := q.RunList(ctx, p)
			if err == nil {
				running, err = q.TaskRunningRuns(ctx, pluck(rows, id))
			}
			if err == nil {
				waits, err = q.TaskWaitReasons(ctx, pluck(rows, id))
			}
			if err == nil {
				open, err = openWaits(ctx, q, rows)
			}
			return rows, err
		},
		id, always(func(r *store.Run) *Run {
			run := runFromRow(r, running[r.ID], nil)
			if run.Status == RunQueued {
				run.WaitReason = waits[r.ID]
			}
			setWaits(run, open[r.ID])
			return run
		}))
}

func runEnded(status string) bool {
	return status == store.RunSucceeded || status == store.RunFailed || status == store.RunCancelled || status == store.RunSkipped
}

// CancelRun cancels a run that has not ended: its pending and queued tasks are
// cancelled and the workers of its running tasks are told to stop. An ended run
// is returned unchanged.
func (e *Engine) CancelRun(ctx context.Context, tenantID, id, reason string) (*Run, error) {
	if reason == "" {
		reason = "cancelled"
	}
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		_, err := e.cancelIfOpen(ctx, q, sig, tenantID, id, reason, e.now())
		return err
	})
	if err = answer(err, notFoundRun(id), "cancel run %s", id); err != nil {
		return nil, err
	}
	return e.GetRun(ctx, tenantID, id)
}

// RunInput is a manual run.
type RunInput struct {
	Input          map[string]any // nil means {}
	IdempotencyKey string
	RunAt          time.Time // zero or past means now
	Priority       int32
}

// maxRunDelay bounds how far ahead a run can be scheduled.
const maxRunDelay = 366 * 24 * time.Hour

// RunWorkflow starts a run of the workflow's current version with input. With an
// idempotency key, a repeat returns the original run (deduplicated); the same key
// for another workflow, input, start time or priority is KindAlreadyExists.
func (e *Engine) RunWorkflow(ctx context.Context, tenantID, name string, in RunInput) (runID string, deduplicated bool, err error) {
	input, err := objectOf("input", in.Input)
	if err != nil {
		return "", false, err
	}
	var scheduledAt store.Time
	if !in.RunAt.IsZero() {
		if in.RunAt.After(e.now().Add(maxRunDelay)) {
			return "", false, invalid("run_at", "run_at.max", "is more than a year (366 days) ahead")
		}
		// At the stored precision, so that a retry compares equal to the stored run.
		scheduledAt = store.TimeOf(in.RunAt)
	}
	err = e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		deduplicated = false
		idx, err := e.triggers.index(ctx, q, tenantID)
		if err != nil {
			return err
		}
		wf := idx.byName[name]
		if wf == nil {
			return store.ErrNotFound
		}
		key, err := wf.concurrencyKey(inputVars(input))
		if err != nil {
			return invalid("input", "concurrency.key", "the workflow's concurrency key cannot be evaluated on the input: %v", err)
		}
		now := e.now()
		p := newRun{wf: wf, input: input, priority: in.Priority, trigger: store.TriggerManual, scheduledAt: scheduledAt,
			concurrencyKey: key, idempotencyKey: in.IdempotencyKey}.plan(tenantID, now)
		inserted, err := e.startRuns(ctx, q, sig, []*plannedRun{p}, now)
		if err != nil {
			return err
		}
		if inserted[p.run.ID] {
			runID = p.run.ID
			return nil
		}
		orig, err := q.RunGetByIdempotencyKey(ctx, tenantID, in.IdempotencyKey)
		if err != nil {
			return err
		}
		if err := sameRun(orig, runRequest{workflow: name, input: input.Text(), priority: in.Priority, scheduledAt: scheduledAt}); err != nil {
			return err
		}
		runID, deduplicated = orig.ID, true
		return nil
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("workflow %s not found", name)}, "run workflow %s", name); err != nil {
		return "", false, err
	}
	return runID, deduplicated, nil
}

// WatchRun calls send with the run's current state, then with every new state,
// until the run ends (after sending its final state) or ctx ends. While nothing
// changes it calls send(nil) every keep-alive interval.
func (e *Engine) WatchRun(ctx context.Context, tenantID, id string, send func(*Run) error) error {
	return watchState(ctx, e, id, 2*time.Second,
		func(ctx context.Context) (*Run, error) { return e.GetRun(ctx, tenantID, id) },
		func(last, cur *Run) bool { return !reflect.DeepEqual(cur, last) },
		(*Run).Ended, send)
}
