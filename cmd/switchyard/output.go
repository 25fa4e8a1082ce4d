package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// printJSON writes m as one indented protojson document.
func printJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printJSONLine writes m as protojson on one line, for streams of documents.
func printJSONLine(w io.Writer, m proto.Message) error {
	b, err := protojson.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// table writes tab-separated rows as aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// formatTime renders a timestamp in UTC, or "" when unset.
func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// runStatus is "SUCCEEDED" for RUN_STATUS_SUCCEEDED.
func runStatus(s switchyardv1.RunStatus) string {
	return strings.TrimPrefix(s.String(), "RUN_STATUS_")
}

// runTrigger is "EVENT" for RUN_TRIGGER_EVENT, and "" for the unspecified
// trigger.
func runTrigger(t switchyardv1.RunTrigger) string {
	if t == switchyardv1.RunTrigger_RUN_TRIGGER_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(t.String(), "RUN_TRIGGER_")
}

// taskStatus is "QUEUED" for TASK_STATUS_QUEUED.
func taskStatus(s switchyardv1.TaskStatus) string {
	return strings.TrimPrefix(s.String(), "TASK_STATUS_")
}

// workerStatus is "ACTIVE" for WORKER_STATUS_ACTIVE.
func workerStatus(s switchyardv1.WorkerStatus) string {
	return strings.TrimPrefix(s.String(), "WORKER_STATUS_")
}

// formatMap renders string pairs as "k=v,k2=v2", sorted by key.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// printRunList writes runs as a table.
func printRunList(w io.Writer, runs []*switchyardv1.Run) error {
	t := newTable(w, "ID", "WORKFLOW", "VERSION", "STATUS", "TRIGGER", "EVENT", "CREATED", "FINISHED")
	for _, r := range runs {
		t.row(r.GetId(), r.GetWorkflow(), fmt.Sprint(r.GetWorkflowVersion()), runStatus(r.GetStatus()),
			runTrigger(r.GetTrigger()), r.GetEventId(), formatTime(r.GetCreatedAt()), formatTime(r.GetFinishedAt()))
	}
	return t.flush()
}

// printRun writes a run's fields, then its tasks as a table. The fields only
// some runs have (REPLAY OF, CRON TICK, CONCURRENCY KEY, SCHEDULED) are left
// out when unset.
func printRun(w io.Writer, r *switchyardv1.Run) error {
	t := newTable(w)
	t.row("ID", r.GetId())
	t.row("WORKFLOW", fmt.Sprintf("%s (version %d)", r.GetWorkflow(), r.GetWorkflowVersion()))
	t.row("STATUS", runStatus(r.GetStatus()))
	t.row("TRIGGER", runTrigger(r.GetTrigger()))
	t.row("EVENT", r.GetEventId())
	if r.GetReplayOf() != "" {
		t.row("REPLAY OF", r.GetReplayOf())
	}
	if r.GetCronTick() != nil {
		t.row("CRON TICK", formatTime(r.GetCronTick()))
	}
	t.row("PRIORITY", fmt.Sprint(r.GetPriority()))
	if r.GetConcurrencyKey() != "" {
		t.row("CONCURRENCY KEY", r.GetConcurrencyKey())
	}
	if r.GetScheduledAt() != nil {
		t.row("SCHEDULED", formatTime(r.GetScheduledAt()))
	}
	if r.GetWaitReason() != "" {
		t.row("WAITING", r.GetWaitReason())
	}
	if r.GetParentRunId() != "" {
		t.row("PARENT", r.GetParentRunId()+" (task "+r.GetParentTaskId()+")")
	}
	if r.GetWaitingUntil() != nil {
		t.row("WAITING UNTIL", formatTime(r.GetWaitingUntil()))
	}
	t.row("CREATED", formatTime(r.GetCreatedAt()))
	t.row("FINISHED", formatTime(r.GetFinishedAt()))
	t.row("ERROR", r.GetError())
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w, "TASK", "ACTION", "STATUS", "ATTEMPT", "PARENTS", "WORKER", "ERROR")
	for _, task := range r.GetTasks() {
		t.row(task.GetName(), task.GetAction(), taskStatus(task.GetStatus()),
			fmt.Sprintf("%d/%d", task.GetAttempt(), task.GetMaxAttempts()),
			strings.Join(task.GetParents(), ","), task.GetWorkerId(), oneLine(task.GetError()))
	}
	if err := t.flush(); err != nil {
		return err
	}
	return printWaits(w, r)
}

// printWaits writes the durable waits of a run's tasks, when it has any: what
// each condition waits for, its state and until when.
func printWaits(w io.Writer, r *switchyardv1.Run) error {
	names := map[string]string{}
	var waits []*switchyardv1.WaitInfo
	for _, task := range r.GetTasks() {
		names[task.GetId()] = task.GetName()
		waits = append(waits, task.GetWaits()...)
	}
	if len(waits) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "TASK", "WAIT", "CONDITION", "FOR", "STATE", "UNTIL", "EVENT")
	for _, x := range waits {
		what := x.GetKind()
		switch x.GetKind() {
		case "event":
			what = "event " + x.GetKey()
			if x.GetExpression() != "" {
				what += " if " + oneLine(x.GetExpression())
			}
		case "child":
			what = "run " + x.GetChildRunId()
		}
		t.row(names[x.GetTaskId()], x.GetStep(), x.GetCondition(), what,
			strings.TrimPrefix(x.GetState().String(), "WAIT_STATE_"), formatTime(x.GetDeadline()), x.GetEventId())
	}
	return t.flush()
}

// runLine is one line of `runs watch`: the time, the run's status and each
// task's.
func runLine(now time.Time, r *switchyardv1.Run) string {
	parts := []string{now.Format("15:04:05.000"), runStatus(r.GetStatus())}
	for _, task := range r.GetTasks() {
		parts = append(parts, task.GetName()+"="+taskStatus(task.GetStatus()))
	}
	if r.GetWaitReason() != "" {
		parts = append(parts, "("+r.GetWaitReason()+")")
	}
	return strings.Join(parts, "  ")
}

// oneLine keeps the first line of s, marking a cut.
func oneLine(s string) string {
	if first, _, cut := strings.Cut(s, "\n"); cut {
		return first + " …"
	}
	return s
}
