package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// workflowsCommand is `switchyard workflows list|run`.
func workflowsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: switchyard workflows list|run NAME [flags]")
	}
	switch args[0] {
	case "list":
		return workflowsListCommand(ctx, args[1:], stdout, stderr)
	case "run":
		return workflowsRunCommand(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("workflows %s: unknown subcommand; want list or run", args[0])
}

func workflowsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("workflows list", stderr)
	limit, pageToken := pageFlags(fs, "workflows")
	args, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	res, err := c.ListWorkflows(ctx, &switchyardv1.ListWorkflowsRequest{PageSize: int32(*limit), PageToken: *pageToken})
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res)
	}
	t := newTable(stdout, "NAME", "VERSION", "TASKS", "ON EVENTS", "CREATED")
	for _, w := range res.GetWorkflows() {
		t.row(w.GetSpec().GetName(), fmt.Sprint(w.GetVersion()), fmt.Sprint(len(w.GetSpec().GetTasks())),
			strings.Join(w.GetSpec().GetOnEvents(), ","), formatTime(w.GetCreatedAt()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if res.GetNextPageToken() != "" {
		fmt.Fprintf(stderr, "more workflows: --page-token %s\n", res.GetNextPageToken())
	}
	return nil
}

// workflowsRunCommand is `switchyard workflows run NAME`: it starts a manual
// run and prints its id, or with -o json the whole RunWorkflowResponse.
func workflowsRunCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("workflows run", stderr)
	input := fs.String("input", "{}", "the run's input: a JSON object")
	runAt := fs.String("run-at", "", "when the run starts: an RFC 3339 time, or +DURATION from now such as +10m; now by default "+
		"(with --idempotency-key prefer RFC 3339: a repeat must give the same time)")
	priority := fs.Int("priority", 0, "priority, 0 (default) to 9 (most urgent)")
	key := fs.String("idempotency-key", "", "makes the run safe to repeat: a repeat prints the original run")
	args, c, err := cf.parse(fs, args, "NAME")
	if err != nil {
		return err
	}

	var body map[string]any
	if err := json.Unmarshal([]byte(*input), &body); err != nil {
		return fmt.Errorf("--input: want a JSON object: %w", err)
	}
	opts := []sdk.RunOption{sdk.WithPriority(int32(*priority))}
	if *runAt != "" {
		at, err := parseRunAt(*runAt, time.Now())
		if err != nil {
			return fmt.Errorf("--run-at %q: %w", *runAt, err)
		}
		opts = append(opts, sdk.WithRunAt(at))
	}
	if *key != "" {
		opts = append(opts, sdk.WithIdempotencyKey(*key))
	}

	res, err := c.RunWorkflow(ctx, args[0], body, opts...)
	if err != nil {
		return explain(err)
	}
	if cf.json() {
		return printJSON(stdout, res)
	}
	if res.GetDeduplicated() {
		fmt.Fprintln(stderr, "deduplicated: an earlier call with this idempotency key started this run")
	}
	_, err = fmt.Fprintln(stdout, res.GetRunId())
	return err
}

// parseRunAt reads an RFC 3339 time, or "+DURATION" (a positive Go duration
// such as +90s or +1h30m) after now.
func parseRunAt(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(s, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return time.Time{}, errors.New("want a positive duration after the +, such as +10m or +1h30m")
		}
		return now.Add(dur), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time such as 2026-01-02T15:04:05Z, or +DURATION such as +10m")
	}
	return t, nil
}
