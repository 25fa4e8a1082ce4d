package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/sdk"
)

// cliAs runs a client command against url with token and returns what it
// printed on stdout and on stderr.
func cliAs(t *testing.T, url, token string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--server", url, "--token", token)
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// createdNote is what `tokens create` prints on stderr.
var createdNote = regexp.MustCompile(`^created token ([0-9a-f-]{36}) \(tenant ([a-z0-9-]+), role ([a-z]+), (never expires|expires [0-9TZ:-]+)\); its secret is shown only this once\n$`)

// secretLine is what `tokens create` prints on stdout: the secret alone.
var secretLine = regexp.MustCompile(`^sy_[A-Za-z0-9_-]{20,}\n$`)

// createToken runs `tokens create` as token and returns the new token's id and
// secret, after checking that stdout holds only the secret and stderr the note.
func createToken(t *testing.T, url, token string, args ...string) (id, secret string) {
	t.Helper()
	stdout, stderr, err := cliAs(t, url, token, append([]string{"tokens", "create"}, args...)...)
	if err != nil {
		t.Fatalf("tokens create %s: %v", strings.Join(args, " "), err)
	}
	if !secretLine.MatchString(stdout) {
		t.Fatalf("tokens create printed %q on stdout, want the secret alone", stdout)
	}
	m := createdNote.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("tokens create printed %q on stderr, want the created note", stderr)
	}
	return m[1], strings.TrimSpace(stdout)
}

// adminSetup starts a server (as an operator, with servertest.AdminToken) with
// a tenant "acme" and an admin token of acme.
type adminSetup struct {
	url       string
	acmeAdmin string // the secret of an admin token of acme
}

func startAdmin(t *testing.T, eng storetest.Engine) adminSetup {
	t.Helper()
	srv := servertest.Start(t, eng, servertest.Options{})
	mustCLI(t, srv.URL, "tenants", "create", "acme", "--name", "Acme Corp")
	_, secret := createToken(t, srv.URL, servertest.AdminToken, "--tenant", "acme", "--role", "admin", "--name", "acme-admin")
	return adminSetup{url: srv.URL, acmeAdmin: secret}
}

func TestRoleChoices(t *testing.T) {
	t.Parallel()
	if got, want := roleChoices, "admin, producer, worker or viewer"; got != want {
		t.Errorf("roles = %q, want %q", got, want)
	}
}

func TestTenantCommands(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := startAdmin(t, eng)

			// The operator sees every tenant, by id.
			var list switchyardv1.ListTenantsResponse
			if err := protojson.Unmarshal([]byte(mustCLI(t, s.url, "tenants", "list", "-o", "json")), &list); err != nil {
				t.Fatal(err)
			}
			ts := list.GetTenants()
			if len(ts) != 2 || ts[0].GetId() != "acme" || ts[0].GetName() != "Acme Corp" || ts[1].GetId() != "default" {
				t.Fatalf("tenants list = %v, want acme (Acme Corp) and default", ts)
			}
			acmeCreated := formatTime(ts[0].GetCreatedAt())
			want := fmt.Sprintf("ID       NAME       CREATED\nacme     Acme Corp  %s\ndefault  default    %s\n", acmeCreated, formatTime(ts[1].GetCreatedAt()))
			if got := mustCLI(t, s.url, "tenants", "list"); got != want {
				t.Errorf("tenants list printed\n%s\nwant\n%s", got, want)
			}
			// Paging: the next page token goes to stderr.
			stdout, stderr, err := cliAs(t, s.url, servertest.AdminToken, "tenants", "list", "--limit", "1")
			next, found := strings.CutPrefix(strings.TrimSpace(stderr), "more tenants: --page-token ")
			if err != nil || stdout != "ID    NAME       CREATED\nacme  Acme Corp  "+acmeCreated+"\n" || !found {
				t.Fatalf("tenants list --limit 1 = %q, %q, %v; want only acme and the next page token", stdout, stderr, err)
			}
			if got := mustCLI(t, s.url, "tenants", "list", "--limit", "1", "--page-token", next); !strings.HasPrefix(got, "ID       NAME     CREATED\ndefault  default  ") {
				t.Errorf("tenants list, second page, printed\n%s\nwant default", got)
			}

			// Without --name, the name is the id; -o json prints the whole response.
			var created switchyardv1.CreateTenantResponse
			if err := protojson.Unmarshal([]byte(mustCLI(t, s.url, "tenants", "create", "globex", "-o", "json")), &created); err != nil {
				t.Fatal(err)
			}
			if created.GetTenant().GetId() != "globex" || created.GetTenant().GetName() != "globex" || created.GetTenant().GetCreatedAt() == nil {
				t.Errorf("tenants create globex -o json = %v, want globex named globex with a creation time", &created)
			}
			wantCreate := regexp.MustCompile(`^ID       initech\nNAME     Initech\nCREATED  20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`)
			if got := mustCLI(t, s.url, "tenants", "create", "initech", "--name", "Initech"); !wantCreate.MatchString(got) {
				t.Errorf("tenants create printed\n%s\nwant %s", got, wantCreate)
			}

			// A tenant's admin is no operator: it cannot create tenants, sees
			// only its own, and other tenants do not exist for it.
			_, _, err = cliAs(t, s.url, s.acmeAdmin, "tenants", "create", "umbrella")
			wantErr(t, err, "permission_denied", "only admins of the default tenant create tenants", "request id: ")
			stdout, _, err = cliAs(t, s.url, s.acmeAdmin, "tenants", "list")
			if want := "ID    NAME       CREATED\nacme  Acme Corp  " + acmeCreated + "\n"; err != nil || stdout != want {
				t.Errorf("tenants list as acme's admin = %q, %v; want\n%s", stdout, err, want)
			}
			_, _, err = cliAs(t, s.url, s.acmeAdmin, "tokens", "list", "--tenant", "default")
			wantErr(t, err, "not_found", "tenant default not found")
			_, _, err = cliAs(t, s.url, s.acmeAdmin, "tokens", "create", "--tenant", "globex", "--role", "viewer", "--name", "sneaky")
			wantErr(t, err, "not_found", "tenant globex not found")

			// Nor can it revoke the operator's token.
			var operatorTokens switchyardv1.ListTokensResponse
			if err := protojson.Unmarshal([]byte(mustCLI(t, s.url, "tokens", "list", "-o", "json")), &operatorTokens); err != nil {
				t.Fatal(err)
			}
			if len(operatorTokens.GetTokens()) != 1 || operatorTokens.GetTokens()[0].GetTenant() != "default" {
				t.Fatalf("tokens list of the operator = %v, want the one default admin token", operatorTokens.GetTokens())
			}
			operatorID := operatorTokens.GetTokens()[0].GetId()
			_, _, err = cliAs(t, s.url, s.acmeAdmin, "tokens", "revoke", operatorID)
			wantErr(t, err, "not_found", "token "+operatorID+" not found")
			mustCLI(t, s.url, "tenants", "list") // the operator's token still works

			// Its own tenant it manages like the operator does.
			viewerID, _ := createToken(t, s.url, s.acmeAdmin, "--role", "viewer", "--name", "dashboard")
			stdout, _, err = cliAs(t, s.url, s.acmeAdmin, "tokens", "list")
			if err != nil || !regexp.MustCompile(`\n`+viewerID+` +dashboard +VIEWER `).MatchString(stdout) {
				t.Errorf("tokens list as acme's admin = %q, %v; want the dashboard token %s", stdout, err, viewerID)
			}
			if _, _, err := cliAs(t, s.url, s.acmeAdmin, "tokens", "revoke", viewerID); err != nil {
				t.Errorf("tokens revoke of its own tenant's token: %v", err)
			}
		})
	}
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	for _, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			s := startAdmin(t, eng)

			// One token of each role in acme, the operator naming the tenant.
			secrets := map[string]string{}
			ids := map[string]string{}
			for _, role := range []string{"producer", "worker", "viewer"} {
				ids[role], secrets[role] = createToken(t, s.url, servertest.AdminToken, "--tenant", "acme", "--role", role, "--name", "acme-"+role)
			}
			// -o json prints the whole response, secret included.
			var res switchyardv1.CreateTokenResponse
			before := time.Now()
			out := mustCLI(t, s.url, "tokens", "create", "--tenant", "acme", "--role", "ADMIN", "--name", "acme-ops", "--expires-in", "720h", "-o", "json")
			if err := protojson.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			tok := res.GetToken()
			if exp := tok.GetExpiresAt().AsTime(); !strings.HasPrefix(res.GetSecret(), "sy_") || tok.GetTenant() != "acme" || tok.GetName() != "acme-ops" ||
				tok.GetRole() != switchyardv1.Role_ROLE_ADMIN || exp.Before(before.Add(720*time.Hour)) || exp.After(time.Now().Add(720*time.Hour)) {
				t.Errorf("tokens create -o json = %v, want an acme admin token acme-ops expiring in 720h, with its secret", &res)
			}
			secrets["ops"], ids["ops"] = res.GetSecret(), tok.GetId()
			expiresAt := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
			_, stderr, err := cliAs(t, s.url, servertest.AdminToken, "tokens", "create", "--tenant", "acme", "--role", "viewer", "--name", "acme-temp",
				"--expires-at", expiresAt.Format(time.RFC3339))
			if m := createdNote.FindStringSubmatch(stderr); err != nil || m == nil || m[4] != "expires "+expiresAt.Format(time.RFC3339) {
				t.Errorf("tokens create --expires-at printed %q, %v; want a note that it expires %s", stderr, err, expiresAt.Format(time.RFC3339))
			}

			// The list shows every token, newest first, and never a secret.
			for _, args := range [][]string{{"tokens", "list", "--tenant", "acme"}, {"tokens", "list", "--tenant", "acme", "-o", "json"}} {
				out := mustCLI(t, s.url, args...)
				for role, secret := range secrets {
					if strings.Contains(out, secret) || strings.Contains(out, strings.TrimPrefix(secret, "sy_")) {
						t.Errorf("%s printed the %s token's secret:\n%s", strings.Join(args, " "), role, out)
					}
				}
			}
			lines := strings.Split(strings.TrimSpace(mustCLI(t, s.url, "tokens", "list", "--tenant", "acme")), "\n")
			header := regexp.MustCompile(`^ID +NAME +ROLE +CREATED +LAST USED +EXPIRES +REVOKED$`)
			if len(lines) != 7 || !header.MatchString(lines[0]) {
				t.Fatalf("tokens list printed\n%s\nwant the header and 6 tokens", strings.Join(lines, "\n"))
			}
			for i, want := range []string{
				"acme-temp +VIEWER +\\S+ +- +" + expiresAt.Format(time.RFC3339) + " +-",
				ids["ops"] + " +acme-ops +ADMIN +\\S+ +- +" + formatTime(tok.GetExpiresAt()) + " +-",
				ids["viewer"] + " +acme-viewer +VIEWER +\\S+ +- +- +-",
				ids["worker"] + " +acme-worker +WORKER +\\S+ +- +- +-",
				ids["producer"] + " +acme-producer +PRODUCER +\\S+ +- +- +-",
				"\\S+ +acme-admin +ADMIN +\\S+ +- +- +-",
			} {
				if !regexp.MustCompile(want + "$").MatchString(lines[i+1]) {
					t.Errorf("tokens list row %d = %q, want %q", i+1, lines[i+1], want)
				}
			}

			// Each role does what it may and is refused the rest.
			ctx := context.Background()
			worker := sdk.NewClient(s.url, sdk.WithToken(secrets["worker"]))
			putOneTaskWorkflow(t, worker, &switchyardv1.WorkflowSpec{Name: "acme-flow", OnEvents: []string{"acme.order"}})
			var pushed switchyardv1.PushEventResponse
			out, _, err = cliAs(t, s.url, secrets["producer"], "push", "acme.order", "-o", "json")
			if err != nil {
				t.Fatalf("push with a producer token: %v", err)
			}
			if err := protojson.Unmarshal([]byte(out), &pushed); err != nil {
				t.Fatal(err)
			}
			if len(pushed.GetRunIds()) != 1 {
				t.Fatalf("push with a producer token started runs %v, want one", pushed.GetRunIds())
			}
			_, _, err = cliAs(t, s.url, secrets["producer"], "tokens", "list")
			wantErr(t, err, "permission_denied",
				"a producer token may not call /switchyard.v1.AdminService/ListTokens (allowed: admin)", "request id: ")
			_, _, err = cliAs(t, s.url, secrets["viewer"], "push", "acme.order")
			wantErr(t, err, "permission_denied", "a viewer token may not call /switchyard.v1.EventService/PushEvent")
			out, _, err = cliAs(t, s.url, secrets["viewer"], "runs", "list")
			if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], pushed.GetRunIds()[0]+"  acme-flow  ") {
				t.Errorf("runs list with a viewer token = %q, %v; want acme's one run %s", out, err, pushed.GetRunIds()[0])
			}
			// The tenants are apart: the operator's tenant has no runs.
			if got, want := mustCLI(t, s.url, "runs", "list"), "ID  WORKFLOW  VERSION  STATUS  TRIGGER  EVENT  CREATED  FINISHED\n"; got != want {
				t.Errorf("runs list in the default tenant printed %q, want only the header", got)
			}
			if _, err := worker.Admin().ListTenants(ctx, connect.NewRequest(&switchyardv1.ListTenantsRequest{})); err == nil || !strings.Contains(err.Error(), "permission_denied") {
				t.Errorf("ListTenants with a worker token through sdk.Client.Admin: %v, want permission_denied", err)
			}

			// Use is recorded, to the minute.
			deadline := time.Now().Add(10 * time.Second)
			for {
				var list switchyardv1.ListTokensResponse
				if err := protojson.Unmarshal([]byte(mustCLI(t, s.url, "tokens", "list", "--tenant", "acme", "-o", "json")), &list); err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(list.GetTokens(), func(tk *switchyardv1.Token) bool { return tk.GetId() == ids["producer"] })
				if list.GetTokens()[i].GetLastUsedAt() != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the producer token has no last use 10s after it pushed: %v", list.GetTokens()[i])
				}
				time.Sleep(50 * time.Millisecond)
			}

			// A revoked token stops working within 5 s (the servers' token
			// cache); the viewer was used just now, so it is cached.
			revoked := time.Now()
			out, stderr, err = cliAs(t, s.url, s.acmeAdmin, "tokens", "revoke", ids["viewer"])
			if err != nil {
				t.Fatalf("tokens revoke: %v", err)
			}
			wantRevoke := fmt.Sprintf(`^ID +%s
TENANT +acme
NAME +acme-viewer
ROLE +VIEWER
CREATED +\S+
LAST USED +\S+
EXPIRES +-
REVOKED +\S+Z
$`, ids["viewer"])
			if !regexp.MustCompile(wantRevoke).MatchString(out) || stderr != "revoked: the token stops working on every server within 5 seconds\n" {
				t.Errorf("tokens revoke printed\n%s\nand on stderr %q; want\n%s", out, stderr, wantRevoke)
			}
			for {
				tried := time.Now()
				_, _, err := cliAs(t, s.url, secrets["viewer"], "runs", "list")
				if err != nil {
					wantErr(t, err, "unauthenticated", "token revoked")
					break
				}
				if since := tried.Sub(revoked); since > 6*time.Second {
					t.Fatalf("the revoked token still worked %v after revoking it", since)
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Revoking again changes nothing.
			var again switchyardv1.RevokeTokenResponse
			if err := protojson.Unmarshal([]byte(mustCLI(t, s.url, "tokens", "revoke", ids["viewer"], "-o", "json")), &again); err != nil {
				t.Fatal(err)
			}
			if again.GetToken().GetRevokedAt() == nil || again.GetToken().GetRevokedAt().AsTime().After(time.Now()) {
				t.Errorf("tokens revoke again = %v, want the revoked token", &again)
			}
			if _, _, err := cliAs(t, s.url, secrets["producer"], "push", "acme.order"); err != nil {
				t.Errorf("push with the producer token after revoking another: %v", err)
			}
		})
	}
}

// TestTokenExpiry waits for a token to expire.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	_, secret := createToken(t, srv.URL, servertest.AdminToken, "--role", "viewer", "--name", "brief", "--expires-in", "3s")
	if _, _, err := cliAs(t, srv.URL, secret, "workers", "list"); err != nil {
		t.Fatalf("workers list with a fresh token: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := cliAs(t, srv.URL, secret, "workers", "list")
		if err != nil {
			wantErr(t, err, "unauthenticated", "token expired")
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a token that expires in 3s still works after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAdminCommandErrors(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{})
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error, in order
	}{
		{"tenants without subcommand", []string{"tenants"}, []string{"usage: switchyard tenants create ID|list"}},
		{"tenants unknown subcommand", []string{"tenants", "delete"}, []string{"tenants delete: unknown subcommand; want create, list or update"}},
		{"tenant without id", []string{"tenants", "create", "--name", "x"}, []string{"usage: switchyard tenants create ID [flags] (got 0 arguments, want 1)"}},
		{"bad tenant id", []string{"tenants", "create", "Not_Valid"}, []string{"invalid_argument", "id: does not match regex pattern"}},
		{"tenant exists", []string{"tenants", "create", "default"}, []string{"already_exists", "tenant default already exists"}},
		{"tokens without subcommand", []string{"tokens"}, []string{"usage: switchyard tokens create|list|revoke ID"}},
		{"tokens unknown subcommand", []string{"tokens", "rotate"}, []string{"tokens rotate: unknown subcommand; want create, list or revoke"}},
		{"token without role", []string{"tokens", "create", "--name", "x"}, []string{"usage: switchyard tokens create --role ROLE --name NAME", "required"}},
		{"token without name", []string{"tokens", "create", "--role", "viewer"}, []string{"usage: switchyard tokens create --role ROLE --name NAME", "required"}},
		{"bad role", []string{"tokens", "create", "--role", "root", "--name", "x"}, []string{`--role "root": want admin, producer, worker or viewer`}},
		{"unspecified role", []string{"tokens", "create", "--role", "unspecified", "--name", "x"}, []string{`--role "unspecified": want admin, producer, worker or viewer`}},
		{"positional name", []string{"tokens", "create", "x", "--role", "viewer"}, []string{"usage: switchyard tokens create [flags] (got 1 arguments, want 0)"}},
		{"both expiries", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", "1h", "--expires-at", "2099-01-01T00:00:00Z"},
			[]string{"--expires-in and --expires-at: give one or the other, not both"}},
		{"bad expires-in", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", "forever"}, []string{`invalid value "forever" for flag -expires-in`}},
		{"negative expires-in", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--expires-in", "-1h"}, []string{"--expires-in -1h0m0s: want a positive duration"}},
		{"bad expires-at", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--expires-at", "tomorrow"}, []string{`--expires-at "tomorrow": want an RFC 3339 time`}},
		{"past expires-at", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--expires-at", "2001-01-01T00:00:00Z"}, []string{"invalid_argument", "expires_at: is not in the future"}},
		{"token in missing tenant", []string{"tokens", "create", "--role", "viewer", "--name", "x", "--tenant", "nope"}, []string{"not_found", "tenant nope not found"}},
		{"revoke without id", []string{"tokens", "revoke"}, []string{"usage: switchyard tokens revoke ID [flags] (got 0 arguments, want 1)"}},
		{"revoke bad id", []string{"tokens", "revoke", "nope"}, []string{"invalid_argument", "id: must be a valid UUID"}},
		{"revoke missing token", []string{"tokens", "revoke", "0193a7a0-0000-7000-8000-000000000000"}, []string{"not_found", "token 0193a7a0-0000-7000-8000-000000000000 not found"}},
		{"list bad limit", []string{"tokens", "list", "--limit", "501"}, []string{"invalid_argument", "page_size"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := cliAs(t, srv.URL, servertest.AdminToken, tt.args...)
			if err == nil {
				t.Fatalf("switchyard %v succeeded, printing %q", tt.args, stdout)
			}
			wantErr(t, err, tt.want...)
		})
	}
}

// wantErr fails the test unless err's text holds each of want, in order.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want one with %q", want)
		return
	}
	msg := err.Error()
	for _, w := range want {
		i := strings.Index(msg, w)
		if i < 0 {
			t.Errorf("error %q does not contain %q (after the earlier parts)", err, w)
			return
		}
		msg = msg[i+len(w):]
	}
}

// TestWhoAmICommand runs `switchyard whoami` with a viewer token of acme: the
// table names the token, its role and tenant; -o json adds what it may call.
func TestWhoAmICommand(t *testing.T) {
	t.Parallel()
	s := startAdmin(t, storetest.Engines(t)[0])
	id, viewer := createToken(t, s.url, s.acmeAdmin, "--role", "viewer", "--name", "dash")
	stdout, _, err := cliAs(t, s.url, viewer, "whoami")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ID           " + id, "TENANT       acme", "NAME         dash", "ROLE         VIEWER", "TENANT NAME  Acme Corp"} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("whoami printed\n%s\nwant a line %q", stdout, want)
		}
	}
	stdout, _, err = cliAs(t, s.url, viewer, "whoami", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, `"/switchyard.v1.RunService/ListRuns"`) || strings.Contains(stdout, "CancelRun") {
		t.Errorf("whoami -o json printed %s; want ListRuns among the procedures and no CancelRun", stdout)
	}
}
