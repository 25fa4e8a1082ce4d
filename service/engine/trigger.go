package engine

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/switchyard/switchyard/service/store"
)

// triggerIndex maps event keys to the workflows they start, for one tenant. It is
// rebuilt when the tenant's workflow generation (bumped by every workflow change,
// on any server process) differs from the one it was built at, so a push always
// sees the workflows committed before it.
type triggerIndex struct {
	generation int64
	byKey      map[string][]*store.Workflow
}

// triggerCache holds the indexes of the tenants this process has seen.
type triggerCache struct {
	mu      sync.Mutex
	indexes map[string]*triggerIndex
}

// index returns the tenant's current trigger index, reading the generation (one
// row) inside the caller's transaction and rebuilding when it moved.
func (c *triggerCache) index(ctx context.Context, q store.Q, tenantID string) (*triggerIndex, error) {
	gen, err := q.WorkflowsGeneration(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	idx := c.indexes[tenantID]
	c.mu.Unlock()
	if idx != nil && idx.generation == gen {
		return idx, nil
	}
	rows, err := q.WorkflowListCurrent(ctx, tenantID, "", 0)
	if err != nil {
		return nil, err
	}
	idx = &triggerIndex{generation: gen, byKey: make(map[string][]*store.Workflow)}
	for _, row := range rows {
		var spec WorkflowSpec
		if json.Unmarshal([]byte(row.Spec), &spec) != nil {
			continue
		}
		for _, key := range spec.OnEvents {
			idx.byKey[key] = append(idx.byKey[key], row)
		}
	}
	c.mu.Lock()
	if c.indexes == nil {
		c.indexes = make(map[string]*triggerIndex)
	}
	c.indexes[tenantID] = idx
	c.mu.Unlock()
	return idx, nil
}

// match returns the workflows an event key starts.
func (idx *triggerIndex) match(key string) []*store.Workflow {
	return idx.byKey[key]
}

// planRun builds a run of wf and its tasks: tasks without parents are queued,
// the others wait for their parents.
func planRun(tenantID string, wf *store.Workflow, eventID, inputJSON string, priority int32, now int64) (*store.Run, []*store.Task) {
	var spec WorkflowSpec
	_ = json.Unmarshal([]byte(wf.Spec), &spec) // stored by the engine
	run := &store.Run{
		ID:              newID(),
		TenantID:        tenantID,
		WorkflowName:    wf.Name,
		WorkflowVersion: wf.Version,
		Status:          store.RunActive,
		EventID:         eventID,
		Input:           inputJSON,
		Priority:        priority,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	tasks := make([]*store.Task, len(spec.Tasks))
	for i, ts := range spec.Tasks {
		status := store.TaskPending
		if len(ts.Parents) == 0 {
			status = store.TaskQueued
		}
		parents, _ := json.Marshal(ts.Parents)
		if ts.Parents == nil {
			parents = []byte("[]")
		}
		tasks[i] = &store.Task{
			ID:               newID(),
			TenantID:         tenantID,
			RunID:            run.ID,
			Name:             ts.Name,
			Action:           ts.Action,
			Parents:          string(parents),
			Status:           status,
			MaxAttempts:      ts.Retry.MaxAttempts,
			InitialBackoffMS: ts.Retry.InitialBackoff.Milliseconds(),
			MaxBackoffMS:     ts.Retry.MaxBackoff.Milliseconds(),
			TimeoutMS:        ts.Timeout.Milliseconds(),
			Priority:         priority,
			AvailableAt:      now,
			CreatedAt:        now,
		}
	}
	return run, tasks
}
