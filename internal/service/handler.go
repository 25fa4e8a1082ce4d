package service

import (
	"context"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/internal/engine"
)

// unary runs the body of a unary handler for the tenant the call's credentials
// name and wraps the message the body returns in a Connect response.
func unary[Req, Resp any](ctx context.Context, req *connect.Request[Req], body func(tenant string, m *Req) (*Resp, error)) (*connect.Response[Resp], error) {
	tenant, err := tenantOf(ctx)
	return respondFor(req, tenant, err, body)
}

// respondFor runs the body of a unary handler for tenant, unless finding the tenant
// failed with err, and wraps the message the body returns in a Connect response.
func respondFor[Req, Resp any](req *connect.Request[Req], tenant string, err error, body func(tenant string, m *Req) (*Resp, error)) (*connect.Response[Resp], error) {
	if err != nil {
		return nil, err
	}
	out, err := body(tenant, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// paged is a list request: every List call names its page the same way.
type paged interface {
	GetPageSize() int32
	GetPageToken() string
}

// pageOf returns the engine page a list request asks for.
func pageOf(m paged) engine.Page {
	return engine.Page{Size: int(m.GetPageSize()), Token: m.GetPageToken()}
}

// protos converts each of items with convert.
func protos[T, P any](items []T, convert func(T) P) []P {
	if len(items) == 0 {
		return nil
	}
	out := make([]P, len(items))
	for i, item := range items {
		out[i] = convert(item)
	}
	return out
}

// serve runs the body of a server-streaming handler for the tenant the call's
// credentials name, holding a place under key in limit while it runs. A stream
// that ends because the client went away ends without error.
func serve(ctx context.Context, limit *streamLimit, key string, body func(tenant string) error) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	release, err := limit.acquire(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	if err := body(tenant); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
