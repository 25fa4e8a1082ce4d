package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// Defaults of a task spec.
const (
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultTaskTimeout    = 5 * time.Minute
)

// WorkflowSpec is a declared workflow. Its JSON form is what is stored and
// compared: equal specs encode equally.
type WorkflowSpec struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	OnEvents    []string   `json:"on_events,omitempty"`
	Tasks       []TaskSpec `json:"tasks"`

	EventTriggers []EventTrigger   `json:"event_triggers,omitempty"`
	OnCron        []CronTrigger    `json:"on_cron,omitempty"`
	Concurrency   *ConcurrencyRule `json:"concurrency,omitempty"`
	CancelOn      []CancelOnEvent  `json:"cancel_on,omitempty"`
}

// TaskSpec is one node of a workflow's DAG.
type TaskSpec struct {
	Name    string        `json:"name"`
	Action  string        `json:"action"`
	Parents []string      `json:"parents,omitempty"`
	Retry   RetryPolicy   `json:"retry"`
	Timeout time.Duration `json:"timeout"`
	// RateLimits are the declared limits the task consumes from.
	RateLimits []TaskRateLimit `json:"rate_limits,omitempty"`
	// WaitFor is what the task waits for once its parents are done (nil:
	// nothing); OnWaitTimeout what a timed-out wait does (OnWaitTimeout*,
	// "" is fail); SkipIf and CancelIf CEL conditions evaluated when it
	// would be queued. A task with WaitFor may have no Action: a gate.
	WaitFor       *WaitSpec `json:"wait_for,omitempty"`
	OnWaitTimeout string    `json:"on_wait_timeout,omitempty"`
	SkipIf        string    `json:"skip_if,omitempty"`
	CancelIf      string    `json:"cancel_if,omitempty"`
}

// RetryPolicy says how often and how late a failed task is retried.
type RetryPolicy struct {
	MaxAttempts    int32         `json:"max_attempts"`
	InitialBackoff time.Duration `json:"initial_backoff"`
	MaxBackoff     time.Duration `json:"max_backoff"`
}

// Workflow is one stored version of a workflow.
type Workflow struct {
	Spec      WorkflowSpec
	Version   int32
	CreatedAt time.Time
	Pause     *Pause // nil unless the workflow is paused
}

// normalize fills in defaults and checks the DAG: duplicate names, unknown
// parents, a task that is its own parent and cycles are invalid, each named.
func (s *WorkflowSpec) normalize() error {
	if len(s.Tasks) == 0 {
		return invalid("spec.tasks", "tasks.required", "a workflow needs at least one task")
	}
	if err := s.normalizeRules(); err != nil {
		return err
	}
	index := make(map[string]int, len(s.Tasks))
	for i := range s.Tasks {
		t := &s.Tasks[i]
		if _, dup := index[t.Name]; dup {
			return invalid(fmt.Sprintf("spec.tasks[%d].name", i), "tasks.unique_name", "task name %q is used twice", t.Name)
		}
		index[t.Name] = i
		if t.Retry.MaxAttempts == 0 {
			t.Retry.MaxAttempts = DefaultMaxAttempts
		}
		if t.Retry.InitialBackoff == 0 {
			t.Retry.InitialBackoff = DefaultInitialBackoff
		}
		if t.Retry.MaxBackoff == 0 {
			t.Retry.MaxBackoff = DefaultMaxBackoff
		}
		if t.Retry.MaxBackoff < t.Retry.InitialBackoff {
			return invalid(fmt.Sprintf("spec.tasks[%d].retry.max_backoff", i), "retry.max_backoff", "task %q: max_backoff %s is below initial_backoff %s", t.Name, t.Retry.MaxBackoff, t.Retry.InitialBackoff)
		}
		if t.Timeout == 0 {
			t.Timeout = DefaultTaskTimeout
		}
		if err := t.normalizeRateLimits(fmt.Sprintf("spec.tasks[%d]", i)); err != nil {
			return err
		}
		if err := t.normalizeDeclared(fmt.Sprintf("spec.tasks[%d]", i)); err != nil {
			return err
		}
	}
	for i, t := range s.Tasks {
		seen := map[string]bool{}
		for _, p := range t.Parents {
			if _, ok := index[p]; !ok {
				return invalid(fmt.Sprintf("spec.tasks[%d].parents", i), "tasks.unknown_parent", "task %q names unknown parent %q", t.Name, p)
			}
			if p == t.Name {
				return invalid(fmt.Sprintf("spec.tasks[%d].parents", i), "tasks.cycle", "task %q is its own parent", t.Name)
			}
			if seen[p] {
				return invalid(fmt.Sprintf("spec.tasks[%d].parents", i), "tasks.duplicate_parent", "task %q names parent %q twice", t.Name, p)
			}
			seen[p] = true
		}
	}
	return s.checkAcyclic(index)
}

// checkAcyclic refuses a spec whose tasks' parents form a cycle, naming the
// tasks on it; index maps task names to their positions. It searches depth
// first.
func (s *WorkflowSpec) checkAcyclic(index map[string]int) error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(s.Tasks))
	var stack []string
	var visit func(i int) error
	visit = func(i int) error {
		state[i] = visiting
		stack = append(stack, s.Tasks[i].Name)
		for _, p := range s.Tasks[i].Parents {
			j := index[p]
			switch state[j] {
			case visiting:
				start := 0
				for k, n := range stack {
					if n == p {
						start = k
					}
				}
				cycle := append(append([]string{}, stack[start:]...), p)
				return invalid(fmt.Sprintf("spec.tasks[%d].parents", j), "tasks.cycle", "tasks form a cycle: %s", strings.Join(cycle, " → "))
			case unvisited:
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range s.Tasks {
		if state[i] == unvisited {
			if err := visit(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// Warnings says, one sentence each, what the spec, valid as it is, may not
// do as meant: a workflow with no trigger starts only by RunWorkflow or a
// replay.
func (s WorkflowSpec) Warnings() []string {
	if len(s.OnEvents) == 0 && len(s.EventTriggers) == 0 && len(s.OnCron) == 0 {
		return []string{fmt.Sprintf("workflow %s has no trigger (no onEvents, eventTriggers or onCron): no event or schedule starts it, only RunWorkflow and replays", s.Name)}
	}
	return nil
}

// PutWorkflow stores spec as the workflow's new current version, unless it equals
// the current one. changed says whether a version was stored.
func (e *Engine) PutWorkflow(ctx context.Context, tenantID string, spec WorkflowSpec) (wf *Workflow, changed bool, err error) {
	if err := spec.normalize(); err != nil {
		return nil, false, err
	}
	specJSON, err := storedJSON(spec)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(specJSON.V)
	hash := hex.EncodeToString(sum[:])
	now := e.now()
	err = e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		// Bumping first serialises workflow changes of the tenant.
		if err := q.WorkflowsGenerationBump(ctx, tenantID); err != nil {
			return err
		}
		head, err := q.WorkflowHeadGet(ctx, tenantID, spec.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if head != nil && !head.Deleted {
			cur, err := q.WorkflowGet(ctx, tenantID, spec.Name, head.Version)
			if err != nil {
				return err
			}
			if cur.SpecHash == hash {
				wf, err = workflowFromRow(cur)
				return err
			}
		}
		latest, err := q.WorkflowLatestVersion(ctx, tenantID, spec.Name)
		if err != nil {
			return err
		}
		row := &store.Workflow{TenantID: tenantID, Name: spec.Name, Version: latest + 1, Spec: specJSON, SpecHash: hash, CreatedAt: store.TimeOf(now)}
		if err := q.WorkflowInsert(ctx, row); err != nil {
			return err
		}
		if err := q.WorkflowHeadUpsert(ctx, &store.WorkflowHead{TenantID: tenantID, Name: spec.Name, Version: row.Version, UpdatedAt: store.TimeOf(now)}); err != nil {
			return err
		}
		if err := replaceCron(ctx, q, tenantID, spec, now); err != nil {
			return err
		}
		if len(spec.OnCron) > 0 {
			sig.add(signalDue)
		}
		wf, err = workflowFromRow(row)
		changed = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("put workflow %s: %w", spec.Name, err)
	}
	return wf, changed, nil
}

// GetWorkflow returns a version of a workflow; version 0 means the current one.
func (e *Engine) GetWorkflow(ctx context.Context, tenantID, name string, version int32) (*Workflow, error) {
	var wf *Workflow
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		if version == 0 {
			head, err := q.WorkflowHeadGet(ctx, tenantID, name)
			if err != nil {
				return err
			}
			if head.Deleted {
				return store.ErrNotFound
			}
			version = head.Version
		}
		row, err := q.WorkflowGet(ctx, tenantID, name, version)
		if err != nil {
			return err
		}
		if wf, err = workflowFromRow(row); err != nil {
			return err
		}
		wf.Pause, err = pauseOf(ctx, q, tenantID, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		if version != 0 {
			return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("workflow %s version %d not found", name, version)}
		}
		return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("workflow %s not found", name)}
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow %s: %w", name, err)
	}
	return wf, nil
}

// ListWorkflows returns one page of the tenant's current workflows, by name.
func (e *Engine) ListWorkflows(ctx context.Context, tenantID string, page Page) ([]*Workflow, string, error) {
	var paused map[string]*store.WorkflowPause
	return listPage(ctx, e, "workflows", page, struct{}{},
		func(ctx context.Context, q store.Q, after string, limit int) ([]*store.Workflow, error) {
			rows, err := q.WorkflowListCurrent(ctx, tenantID, after, limit)
			if err == nil {
				paused, err = q.WorkflowPauseList(ctx, tenantID)
			}
			return rows, err
		},
		func(r *store.Workflow) string { return r.Name }, func(r *store.Workflow) (*Workflow, error) {
			wf, err := workflowFromRow(r)
			if err == nil {
				wf.Pause = pauseFromRow(paused[r.Name])
			}
			return wf, err
		})
}

// DeleteWorkflow stops the workflow from being triggered; its runs go on.
func (e *Engine) DeleteWorkflow(ctx context.Context, tenantID, name string) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		head, err := changeWorkflow(ctx, q, tenantID, name)
		if err != nil {
			return err
		}
		head.Deleted, head.UpdatedAt = true, store.TimeOf(e.now())
		if err := q.WorkflowHeadUpsert(ctx, head); err != nil {
			return err
		}
		return q.CronReplace(ctx, tenantID, name, nil)
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("workflow %s not found", name)}, "delete workflow %s", name); err != nil {
		return err
	}
	return nil
}

func workflowFromRow(row *store.Workflow) (*Workflow, error) {
	wf := &Workflow{Version: row.Version, CreatedAt: row.CreatedAt.Time}
	if err := decodeStored(fmt.Sprintf("workflow %s version %d", row.Name, row.Version), row.Spec, &wf.Spec); err != nil {
		return nil, err
	}
	return wf, nil
}

// changeWorkflow begins a change to a workflow that exists: it moves the
// tenant's workflow generation on (so that every process's triggers see the
// change, and changes of one tenant take turns) and returns the workflow's
// head; [store.ErrNotFound] for a workflow never put or deleted.
func changeWorkflow(ctx context.Context, q store.Q, tenantID, name string) (*store.WorkflowHead, error) {
	if err := q.WorkflowsGenerationBump(ctx, tenantID); err != nil {
		return nil, err
	}
	head, err := q.WorkflowHeadGet(ctx, tenantID, name)
	if err != nil {
		return nil, err
	}
	if head.Deleted {
		return nil, store.ErrNotFound
	}
	return head, nil
}
