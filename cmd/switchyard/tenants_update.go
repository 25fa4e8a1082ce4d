package main

import (
	"flag"
	"fmt"
	"strconv"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// tenantsUpdateCmd changes the flags given (operators only) and prints the
// tenant, or with -o json the whole UpdateTenantResponse.
var tenantsUpdateCmd = newCommand("tenants update ID", "change a tenant (operators; --name, --rate N [--burst M]: its tokens' rate limit)", func(fs *flag.FlagSet) action {
	var name optionalString
	var perSecond, burst optionalInt
	fs.Var(&name, "name", "the new name for people; empty means the id")
	fs.Var(&perSecond, "rate", "the rate limit of each of the tenant's tokens, in calls a second; 0 restores the role defaults")
	fs.Var(&burst, "burst", "calls at once after a quiet spell (with --rate); 0 means the rate")
	return func(x *call) error {
		req := &switchyardv1.UpdateTenantRequest{Id: x.args[0]}
		if name.set {
			req.Name = &name.v
		}
		if perSecond.set || burst.set {
			req.RateLimit = &switchyardv1.RateLimit{PerSecond: int32(perSecond.v), Burst: int32(burst.v)}
		}
		if req.Name == nil && req.RateLimit == nil {
			return fmt.Errorf("tenants update: nothing to change; give --name, --rate or --burst")
		}
		res, err := message(x.c.Admin().UpdateTenant(x.ctx, connect.NewRequest(req)))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.UpdateTenantResponse) error {
			t := newTable(x.stdout)
			tenantRows(t, res.GetTenant())
			t.row("RATE LIMIT", formatRateLimit(res.GetTenant().GetRateLimit()))
			return t.flush()
		})
	}
})

// formatRateLimit describes a tenant's rate limit.
func formatRateLimit(r *switchyardv1.RateLimit) string {
	if r == nil {
		return "role defaults"
	}
	return fmt.Sprintf("%d/s per token, burst %d", r.GetPerSecond(), r.GetBurst())
}

// optionalString is a string flag that knows whether it was set.
type optionalString struct {
	v   string
	set bool
}

func (o *optionalString) String() string { return o.v }

func (o *optionalString) Set(s string) error {
	o.v, o.set = s, true
	return nil
}

// optionalInt is an int flag that knows whether it was set.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string { return strconv.Itoa(o.v) }

func (o *optionalInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return fmt.Errorf("not a whole number: %q", s)
	}
	o.v, o.set = int(n), true
	return nil
}
