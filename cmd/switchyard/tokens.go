package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// Only admin tokens may manage tokens; an operator (an admin of the default
// tenant) names any tenant with --tenant, other admins only their own.

// tokensCreateCmd prints the secret alone on stdout, so that
// `TOKEN=$(switchyard tokens create ...)` captures it, and the token's id on
// stderr; with -o json the whole CreateTokenResponse.
var tokensCreateCmd = newCommand("tokens create", "create a token and print its secret, shown only once (--role admin|producer|worker|viewer, --name, --tenant, --expires-in|--expires-at)", func(fs *flag.FlagSet) action {
	role := fs.String("role", "", "what the token may do: "+roleChoices+" (required)")
	name := fs.String("name", "", "a name for people, such as the service that uses the token (required)")
	tenant := fs.String("tenant", "", "the token's tenant; the caller's by default")
	expiresIn := fs.Duration("expires-in", 0, "the token expires this long from now, such as 720h; never by default")
	expiresAt := fs.String("expires-at", "", "the token expires at this RFC 3339 time; never by default")
	var offline storeFlags
	fs.StringVar(&offline.dataDir, "data-dir", "", "operators who lost every admin token: create the token in this SQLite data directory itself, without a server or a token")
	fs.StringVar(&offline.databaseURL, "database-url", "", "as --data-dir, in this Postgres database")
	return func(x *call) error {
		if *role == "" || *name == "" {
			return errors.New("usage: switchyard tokens create --role ROLE --name NAME [flags] (--role and --name are required)")
		}
		r, ok := parseEnum(*role, "ROLE_", switchyardv1.Role_value)
		if !ok {
			return fmt.Errorf("--role %q: want %s", *role, roleChoices)
		}
		req := &switchyardv1.CreateTokenRequest{Tenant: *tenant, Role: switchyardv1.Role(r), Name: *name}
		expiry, err := tokenExpiry(*expiresIn, *expiresAt, time.Now())
		if err != nil {
			return err
		}
		if !expiry.IsZero() {
			req.ExpiresAt = timestamppb.New(expiry)
		}
		var res *switchyardv1.CreateTokenResponse
		if offline.dataDir != "" || offline.databaseURL != "" {
			res, err = createTokenOffline(x, &offline, req)
		} else {
			res, err = message(x.c.Admin().CreateToken(x.ctx, connect.NewRequest(req)))
		}
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.CreateTokenResponse) error {
			tok := res.GetToken()
			expires := "never expires"
			if tok.GetExpiresAt() != nil {
				expires = "expires " + formatTime(tok.GetExpiresAt())
			}
			fmt.Fprintf(x.stderr, "created token %s (tenant %s, role %s, %s); its secret is shown only this once\n",
				tok.GetId(), tok.GetTenant(), strings.ToLower(tokenRole(tok.GetRole())), expires)
			_, err := fmt.Fprintln(x.stdout, res.GetSecret())
			return err
		})
	}
})

// tokenExpiry reads --expires-in and --expires-at, at most one of them; the
// zero time means the token never expires.
func tokenExpiry(in time.Duration, at string, now time.Time) (time.Time, error) {
	switch {
	case in != 0 && at != "":
		return time.Time{}, errors.New("--expires-in and --expires-at: give one or the other, not both")
	case in < 0:
		return time.Time{}, fmt.Errorf("--expires-in %v: want a positive duration such as 720h", in)
	case in > 0:
		return now.Add(in), nil
	case at != "":
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return time.Time{}, fmt.Errorf("--expires-at %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", at)
		}
		return t, nil
	}
	return time.Time{}, nil
}

var tokensListCmd = newCommand("tokens list", "list a tenant's tokens, newest first, never their secrets (--tenant)", func(fs *flag.FlagSet) action {
	tenant := fs.String("tenant", "", "the tenant whose tokens to list; the caller's by default")
	limit, pageToken := pageFlags(fs, "tokens")
	return func(x *call) error {
		res, err := message(x.c.Admin().ListTokens(x.ctx, connect.NewRequest(&switchyardv1.ListTokensRequest{
			Tenant: *tenant, PageSize: int32(*limit), PageToken: *pageToken,
		})))
		return showPage(x.f, x.stdout, x.stderr, "tokens", res, err, func(res *switchyardv1.ListTokensResponse) error {
			t := newTable(x.stdout, "ID", "NAME", "ROLE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
			for _, tok := range res.GetTokens() {
				t.row(tok.GetId(), tok.GetName(), tokenRole(tok.GetRole()), formatTime(tok.GetCreatedAt()),
					formatTime(tok.GetLastUsedAt()), formatTime(tok.GetExpiresAt()), formatTime(tok.GetRevokedAt()))
			}
			return t.flush()
		})
	}
})

var tokensRevokeCmd = newCommand("tokens revoke ID", "revoke a token; every server refuses it within 5 s", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Admin().RevokeToken(x.ctx, connect.NewRequest(&switchyardv1.RevokeTokenRequest{Id: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.RevokeTokenResponse) error {
			fmt.Fprintln(x.stderr, "revoked: the token stops working on every server within 5 seconds")
			t := newTable(x.stdout)
			tokenRows(t, res.GetToken())
			return t.flush()
		})
	}
})

// tokenRows adds a token's fields to a two-column table.
func tokenRows(t *table, tok *switchyardv1.Token) {
	t.row("ID", tok.GetId())
	t.row("TENANT", tok.GetTenant())
	t.row("NAME", tok.GetName())
	t.row("ROLE", tokenRole(tok.GetRole()))
	t.row("CREATED", formatTime(tok.GetCreatedAt()))
	t.row("LAST USED", formatTime(tok.GetLastUsedAt()))
	t.row("EXPIRES", formatTime(tok.GetExpiresAt()))
	t.row("REVOKED", formatTime(tok.GetRevokedAt()))
}

// whoamiCmd prints the caller's token and its tenant; with -o json also
// every procedure its role may call.
var whoamiCmd = newCommand("whoami", "show your token, its role and tenant (-o json: also what it may call)", func(*flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Admin().WhoAmI(x.ctx, connect.NewRequest(&switchyardv1.WhoAmIRequest{})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.WhoAmIResponse) error {
			t := newTable(x.stdout)
			tokenRows(t, res.GetToken())
			t.row("TENANT NAME", res.GetTenant().GetName())
			return t.flush()
		})
	}
})

// tokenRole is "PRODUCER" for ROLE_PRODUCER.
func tokenRole(r switchyardv1.Role) string {
	return strings.TrimPrefix(r.String(), "ROLE_")
}

// createTokenOffline creates the token of req in the database of sf itself,
// as the server would: for operators who lost every admin token, since the
// database is theirs. The tenant is the default one unless req names one.
func createTokenOffline(x *call, sf *storeFlags, req *switchyardv1.CreateTokenRequest) (*switchyardv1.CreateTokenResponse, error) {
	st, err := sf.open(x.ctx, x.stderr)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tenant := req.GetTenant()
	if tenant == "" {
		tenant = engine.DefaultTenant
	}
	role := strings.ToLower(tokenRole(req.GetRole()))
	if !slices.Contains(auth.Roles, role) {
		return nil, fmt.Errorf("--role %q: want %s", role, roleChoices)
	}
	tok, secret, err := engine.New(engine.Config{Store: st}).CreateToken(x.ctx, tenant, role, req.GetName(), timeOf(req.GetExpiresAt()))
	if err != nil {
		return nil, fmt.Errorf("create the token in the database: %w", err)
	}
	fmt.Fprintln(x.stderr, "created in the database directly (no server was asked)")
	return &switchyardv1.CreateTokenResponse{Secret: secret, Token: &switchyardv1.Token{
		Id: tok.ID, Tenant: tok.TenantID, Name: tok.Name, Role: req.GetRole(), CreatedAt: timestamppb.New(tok.CreatedAt), ExpiresAt: req.GetExpiresAt(),
	}}, nil
}

// timeOf is ts as a time, the zero time for nil.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
