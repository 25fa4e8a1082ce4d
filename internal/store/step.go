package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"
)

// Step kinds, as stored.
const (
	StepResult = "RESULT"
	StepWait   = "WAIT"
	StepSpawn  = "SPAWN"
)

// Step is a recorded step of a task: the first record of a name wins and
// survives the task's retries and resumes.
type Step struct {
	bun.BaseModel `bun:"table:task_steps,alias:s"`

	TenantID string `bun:"tenant_id"`
	TaskID   string `bun:"task_id,pk"`
	Name     string `bun:"name,pk"`
	Kind     string `bun:"kind"`
	// Result is a RESULT step's JSON value ("null" when absent).
	Result string `bun:"result"`
	// WaitResult is a WAIT step's result as JSON, "" for other kinds.
	WaitResult string `bun:"wait_result"`
	// ChildRunIDs are a SPAWN step's runs, in the order asked for.
	ChildRunIDs JSON[[]string] `bun:"child_run_ids"`
	Seq         int64          `bun:"seq"`
	CreatedAt   Time           `bun:"created_at"`
}

// StepInsert records a step unless its name is recorded for the task, and
// returns the step as recorded and whether it was recorded before. Its
// sequence number follows the task's last step.
func (q Q) StepInsert(ctx context.Context, s *Step) (*Step, bool, error) {
	if s.Result == "" {
		s.Result = "null"
	}
	if s.ChildRunIDs.V == nil {
		s.ChildRunIDs.V = []string{}
	}
	ids, err := s.ChildRunIDs.Value()
	if err != nil {
		return nil, false, fmt.Errorf("record step %s: %w", s.Name, err)
	}
	res, err := q.db.NewRaw(`
		INSERT INTO task_steps (tenant_id, task_id, name, kind, result, wait_result, child_run_ids, seq, created_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM task_steps WHERE task_id = ?
		ON CONFLICT (task_id, name) DO NOTHING`,
		s.TenantID, s.TaskID, s.Name, s.Kind, s.Result, s.WaitResult, ids, s.CreatedAt, s.TaskID).Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("record step %s: %w", s.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, fmt.Errorf("record step %s: %w", s.Name, err)
	}
	got, err := q.StepGet(ctx, s.TaskID, s.Name)
	if err != nil {
		return nil, false, err
	}
	return got, n == 0, nil
}

// StepGet returns a task's recorded step.
func (q Q) StepGet(ctx context.Context, taskID, name string) (*Step, error) {
	return getOne[Step](ctx, q, false, "step "+name, "task_id = ? AND name = ?", taskID, name)
}

// StepListByTasks returns the steps of tasks in the order they were recorded,
// by task id.
func (q Q) StepListByTasks(ctx context.Context, taskIDs []string) (map[string][]*Step, error) {
	out := map[string][]*Step{}
	if len(taskIDs) == 0 {
		return out, nil
	}
	var steps []*Step
	if err := q.db.NewSelect().Model(&steps).Where("task_id IN (?)", bun.List(taskIDs)).OrderExpr("task_id, seq").Scan(ctx); err != nil {
		return nil, fmt.Errorf("steps of tasks: %w", err)
	}
	for _, s := range steps {
		out[s.TaskID] = append(out[s.TaskID], s)
	}
	return out, nil
}

// ResultValue is a RESULT step's value decoded.
func (s *Step) ResultValue() (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s.Result), &v); err != nil {
		return nil, fmt.Errorf("%w: step %s: %w", ErrJSONColumn, s.Name, err)
	}
	return v, nil
}

// RunGetByTask returns the run of a task of the tenant.
func (q Q) RunGetByTask(ctx context.Context, tenantID, taskID string) (*Run, error) {
	return getOne[Run](ctx, q, false, "run of task "+taskID,
		"tenant_id = ? AND id = (SELECT t.run_id FROM tasks AS t WHERE t.id = ? AND t.tenant_id = ?)", tenantID, taskID, tenantID)
}
