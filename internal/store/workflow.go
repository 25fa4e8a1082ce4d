package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"
)

// Workflow is one stored version of a workflow's spec.
type Workflow struct {
	bun.BaseModel `bun:"table:workflows"`

	TenantID string `bun:"tenant_id,pk"`
	Name     string `bun:"name,pk"`
	Version  int32  `bun:"version,pk"`
	// Spec is the engine's JSON form of the spec, kept as written: SpecHash
	// is the SHA-256 of it.
	Spec      JSON[json.RawMessage] `bun:"spec"`
	SpecHash  string                `bun:"spec_hash"`
	CreatedAt Time                  `bun:"created_at"`
}

// WorkflowHead points at a workflow's current version.
type WorkflowHead struct {
	bun.BaseModel `bun:"table:workflow_heads"`

	TenantID  string `bun:"tenant_id,pk"`
	Name      string `bun:"name,pk"`
	Version   int32  `bun:"version"`
	Deleted   bool   `bun:"deleted"`
	UpdatedAt Time   `bun:"updated_at"`
}

// WorkflowsGeneration returns the tenant's workflow generation: a number that
// changes with every change to its workflows, so cached triggers can be checked
// in one read.
func (q Q) WorkflowsGeneration(ctx context.Context, tenantID string) (int64, error) {
	var gen int64
	err := q.db.NewSelect().Table("tenants").Column("workflows_generation").Where("tenant_id = ?", tenantID).Scan(ctx, &gen)
	if err != nil {
		return 0, fmt.Errorf("read workflows generation: %w", translate(err))
	}
	return gen, nil
}

// WorkflowsGenerationBump changes the tenant's workflow generation. It also locks
// the tenant's row, so concurrent workflow changes of one tenant take turns.
func (q Q) WorkflowsGenerationBump(ctx context.Context, tenantID string) error {
	_, err := q.db.NewUpdate().Table("tenants").Set("workflows_generation = workflows_generation + 1").Where("tenant_id = ?", tenantID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("bump workflows generation: %w", err)
	}
	return nil
}

// WorkflowHeadGet returns the head of a workflow, deleted or not.
func (q Q) WorkflowHeadGet(ctx context.Context, tenantID, name string) (*WorkflowHead, error) {
	return getOne[WorkflowHead](ctx, q, false, "workflow head "+name, "tenant_id = ? AND name = ?", tenantID, name)
}

// WorkflowHeadUpsert sets a workflow's head.
func (q Q) WorkflowHeadUpsert(ctx context.Context, h *WorkflowHead) error {
	_, err := q.db.NewInsert().Model(h).
		On("CONFLICT (tenant_id, name) DO UPDATE").
		Set("version = EXCLUDED.version, deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("set workflow head %s: %w", h.Name, err)
	}
	return nil
}

// WorkflowInsert stores a version.
func (q Q) WorkflowInsert(ctx context.Context, w *Workflow) error {
	if _, err := q.db.NewInsert().Model(w).Exec(ctx); err != nil {
		return fmt.Errorf("insert workflow %s v%d: %w", w.Name, w.Version, translate(err))
	}
	return nil
}

// WorkflowGet returns one version of a workflow.
func (q Q) WorkflowGet(ctx context.Context, tenantID, name string, version int32) (*Workflow, error) {
	return getOne[Workflow](ctx, q, false, fmt.Sprintf("workflow %s v%d", name, version), "tenant_id = ? AND name = ? AND version = ?", tenantID, name, version)
}

// WorkflowLatestVersion returns the highest version stored for a name (0 if none).
func (q Q) WorkflowLatestVersion(ctx context.Context, tenantID, name string) (int32, error) {
	var v int32
	err := q.db.NewSelect().Model((*Workflow)(nil)).ColumnExpr("COALESCE(MAX(version), 0)").
		Where("tenant_id = ? AND name = ?", tenantID, name).Scan(ctx, &v)
	if err != nil {
		return 0, fmt.Errorf("latest workflow version %s: %w", name, err)
	}
	return v, nil
}

// WorkflowListCurrent returns the current version of the tenant's workflows that
// are not deleted, by name, after the name afterName, at most limit (0: all).
func (q Q) WorkflowListCurrent(ctx context.Context, tenantID, afterName string, limit int) ([]*Workflow, error) {
	var ws []*Workflow
	sel := q.db.NewSelect().Model(&ws).
		Join("JOIN workflow_heads AS h ON h.tenant_id = workflow.tenant_id AND h.name = workflow.name AND h.version = workflow.version").
		Where("workflow.tenant_id = ? AND h.deleted = ?", tenantID, false).
		OrderExpr("workflow.name")
	if afterName != "" {
		sel.Where("workflow.name > ?", afterName)
	}
	if limit > 0 {
		sel.Limit(int64(limit))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	return ws, nil
}
