package server_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestDefaultTenantCreatedAt: the default tenant, which every database has
// from its first migration, says it was created when the server first
// started on the database, not at the Unix epoch, and keeps that time across
// restarts.
func TestDefaultTenantCreatedAt(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			before := time.Now().Add(-time.Second)
			srv := servertest.Start(t, eng, servertest.Options{})
			admin := switchyardv1connect.NewAdminServiceClient(servertest.HTTP1Client(), srv.URL,
				connect.WithInterceptors(servertest.BearerInterceptor(servertest.AdminToken)))
			res, err := admin.ListTenants(context.Background(), connect.NewRequest(&switchyardv1.ListTenantsRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			var def *switchyardv1.Tenant
			for _, tn := range res.Msg.GetTenants() {
				if tn.GetId() == "default" {
					def = tn
				}
			}
			if def == nil {
				t.Fatalf("no default tenant in %v", res.Msg.GetTenants())
			}
			created := def.GetCreatedAt().AsTime()
			if created.Before(before) || created.After(time.Now()) {
				t.Fatalf("default tenant created at %s, want between the server's start (%s) and now", created, before)
			}
		})
	}
}
