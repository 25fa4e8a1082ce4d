package service

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// handler is what every service's handler holds: the engine its calls go to.
type handler struct {
	engine *engine.Engine
}

// The handlers, one per Connect service.
type (
	// EventService implements switchyard.v1.EventService.
	EventService struct{ handler }
	// WebhookService implements switchyard.v1.WebhookService.
	WebhookService struct{ handler }
	// WorkflowService implements switchyard.v1.WorkflowService.
	WorkflowService struct{ handler }
	// RunService implements switchyard.v1.RunService.
	RunService struct {
		handler
		watches *streamLimit
	}
	// WorkerService implements switchyard.v1.WorkerService.
	WorkerService struct {
		handler
		listens *streamLimit
	}
	// AdminService implements switchyard.v1.AdminService. The role table lets
	// only admins in, except to WhoAmI, and only operators (admins of the
	// default tenant) create and update tenants; here operators reach every
	// tenant and other admins their own, to which other tenants do not exist.
	AdminService struct{ handler }
)

var (
	_ switchyardv1connect.EventServiceHandler    = (*EventService)(nil)
	_ switchyardv1connect.WebhookServiceHandler  = (*WebhookService)(nil)
	_ switchyardv1connect.WorkflowServiceHandler = (*WorkflowService)(nil)
	_ switchyardv1connect.RunServiceHandler      = (*RunService)(nil)
	_ switchyardv1connect.WorkerServiceHandler   = (*WorkerService)(nil)
	_ switchyardv1connect.AdminServiceHandler    = (*AdminService)(nil)
)

// NewEventService returns the EventService handler over e.
func NewEventService(e *engine.Engine) *EventService { return &EventService{handler{e}} }

// NewWebhookService returns the WebhookService handler over e.
func NewWebhookService(e *engine.Engine) *WebhookService { return &WebhookService{handler{e}} }

// NewWorkflowService returns the WorkflowService handler over e.
func NewWorkflowService(e *engine.Engine) *WorkflowService { return &WorkflowService{handler{e}} }

// NewRunService returns the RunService handler over e.
func NewRunService(e *engine.Engine) *RunService {
	return &RunService{handler: handler{e}, watches: newStreamLimit("WatchRun", MaxWatchStreamsPerToken)}
}

// NewWorkerService returns the WorkerService handler over e.
func NewWorkerService(e *engine.Engine) *WorkerService {
	return &WorkerService{handler: handler{e}, listens: newStreamLimit("Listen", MaxListenStreamsPerToken)}
}

// NewAdminService returns the AdminService handler over e.
func NewAdminService(e *engine.Engine) *AdminService { return &AdminService{handler{e}} }

// unary runs the body of a unary handler for the tenant the call's credentials
// name and wraps the message the body returns in a Connect response. When the
// body fails, the message it returns is not used, so a body returns the answer
// it builds from an engine call together with the call's error, without a
// check of its own.
func unary[Req, Resp any](ctx context.Context, req *connect.Request[Req], body func(tenant string, m *Req) (*Resp, error)) (*connect.Response[Resp], error) {
	tenant, err := tenantOf(ctx)
	return respondFor(req, tenant, err, body)
}

// tenantOf returns the tenant the call acts for, from its credentials.
func tenantOf(ctx context.Context) (string, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return "", errors.New("handler reached without an authenticated principal")
	}
	return p.TenantID, nil
}

// respondFor runs the body of a unary handler for tenant, unless finding the tenant
// failed with err, and wraps the message the body returns in a Connect response,
// or returns the body's error and drops its message.
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

// sender returns the function that sends each value the engine streams on
// stream, converted with convert.
func sender[T, P any](stream *connect.ServerStream[P], convert func(T) *P) func(T) error {
	return func(v T) error { return stream.Send(convert(v)) }
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
