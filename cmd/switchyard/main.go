// Command switchyard is the Switchyard server, its operator tools and a
// client of its API.
//
//	switchyard serve     run the server (SQLite in --data-dir, or --database-url)
//	switchyard dev       serve with a demo worker in the same process, for a first look
//	switchyard migrate   apply database migrations and exit
//	switchyard help      every command
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

// groups are the commands with subcommands, in the order of the usage text.
var groups = []group{
	newGroup("events", eventsListCmd, eventsGetCmd, eventsReplayCmd),
	newGroup("workflows", workflowsListCmd, workflowsGetCmd, workflowsPutCmd, workflowsDeleteCmd, workflowsRunCmd, workflowsPauseCmd, workflowsResumeCmd),
	newGroup("runs", runsListCmd, runsGetCmd, runsWatchCmd, runsCancelCmd, runsReplayCmd, runsCancelAllCmd, runsReplayAllCmd, runsBulkCmd),
	newGroup("workers", workersListCmd),
	newGroup("webhooks", webhooksCreateCmd, webhooksListCmd, webhooksGetCmd, webhooksDeleteCmd, webhooksRotateCmd),
	newGroup("tenants", tenantsCreateCmd, tenantsListCmd, tenantsUpdateCmd),
	newGroup("tokens", tokensCreateCmd, tokensListCmd, tokensRevokeCmd),
	newGroup("ratelimits", rateLimitsPutCmd, rateLimitsListCmd, rateLimitsGetCmd, rateLimitsDeleteCmd),
}

// commands are the top-level commands but help.
var commands = func() []subcommand {
	cmds := []subcommand{
		{name: "serve", run: serveCommand, line: "serve\trun the server (SQLite in --data-dir, or --database-url postgres://…)"},
		{name: "dev", run: devCommand, line: "dev\tserve on SQLite with a demo worker in the same process; prints a token and the dashboard's URL"},
		{name: "migrate", run: migrateCommand, line: "migrate\tapply database migrations and exit"},
		pushCmd.subcommand(),
	}
	for _, g := range groups {
		cmds = append(cmds, g.subcommand())
	}
	return append(cmds, whoamiCmd.subcommand(),
		subcommand{name: "version", run: versionCommand, line: "version\tprint the version of this binary"})
}()

// printUsage prints the usage text: every command and what it does.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: switchyard <command> [flags]\n\ncommands:\n")
	_ = printLines(w, commands)
	fmt.Fprint(w, `
Client commands take --server (default http://127.0.0.1:8080, or https://),
--token (or --token-file FILE), --ca-file (the CA to trust for https://) and
-o text|json; as every flag, they fall back to SWITCHYARD_SERVER,
SWITCHYARD_TOKEN, SWITCHYARD_TOKEN_FILE, SWITCHYARD_CA_FILE, and so on.

Run 'switchyard <command> -h' for a command's flags.
`)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		printUsage(stderr)
		return errors.New("no command given")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlagSet returns a flag set whose flags fall back to SWITCHYARD_* environment
// variables (applied by parseFlags).
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseCommand parses args with the flags register adds to the flag set of
// the command name.
func parseCommand(name string, args []string, stderr io.Writer, register func(fs *flag.FlagSet)) error {
	fs := newFlagSet(name, stderr)
	register(fs)
	return parseFlags(fs, args)
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
