package main

import (
	"context"
	"io"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// tenantsCommand is `switchyard tenants create|list`. Only admin tokens may
// call them; only admins of the default tenant (operators) create tenants.
func tenantsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "tenants", "usage: switchyard tenants create ID|list|update ID [flags]", []subcommand{
		{"create", tenantsCreateCommand}, {"list", tenantsListCommand}, {"update", tenantsUpdateCommand},
	}, args, stdout, stderr)
}

// tenantsCreateCommand is `switchyard tenants create ID`: it prints the new
// tenant, or with -o json the whole CreateTenantResponse.
func tenantsCreateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("tenants create", stderr)
	name := fs.String("name", "", "a name for people; the id by default")
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	res, err := message(c.Admin().CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: args[0], Name: *name})))
	return show(cf, stdout, res, err, func(res *switchyardv1.CreateTenantResponse) error {
		t := newTable(stdout)
		tenantRows(t, res.GetTenant())
		return t.flush()
	})
}

// tenantsListCommand is `switchyard tenants list`: every tenant for an
// operator, the caller's own for another admin.
func tenantsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("tenants list", stderr)
	limit, pageToken := pageFlags(fs, "tenants")
	args, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	res, err := message(c.Admin().ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{PageSize: int32(*limit), PageToken: *pageToken})))
	return showPage(cf, stdout, stderr, "tenants", res, err, func(res *switchyardv1.ListTenantsResponse) error {
		t := newTable(stdout, "ID", "NAME", "CREATED")
		for _, tn := range res.GetTenants() {
			t.row(tn.GetId(), tn.GetName(), formatTime(tn.GetCreatedAt()))
		}
		return t.flush()
	})
}

// tenantRows adds a tenant's id, name and creation time to a two-column table.
func tenantRows(t *table, tn *switchyardv1.Tenant) {
	t.row("ID", tn.GetId())
	t.row("NAME", tn.GetName())
	t.row("CREATED", formatTime(tn.GetCreatedAt()))
}
