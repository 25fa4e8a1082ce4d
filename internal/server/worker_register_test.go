package server_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestRegisterWorkerRetry registers workers over every protocol, on every
// engine: a repeat with the same idempotency key returns the same worker and
// stores no other; the key with another registration is already_exists and
// stores nothing; without a key every call is a new worker.
func TestRegisterWorkerRetry(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, eng, servertest.Options{})
			ctx := context.Background()
			count := func() int {
				res, err := newAPI(srv.URL, grpcProtocol()).workers.ListWorkers(ctx, connect.NewRequest(&switchyardv1.ListWorkersRequest{PageSize: 500}))
				if err != nil {
					t.Fatal(err)
				}
				return len(res.Msg.GetWorkers())
			}
			for _, p := range servertest.Protocols() {
				c := client{proto: p, url: srv.URL, token: servertest.AdminToken}
				register := func(req *switchyardv1.RegisterWorkerRequest) (*switchyardv1.RegisterWorkerResponse, error) {
					if p.REST {
						return restCall[switchyardv1.RegisterWorkerResponse](ctx, c, "POST", "/v1/workers", req)
					}
					return unary[switchyardv1.RegisterWorkerRequest, switchyardv1.RegisterWorkerResponse](ctx, c, switchyardv1connect.WorkerServiceRegisterWorkerProcedure, req)
				}
				req := &switchyardv1.RegisterWorkerRequest{Name: "w-" + p.Name, Actions: []string{"a", "b"}, Slots: 2,
					Labels: map[string]string{"zone": "1"}, IdempotencyKey: "reg-" + p.Name}
				before := count()
				first, err := register(req)
				if err != nil {
					t.Fatalf("%s: register: %v", p.Name, err)
				}
				again, err := register(req)
				if err != nil || again.GetWorkerId() != first.GetWorkerId() {
					t.Fatalf("%s: the repeat got %v, %v; want worker %s again", p.Name, again, err, first.GetWorkerId())
				}
				if n := count(); n != before+1 {
					t.Errorf("%s: %d workers after a registration and its repeat, want %d", p.Name, n, before+1)
				}
				other := &switchyardv1.RegisterWorkerRequest{Name: req.Name, Actions: []string{"a"}, Slots: 2, Labels: req.Labels, IdempotencyKey: req.IdempotencyKey}
				if _, err := register(other); connect.CodeOf(err) != connect.CodeAlreadyExists {
					t.Errorf("%s: the key with other actions got %v, want already_exists", p.Name, err)
				}
				plain := &switchyardv1.RegisterWorkerRequest{Name: req.Name, Actions: req.Actions}
				a, errA := register(plain)
				b, errB := register(plain)
				if errA != nil || errB != nil || a.GetWorkerId() == b.GetWorkerId() {
					t.Errorf("%s: two registrations without a key got %v (%v) and %v (%v), want two workers", p.Name, a, errA, b, errB)
				}
				if n := count(); n != before+3 {
					t.Errorf("%s: %d workers at the end, want %d", p.Name, n, before+3)
				}
			}
		})
	}
}
