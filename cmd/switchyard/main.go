// Command switchyard is the Switchyard server and its operator tools.
//
//	switchyard serve     run the server (SQLite in --data-dir, or --database-url)
//	switchyard migrate   apply database migrations and exit
//
// Every flag can also be set as an environment variable: --database-url is
// SWITCHYARD_DATABASE_URL, and so on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "switchyard:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: switchyard <command> [flags]

commands:
  serve               run the server
  migrate             apply database migrations and exit
  push KEY            push an event (--payload JSON, --idempotency-key, --scope, --metadata k=v,...)
  events replay ID    run an event through the current triggers again (--idempotency-key)
  runs list           list runs (--workflow, --status, --trigger, --event)
  runs get ID         show a run and its tasks
  runs watch ID       follow a run until it ends; fails unless it succeeded
  runs replay ID      start a new run of an ended run (--from-failed, --idempotency-key)
  workflows list      list workflows
  workflows run NAME  start a run (--input JSON, --run-at TIME|+DURATION, --priority, --idempotency-key)
  workers list        list workers
  tenants create ID   create a tenant (operators: admins of the default tenant; --name)
  tenants list        list tenants (all for operators, your own for other admins)
  tenants update ID   change a tenant (operators; --name, --rate N [--burst M]: its tokens' rate limit)
  tokens create       create a token and print its secret, shown only once
                      (--role admin|producer|worker|viewer, --name, --tenant, --expires-in|--expires-at)
  tokens list         list a tenant's tokens, never their secrets (--tenant)
  tokens revoke ID    revoke a token; every server refuses it within 5 s
  whoami              show your token, its role and tenant (-o json: also what it may call)
  ratelimits put NAME declare or change a rate limit tasks consume from (--max N --period 1s)
  ratelimits list     list rate limits with the fill of their keys
  ratelimits get NAME show a rate limit and its fill
  ratelimits delete NAME  remove a rate limit

Client commands take --server (default http://127.0.0.1:8080, or https://),
--token, --ca-file (the CA to trust for https://) and -o text|json; as every
flag, they fall back to SWITCHYARD_SERVER, SWITCHYARD_TOKEN, SWITCHYARD_CA_FILE,
and so on.

Run 'switchyard <command> -h' for a command's flags.
`

// commands are the top-level commands but help.
var commands = []subcommand{
	{"serve", serveCommand}, {"migrate", migrateCommand}, {"push", pushCommand}, {"events", eventsCommand},
	{"runs", runsCommand}, {"workflows", workflowsCommand}, {"workers", workersCommand},
	{"tenants", tenantsCommand}, {"tokens", tokensCommand}, {"whoami", whoamiCommand},
	{"ratelimits", rateLimitsCommand},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlagSet returns a flag set whose flags fall back to SWITCHYARD_* environment
// variables (applied by parseFlags).
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args; a flag not given takes its SWITCHYARD_<NAME> variable
// when that is set.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	return errors.Join(errs...)
}
