package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// workflowsCommand is `switchyard workflows list|run|pause|resume`.
func workflowsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "workflows", "usage: switchyard workflows list|run NAME|pause NAME|resume NAME [flags]", []subcommand{
		{"list", workflowsListCommand}, {"run", workflowsRunCommand}, {"pause", workflowsPauseCommand}, {"resume", workflowsResumeCommand},
	}, args, stdout, stderr)
}

func workflowsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("workflows list", stderr)
	limit, pageToken := pageFlags(fs, "workflows")
	args, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	res, err := c.ListWorkflows(ctx, &switchyardv1.ListWorkflowsRequest{PageSize: int32(*limit), PageToken: *pageToken})
	return showPage(cf, stdout, stderr, "workflows", res, err, func(res *switchyardv1.ListWorkflowsResponse) error {
		t := newTable(stdout, "NAME", "VERSION", "TASKS", "ON EVENTS", "CREATED")
		for _, w := range res.GetWorkflows() {
			t.row(w.GetSpec().GetName(), fmt.Sprint(w.GetVersion()), fmt.Sprint(len(w.GetSpec().GetTasks())),
				strings.Join(w.GetSpec().GetOnEvents(), ","), formatTime(w.GetCreatedAt()))
		}
		return t.flush()
	})
}

// workflowsRunCommand is `switchyard workflows run NAME`: it starts a manual
// run and prints its id, or with -o json the whole RunWorkflowResponse.
func workflowsRunCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("workflows run", stderr)
	input := fs.String("input", "{}", "the run's input: a JSON object")
	runAt := fs.String("run-at", "", "when the run starts: an RFC 3339 time, or +DURATION from now such as +10m; now by default "+
		"(with --idempotency-key prefer RFC 3339: a repeat must give the same time)")
	priority := priorityFlag(fs)
	key := fs.String("idempotency-key", "", "makes the run safe to repeat: a repeat prints the original run")
	args, c, err := cf.parse(fs, args, "NAME")
	if err != nil {
		return err
	}

	body, err := parseObject("input", *input)
	if err != nil {
		return err
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
	return show(cf, stdout, res, err, func(res *switchyardv1.RunWorkflowResponse) error {
		if res.GetDeduplicated() {
			fmt.Fprintln(stderr, "deduplicated: an earlier call with this idempotency key started this run")
		}
		_, err := fmt.Fprintln(stdout, res.GetRunId())
		return err
	})
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
