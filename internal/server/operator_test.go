package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestOperatorOnlyProcedures: an admin of another tenant may not create or
// update tenants, on every protocol, and learns so before its request is
// validated (the role table decides before validation); the operator may.
func TestOperatorOnlyProcedures(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	op := newAPI(srv.URL, grpcProtocol())
	ctx := context.Background()
	if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme"})); err != nil {
		t.Fatalf("operator creates a tenant: %v", err)
	}
	if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "Not A Valid Id!"})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("operator creates a tenant with an invalid id: %v, want invalid_argument", err)
	}
	acmeAdmin := createToken(t, op, "acme", switchyardv1.Role_ROLE_ADMIN)
	for _, p := range servertest.Protocols() {
		a := newAPIToken(srv.URL, p, acmeAdmin)
		calls := []struct {
			what string
			call func() error
		}{
			{"create tenants", func() error {
				_, err := a.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme-2"}))
				return err
			}},
			{"create tenants", func() error { // an invalid id: refused before validation
				_, err := a.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "Not A Valid Id!"}))
				return err
			}},
			{"update tenants", func() error {
				_, err := a.admin.UpdateTenant(ctx, connect.NewRequest(&switchyardv1.UpdateTenantRequest{Id: "acme", Name: proto.String("mine")}))
				return err
			}},
		}
		for _, c := range calls {
			err := c.call()
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodePermissionDenied || !strings.Contains(ce.Message(), "only admins of the default tenant "+c.what) {
				t.Errorf("%s: acme's admin may %s: %v; want permission_denied: only admins of the default tenant %s", p.Name, c.what, err, c.what)
			}
		}
	}
	if _, err := op.admin.UpdateTenant(ctx, connect.NewRequest(&switchyardv1.UpdateTenantRequest{Id: "acme", Name: proto.String("Acme")})); err != nil {
		t.Errorf("operator updates a tenant: %v", err)
	}
}
