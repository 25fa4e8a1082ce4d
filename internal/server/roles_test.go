package server_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// procedure is one RPC of the API, as its descriptor says.
type procedure struct {
	name      string // "/switchyard.v1.EventService/PushEvent"
	streaming bool
}

// apiProcedures lists every RPC of every switchyard.v1 service.
func apiProcedures(t testing.TB) []procedure {
	t.Helper()
	_ = switchyardv1.File_switchyard_v1_admin_proto // every file registers itself on import
	var out []procedure
	protoregistry.GlobalFiles.RangeFilesByPackage("switchyard.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				out = append(out, procedure{name: "/" + string(sd.FullName()) + "/" + string(md.Name()), streaming: md.IsStreamingServer()})
			}
		}
		return true
	})
	if len(out) < 30 {
		t.Fatalf("found %d procedures; the descriptors were not all registered", len(out))
	}
	return out
}

// callEmpty calls a procedure with an empty request and returns its error: for
// a stream, the error of its first message.
func callEmpty(ctx context.Context, c client, p procedure) error {
	cl := connect.NewClient[emptypb.Empty, emptypb.Empty](c.proto.HTTP, c.url+p.name, c.options()...)
	if !p.streaming {
		_, err := cl.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	stream, err := cl.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
	if err != nil {
		return err
	}
	defer stream.Close()
	if stream.Receive() {
		return nil
	}
	return stream.Err()
}

// TestRoleTableCoversEveryRPC fails when an RPC exists that the role table does
// not list, or the table lists one that does not exist.
func TestRoleTableCoversEveryRPC(t *testing.T) {
	t.Parallel()
	var names []string
	for _, p := range apiProcedures(t) {
		names = append(names, p.name)
		if len(auth.Allowed(p.name)) == 0 {
			t.Errorf("%s is in the API but not in the role table", p.name)
		}
		if !slices.Contains(auth.Allowed(p.name), auth.RoleAdmin) {
			t.Errorf("%s is closed to admins", p.name)
		}
	}
	for _, name := range auth.Procedures() {
		if !slices.Contains(names, name) {
			t.Errorf("the role table lists %s, which is not in the API", name)
		}
	}
}

// createToken makes a token of role in tenant through the AdminService.
func createToken(t testing.TB, a *api, tenant string, role switchyardv1.Role) string {
	t.Helper()
	res, err := a.admin.CreateToken(context.Background(), connect.NewRequest(&switchyardv1.CreateTokenRequest{Tenant: tenant, Role: role, Name: role.String()}))
	if err != nil {
		t.Fatalf("create %v token in %q: %v", role, tenant, err)
	}
	return res.Msg.GetSecret()
}

var roleOf = map[string]switchyardv1.Role{
	auth.RoleAdmin: switchyardv1.Role_ROLE_ADMIN, auth.RoleProducer: switchyardv1.Role_ROLE_PRODUCER,
	auth.RoleWorker: switchyardv1.Role_ROLE_WORKER, auth.RoleViewer: switchyardv1.Role_ROLE_VIEWER,
}

// TestRolesOnEveryRPC calls every RPC with a token of each role over gRPC,
// Connect JSON and gRPC-Web: a role the table refuses gets permission_denied
// (and nothing else does).
func TestRolesOnEveryRPC(t *testing.T) {
	t.Parallel()
	srv, a := startEngineServer(t, storetest.Engines(t)[0])
	procs := apiProcedures(t)
	for _, role := range auth.Roles {
		token := createToken(t, a, "", roleOf[role])
		for _, p := range servertest.Protocols() {
			// Every kind of protocol; with -short (make test-quick), gRPC alone.
			if p.Name != "grpc/h2" && (testing.Short() || p.Name != "connect-json/h1" && p.Name != "grpc-web/h2") {
				continue
			}
			c := client{proto: p, url: srv.URL, token: token}
			for _, proc := range procs {
				err := callEmpty(context.Background(), c, proc)
				denied := connect.CodeOf(err) == connect.CodePermissionDenied
				if want := !slices.Contains(auth.Allowed(proc.name), role); denied != want {
					t.Errorf("%s token, %s over %s: %v; want permission denied %v", role, proc.name, p.Name, err, want)
				}
				if denied && !strings.Contains(err.Error(), "a "+role+" token may not call") {
					t.Errorf("%s over %s: message %q does not say why", proc.name, p.Name, err)
				}
			}
		}
	}
}

// TestTenantsAndTokens runs the AdminService: an operator creates a tenant and
// its tokens; the tenant's admin manages only its own tenant; ListTokens shows
// no secret; revoked and expired tokens stop working.
func TestTenantsAndTokens(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		srv, op := startEngineServer(t, eng)
		ctx := context.Background()
		if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme", Name: "Acme"})); err != nil {
			t.Fatal(err)
		}
		if _, err := op.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "acme"})); connect.CodeOf(err) != connect.CodeAlreadyExists {
			t.Fatalf("tenant created twice: %v, want already_exists", err)
		}
		acmeAdmin := newAPIToken(srv.URL, grpcProtocol(), createToken(t, op, "acme", switchyardv1.Role_ROLE_ADMIN))
		producer := createToken(t, acmeAdmin, "", switchyardv1.Role_ROLE_PRODUCER)

		_, err := acmeAdmin.admin.CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: "other"}))
		if connect.CodeOf(err) != connect.CodePermissionDenied {
			t.Errorf("a tenant admin created a tenant: %v, want permission_denied", err)
		}
		tenants, err := acmeAdmin.admin.ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{}))
		if err != nil || len(tenants.Msg.GetTenants()) != 1 || tenants.Msg.GetTenants()[0].GetId() != "acme" {
			t.Errorf("a tenant admin lists tenants %v, %v; want only acme", tenants, err)
		}
		all, err := op.admin.ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{}))
		if err != nil || len(all.Msg.GetTenants()) != 2 {
			t.Errorf("the operator lists tenants %v, %v; want default and acme", all, err)
		}
		for _, other := range []string{"default", "nowhere"} {
			_, err = acmeAdmin.admin.ListTokens(ctx, connect.NewRequest(&switchyardv1.ListTokensRequest{Tenant: other}))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Errorf("a tenant admin lists tokens of %s: %v, want not_found", other, err)
			}
		}
		_, err = op.admin.CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{Tenant: "nowhere", Role: switchyardv1.Role_ROLE_VIEWER, Name: "x"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("token for a missing tenant: %v, want not_found", err)
		}
		_, err = op.admin.CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_VIEWER, Name: "x", ExpiresAt: timestamppb.New(time.Now().Add(-time.Hour))}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("token expiring in the past: %v, want invalid_argument", err)
		}

		// The producer works in acme, and its use shows in the list.
		prod := newAPIToken(srv.URL, grpcProtocol(), producer)
		if _, err := prod.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "acme.event"})); err != nil {
			t.Fatalf("producer push: %v", err)
		}
		var listed *switchyardv1.Token
		waitFor(t, "the producer's last use", 10*time.Second, func() bool {
			list, err := acmeAdmin.admin.ListTokens(ctx, connect.NewRequest(&switchyardv1.ListTokensRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range list.Msg.GetTokens() {
				if strings.Contains(tok.String(), producer) {
					t.Fatalf("ListTokens shows a secret: %v", tok)
				}
				if tok.GetRole() == switchyardv1.Role_ROLE_PRODUCER {
					listed = tok
				}
			}
			return listed != nil && listed.GetLastUsedAt() != nil
		})
		if listed.GetTenant() != "acme" || listed.GetCreatedAt() == nil || listed.GetRevokedAt() != nil {
			t.Errorf("listed producer token %v", listed)
		}

		// Revoked: refused at once (the token cache keeps an answer for a minute).
		revoked, err := acmeAdmin.admin.RevokeToken(ctx, connect.NewRequest(&switchyardv1.RevokeTokenRequest{Id: listed.GetId()}))
		if err != nil || revoked.Msg.GetToken().GetRevokedAt() == nil {
			t.Fatalf("revoke: %v, %v", revoked, err)
		}
		waitFor(t, "the revoked token to be refused", 7*time.Second, func() bool {
			_, err := prod.events.PushEvent(ctx, connect.NewRequest(&switchyardv1.PushEventRequest{Key: "acme.event"}))
			return connect.CodeOf(err) == connect.CodeUnauthenticated && strings.Contains(err.Error(), "revoked")
		})
		if _, err := op.admin.RevokeToken(ctx, connect.NewRequest(&switchyardv1.RevokeTokenRequest{Id: listed.GetId()})); err != nil {
			t.Errorf("the operator revokes the token again: %v, want it unchanged", err)
		}

		// Expired: refused as soon as it expires.
		short, err := op.admin.CreateToken(ctx, connect.NewRequest(&switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_VIEWER, Name: "short", ExpiresAt: timestamppb.New(time.Now().Add(time.Second))}))
		if err != nil {
			t.Fatal(err)
		}
		viewer := newAPIToken(srv.URL, grpcProtocol(), short.Msg.GetSecret())
		if _, err := viewer.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{})); err != nil {
			t.Fatalf("viewer before expiry: %v", err)
		}
		waitFor(t, "the expired token to be refused", 5*time.Second, func() bool {
			_, err := viewer.runs.ListRuns(ctx, connect.NewRequest(&switchyardv1.ListRunsRequest{}))
			var ce *connect.Error
			return errors.As(err, &ce) && ce.Code() == connect.CodeUnauthenticated && strings.Contains(ce.Message(), "expired")
		})
	})
}
