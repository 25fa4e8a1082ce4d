package main

import (
	"flag"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// Only admin tokens may manage tenants; only admins of the default tenant
// (operators) create and change them.

var tenantsCreateCmd = newCommand("tenants create ID", "create a tenant (operators: admins of the default tenant; --name)", func(fs *flag.FlagSet) action {
	name := fs.String("name", "", "a name for people; the id by default")
	return func(x *call) error {
		res, err := message(x.c.Admin().CreateTenant(x.ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: x.args[0], Name: *name})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.CreateTenantResponse) error {
			t := newTable(x.stdout)
			tenantRows(t, res.GetTenant())
			return t.flush()
		})
	}
})

var tenantsListCmd = newCommand("tenants list", "list tenants (all for operators, your own for other admins)", func(fs *flag.FlagSet) action {
	limit, pageToken := pageFlags(fs, "tenants")
	return func(x *call) error {
		res, err := message(x.c.Admin().ListTenants(x.ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{PageSize: int32(*limit), PageToken: *pageToken})))
		return showPage(x.f, x.stdout, x.stderr, "tenants", res, err, func(res *switchyardv1.ListTenantsResponse) error {
			t := newTable(x.stdout, "ID", "NAME", "CREATED")
			for _, tn := range res.GetTenants() {
				t.row(tn.GetId(), tn.GetName(), formatTime(tn.GetCreatedAt()))
			}
			return t.flush()
		})
	}
})

// tenantRows adds a tenant's id, name and creation time to a two-column table.
func tenantRows(t *table, tn *switchyardv1.Tenant) {
	t.row("ID", tn.GetId())
	t.row("NAME", tn.GetName())
	t.row("CREATED", formatTime(tn.GetCreatedAt()))
}
