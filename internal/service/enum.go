package service

import (
	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
)

// enum pairs each value of an API enum with the engine's name for it, and
// each name with its value.
type enum[P comparable] struct {
	names  map[P]string
	values map[string]P
}

// newEnum returns the enum that names gives, one engine name per value.
func newEnum[P comparable](names map[P]string) enum[P] {
	values := make(map[string]P, len(names))
	for p, name := range names {
		values[name] = p
	}
	return enum[P]{names: names, values: values}
}

// name returns the engine's name for p, or "" for a value it has no name for.
func (e enum[P]) name(p P) string {
	return e.names[p]
}

// proto returns the API value for the engine's name, or the zero value
// (UNSPECIFIED) for a name it does not know.
func (e enum[P]) proto(name string) P {
	return e.values[name]
}

var runStatuses = newEnum(map[switchyardv1.RunStatus]string{
	switchyardv1.RunStatus_RUN_STATUS_QUEUED:    engine.RunQueued,
	switchyardv1.RunStatus_RUN_STATUS_RUNNING:   engine.RunRunning,
	switchyardv1.RunStatus_RUN_STATUS_SUCCEEDED: engine.RunSucceeded,
	switchyardv1.RunStatus_RUN_STATUS_FAILED:    engine.RunFailed,
	switchyardv1.RunStatus_RUN_STATUS_CANCELLED: engine.RunCancelled,
	switchyardv1.RunStatus_RUN_STATUS_SCHEDULED: engine.RunScheduled,
	switchyardv1.RunStatus_RUN_STATUS_WAITING:   engine.RunWaiting,
	switchyardv1.RunStatus_RUN_STATUS_SKIPPED:   engine.RunSkipped,
	switchyardv1.RunStatus_RUN_STATUS_PAUSED:    engine.RunPaused,
})

var bulkKinds = newEnum(map[switchyardv1.BulkOperationKind]string{
	switchyardv1.BulkOperationKind_BULK_OPERATION_KIND_CANCEL: engine.BulkCancel,
	switchyardv1.BulkOperationKind_BULK_OPERATION_KIND_REPLAY: engine.BulkReplay,
})

var schemes = newEnum(map[switchyardv1.WebhookScheme]string{
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE:   "NONE",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB: "GITHUB",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_STRIPE: "STRIPE",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SLACK:  "SLACK",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SVIX:   "SVIX",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC:   "HMAC",
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_BEARER: "BEARER",
})

var runTriggers = newEnum(map[switchyardv1.RunTrigger]string{
	switchyardv1.RunTrigger_RUN_TRIGGER_EVENT:  engine.TriggerEvent,
	switchyardv1.RunTrigger_RUN_TRIGGER_CRON:   engine.TriggerCron,
	switchyardv1.RunTrigger_RUN_TRIGGER_MANUAL: engine.TriggerManual,
	switchyardv1.RunTrigger_RUN_TRIGGER_REPLAY: engine.TriggerReplay,
})

var strategies = newEnum(map[switchyardv1.ConcurrencyStrategy]string{
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_UNSPECIFIED:        "",
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_QUEUE:              engine.StrategyQueue,
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_IN_PROGRESS: engine.StrategyCancelInProgress,
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_NEWEST:      engine.StrategyCancelNewest,
	switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_GROUP_ROUND_ROBIN:  engine.StrategyGroupRoundRobin,
})

var roles = newEnum(map[switchyardv1.Role]string{
	switchyardv1.Role_ROLE_ADMIN:    auth.RoleAdmin,
	switchyardv1.Role_ROLE_PRODUCER: auth.RoleProducer,
	switchyardv1.Role_ROLE_WORKER:   auth.RoleWorker,
	switchyardv1.Role_ROLE_VIEWER:   auth.RoleViewer,
})

// replayModeName names the replay each mode asks for; an unset mode replays
// the whole run.
var replayModeName = map[switchyardv1.ReplayMode]string{
	switchyardv1.ReplayMode_REPLAY_MODE_UNSPECIFIED: engine.ReplayWhole,
	switchyardv1.ReplayMode_REPLAY_MODE_WHOLE:       engine.ReplayWhole,
	switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED: engine.ReplayFromFailed,
}

// Task statuses and delivery outcomes only go out, from the engine's names.
var taskStatusProto = map[string]switchyardv1.TaskStatus{
	"PENDING":   switchyardv1.TaskStatus_TASK_STATUS_PENDING,
	"QUEUED":    switchyardv1.TaskStatus_TASK_STATUS_QUEUED,
	"RUNNING":   switchyardv1.TaskStatus_TASK_STATUS_RUNNING,
	"SUCCEEDED": switchyardv1.TaskStatus_TASK_STATUS_SUCCEEDED,
	"FAILED":    switchyardv1.TaskStatus_TASK_STATUS_FAILED,
	"CANCELLED": switchyardv1.TaskStatus_TASK_STATUS_CANCELLED,
	"WAITING":   switchyardv1.TaskStatus_TASK_STATUS_WAITING,
	"SKIPPED":   switchyardv1.TaskStatus_TASK_STATUS_SKIPPED,
}

var waitModes = newEnum(map[switchyardv1.WaitMode]string{
	switchyardv1.WaitMode_WAIT_MODE_ANY: engine.WaitAny,
	switchyardv1.WaitMode_WAIT_MODE_ALL: engine.WaitAll,
})

var waitStates = newEnum(map[switchyardv1.WaitState]string{
	switchyardv1.WaitState_WAIT_STATE_OPEN:      engine.WaitStateOpen,
	switchyardv1.WaitState_WAIT_STATE_SATISFIED: engine.WaitStateSatisfied,
	switchyardv1.WaitState_WAIT_STATE_TIMED_OUT: engine.WaitStateTimedOut,
	switchyardv1.WaitState_WAIT_STATE_CANCELLED: engine.WaitStateCancelled,
})

var stepKinds = newEnum(map[switchyardv1.StepKind]string{
	switchyardv1.StepKind_STEP_KIND_RESULT: "RESULT",
	switchyardv1.StepKind_STEP_KIND_WAIT:   "WAIT",
	switchyardv1.StepKind_STEP_KIND_SPAWN:  "SPAWN",
})

var waitTimeoutActions = newEnum(map[switchyardv1.WaitTimeoutAction]string{
	switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_FAIL: engine.OnWaitTimeoutFail,
	switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_SKIP: engine.OnWaitTimeoutSkip,
	switchyardv1.WaitTimeoutAction_WAIT_TIMEOUT_ACTION_RUN:  engine.OnWaitTimeoutRun,
})

var deliveryOutcomeProto = map[string]switchyardv1.DeliveryOutcome{
	engine.DeliveryAccepted:  switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_ACCEPTED,
	engine.DeliveryDuplicate: switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_DUPLICATE,
	engine.DeliveryRejected:  switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_REJECTED,
}
