package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchyard/switchyard/internal/store"
)

// RecordStepParams is a running attempt's RecordStep call.
type RecordStepParams struct {
	WorkerID string
	TaskID   string
	Attempt  int32
	Name     string
	Result   any // any JSON value
}

// RecordStep records the result of a named step of a running attempt,
// fenced by (task, attempt, worker). A step recorded before keeps its first
// result, which is returned (deduplicated).
func (e *Engine) RecordStep(ctx context.Context, tenantID string, p RecordStepParams) (step *Step, deduplicated bool, err error) {
	text, err := json.Marshal(p.Result)
	if err != nil {
		return nil, false, invalid("result", "step.result", "the result is not JSON: %v", err)
	}
	if len(text) > MaxPayloadBytes {
		return nil, false, invalid("result", "step.result_size", "the result is %d bytes encoded; the limit is %d", len(text), MaxPayloadBytes)
	}
	err = e.write(ctx, func(ctx context.Context, q store.Q, _ *signals) error {
		_, _, t, err := lockTask(ctx, q, tenantID, p.TaskID)
		if err != nil {
			return err
		}
		if err := fenceAttempt(t, p.Attempt, p.WorkerID); err != nil {
			return err
		}
		row, dup, err := q.StepInsert(ctx, &store.Step{TenantID: tenantID, TaskID: t.ID, Name: p.Name, Kind: store.StepResult,
			Result: string(text), CreatedAt: store.TimeOf(e.now())})
		if err != nil {
			return err
		}
		deduplicated = dup
		step, err = stepFromRow(row)
		return err
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("task %s not found", p.TaskID)}, "record step %s of task %s", p.Name, p.TaskID); err != nil {
		return nil, false, err
	}
	return step, deduplicated, nil
}

// ListSteps returns the steps a task of the tenant recorded, in order.
func (e *Engine) ListSteps(ctx context.Context, tenantID, taskID string) ([]*Step, error) {
	var steps []*Step
	err := e.store.Read(ctx, func(ctx context.Context, q store.Q) error {
		if _, err := q.RunGetByTask(ctx, tenantID, taskID); err != nil {
			return err
		}
		rows, err := q.StepListByTasks(ctx, []string{taskID})
		if err != nil {
			return err
		}
		steps, err = stepsFromRows(rows[taskID])
		return err
	})
	if err = answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("task %s not found", taskID)}, "list steps of task %s", taskID); err != nil {
		return nil, err
	}
	return steps, nil
}

func stepsFromRows(rows []*store.Step) ([]*Step, error) {
	steps := make([]*Step, 0, len(rows))
	for _, r := range rows {
		s, err := stepFromRow(r)
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// addSteps gives the assignments of claimed tasks that may have recorded
// steps (a later attempt, or a declared wait) their steps and declared wait
// result; a first attempt of a task without a declared wait has none, and
// costs no query.
func addSteps(ctx context.Context, q store.Q, claimed []*store.Task, msgs []*Message) error {
	var ids []string
	for _, t := range claimed {
		if t.Attempt > 1 || t.Declared != "" {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.StepListByTasks(ctx, ids)
	if err != nil {
		return err
	}
	for i, t := range claimed {
		steps, err := stepsFromRows(rows[t.ID])
		if err != nil {
			return err
		}
		a := msgs[i].Assignment
		for _, s := range steps {
			if s.Name == declaredStep && s.Kind == store.StepWait && t.Declared != "" {
				a.WaitResult = s.Wait
				continue
			}
			a.Steps = append(a.Steps, s)
		}
	}
	return nil
}
