package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// runsCommand is `switchyard runs list|get|watch|replay|cancel-all|replay-all|bulk`.
func runsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "runs", "usage: switchyard runs list|get ID|watch ID|replay ID|cancel-all|replay-all|bulk ID [flags]", []subcommand{
		{"list", runsListCommand}, {"get", runsGetCommand}, {"watch", runsWatchCommand}, {"replay", runsReplayCommand},
		{"cancel-all", runsCancelAllCommand}, {"replay-all", runsReplayAllCommand}, {"bulk", runsBulkCommand},
	}, args, stdout, stderr)
}

// The values --status and --trigger accept, from the enums.
var (
	runStatusChoices  = enumChoices(switchyardv1.RunStatus_name, "RUN_STATUS_")
	runTriggerChoices = enumChoices(switchyardv1.RunTrigger_name, "RUN_TRIGGER_")
)

func runsListCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs list", stderr)
	workflow := fs.String("workflow", "", "only runs of this workflow")
	status := fs.String("status", "", "only runs in this status: "+runStatusChoices)
	trigger := fs.String("trigger", "", "only runs started this way: "+runTriggerChoices)
	event := fs.String("event", "", "only runs started by this event id")
	limit, pageToken := pageFlags(fs, "runs")
	args, c, err := cf.parse(fs, args)
	if err != nil {
		return err
	}
	req := &switchyardv1.ListRunsRequest{Workflow: *workflow, EventId: *event, PageSize: int32(*limit), PageToken: *pageToken}
	if *status != "" {
		v, ok := parseEnum(*status, "RUN_STATUS_", switchyardv1.RunStatus_value)
		if !ok {
			return fmt.Errorf("--status %q: want %s", *status, runStatusChoices)
		}
		req.Status = switchyardv1.RunStatus(v)
	}
	if *trigger != "" {
		v, ok := parseEnum(*trigger, "RUN_TRIGGER_", switchyardv1.RunTrigger_value)
		if !ok {
			return fmt.Errorf("--trigger %q: want %s", *trigger, runTriggerChoices)
		}
		req.Trigger = switchyardv1.RunTrigger(v)
	}
	res, err := c.ListRuns(ctx, req)
	return showPage(cf, stdout, stderr, "runs", res, err, func(res *switchyardv1.ListRunsResponse) error {
		return printRunList(stdout, res.GetRuns())
	})
}

// parseEnum accepts "succeeded", "SUCCEEDED" or "RUN_STATUS_SUCCEEDED" for the
// value RUN_STATUS_SUCCEEDED of the enum whose values all start with prefix;
// the zero value is not accepted.
func parseEnum(s, prefix string, values map[string]int32) (int32, bool) {
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	v, ok := values[name]
	if !ok || v == 0 {
		return 0, false
	}
	return v, true
}

// enumChoices lists the values of an enum but its zero value, in number order,
// lower case and without prefix: "event, cron, manual or replay".
func enumChoices(names map[int32]string, prefix string) string {
	nums := slices.Sorted(maps.Keys(names))
	var choices []string
	for _, n := range nums {
		if n != 0 {
			choices = append(choices, strings.ToLower(strings.TrimPrefix(names[n], prefix)))
		}
	}
	return orList(choices)
}

func runsGetCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs get", stderr)
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	run, err := c.GetRun(ctx, args[0])
	return show(cf, stdout, run, err, func(run *switchyardv1.Run) error { return printRun(stdout, run) })
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

// runsReplayCommand is `switchyard runs replay ID`: it prints the new run's id,
// or with -o json the whole ReplayRunResponse.
func runsReplayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientFlagSet("runs replay", stderr)
	fromFailed := fs.Bool("from-failed", false, "run again only the tasks that did not succeed; the others keep their outputs")
	key := fs.String("idempotency-key", "", "makes the replay safe to repeat: a repeat prints the original new run")
	args, c, err := cf.parse(fs, args, "ID")
	if err != nil {
		return err
	}
	mode := switchyardv1.ReplayMode_REPLAY_MODE_WHOLE
	if *fromFailed {
		mode = switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED
	}
	var opts []sdk.ReplayOption
	if *key != "" {
		opts = append(opts, sdk.WithIdempotencyKey(*key))
	}
	res, err := c.ReplayRun(ctx, args[0], mode, opts...)
	return show(cf, stdout, res, err, func(res *switchyardv1.ReplayRunResponse) error {
		if res.GetDeduplicated() {
			fmt.Fprintln(stderr, "deduplicated: an earlier replay with this idempotency key started this run")
		}
		_, err := fmt.Fprintln(stdout, res.GetRun().GetId())
		return err
	})
}
