package main

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/sdk"
)

// The values --status, --trigger, --role and --scheme accept, from the enums.
var (
	runStatusChoices  = enumChoices(switchyardv1.RunStatus_name, "RUN_STATUS_")
	runTriggerChoices = enumChoices(switchyardv1.RunTrigger_name, "RUN_TRIGGER_")
	roleChoices       = enumChoices(switchyardv1.Role_name, "ROLE_")
	schemeChoices     = enumChoices(switchyardv1.WebhookScheme_name, "WEBHOOK_SCHEME_")
)

var runsListCmd = newCommand("runs list", "list runs, newest first (--workflow, --status, --trigger, --event)", func(fs *flag.FlagSet) action {
	workflow := fs.String("workflow", "", "only runs of this workflow")
	status := fs.String("status", "", "only runs in this status: "+runStatusChoices)
	trigger := fs.String("trigger", "", "only runs started this way: "+runTriggerChoices)
	event := fs.String("event", "", "only runs started by this event id")
	limit, pageToken := pageFlags(fs, "runs")
	return func(x *call) error {
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
		res, err := x.c.ListRuns(x.ctx, req)
		return showPage(x.f, x.stdout, x.stderr, "runs", res, err, func(res *switchyardv1.ListRunsResponse) error {
			return printRunList(x.stdout, res.GetRuns())
		})
	}
})

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

var runsGetCmd = newCommand("runs get ID", "show a run and its tasks", func(*flag.FlagSet) action {
	return func(x *call) error {
		run, err := x.c.GetRun(x.ctx, x.args[0])
		return show(x.f, x.stdout, run, err, func(run *switchyardv1.Run) error { return printRun(x.stdout, run) })
	}
})

// runsWatchCmd prints the run's state on every change until it ends: a line
// per change, or with -o json one JSON document per line. It fails unless the
// run succeeded, so that scripts can wait on it.
var runsWatchCmd = newCommand("runs watch ID", "follow a run until it ends; fails unless it succeeded", func(*flag.FlagSet) action {
	return func(x *call) error {
		run, err := x.c.WatchRun(x.ctx, x.args[0], func(r *switchyardv1.Run) error {
			if x.f.json() {
				return printJSONLine(x.stdout, r)
			}
			_, err := fmt.Fprintln(x.stdout, runLine(time.Now(), r))
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
})

var runsCancelCmd = newCommand("runs cancel ID", "cancel a run that has not ended: its pending tasks are cancelled, running ones told to stop", func(fs *flag.FlagSet) action {
	reason := fs.String("reason", "", "why, kept as the run's error")
	return func(x *call) error {
		run, err := x.c.CancelRun(x.ctx, x.args[0], *reason)
		return show(x.f, x.stdout, run, err, func(run *switchyardv1.Run) error { return printRun(x.stdout, run) })
	}
})

// runsReplayCmd prints the new run's id, or with -o json the whole
// ReplayRunResponse.
var runsReplayCmd = newCommand("runs replay ID", "start a new run of an ended run (--from-failed, --idempotency-key) and print its id", func(fs *flag.FlagSet) action {
	fromFailed := fs.Bool("from-failed", false, "run again only the tasks that did not succeed; the others keep their outputs")
	key := fs.String("idempotency-key", "", "makes the replay safe to repeat: a repeat prints the original new run")
	return func(x *call) error {
		mode := switchyardv1.ReplayMode_REPLAY_MODE_WHOLE
		if *fromFailed {
			mode = switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED
		}
		res, err := x.c.ReplayRun(x.ctx, x.args[0], mode, withKey([]sdk.ReplayOption(nil), *key)...)
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.ReplayRunResponse) error {
			return printStarted(x, res.GetRun().GetId(), res.GetDeduplicated())
		})
	}
})
