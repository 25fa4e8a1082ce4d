package service

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// tenantFor returns the tenant a call about `requested` ("" means the caller's)
// may act on: any for an operator, only its own for another admin.
func tenantFor(ctx context.Context, requested string) (string, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return "", auth.ErrUnauthenticated
	}
	switch {
	case requested == "" || requested == p.TenantID:
		return p.TenantID, nil
	case p.Operator():
		return requested, nil
	}
	return "", &engine.Error{Kind: engine.KindNotFound, Message: fmt.Sprintf("tenant %s not found", requested)}
}

// CreateTenant implements switchyard.v1.AdminService.CreateTenant.
func (s *AdminService) CreateTenant(ctx context.Context, req *connect.Request[switchyardv1.CreateTenantRequest]) (*connect.Response[switchyardv1.CreateTenantResponse], error) {
	t, err := s.engine.CreateTenant(ctx, req.Msg.GetId(), req.Msg.GetName(), rateLimit(req.Msg.GetRateLimit()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchyardv1.CreateTenantResponse{Tenant: tenantProto(t)}), nil
}

// UpdateTenant implements switchyard.v1.AdminService.UpdateTenant.
func (s *AdminService) UpdateTenant(ctx context.Context, req *connect.Request[switchyardv1.UpdateTenantRequest]) (*connect.Response[switchyardv1.UpdateTenantResponse], error) {
	m := req.Msg
	var u engine.TenantUpdate
	u.Name = m.Name
	if m.RateLimit != nil {
		limit := rateLimit(m.GetRateLimit())
		u.RateLimit = &limit
	}
	t, err := s.engine.UpdateTenant(ctx, m.GetId(), u)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchyardv1.UpdateTenantResponse{Tenant: tenantProto(t)}), nil
}

// ListTenants implements switchyard.v1.AdminService.ListTenants.
func (s *AdminService) ListTenants(ctx context.Context, req *connect.Request[switchyardv1.ListTenantsRequest]) (*connect.Response[switchyardv1.ListTenantsResponse], error) {
	only, err := reachOf(ctx)
	return respondFor(req, only, err, func(only string, m *switchyardv1.ListTenantsRequest) (*switchyardv1.ListTenantsResponse, error) {
		ts, next, err := s.engine.ListTenants(ctx, only, pageOf(m))
		return &switchyardv1.ListTenantsResponse{Tenants: protos(ts, tenantProto), NextPageToken: next}, err
	})
}

// CreateToken implements switchyard.v1.AdminService.CreateToken.
func (s *AdminService) CreateToken(ctx context.Context, req *connect.Request[switchyardv1.CreateTokenRequest]) (*connect.Response[switchyardv1.CreateTokenResponse], error) {
	tenant, err := tenantFor(ctx, req.Msg.GetTenant())
	return respondFor(req, tenant, err, func(tenant string, m *switchyardv1.CreateTokenRequest) (*switchyardv1.CreateTokenResponse, error) {
		tok, secret, err := s.engine.CreateToken(ctx, tenant, roles.name(m.GetRole()), m.GetName(), timeOrZero(m.GetExpiresAt()))
		return &switchyardv1.CreateTokenResponse{Token: tokenProto(tok), Secret: secret}, err
	})
}

// ListTokens implements switchyard.v1.AdminService.ListTokens.
func (s *AdminService) ListTokens(ctx context.Context, req *connect.Request[switchyardv1.ListTokensRequest]) (*connect.Response[switchyardv1.ListTokensResponse], error) {
	tenant, err := tenantFor(ctx, req.Msg.GetTenant())
	return respondFor(req, tenant, err, func(tenant string, m *switchyardv1.ListTokensRequest) (*switchyardv1.ListTokensResponse, error) {
		ts, next, err := s.engine.ListTokens(ctx, tenant, pageOf(m))
		return &switchyardv1.ListTokensResponse{Tokens: protos(ts, tokenProto), NextPageToken: next}, err
	})
}

// RevokeToken implements switchyard.v1.AdminService.RevokeToken: an operator
// revokes any tenant's token.
func (s *AdminService) RevokeToken(ctx context.Context, req *connect.Request[switchyardv1.RevokeTokenRequest]) (*connect.Response[switchyardv1.RevokeTokenResponse], error) {
	tenant, err := reachOf(ctx)
	return respondFor(req, tenant, err, func(tenant string, m *switchyardv1.RevokeTokenRequest) (*switchyardv1.RevokeTokenResponse, error) {
		tok, err := s.engine.RevokeToken(ctx, tenant, m.GetId())
		return &switchyardv1.RevokeTokenResponse{Token: tokenProto(tok)}, err
	})
}

// reachOf returns the tenant the caller reaches: "" (every tenant) for an
// operator, its own for another admin.
func reachOf(ctx context.Context) (string, error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return "", auth.ErrUnauthenticated
	}
	if p.Operator() {
		return "", nil
	}
	return p.TenantID, nil
}

// WhoAmI implements switchyard.v1.AdminService.WhoAmI.
func (s *AdminService) WhoAmI(ctx context.Context, _ *connect.Request[switchyardv1.WhoAmIRequest]) (*connect.Response[switchyardv1.WhoAmIResponse], error) {
	p := auth.FromContext(ctx)
	if p == nil {
		return nil, auth.ErrUnauthenticated
	}
	token, tenant, err := s.engine.WhoAmI(ctx, p.TenantID, p.TokenID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&switchyardv1.WhoAmIResponse{
		Token: tokenProto(token), Tenant: tenantProto(tenant), Procedures: auth.ProceduresOf(p.Role),
	}), nil
}
