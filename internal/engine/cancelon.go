package engine

import (
	"context"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/store"
)

// maxCancelScan bounds the runs one event looks at per cancel trigger: a
// workflow with more open runs has the oldest looked at.
const maxCancelScan = 1000

// cancelTrigger is one compiled cancel_on entry of a workflow.
type cancelTrigger struct {
	wf        *compiledWorkflow
	key       string
	condition cel.Program // nil: every open run
}

// compileCancels compiles the workflow's cancel_on entries.
func (wf *compiledWorkflow) compileCancels() error {
	for i, c := range wf.spec.CancelOn {
		ct := &cancelTrigger{wf: wf, key: c.Key}
		if c.Condition != "" {
			p, err := compileCancelCondition(c.Condition)
			if err != nil {
				return fmt.Errorf("cancel_on[%d]: %w", i, err)
			}
			ct.condition = p
		}
		wf.cancels = append(wf.cancels, ct)
	}
	return nil
}

// cancelOnEvents cancels, in the push's transaction, the open runs that the
// events just stored cancel: for each cancel trigger of the index the event was
// matched with whose key matches, the runs of its workflow for which its
// condition holds. A condition that fails to evaluate for a run cancels
// nothing and is logged.
func (e *Engine) cancelOnEvents(ctx context.Context, q store.Q, sig *signals, items []*pushItem, inserted map[string]bool, now time.Time) error {
	for _, it := range items {
		if !inserted[it.row.ID] {
			continue
		}
		for _, c := range it.idx.cancels.match(it.row.Key) {
			if err := e.cancelMatching(ctx, q, sig, c, it.row, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// cancelMatching cancels the open runs of c's workflow that ev cancels.
func (e *Engine) cancelMatching(ctx context.Context, q store.Q, sig *signals, c *cancelTrigger, ev *store.Event, now time.Time) error {
	runs, err := q.RunListOpen(ctx, ev.TenantID, c.wf.row.Name, maxCancelScan)
	if err != nil {
		return err
	}
	vars := rowVars(ev)
	reason := fmt.Sprintf("cancelled by event %s (%s)", ev.ID, ev.Key)
	for _, r := range runs {
		if c.condition != nil {
			ok, err := evalCancelCondition(c.condition, vars, r.Input.Map())
			if err != nil {
				e.log.WarnContext(ctx, "cancel condition", "workflow", c.wf.row.Name, "run_id", r.ID, "event_id", ev.ID, "error", err.Error())
			}
			if !ok {
				continue
			}
		}
		if _, err := e.cancelIfOpen(ctx, q, sig, r.TenantID, r.ID, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// cancelIfOpen cancels a stored run, under its lock, unless it ended, and
// reports whether it did.
func (e *Engine) cancelIfOpen(ctx context.Context, q store.Q, sig *signals, tenantID, id, reason string, now time.Time) (bool, error) {
	run, err := q.RunGetForUpdate(ctx, tenantID, id)
	if err != nil {
		return false, err
	}
	if runEnded(run.Status) {
		return false, nil
	}
	tasks, err := q.TaskListByRun(ctx, id)
	if err != nil {
		return false, err
	}
	return true, e.endRun(ctx, q, sig, run, tasks, store.RunCancelled, reason, now)
}
