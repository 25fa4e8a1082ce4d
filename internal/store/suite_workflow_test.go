package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/internal/store"
)

var workflowCases = []suiteCase{
	{"InsertVersionsAndGet", testWorkflowVersions},
	{"HeadPutAndDelete", testWorkflowHead},
	{"ListCurrent", testWorkflowListCurrent},
	{"Generation", testWorkflowsGeneration},
}

func workflowOf(tenant, name string, version int32) *store.Workflow {
	return &store.Workflow{TenantID: tenant, Name: name, Version: version, Spec: rawJSON(`{"name":"` + name + `"}`), SpecHash: name + "-hash", CreatedAt: store.TimeMicros(int64(version) * 10)}
}

// putWorkflow stores a version and makes it the head, as putting a workflow does.
func putWorkflow(f *fixture, w *store.Workflow) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error {
		if err := q.WorkflowInsert(ctx, w); err != nil {
			return err
		}
		return q.WorkflowHeadUpsert(ctx, &store.WorkflowHead{TenantID: w.TenantID, Name: w.Name, Version: w.Version, UpdatedAt: w.CreatedAt})
	})
}

// deleteWorkflow marks a workflow's head deleted.
func deleteWorkflow(f *fixture, tenant, name string, version int32) {
	f.t.Helper()
	f.write(func(ctx context.Context, q store.Q) error {
		return q.WorkflowHeadUpsert(ctx, &store.WorkflowHead{TenantID: tenant, Name: name, Version: version, Deleted: true, UpdatedAt: store.TimeMicros(99)})
	})
}

func testWorkflowVersions(t *testing.T, f *fixture) {
	latest := func(tenant, name string) int32 {
		return read(f, func(ctx context.Context, q store.Q) (int32, error) { return q.WorkflowLatestVersion(ctx, tenant, name) })
	}
	wantEqual(t, "latest version of none", latest(tenantA, "wf"), int32(0))
	v1, v2 := workflowOf(tenantA, "wf", 1), workflowOf(tenantA, "wf", 2)
	putWorkflow(f, v1)
	putWorkflow(f, v2)
	putWorkflow(f, workflowOf(tenantB, "wf", 1))
	wantEqual(t, "latest version of A", latest(tenantA, "wf"), int32(2))
	wantEqual(t, "latest version of B", latest(tenantB, "wf"), int32(1))
	got := read(f, func(ctx context.Context, q store.Q) (*store.Workflow, error) {
		return q.WorkflowGet(ctx, tenantA, "wf", 1)
	})
	wantEqual(t, "WorkflowGet v1", got, v1)
	for _, c := range []struct {
		tenant  string
		version int32
	}{{tenantA, 3}, {tenantB, 2}, {"nobody", 1}} {
		_, err := readErr(f, func(ctx context.Context, q store.Q) (*store.Workflow, error) {
			return q.WorkflowGet(ctx, c.tenant, "wf", c.version)
		})
		wantErr(t, "WorkflowGet of a version the tenant lacks", err, store.ErrNotFound)
	}
	err := f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WorkflowInsert(ctx, workflowOf(tenantA, "wf", 2)) })
	wantErr(t, "WorkflowInsert of a stored version", err, store.ErrConflict)
}

func testWorkflowHead(t *testing.T, f *fixture) {
	head := func(tenant string) (*store.WorkflowHead, error) {
		return readErr(f, func(ctx context.Context, q store.Q) (*store.WorkflowHead, error) {
			return q.WorkflowHeadGet(ctx, tenant, "wf")
		})
	}
	_, err := head(tenantA)
	wantErr(t, "head of a workflow never put", err, store.ErrNotFound)
	putWorkflow(f, workflowOf(tenantA, "wf", 1))
	putWorkflow(f, workflowOf(tenantA, "wf", 2))
	got, _ := head(tenantA)
	wantEqual(t, "head after v2", got, &store.WorkflowHead{TenantID: tenantA, Name: "wf", Version: 2, UpdatedAt: store.TimeMicros(20)})
	deleteWorkflow(f, tenantA, "wf", 2)
	got, _ = head(tenantA)
	wantEqual(t, "head after delete", got, &store.WorkflowHead{TenantID: tenantA, Name: "wf", Version: 2, Deleted: true, UpdatedAt: store.TimeMicros(99)})
	_, err = head(tenantB)
	wantErr(t, "head of A's workflow read by B", err, store.ErrNotFound)
}

func testWorkflowListCurrent(t *testing.T, f *fixture) {
	for _, w := range []*store.Workflow{
		workflowOf(tenantA, "alpha", 1), workflowOf(tenantA, "alpha", 2), workflowOf(tenantA, "beta", 1),
		workflowOf(tenantA, "delta", 1), workflowOf(tenantA, "gamma", 1), workflowOf(tenantB, "beta", 1),
	} {
		putWorkflow(f, w)
	}
	deleteWorkflow(f, tenantA, "delta", 1)
	list := func(tenant, after string, limit int) []string {
		got := read(f, func(ctx context.Context, q store.Q) ([]*store.Workflow, error) {
			return q.WorkflowListCurrent(ctx, tenant, after, limit)
		})
		return idsOf(got, func(w *store.Workflow) string { return fmt.Sprintf("%s/%s@%d", w.TenantID, w.Name, w.Version) })
	}
	wantEqual(t, "all of A", list(tenantA, "", 0), []string{"default/alpha@2", "default/beta@1", "default/gamma@1"})
	wantEqual(t, "first page", list(tenantA, "", 2), []string{"default/alpha@2", "default/beta@1"})
	wantEqual(t, "next page", list(tenantA, "beta", 2), []string{"default/gamma@1"})
	wantEqual(t, "all of B", list(tenantB, "", 0), []string{"tenant-b/beta@1"})
}

func testWorkflowsGeneration(t *testing.T, f *fixture) {
	gen := func(tenant string) int64 {
		return read(f, func(ctx context.Context, q store.Q) (int64, error) { return q.WorkflowsGeneration(ctx, tenant) })
	}
	wantEqual(t, "generation of a new tenant", gen(tenantA), int64(0))
	bumps := concurrently(t, 6, func(int) (bool, error) {
		return true, f.st.Write(f.ctx, func(ctx context.Context, q store.Q) error { return q.WorkflowsGenerationBump(ctx, tenantA) })
	})
	wantEqual(t, "generation of A after 6 concurrent bumps", gen(tenantA), int64(len(bumps)))
	wantEqual(t, "generation of B", gen(tenantB), int64(0))
	_, err := readErr(f, func(ctx context.Context, q store.Q) (int64, error) { return q.WorkflowsGeneration(ctx, "nobody") })
	wantErr(t, "generation of an unknown tenant", err, store.ErrNotFound)
}
