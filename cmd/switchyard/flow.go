package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

var workflowsPauseCmd = newCommand("workflows pause NAME", "hold the workflow's new runs (PAUSED) until it is resumed (--skip-cron: skip cron ticks meanwhile)", func(fs *flag.FlagSet) action {
	skipCron := fs.Bool("skip-cron", false, "skip cron ticks while paused (by default each tick adds a held run)")
	return func(x *call) error {
		res, err := message(x.c.Workflows().PauseWorkflow(x.ctx, connect.NewRequest(&switchyardv1.PauseWorkflowRequest{Name: x.args[0], SkipCronTicks: *skipCron})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.PauseWorkflowResponse) error {
			ticks := "held"
			if res.GetWorkflow().GetSkipCronWhilePaused() {
				ticks = "skipped"
			}
			_, err := fmt.Fprintf(x.stdout, "workflow %s paused since %s: new runs are held, cron ticks %s\n", x.args[0], formatTime(res.GetWorkflow().GetPausedAt()), ticks)
			return err
		})
	}
})

var workflowsResumeCmd = newCommand("workflows resume NAME", "end the workflow's pause: its held runs start in the order they were created", func(fs *flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Workflows().ResumeWorkflow(x.ctx, connect.NewRequest(&switchyardv1.ResumeWorkflowRequest{Name: x.args[0]})))
		return show(x.f, x.stdout, res, err, func(res *switchyardv1.ResumeWorkflowResponse) error {
			_, err := fmt.Fprintf(x.stdout, "workflow %s resumed: %d held run(s) released\n", x.args[0], res.GetReleased())
			return err
		})
	}
})

// selectorFlags are the flags that select runs for a bulk operation.
type selectorFlags struct {
	workflow, statuses, after, before, eventKey, metadata *string
}

func addSelectorFlags(fs *flag.FlagSet) *selectorFlags {
	return &selectorFlags{
		workflow: fs.String("workflow", "", "only runs of this workflow"),
		statuses: fs.String("status", "", "only runs in these statuses, comma-separated: "+runStatusChoices),
		after:    fs.String("created-after", "", "only runs created at or after this time (RFC 3339)"),
		before:   fs.String("created-before", "", "only runs created before this time (RFC 3339)"),
		eventKey: fs.String("event-key", "", "only runs started by an event with this key"),
		metadata: fs.String("metadata", "", "only runs started by an event with this metadata, as k=v,k2=v2"),
	}
}

func (s *selectorFlags) selector() (*switchyardv1.RunSelector, error) {
	sel := &switchyardv1.RunSelector{Workflow: *s.workflow, EventKey: *s.eventKey}
	if *s.statuses != "" {
		for _, st := range strings.Split(*s.statuses, ",") {
			v, ok := parseEnum(strings.TrimSpace(st), "RUN_STATUS_", switchyardv1.RunStatus_value)
			if !ok {
				return nil, fmt.Errorf("--status %q: want %s", st, runStatusChoices)
			}
			sel.Statuses = append(sel.Statuses, switchyardv1.RunStatus(v))
		}
	}
	for flagName, v := range map[string]struct {
		text string
		into **timestamppb.Timestamp
	}{"--created-after": {*s.after, &sel.CreatedAfter}, "--created-before": {*s.before, &sel.CreatedBefore}} {
		if v.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v.text)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-12-02T10:00:00Z", flagName, v.text)
		}
		*v.into = timestamppb.New(t)
	}
	if *s.metadata != "" {
		md, err := parsePairs(*s.metadata)
		if err != nil {
			return nil, fmt.Errorf("--metadata: %w", err)
		}
		sel.EventMetadata = md
	}
	return sel, nil
}

var runsCancelAllCmd = newCommand("runs cancel-all", "cancel the runs a filter selects, in the background; prints the operation after each batch until it is done", func(fs *flag.FlagSet) action {
	sf := addSelectorFlags(fs)
	reason := fs.String("reason", "", "why, as each run's error says")
	noWait := fs.Bool("no-wait", false, "print the operation and return; follow it with runs bulk ID")
	return func(x *call) error {
		sel, err := sf.selector()
		if err != nil {
			return err
		}
		res, err := message(x.c.Runs().BulkCancelRuns(x.ctx, connect.NewRequest(&switchyardv1.BulkCancelRunsRequest{Selector: sel, Reason: *reason})))
		return followBulk(x, res.GetOperation(), err, *noWait)
	}
})

var runsReplayAllCmd = newCommand("runs replay-all", "replay the ended runs a filter selects, in the background; prints the operation after each batch until it is done", func(fs *flag.FlagSet) action {
	sf := addSelectorFlags(fs)
	fromFailed := fs.Bool("from-failed", false, "run again only the tasks that did not succeed")
	noWait := fs.Bool("no-wait", false, "print the operation and return; follow it with runs bulk ID")
	return func(x *call) error {
		sel, err := sf.selector()
		if err != nil {
			return err
		}
		mode := switchyardv1.ReplayMode_REPLAY_MODE_WHOLE
		if *fromFailed {
			mode = switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED
		}
		res, err := message(x.c.Runs().BulkReplayRuns(x.ctx, connect.NewRequest(&switchyardv1.BulkReplayRunsRequest{Selector: sel, Mode: mode})))
		return followBulk(x, res.GetOperation(), err, *noWait)
	}
})

var runsBulkCmd = newCommand("runs bulk ID", "follow a bulk cancel or replay until it is done", func(fs *flag.FlagSet) action {
	return func(x *call) error {
		res, err := message(x.c.Runs().GetBulkOperation(x.ctx, connect.NewRequest(&switchyardv1.GetBulkOperationRequest{Id: x.args[0]})))
		return followBulk(x, res.GetOperation(), err, false)
	}
})

// followBulk prints a bulk operation and, unless noWait, a line per batch
// until it is done (with -o json, one JSON document per line).
func followBulk(x *call, op *switchyardv1.BulkOperation, err error, noWait bool) error {
	cf, stdout := x.f, x.stdout
	if err != nil {
		return explain(err)
	}
	printOp := func(op *switchyardv1.BulkOperation) error {
		if cf.json() {
			return printJSONLine(stdout, op)
		}
		state := "running"
		if op.GetDone() {
			state = "done"
		}
		verb := "replayed"
		if op.GetKind() == switchyardv1.BulkOperationKind_BULK_OPERATION_KIND_CANCEL {
			verb = "cancelled"
		}
		_, err := fmt.Fprintf(stdout, "%s %s %s: %d matched, %d processed, %d %s\n", op.GetId(), strings.ToLower(strings.TrimPrefix(op.GetKind().String(), "BULK_OPERATION_KIND_")),
			state, op.GetMatched(), op.GetProcessed(), op.GetAffected(), verb)
		return err
	}
	if err := printOp(op); err != nil || noWait || op.GetDone() {
		return err
	}
	stream, err := x.c.Runs().WatchBulkOperation(x.ctx, connect.NewRequest(&switchyardv1.WatchBulkOperationRequest{Id: op.GetId()}))
	if err != nil {
		return explain(err)
	}
	defer stream.Close()
	last := op.GetProcessed()
	for stream.Receive() {
		if m := stream.Msg().GetOperation(); m != nil && (m.GetProcessed() != last || m.GetDone()) {
			last = m.GetProcessed()
			if err := printOp(m); err != nil {
				return err
			}
		}
	}
	if err := stream.Err(); err != nil {
		return explain(err)
	}
	return nil
}
