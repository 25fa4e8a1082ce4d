package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/store"
)

// A paused workflow holds its new runs: they are stored PAUSED (their tasks
// PENDING) by the admission of every run start (events, windows, crons,
// RunWorkflow, replays), and a delayed run whose time comes is held too. The
// pause is a row read with the tenant's triggers, so every server process
// sees it from the transaction after the one that paused. Resuming deletes
// the row; the admitter then starts the held runs, oldest first, through the
// workflow's concurrency gate.

// Pause says that and how a workflow is paused.
type Pause struct {
	SkipCron bool // cron ticks are skipped rather than held
	PausedAt time.Time
}

func pauseFromRow(p *store.WorkflowPause) *Pause {
	if p == nil {
		return nil
	}
	return &Pause{SkipCron: p.SkipCron, PausedAt: p.PausedAt.Time}
}

// samePause reports whether two pause rows (either nil) say the same.
func samePause(a, b *store.WorkflowPause) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.SkipCron == b.SkipCron && a.PausedAt == b.PausedAt
}

// pauseOf reads a workflow's pause; nil when it is not paused.
func pauseOf(ctx context.Context, q store.Q, tenantID, name string) (*Pause, error) {
	p, err := q.WorkflowPauseGet(ctx, tenantID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return pauseFromRow(p), nil
}

// PauseWorkflow pauses a workflow, or changes whether a paused one skips its
// cron ticks.
func (e *Engine) PauseWorkflow(ctx context.Context, tenantID, name string, skipCron bool) (*Workflow, error) {
	err := e.changePause(ctx, tenantID, name, func(ctx context.Context, q store.Q, _ *signals) error {
		return q.WorkflowPauseSet(ctx, &store.WorkflowPause{TenantID: tenantID, Workflow: name, SkipCron: skipCron, PausedAt: store.TimeOf(e.now())})
	})
	if err != nil {
		return nil, err
	}
	return e.GetWorkflow(ctx, tenantID, name, 0)
}

// ResumeWorkflow ends a workflow's pause and returns how many held runs it
// released; they start in the background, oldest first.
func (e *Engine) ResumeWorkflow(ctx context.Context, tenantID, name string) (*Workflow, int64, error) {
	var released int64
	err := e.changePause(ctx, tenantID, name, func(ctx context.Context, q store.Q, sig *signals) error {
		if _, err := q.WorkflowPauseDelete(ctx, tenantID, name); err != nil {
			return err
		}
		var err error
		released, err = q.RunCountPaused(ctx, tenantID, name)
		sig.add(signalAdmit)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	wf, err := e.GetWorkflow(ctx, tenantID, name, 0)
	return wf, released, err
}

// changePause runs change on an existing workflow's pause, moving the tenant's
// workflow generation on so that every process's triggers see it.
func (e *Engine) changePause(ctx context.Context, tenantID, name string, change func(ctx context.Context, q store.Q, sig *signals) error) error {
	err := e.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
		if _, err := changeWorkflow(ctx, q, tenantID, name); err != nil {
			return err
		}
		return change(ctx, q, sig)
	})
	return answer(err, &Error{Kind: KindNotFound, Message: fmt.Sprintf("workflow %s not found", name)}, "pause or resume workflow %s", name)
}

// holdIfPaused stores a due SCHEDULED run as PAUSED when its workflow is
// paused, and reports whether it did.
func holdIfPaused(ctx context.Context, q store.Q, sig *signals, r *store.Run, now time.Time) (bool, error) {
	p, err := pauseOf(ctx, q, r.TenantID, r.WorkflowName)
	if err != nil || p == nil {
		return false, err
	}
	held := *r
	held.Status, held.UpdatedAt = store.RunPaused, store.TimeOf(now)
	ok, err := q.RunSetStatusIf(ctx, &held, store.RunScheduled)
	if ok {
		sig.add(signalRun + r.ID)
	}
	return true, err
}

// releaseBatch is how many held runs one transaction starts.
const releaseBatch = 100

// admitReleased starts the held runs of workflows that were resumed, oldest
// first, a batch per transaction; it says busy when there were some, and
// nothingDue when none (a resume wakes it).
func (a *runAdmitter) admitReleased(ctx context.Context) (time.Duration, error) {
	refs, err := read(ctx, a.store, func(ctx context.Context, q store.Q) ([]store.WorkflowRef, error) {
		return q.RunPausedWorkflows(ctx, 100)
	})
	if err != nil {
		return busy, err
	}
	if len(refs) == 0 {
		return nothingDue, nil
	}
	for _, ref := range refs {
		for more := true; more; {
			err := a.write(ctx, func(ctx context.Context, q store.Q, sig *signals) error {
				more = false
				if p, err := pauseOf(ctx, q, ref.TenantID, ref.Workflow); err != nil || p != nil {
					return err // paused again
				}
				runs, err := q.RunListPaused(ctx, ref.TenantID, ref.Workflow, releaseBatch)
				if err != nil {
					return err
				}
				more = len(runs) == releaseBatch
				now := a.now()
				for _, r := range runs {
					var g *gate
					if r.ConcurrencyKey != "" {
						if g, _, err = loadGate(ctx, q, groupOf(r), now); err != nil {
							return err
						}
					}
					if err := a.admitStored(ctx, q, sig, g, r, store.RunPaused, now); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return busy, err
			}
		}
	}
	return busy, nil
}
