package sdk

import (
	"context"
	"fmt"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// PutWorkflow declares a workflow: it creates it, or stores a new version when
// the spec changed. Repeating it with the same spec changes nothing.
func (c *Client) PutWorkflow(ctx context.Context, spec *switchyardv1.WorkflowSpec) (*switchyardv1.PutWorkflowResponse, error) {
	return invoke(ctx, c, "put workflow "+spec.GetName(), c.workflows.PutWorkflow, &switchyardv1.PutWorkflowRequest{Spec: spec})
}

// GetWorkflow returns a version of a workflow; version 0 is the current one.
func (c *Client) GetWorkflow(ctx context.Context, name string, version int32) (*switchyardv1.Workflow, error) {
	res, err := invoke(ctx, c, "get workflow "+name, c.workflows.GetWorkflow, &switchyardv1.GetWorkflowRequest{Name: name, Version: version})
	return res.GetWorkflow(), err
}

// ListWorkflows returns one page of workflows by name; req may be nil for the
// first page.
func (c *Client) ListWorkflows(ctx context.Context, req *switchyardv1.ListWorkflowsRequest) (*switchyardv1.ListWorkflowsResponse, error) {
	return invoke(ctx, c, "list workflows", c.workflows.ListWorkflows, req)
}

// DeleteWorkflow stops a workflow from being triggered.
func (c *Client) DeleteWorkflow(ctx context.Context, name string) error {
	_, err := invoke(ctx, c, "delete workflow "+name, c.workflows.DeleteWorkflow, &switchyardv1.DeleteWorkflowRequest{Name: name})
	return err
}

// RunWorkflow starts a run of the workflow's current version with input (nil
// means {}) and returns its id. [WithRunAt] delays the run and [WithPriority]
// sets its priority. The call is retried under the client's [RetryPolicy] with
// one idempotency key for all attempts, so it starts at most one run.
func (c *Client) RunWorkflow(ctx context.Context, name string, input map[string]any, opts ...RunOption) (*switchyardv1.RunWorkflowResponse, error) {
	s, err := toStruct(input)
	if err != nil {
		return nil, fmt.Errorf("run workflow %s: %w", name, err)
	}
	req := &switchyardv1.RunWorkflowRequest{Name: name, Input: s}
	for _, o := range opts {
		o.applyToRun(req)
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = newIdempotencyKey()
	}
	return invoke(ctx, c, "run workflow "+name, c.workflows.RunWorkflow, req)
}
