package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

// command runs one command of the CLI on the arguments after its name.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// subcommand is one subcommand of a command group such as `switchyard runs`.
type subcommand struct {
	name string
	run  command
}

// dispatch runs the subcommand of group that args[0] names; usage is the
// group's usage line, returned when no subcommand is given.
func dispatch(ctx context.Context, group, usage string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New(usage)
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		if s.name == args[0] {
			return s.run(ctx, args[1:], stdout, stderr)
		}
		names[i] = s.name
	}
	return fmt.Errorf("%s %s: unknown subcommand; want %s", group, args[0], orList(names))
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

// parseObject reads the value of the flag --name, which must be a JSON object.
func parseObject(name, value string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return nil, fmt.Errorf("--%s: want a JSON object: %w", name, err)
	}
	return m, nil
}
