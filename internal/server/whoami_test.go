package server_test

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// TestWhoAmI asks WhoAmI with a token of each role of another tenant, over
// every protocol (REST as GET /v1/whoami), on every engine: the answer names
// that token and role, the tenant with its name, and exactly the procedures
// the role table gives the role; no secret comes back.
func TestWhoAmI(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, op := startEngineServer(t, eng)
		ctx := context.Background()
		if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme", Name: "Acme Corp"})); err != nil {
			t.Fatal(err)
		}
		for _, role := range auth.Roles {
			created, err := op.admin.CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{Tenant: "acme", Role: roleOf[role], Name: "who-" + role}))
			if err != nil {
				t.Fatal(err)
			}
			want := auth.ProceduresOf(role)
			if len(want) == 0 || !slices.Contains(want, switchyardv1connect.AdminServiceWhoAmIProcedure) {
				t.Fatalf("%s may call %v, want WhoAmI among them", role, want)
			}
			for _, p := range servertest.Protocols() {
				c := client{proto: p, url: srv.URL, token: created.Msg.GetSecret()}
				var got *switchyardv1.WhoAmIResponse
				if p.REST {
					got, err = restDo[switchyardv1.WhoAmIResponse](ctx, c, "GET", "/v1/whoami", nil)
				} else {
					got, err = unary[switchyardv1.WhoAmIRequest, switchyardv1.WhoAmIResponse](ctx, c, switchyardv1connect.AdminServiceWhoAmIProcedure, &switchyardv1.WhoAmIRequest{})
				}
				if err != nil {
					t.Fatalf("%s token, WhoAmI over %s: %v", role, p.Name, err)
				}
				tok := got.GetToken()
				if tok.GetId() != created.Msg.GetToken().GetId() || tok.GetName() != "who-"+role || tok.GetRole() != roleOf[role] || tok.GetTenant() != "acme" {
					t.Errorf("%s over %s: token %v, want %v", role, p.Name, tok, created.Msg.GetToken())
				}
				if got.GetTenant().GetId() != "acme" || got.GetTenant().GetName() != "Acme Corp" {
					t.Errorf("%s over %s: tenant %v, want acme (Acme Corp)", role, p.Name, got.GetTenant())
				}
				if !slices.Equal(got.GetProcedures(), want) {
					t.Errorf("%s over %s: procedures %v, want %v", role, p.Name, got.GetProcedures(), want)
				}
			}
		}
		if _, err := newAPIToken(srv.URL, grpcProtocol(), "sy_not_a_token").admin.WhoAmI(ctx, connect.NewRequest(&switchyardv1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("WhoAmI with an unknown token: %v, want unauthenticated", err)
		}
	})
}
