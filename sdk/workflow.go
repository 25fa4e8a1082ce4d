package sdk

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// PutWorkflow declares a workflow: it creates it, or stores a new version when
// the spec changed. Repeating it with the same spec changes nothing.
func (c *Client) PutWorkflow(ctx context.Context, spec *switchyardv1.WorkflowSpec) (*switchyardv1.PutWorkflowResponse, error) {
	var res *connect.Response[switchyardv1.PutWorkflowResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.workflows.PutWorkflow(ctx, connect.NewRequest(&switchyardv1.PutWorkflowRequest{Spec: spec}))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("put workflow %s: %w", spec.GetName(), err)
	}
	return res.Msg, nil
}

// GetWorkflow returns a version of a workflow; version 0 is the current one.
func (c *Client) GetWorkflow(ctx context.Context, name string, version int32) (*switchyardv1.Workflow, error) {
	var res *connect.Response[switchyardv1.GetWorkflowResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.workflows.GetWorkflow(ctx, connect.NewRequest(&switchyardv1.GetWorkflowRequest{Name: name, Version: version}))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get workflow %s: %w", name, err)
	}
	return res.Msg.GetWorkflow(), nil
}

// ListWorkflows returns one page of workflows by name; req may be nil for the
// first page.
func (c *Client) ListWorkflows(ctx context.Context, req *switchyardv1.ListWorkflowsRequest) (*switchyardv1.ListWorkflowsResponse, error) {
	if req == nil {
		req = &switchyardv1.ListWorkflowsRequest{}
	}
	var res *connect.Response[switchyardv1.ListWorkflowsResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.workflows.ListWorkflows(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	return res.Msg, nil
}

// DeleteWorkflow stops a workflow from being triggered.
func (c *Client) DeleteWorkflow(ctx context.Context, name string) error {
	err := retry(ctx, c.retry, func(ctx context.Context) error {
		_, err := c.workflows.DeleteWorkflow(ctx, connect.NewRequest(&switchyardv1.DeleteWorkflowRequest{Name: name}))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete workflow %s: %w", name, err)
	}
	return nil
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
	var res *connect.Response[switchyardv1.RunWorkflowResponse]
	err = retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.workflows.RunWorkflow(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("run workflow %s: %w", name, err)
	}
	return res.Msg, nil
}
