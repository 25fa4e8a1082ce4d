package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

var workflowsListCmd = newCommand("workflows list", "list workflows, by name", func(fs *flag.FlagSet) action {
	limit, pageToken := pageFlags(fs, "workflows")
	return func(x *call) error {
		res, err := x.c.ListWorkflows(x.ctx, &switchyardv1.ListWorkflowsRequest{PageSize: int32(*limit), PageToken: *pageToken})
		return showPage(x.f, x.stdout, x.stderr, "workflows", res, err, func(res *switchyardv1.ListWorkflowsResponse) error {
			t := newTable(x.stdout, "NAME", "VERSION", "TASKS", "ON EVENTS", "CREATED")
			for _, w := range res.GetWorkflows() {
				t.row(w.GetSpec().GetName(), fmt.Sprint(w.GetVersion()), fmt.Sprint(len(w.GetSpec().GetTasks())),
					strings.Join(w.GetSpec().GetOnEvents(), ","), formatTime(w.GetCreatedAt()))
			}
			return t.flush()
		})
	}
})

var workflowsGetCmd = newCommand("workflows get NAME", "print a workflow's spec as JSON, which workflows put -f takes back (--version)", func(fs *flag.FlagSet) action {
	version := fs.Int("version", 0, "this version; the current one by default")
	return func(x *call) error {
		w, err := x.c.GetWorkflow(x.ctx, x.args[0], int32(*version))
		return show(x.f, x.stdout, w, err, func(w *switchyardv1.Workflow) error {
			fmt.Fprintf(x.stderr, "workflow %s version %d, created %s\n", w.GetSpec().GetName(), w.GetVersion(), formatTime(w.GetCreatedAt()))
			return printJSON(x.stdout, w.GetSpec())
		})
	}
})

var workflowsPutCmd = newCommand("workflows put", "declare a workflow from a spec file (-f FILE.json|.yaml, - for stdin); a changed spec is a new version", func(fs *flag.FlagSet) action {
	file := fs.String("f", "", "the WorkflowSpec, in JSON or YAML (required)")
	return func(x *call) error {
		if *file == "" {
			return errors.New("workflows put: -f FILE is required: a WorkflowSpec in JSON or YAML, such as {\"name\": \"hello\", \"onEvents\": [\"user.created\"], \"tasks\": [{\"name\": \"greet\", \"action\": \"email.send\"}]}")
		}
		spec := &switchyardv1.WorkflowSpec{}
		if err := readSpec(*file, os.Stdin, spec); err != nil {
			return err
		}
		res, err := x.c.PutWorkflow(x.ctx, spec)
		for _, w := range res.GetWarnings() {
			fmt.Fprintln(x.stderr, "warning:", w)
		}
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.PutWorkflowResponse) error {
			t := newTable(x.stdout)
			t.row("WORKFLOW", res.GetWorkflow().GetSpec().GetName())
			t.row("VERSION", fmt.Sprint(res.GetWorkflow().GetVersion()))
			t.row("CHANGED", fmt.Sprint(res.GetChanged()))
			return t.flush()
		})
	}
})

var workflowsDeleteCmd = newCommand("workflows delete NAME", "stop a workflow from being triggered; --cancel-runs also cancels its runs that have not ended", func(fs *flag.FlagSet) action {
	cancelRuns := fs.Bool("cancel-runs", false, "also cancel the workflow's queued, scheduled, waiting and running runs")
	return func(x *call) error {
		if err := x.c.DeleteWorkflow(x.ctx, x.args[0]); err != nil {
			return explain(err)
		}
		fmt.Fprintf(x.stdout, "deleted workflow %s\n", x.args[0])
		if !*cancelRuns {
			return nil
		}
		n, err := cancelOpenRuns(x, x.args[0])
		fmt.Fprintf(x.stdout, "cancelled %d runs\n", n)
		return err
	}
})

// cancelOpenRuns cancels every run of workflow that has not ended and returns
// how many it cancelled.
func cancelOpenRuns(x *call, workflow string) (int, error) {
	n := 0
	for _, status := range []switchyardv1.RunStatus{switchyardv1.RunStatus_RUN_STATUS_QUEUED, switchyardv1.RunStatus_RUN_STATUS_SCHEDULED,
		switchyardv1.RunStatus_RUN_STATUS_WAITING, switchyardv1.RunStatus_RUN_STATUS_RUNNING} {
		for {
			res, err := x.c.ListRuns(x.ctx, &switchyardv1.ListRunsRequest{Workflow: workflow, Status: status, PageSize: 500})
			if err != nil {
				return n, explain(err)
			}
			for _, r := range res.GetRuns() {
				if _, err := x.c.CancelRun(x.ctx, r.GetId(), "workflow deleted"); err != nil {
					return n, explain(err)
				}
				n++
			}
			if len(res.GetRuns()) == 0 || res.GetNextPageToken() == "" {
				break
			}
		}
	}
	return n, nil
}

// workflowsRunCmd starts a manual run and prints its id, or with -o json the
// whole RunWorkflowResponse.
var workflowsRunCmd = newCommand("workflows run NAME", "start a run (--input JSON, --run-at TIME|+DURATION, --priority, --idempotency-key) and print its id", func(fs *flag.FlagSet) action {
	var input objectFlag
	fs.Var(&input, "input", "the run's input: a JSON object")
	runAt := fs.String("run-at", "", "when the run starts: an RFC 3339 time, or +DURATION from now such as +10m; now by default "+
		"(with --idempotency-key prefer RFC 3339: a repeat must give the same time)")
	priority := priorityFlag(fs)
	key := fs.String("idempotency-key", "", "makes the run safe to repeat: a repeat prints the original run")
	return func(x *call) error {
		opts := withKey([]sdk.RunOption{sdk.WithPriority(int32(*priority))}, *key)
		if *runAt != "" {
			at, err := parseRunAt(*runAt, time.Now())
			if err != nil {
				return fmt.Errorf("--run-at %q: %w", *runAt, err)
			}
			opts = append(opts, sdk.WithRunAt(at))
		}
		res, err := x.c.RunWorkflow(x.ctx, x.args[0], input.m, opts...)
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.RunWorkflowResponse) error {
			return printStarted(x, res.GetRunId(), res.GetDeduplicated())
		})
	}
})

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
