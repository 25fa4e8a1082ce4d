package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard/switchyard/sdk"
)

// command runs one command of the CLI on the arguments after its name.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// subcommand is one top-level command, or one subcommand of a group that does
// not call the server.
type subcommand struct {
	name string
	run  command
	// line is its line in the usage text: its arguments and what it does.
	line string
}

// clientCommand is one command that calls the server:
// `switchyard NAME ARGS [flags]`. Every client command is one of these, so
// that each parses the common client flags, checks its arguments, answers -h
// with its help and prints its answer the same way.
type clientCommand struct {
	name string   // its words after switchyard, such as "runs cancel"
	args []string // the names of its positional arguments, such as "ID"
	help string   // what it does and prints, for -h and the usage text
	// setup adds the command's own flags (it may be nil) and returns what
	// the command does once they are parsed.
	setup func(fs *flag.FlagSet) action
}

// newCommand makes the client command use describes: its name in lower case
// and then its positional arguments in upper case, such as "runs cancel ID".
func newCommand(use, help string, setup func(fs *flag.FlagSet) action) clientCommand {
	cc := clientCommand{help: help, setup: setup}
	var name []string
	for _, w := range strings.Fields(use) {
		if strings.ToUpper(w) == w {
			cc.args = append(cc.args, w)
		} else {
			name = append(name, w)
		}
	}
	cc.name = strings.Join(name, " ")
	return cc
}

// action is what a client command does with its parsed flags.
type action func(x *call) error

// call is what an action gets: its positional arguments, a client for the
// server, the common flags and where to print.
type call struct {
	ctx            context.Context
	args           []string
	c              *sdk.Client
	f              *clientFlags
	stdout, stderr io.Writer
}

// usageLine is "switchyard runs cancel ID [flags]".
func (cc clientCommand) usageLine() string {
	return strings.Join(append([]string{"switchyard", cc.name}, cc.args...), " ") + " [flags]"
}

// run parses args, then runs the action.
func (cc clientCommand) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet(cc.name, stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\n%s\n\nflags:\n", cc.usageLine(), cc.help)
		fs.PrintDefaults()
	}
	act := cc.setup(fs)
	args, c, err := cf.parse(fs, args, cc.args...)
	if err != nil {
		return err
	}
	return act(&call{ctx: ctx, args: args, c: c, f: cf, stdout: stdout, stderr: stderr})
}

// subcommand is cc as a subcommand of its group, or as a top-level command.
func (cc clientCommand) subcommand() subcommand {
	words := strings.Fields(cc.name)
	return subcommand{name: words[len(words)-1], run: cc.run, line: strings.Join(append([]string{cc.name}, cc.args...), " ") + "\t" + cc.help}
}

// group is a command with subcommands, such as `switchyard runs`.
type group struct {
	name string
	subs []subcommand
}

// newGroup makes the group of client commands whose names start with name.
func newGroup(name string, cmds ...clientCommand) group {
	g := group{name: name}
	for _, cc := range cmds {
		g.subs = append(g.subs, cc.subcommand())
	}
	return g
}

// usage is "usage: switchyard runs list|get ID|... [flags]".
func (g group) usage() string {
	forms := make([]string, len(g.subs))
	for i, s := range g.subs {
		form, _, _ := strings.Cut(s.line, "\t")
		forms[i] = strings.TrimPrefix(form, g.name+" ")
	}
	return fmt.Sprintf("usage: switchyard %s %s [flags]", g.name, strings.Join(forms, "|"))
}

// run runs the subcommand that args[0] names; -h lists them.
func (g group) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, g.usage())
		fmt.Fprintln(stdout)
		return printLines(stdout, g.subs)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(g.usage())
	}
	names := make([]string, len(g.subs))
	for i, s := range g.subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
		names[i] = s.name
	}
	return fmt.Errorf("%s %s: unknown subcommand; want %s", g.name, args[0], orList(names))
}

// subcommand is g as a top-level command.
func (g group) subcommand() subcommand {
	var lines []string
	for _, s := range g.subs {
		lines = append(lines, s.line)
	}
	return subcommand{name: g.name, run: g.run, line: strings.Join(lines, "\n")}
}

// printLines prints the usage lines of subs as aligned columns.
func printLines(w io.Writer, subs []subcommand) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range subs {
		for line := range strings.SplitSeq(s.line, "\n") {
			fmt.Fprintln(tw, "  "+line)
		}
	}
	return tw.Flush()
}

// orList joins choices as "a, b or c".
func orList(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// show prints the answer to a call: its error explained, else the message as
// JSON with -o json, else what text prints.
func show[M proto.Message](f *clientFlags, stdout io.Writer, m M, err error, text func(M) error) error {
	if err != nil {
		return explain(err)
	}
	if f.json() {
		return printJSON(stdout, m)
	}
	return text(m)
}

// page is the answer to a list call.
type page interface {
	proto.Message
	GetNextPageToken() string
}

// showPage prints the answer to a list call as [show] does and then, when there
// are more, on stderr how to ask for the next page of what.
func showPage[M page](f *clientFlags, stdout, stderr io.Writer, what string, m M, err error, text func(M) error) error {
	if err := show(f, stdout, m, err, text); err != nil || f.json() {
		return err
	}
	if m.GetNextPageToken() != "" {
		fmt.Fprintf(stderr, "more %s: --page-token %s\n", what, m.GetNextPageToken())
	}
	return nil
}

// message returns the message of a Connect response, or err.
func message[T any](res *connect.Response[T], err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

// objectFlag is a flag whose value is a JSON object, {} unless given.
type objectFlag struct{ m map[string]any }

func (o *objectFlag) String() string { return "{}" }

func (o *objectFlag) Set(s string) error {
	if err := json.Unmarshal([]byte(s), &o.m); err != nil || o.m == nil {
		return errors.New(`want a JSON object such as '{"id": 42}'`)
	}
	return nil
}

// withKey adds the idempotency key to opts, when one was given.
func withKey[O any](opts []O, key string) []O {
	if key == "" {
		return opts
	}
	return append(opts, any(sdk.WithIdempotencyKey(key)).(O))
}

// printStarted prints the id of the run a call started and, on stderr, when
// the call was a repeat that returned the run an earlier one started.
func printStarted(x *call, id string, deduplicated bool) error {
	if deduplicated {
		fmt.Fprintln(x.stderr, "deduplicated: an earlier call with this idempotency key started this run")
	}
	_, err := fmt.Fprintln(x.stdout, id)
	return err
}
