package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// runsCommand is `switchyard runs list|get|watch`.
func runsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: switchyard runs list|get ID|watch ID [flags]")
	}
	switch args[0] {
	case "list":
		return runsListCommand(ctx, args[1:], stdout, stderr)
	case "get":
		return runsGetCommand(ctx, args[1:], stdout, stderr)
	case "watch":
		return runsWatchCommand(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("runs %s: unknown subcommand; want list, get or watch", args[0])
}

func runsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs list", stderr)
	workflow := fs.String("workflow", "", "only runs of this workflow")
	status := fs.String("status", "", "only runs in this status: queued, running, succeeded, failed or cancelled")
	event := fs.String("event", "", "only runs started by this event id")
	limit, pageToken := pageFlags(fs, "runs")
	args, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	req := &switchyardv1.ListRunsRequest{Workflow: *workflow, EventId: *event, PageSize: int32(*limit), PageToken: *pageToken}
	if *status != "" {
		s, ok := parseRunStatus(*status)
		if !ok {
			return fmt.Errorf("--status %q: want queued, running, succeeded, failed or cancelled", *status)
		}
		req.Status = s
	}
	res, err := c.ListRuns(ctx, req)
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res)
	}
	if err := printRunList(stdout, res.GetRuns()); err != nil {
		return err
	}
	if res.GetNextPageToken() != "" {
		fmt.Fprintf(stderr, "more runs: --page-token %s\n", res.GetNextPageToken())
	}
	return nil
}

// parseRunStatus accepts "succeeded", "SUCCEEDED" or "RUN_STATUS_SUCCEEDED".
func parseRunStatus(s string) (switchyardv1.RunStatus, bool) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "RUN_STATUS_") {
		name = "RUN_STATUS_" + name
	}
	v, ok := switchyardv1.RunStatus_value[name]
	if !ok || v == int32(switchyardv1.RunStatus_RUN_STATUS_UNSPECIFIED) {
		return 0, false
	}
	return switchyardv1.RunStatus(v), true
}

func runsGetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs get", stderr)
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	run, err := c.GetRun(ctx, args[0])
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, run)
	}
	return printRun(stdout, run)
}

// runsWatchCommand prints the run's state on every change until it ends: a line
// per change, or with -o json one JSON document per line. It fails unless the
// run succeeded, so that scripts can wait on it.
func runsWatchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs watch", stderr)
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	run, err := c.WatchRun(ctx, args[0], func(r *switchyardv1.Run) error {
		if cf.json() {
			return printJSONLine(stdout, r)
		}
		_, err := fmt.Fprintln(stdout, runLine(time.Now(), r))
		return err
	})
	if err != nil {
		return explain(err)
	}
	if run.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED {
		return fmt.Errorf("run %s ended %s: %s", run.GetId(), runStatus(run.GetStatus()), run.GetError())
	}
	return nil
}
