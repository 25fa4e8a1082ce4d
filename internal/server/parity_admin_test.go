package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	createTenantRPC = unaryOf[switchyardv1.CreateTenantRequest, switchyardv1.CreateTenantResponse](switchyardv1connect.AdminServiceCreateTenantProcedure)
	updateTenantRPC = unaryOf[switchyardv1.UpdateTenantRequest, switchyardv1.UpdateTenantResponse](switchyardv1connect.AdminServiceUpdateTenantProcedure)
	listTenantsRPC  = unaryOf[switchyardv1.ListTenantsRequest, switchyardv1.ListTenantsResponse](switchyardv1connect.AdminServiceListTenantsProcedure)
	createTokenRPC  = unaryOf[switchyardv1.CreateTokenRequest, switchyardv1.CreateTokenResponse](switchyardv1connect.AdminServiceCreateTokenProcedure)
	listTokensRPC   = unaryOf[switchyardv1.ListTokensRequest, switchyardv1.ListTokensResponse](switchyardv1connect.AdminServiceListTokensProcedure)
	revokeTokenRPC  = unaryOf[switchyardv1.RevokeTokenRequest, switchyardv1.RevokeTokenResponse](switchyardv1connect.AdminServiceRevokeTokenProcedure)
	whoAmIRPC       = unaryOf[switchyardv1.WhoAmIRequest, switchyardv1.WhoAmIResponse](switchyardv1connect.AdminServiceWhoAmIProcedure)
)

// TestAdminServiceParity runs every AdminService case over every protocol on
// every database engine. The protocols share a server: each one's operator
// (an admin of the default tenant) creates and updates tenants named after the
// protocol's own.
func TestAdminServiceParity(t *testing.T) {
	runParity(t, adminCases, parityOptions{})
}

// ownTenants keeps the tenants of a listing that belong to the protocol under
// test: its own and those named after it (the other protocols' tenants come and
// go meanwhile on the shared server).
func ownTenants(e *env, res *switchyardv1.ListTenantsResponse) *switchyardv1.ListTenantsResponse {
	if res == nil {
		return nil
	}
	out := &switchyardv1.ListTenantsResponse{NextPageToken: res.GetNextPageToken()}
	for _, t := range res.GetTenants() {
		if t.GetId() == e.tenant || strings.HasPrefix(t.GetId(), e.tenant+"-") {
			out.Tenants = append(out.Tenants, t)
		}
	}
	return out
}

var adminCases = []parityCase{
	{"an operator creates a tenant", createTenantRPC.procedure, func(e *env) string {
		res, err := createTenantRPC.do(e, e.operator, &switchyardv1.CreateTenantRequest{Id: e.tenant + "-new", Name: "New", RateLimit: &switchyardv1.RateLimit{PerSecond: 5, Burst: 10}})
		if err == nil && (res.GetTenant().GetId() != e.tenant+"-new" || res.GetTenant().GetRateLimit().GetPerSecond() != 5) {
			e.t.Errorf("%s: created %v, want %s-new limited to 5/s", e.c.proto.Name, res, e.tenant)
		}
		return e.expect(0, res, err)
	}},
	createTenantRPC.refused("create of a tenant that exists is already_exists", operatorCaller, connect.CodeAlreadyExists, func(e *env) *switchyardv1.CreateTenantRequest {
		return &switchyardv1.CreateTenantRequest{Id: e.tenant + "-new"}
	}),
	{"create with a bad id or name is invalid_argument", createTenantRPC.procedure, func(e *env) string {
		_, err1 := createTenantRPC.do(e, e.operator, &switchyardv1.CreateTenantRequest{Id: "Bad_ID"})
		_, err2 := createTenantRPC.do(e, e.operator, &switchyardv1.CreateTenantRequest{Id: e.tenant + "-long", Name: strings.Repeat("n", 129)})
		return e.expectViolation("id", err1) + "\n" + e.expectViolation("name", err2)
	}},
	{"create by another tenant's admin or a producer is permission_denied", createTenantRPC.procedure, func(e *env) string {
		_, err1 := createTenantRPC.do(e, e.c, &switchyardv1.CreateTenantRequest{Id: e.tenant + "-mine"})
		_, err2 := createTenantRPC.do(e, e.as(auth.RoleProducer), &switchyardv1.CreateTenantRequest{Id: e.tenant + "-mine"})
		return e.expect(connect.CodePermissionDenied, nil, err1) + "\n" + e.expect(connect.CodePermissionDenied, nil, err2)
	}},
	{"an operator updates a tenant's name and limit", updateTenantRPC.procedure, func(e *env) string {
		name := "Renamed"
		res, err := updateTenantRPC.do(e, e.operator, &switchyardv1.UpdateTenantRequest{Id: e.tenant + "-new", Name: &name, RateLimit: &switchyardv1.RateLimit{PerSecond: 7}})
		if err == nil && (res.GetTenant().GetName() != "Renamed" || res.GetTenant().GetRateLimit().GetPerSecond() != 7) {
			e.t.Errorf("%s: updated %v, want Renamed limited to 7/s", e.c.proto.Name, res)
		}
		return e.expect(0, res, err)
	}},
	{"update of an unknown tenant is not_found", updateTenantRPC.procedure, func(e *env) string {
		name := "Ghost"
		res, err := updateTenantRPC.do(e, e.operator, &switchyardv1.UpdateTenantRequest{Id: e.tenant + "-ghost", Name: &name})
		return e.expect(connect.CodeNotFound, res, err)
	}},
	updateTenantRPC.invalid("update with a negative limit is invalid_argument", operatorCaller, "rate_limit.per_second", func(e *env) *switchyardv1.UpdateTenantRequest {
		return &switchyardv1.UpdateTenantRequest{Id: e.tenant + "-new", RateLimit: &switchyardv1.RateLimit{PerSecond: -1}}
	}),
	{"update by another tenant's admin is permission_denied", updateTenantRPC.procedure, func(e *env) string {
		name := "Mine"
		res, err := updateTenantRPC.do(e, e.c, &switchyardv1.UpdateTenantRequest{Id: e.tenant, Name: &name})
		return e.expect(connect.CodePermissionDenied, res, err)
	}},
	{"list shows an operator every tenant and another admin its own", listTenantsRPC.procedure, func(e *env) string {
		all, err := listTenantsRPC.do(e, e.operator, &switchyardv1.ListTenantsRequest{PageSize: 500})
		if err == nil && !slices.ContainsFunc(all.GetTenants(), func(t *switchyardv1.Tenant) bool { return t.GetId() == "default" }) {
			e.t.Errorf("%s: the operator's list %v lacks the default tenant", e.c.proto.Name, all)
		}
		own, err2 := listTenantsRPC.do(e, e.c, &switchyardv1.ListTenantsRequest{})
		if err2 == nil && (len(own.GetTenants()) != 1 || own.GetTenants()[0].GetId() != e.tenant) {
			e.t.Errorf("%s: the tenant admin's list %v, want only %s", e.c.proto.Name, own, e.tenant)
		}
		return e.expect(0, ownTenants(e, all), err) + e.expect(0, own, err2)
	}},
	{"list with a bad page token or size is invalid_argument", listTenantsRPC.procedure, func(e *env) string {
		_, err1 := listTenantsRPC.do(e, e.operator, &switchyardv1.ListTenantsRequest{PageToken: "garbage"})
		_, err2 := listTenantsRPC.do(e, e.operator, &switchyardv1.ListTenantsRequest{PageSize: 501})
		return e.expect(connect.CodeInvalidArgument, nil, err1) + "\n" + e.expectViolation("page_size", err2)
	}},
	listTenantsRPC.refused("list by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListTenantsRequest {
		return &switchyardv1.ListTenantsRequest{}
	}),
	{"create token returns the token and its secret, once", createTokenRPC.procedure, func(e *env) string {
		expires := timestamppb.New(time.Now().Add(24 * time.Hour).Truncate(time.Second))
		res, err := createTokenRPC.do(e, e.c, &switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_PRODUCER, Name: "ci", ExpiresAt: expires})
		if err == nil && (!strings.HasPrefix(res.GetSecret(), "sy_") || res.GetToken().GetTenant() != e.tenant || !res.GetToken().GetExpiresAt().AsTime().Equal(expires.AsTime())) {
			e.t.Errorf("%s: created %v, want a secret and a token of %s expiring at %v", e.c.proto.Name, res, e.tenant, expires.AsTime())
		}
		e.ids["ci token"] = res.GetToken().GetId()
		other, err2 := createTokenRPC.do(e, e.operator, &switchyardv1.CreateTokenRequest{Tenant: e.tenant + "-new", Role: switchyardv1.Role_ROLE_VIEWER, Name: "by operator"})
		return e.expect(0, res, err) + e.expect(0, other, err2)
	}},
	{"create token with no role or a past expiry is invalid_argument", createTokenRPC.procedure, func(e *env) string {
		_, err1 := createTokenRPC.do(e, e.c, &switchyardv1.CreateTokenRequest{Name: "no role"})
		_, err2 := createTokenRPC.do(e, e.c, &switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_VIEWER, Name: "past", ExpiresAt: timestamppb.New(time.Unix(1, 0))})
		return e.expectViolation("role", err1) + "\n" + e.expect(connect.CodeInvalidArgument, nil, err2)
	}},
	createTokenRPC.refused("create token in another tenant by its non-operator admin is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.CreateTokenRequest {
		return &switchyardv1.CreateTokenRequest{Tenant: e.tenant + "-new", Role: switchyardv1.Role_ROLE_VIEWER, Name: "elsewhere"}
	}),
	createTokenRPC.refused("create token by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.CreateTokenRequest {
		return &switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_ADMIN, Name: "escalate"}
	}),
	{"list tokens pages through the tenant's tokens newest first", listTokensRPC.procedure, func(e *env) string {
		// The tokens made for the test are named after their roles.
		return listPages(e, func(token string) (*switchyardv1.ListTokensResponse, error) {
			return listTokensRPC.do(e, e.c, &switchyardv1.ListTokensRequest{PageSize: 3, PageToken: token})
		}, func(res *switchyardv1.ListTokensResponse) (names []string) {
			for _, tok := range res.GetTokens() {
				names = append(names, tok.GetName())
			}
			return names
		}, "ci ROLE_VIEWER ROLE_WORKER ROLE_PRODUCER ROLE_ADMIN")
	}},
	listTokensRPC.refused("list tokens of another tenant by its non-operator admin is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.ListTokensRequest {
		return &switchyardv1.ListTokensRequest{Tenant: e.tenant + "-new"}
	}),
	listTokensRPC.invalid("list tokens with a bad page size is invalid_argument", auth.RoleAdmin, "page_size", func(e *env) *switchyardv1.ListTokensRequest {
		return &switchyardv1.ListTokensRequest{PageSize: 501}
	}),
	listTokensRPC.refused("list tokens by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListTokensRequest {
		return &switchyardv1.ListTokensRequest{}
	}),
	{"revoke marks the token revoked; revoking again changes nothing", revokeTokenRPC.procedure, func(e *env) string {
		res, err := revokeTokenRPC.do(e, e.c, &switchyardv1.RevokeTokenRequest{Id: e.ids["ci token"]})
		again, err2 := revokeTokenRPC.do(e, e.c, &switchyardv1.RevokeTokenRequest{Id: e.ids["ci token"]})
		if err == nil && err2 == nil && (res.GetToken().GetRevokedAt() == nil || !proto.Equal(again.GetToken().GetRevokedAt(), res.GetToken().GetRevokedAt())) {
			e.t.Errorf("%s: revoked %v then %v, want one revocation time", e.c.proto.Name, res, again)
		}
		return e.expect(0, res, err) + e.expect(0, again, err2)
	}},
	revokeTokenRPC.refused("revoke of an unknown token is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.RevokeTokenRequest {
		return &switchyardv1.RevokeTokenRequest{Id: ghostID}
	}),
	revokeTokenRPC.invalid("revoke with a malformed id is invalid_argument", auth.RoleAdmin, "id", func(e *env) *switchyardv1.RevokeTokenRequest {
		return &switchyardv1.RevokeTokenRequest{Id: "not-a-uuid"}
	}),
	revokeTokenRPC.refused("revoke by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.RevokeTokenRequest {
		return &switchyardv1.RevokeTokenRequest{Id: e.ids["ci token"]}
	}),
	{"whoami describes the caller of every role", whoAmIRPC.procedure, func(e *env) string {
		var out []string
		for _, role := range auth.Roles {
			res, err := whoAmIRPC.do(e, e.as(role), &switchyardv1.WhoAmIRequest{})
			if err == nil && (res.GetTenant().GetId() != e.tenant || !slices.Equal(res.GetProcedures(), auth.ProceduresOf(role))) {
				e.t.Errorf("%s: whoami of a %s: %v, want tenant %s and the role's procedures", e.c.proto.Name, role, res, e.tenant)
			}
			out = append(out, e.expect(0, res, err))
		}
		return strings.Join(out, "\n")
	}},
	{"whoami without a valid token is unauthenticated", whoAmIRPC.procedure, func(e *env) string {
		// Every role may call WhoAmI: no role is refused it.
		_, err1 := whoAmIRPC.do(e, e.c.withToken(""), &switchyardv1.WhoAmIRequest{})
		_, err2 := whoAmIRPC.do(e, e.c.withToken("sy_wrong"), &switchyardv1.WhoAmIRequest{})
		return e.expect(connect.CodeUnauthenticated, nil, err1) + "\n" + e.expect(connect.CodeUnauthenticated, nil, err2)
	}},
}
