package sdk

import (
	"context"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// ListWorkers returns one page of the tenant's workers, newest first; req may
// be nil for the first page.
func (c *Client) ListWorkers(ctx context.Context, req *switchyardv1.ListWorkersRequest) (*switchyardv1.ListWorkersResponse, error) {
	return invoke(ctx, c, "list workers", c.workers.ListWorkers, req)
}
