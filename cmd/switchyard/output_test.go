package main

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// TestPrintRunOptionalFields covers the fields of runs that the commands
// above cannot start: cron runs and runs with a concurrency key.
func TestPrintRunOptionalFields(t *testing.T) {
	t.Parallel()
	tick := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	run := &switchyardv1.Run{
		Id:              "0193a7a0-0000-7000-8000-000000000001",
		Workflow:        "nightly",
		WorkflowVersion: 2,
		Status:          switchyardv1.RunStatus_RUN_STATUS_WAITING,
		Trigger:         switchyardv1.RunTrigger_RUN_TRIGGER_CRON,
		CronTick:        timestamppb.New(tick),
		Priority:        9,
		ConcurrencyKey:  "customer-42",
		CreatedAt:       timestamppb.New(tick.Add(time.Second)),
	}
	want := `ID               0193a7a0-0000-7000-8000-000000000001
WORKFLOW         nightly (version 2)
STATUS           WAITING
TRIGGER          CRON
EVENT            -
CRON TICK        2026-01-02T03:00:00Z
PRIORITY         9
CONCURRENCY KEY  customer-42
CREATED          2026-01-02T03:00:01Z
FINISHED         -
ERROR            -

TASK  ACTION  STATUS  ATTEMPT  PARENTS  WORKER  ERROR
`
	var b bytes.Buffer
	if err := printRun(&b, run); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("printRun printed\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := printRunList(&b, []*switchyardv1.Run{run}); err != nil {
		t.Fatal(err)
	}
	wantList := `ID                                    WORKFLOW  VERSION  STATUS   TRIGGER  EVENT  CREATED               FINISHED
0193a7a0-0000-7000-8000-000000000001  nightly   2        WAITING  CRON     -      2026-01-02T03:00:01Z  -
`
	if b.String() != wantList {
		t.Errorf("printRunList printed\n%s\nwant\n%s", b.String(), wantList)
	}
}

// TestPrintRunWaits shows a run's durable waits: what each condition waits
// for, its state and until when.
func TestPrintRunWaits(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	open := &switchyardv1.WaitInfo{TaskId: "t1", Step: "paid", Condition: "confirmed", Kind: "event", Key: "payment.confirmed",
		Expression: "event.payload.order_id == input.order_id", State: switchyardv1.WaitState_WAIT_STATE_OPEN, Deadline: timestamppb.New(at.Add(72 * time.Hour))}
	nap := &switchyardv1.WaitInfo{TaskId: "t1", Step: "paid", Condition: "nap", Kind: "sleep", State: switchyardv1.WaitState_WAIT_STATE_CANCELLED}
	run := &switchyardv1.Run{
		Id: "0193a7a0-0000-7000-8000-000000000001", Workflow: "orders", WorkflowVersion: 1, Status: switchyardv1.RunStatus_RUN_STATUS_WAITING,
		Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL, ParentRunId: "p1", ParentTaskId: "pt", WaitingUntil: open.GetDeadline(),
		CreatedAt: timestamppb.New(at), Waits: []*switchyardv1.WaitInfo{open},
		Tasks: []*switchyardv1.Task{{Id: "t1", Name: "charge", Action: "order.charge", Status: switchyardv1.TaskStatus_TASK_STATUS_WAITING,
			Attempt: 1, MaxAttempts: 3, Waits: []*switchyardv1.WaitInfo{open, nap}}},
	}
	want := `ID             0193a7a0-0000-7000-8000-000000000001
WORKFLOW       orders (version 1)
STATUS         WAITING
TRIGGER        MANUAL
EVENT          -
PRIORITY       0
PARENT         p1 (task pt)
WAITING UNTIL  2026-01-05T03:00:00Z
CREATED        2026-01-02T03:00:00Z
FINISHED       -
ERROR          -

TASK    ACTION        STATUS   ATTEMPT  PARENTS  WORKER  ERROR
charge  order.charge  WAITING  1/3      -        -       -

TASK    WAIT  CONDITION  FOR                                                                  STATE      UNTIL                 EVENT
charge  paid  confirmed  event payment.confirmed if event.payload.order_id == input.order_id  OPEN       2026-01-05T03:00:00Z  -
charge  paid  nap        sleep                                                                CANCELLED  -                     -
`
	var b bytes.Buffer
	if err := printRun(&b, run); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Errorf("printRun printed\n%s\nwant\n%s", b.String(), want)
	}
}
