package sdk

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// ListWorkers returns one page of the tenant's workers, newest first; req may
// be nil for the first page.
func (c *Client) ListWorkers(ctx context.Context, req *switchyardv1.ListWorkersRequest) (*switchyardv1.ListWorkersResponse, error) {
	if req == nil {
		req = &switchyardv1.ListWorkersRequest{}
	}
	var res *connect.Response[switchyardv1.ListWorkersResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.workers.ListWorkers(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return res.Msg, nil
}
