package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// eventsCommand is `switchyard events replay`; events are pushed with the
// top-level `switchyard push`.
func eventsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "events", "usage: switchyard events replay ID [flags]", []subcommand{
		{"replay", eventsReplayCommand},
	}, args, stdout, stderr)
}

// eventsReplayCommand is `switchyard events replay ID`: it prints the runs the
// replay started and, when there are any, the triggers that matched but started
// no run; with -o json the whole ReplayEventResponse.
func eventsReplayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("events replay", stderr)
	key := fs.String("idempotency-key", "", "makes the replay safe to repeat: a repeat prints the original runs")
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	var opts []sdk.ReplayOption
	if *key != "" {
		opts = append(opts, sdk.WithIdempotencyKey(*key))
	}
	res, err := c.ReplayEvent(ctx, args[0], opts...)
	return show(cf, stdout, res, err, func(res *switchyardv1.ReplayEventResponse) error { return printReplayEvent(stdout, res) })
}

// printReplayEvent prints the runs an event's replay started and the triggers
// that matched but started no run.
func printReplayEvent(stdout io.Writer, res *switchyardv1.ReplayEventResponse) error {
	t := newTable(stdout)
	t.row("RUNS", strings.Join(res.GetRunIds(), ","))
	t.row("DEDUPLICATED", fmt.Sprint(res.GetDeduplicated()))
	if err := t.flush(); err != nil {
		return err
	}
	if len(res.GetSkippedTriggers()) == 0 {
		return nil
	}
	fmt.Fprintln(stdout)
	t = newTable(stdout, "SKIPPED WORKFLOW", "VERSION", "TRIGGER", "REASON")
	for _, s := range res.GetSkippedTriggers() {
		t.row(s.GetWorkflow(), fmt.Sprint(s.GetWorkflowVersion()), s.GetTrigger(), oneLine(s.GetReason()))
	}
	return t.flush()
}
