package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// tenantsCommand is `switchyard tenants create|list`. Only admin tokens may
// call them; only admins of the default tenant (operators) create tenants.
func tenantsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: switchyard tenants create ID|list|update ID [flags]")
	}
	switch args[0] {
	case "create":
		return tenantsCreateCommand(ctx, args[1:], stdout, stderr)
	case "list":
		return tenantsListCommand(ctx, args[1:], stdout, stderr)
	case "update":
		return tenantsUpdateCommand(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("tenants %s: unknown subcommand; want create, list or update", args[0])
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
	res, err := c.Admin().CreateTenant(ctx, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: args[0], Name: *name}))
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res.Msg)
	}
	t := newTable(stdout)
	t.row("ID", res.Msg.GetTenant().GetId())
	t.row("NAME", res.Msg.GetTenant().GetName())
	t.row("CREATED", formatTime(res.Msg.GetTenant().GetCreatedAt()))
	return t.flush()
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
	res, err := c.Admin().ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{PageSize: int32(*limit), PageToken: *pageToken}))
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res.Msg)
	}
	t := newTable(stdout, "ID", "NAME", "CREATED")
	for _, tn := range res.Msg.GetTenants() {
		t.row(tn.GetId(), tn.GetName(), formatTime(tn.GetCreatedAt()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.Msg.GetNextPageToken() != "" {
		fmt.Fprintf(stderr, "more tenants: --page-token %s\n", res.Msg.GetNextPageToken())
	}
	return nil
}
