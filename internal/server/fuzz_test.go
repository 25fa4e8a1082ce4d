package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
)

// The fuzz targets: one per RPC, each sending every input, through a real
// server, as Connect JSON and on the RPC's REST route (when it takes a body) or
// as binary protobuf (Connect), and FuzzRESTQuery for the routes that take
// their request from the path and query. Plain `go test` runs their seed
// corpora; README.md says how to fuzz longer. The oracle is fuzzEnv.check.

func FuzzPushEvent(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.EventServicePushEventProcedure)
}
func FuzzBulkPushEvents(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.EventServiceBulkPushEventsProcedure)
}
func FuzzGetEvent(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.EventServiceGetEventProcedure) }
func FuzzListEvents(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.EventServiceListEventsProcedure)
}
func FuzzReplayEvent(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.EventServiceReplayEventProcedure)
}
func FuzzPutWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServicePutWorkflowProcedure)
}
func FuzzGetWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServiceGetWorkflowProcedure)
}
func FuzzListWorkflows(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServiceListWorkflowsProcedure)
}
func FuzzDeleteWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServiceDeleteWorkflowProcedure)
}
func FuzzRunWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServiceRunWorkflowProcedure)
}
func FuzzGetRun(f *testing.F)    { fuzzRPCTarget(f, switchyardv1connect.RunServiceGetRunProcedure) }
func FuzzListRuns(f *testing.F)  { fuzzRPCTarget(f, switchyardv1connect.RunServiceListRunsProcedure) }
func FuzzCancelRun(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.RunServiceCancelRunProcedure) }
func FuzzReplayRun(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.RunServiceReplayRunProcedure) }
func FuzzWatchRun(f *testing.F)  { fuzzRPCTarget(f, switchyardv1connect.RunServiceWatchRunProcedure) }
func FuzzRegisterWorker(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkerServiceRegisterWorkerProcedure)
}
func FuzzListen(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.WorkerServiceListenProcedure) }
func FuzzHeartbeat(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkerServiceHeartbeatProcedure)
}
func FuzzAcknowledge(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkerServiceAcknowledgeProcedure)
}
func FuzzCompleteTask(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkerServiceCompleteTaskProcedure)
}
func FuzzFailTask(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.WorkerServiceFailTaskProcedure) }
func FuzzListWorkers(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkerServiceListWorkersProcedure)
}
func FuzzRecordStep(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.DurableServiceRecordStepProcedure)
}
func FuzzWait(f *testing.F) { fuzzRPCTarget(f, switchyardv1connect.DurableServiceWaitProcedure) }
func FuzzSpawnChildren(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.DurableServiceSpawnChildrenProcedure)
}
func FuzzListSteps(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.DurableServiceListStepsProcedure)
}
func FuzzCreateWebhook(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceCreateWebhookProcedure)
}
func FuzzGetWebhook(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceGetWebhookProcedure)
}
func FuzzListWebhooks(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceListWebhooksProcedure)
}
func FuzzUpdateWebhook(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceUpdateWebhookProcedure)
}
func FuzzDeleteWebhook(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceDeleteWebhookProcedure)
}
func FuzzRotateWebhookSecret(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceRotateWebhookSecretProcedure)
}
func FuzzPutRateLimit(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RateLimitServicePutRateLimitProcedure)
}
func FuzzGetRateLimit(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RateLimitServiceGetRateLimitProcedure)
}
func FuzzListRateLimits(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RateLimitServiceListRateLimitsProcedure)
}
func FuzzDeleteRateLimit(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RateLimitServiceDeleteRateLimitProcedure)
}
func FuzzBulkCancelRuns(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RunServiceBulkCancelRunsProcedure)
}
func FuzzBulkReplayRuns(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RunServiceBulkReplayRunsProcedure)
}
func FuzzGetBulkOperation(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RunServiceGetBulkOperationProcedure)
}
func FuzzWatchBulkOperation(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.RunServiceWatchBulkOperationProcedure)
}
func FuzzPauseWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServicePauseWorkflowProcedure)
}
func FuzzResumeWorkflow(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WorkflowServiceResumeWorkflowProcedure)
}
func FuzzListWebhookDeliveries(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.WebhookServiceListWebhookDeliveriesProcedure)
}
func FuzzCreateTenant(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceCreateTenantProcedure)
}
func FuzzUpdateTenant(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceUpdateTenantProcedure)
}
func FuzzListTenants(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceListTenantsProcedure)
}
func FuzzCreateToken(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceCreateTokenProcedure)
}
func FuzzListTokens(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceListTokensProcedure)
}
func FuzzRevokeToken(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceRevokeTokenProcedure)
}
func FuzzWhoAmI(f *testing.F) {
	fuzzRPCTarget(f, switchyardv1connect.AdminServiceWhoAmIProcedure)
}

// fuzzRPC is what a per-RPC target needs beyond what the API's descriptors say.
type fuzzRPC struct {
	// valid are requests the server takes, naming fixtures by placeholder; the
	// first one is also the base of the seeds with one field made wrong.
	valid []proto.Message
	// pathID fills the id variables of the RPC's REST route ({name} is fzFlow).
	pathID string
	// worker: the target needs fzWorker's stream and an attempt fzTask.
	worker bool
	// renew replaces the fixtures that a call that succeeded used up, so that
	// later inputs can succeed too.
	renew func(t testing.TB, e *fuzzEnv)
}

// fzNoOperation is a well-formed bulk operation id that names none.
const fzNoOperation = "01900000-0000-7000-8000-000000000000"

var (
	fzTime   = timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	fzFuture = timestamppb.New(time.Now().Add(30 * 24 * time.Hour).Truncate(time.Hour))
)

func fzPush(key string, payload map[string]any) *switchyardv1.PushEventRequest {
	return &switchyardv1.PushEventRequest{Key: key, Payload: fuzzStruct(payload)}
}

func fzSettings(scheme switchyardv1.WebhookScheme) *switchyardv1.WebhookSettings {
	s := &switchyardv1.WebhookSettings{
		Name: "fuzz " + scheme.String(), Scheme: scheme, Tolerance: durationpb.New(5 * time.Minute),
		KeyExpression: `"fuzz." + body.action`, ScopeExpression: `headers["x-scope"]`, IdempotencyExpression: `body.id`,
	}
	if scheme == switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC {
		s.Hmac = &switchyardv1.HMACConfig{Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="}
	}
	return s
}

// fuzzRPCs has an entry for every RPC of the API (TestFuzzCoversEveryRPC).
var fuzzRPCs = map[string]fuzzRPC{
	switchyardv1connect.EventServicePushEventProcedure: {valid: []proto.Message{
		&switchyardv1.PushEventRequest{
			Key:      "fuzz.created",
			Payload:  fuzzStruct(map[string]any{"amount": 250, "customer": "c1", "nested": map[string]any{"list": []any{1, "a", true, nil}}}),
			Metadata: map[string]string{"region": "eu"}, IdempotencyKey: "fuzz-1", Scope: "fuzz", Priority: 3, OccurredAt: fzTime,
		},
		&switchyardv1.PushEventRequest{Key: "fuzz.filtered.eu", Payload: fuzzStruct(map[string]any{"amount": 50}), Metadata: map[string]string{"region": "eu"}},
		fzPush("fuzz.filtered.x", nil), // the filter fails: no amount
		&switchyardv1.PushEventRequest{Key: "fuzz.scoped", Scope: "fuzz"},
	}},
	switchyardv1connect.EventServiceBulkPushEventsProcedure: {valid: []proto.Message{
		&switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			fzPush("fuzz.bulk", map[string]any{"n": 1}),
			{Key: "fuzz.filtered.eu", Payload: fuzzStruct(map[string]any{"amount": 500}), Metadata: map[string]string{"region": "eu"}, IdempotencyKey: "fuzz-bulk"},
		}},
		// The same key for different events: refused, nothing stored.
		&switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
			{Key: "fuzz.a", IdempotencyKey: "fuzz-dup"}, {Key: "fuzz.b", IdempotencyKey: "fuzz-dup"},
		}},
	}},
	switchyardv1connect.EventServiceGetEventProcedure: {pathID: fzEvent, valid: []proto.Message{
		&switchyardv1.GetEventRequest{Id: fzEvent},
	}},
	switchyardv1connect.EventServiceListEventsProcedure: {valid: []proto.Message{
		&switchyardv1.ListEventsRequest{Key: "fuzz.created", Scope: "fuzz", CreatedAfter: fzTime, PageSize: 2},
		&switchyardv1.ListEventsRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.EventServiceReplayEventProcedure: {pathID: fzEvent, valid: []proto.Message{
		&switchyardv1.ReplayEventRequest{Id: fzEvent, IdempotencyKey: "fuzz-replay"},
	}},
	switchyardv1connect.WorkflowServicePutWorkflowProcedure: {valid: []proto.Message{
		&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{
			Name: "fuzz-put", Description: "every part of a spec",
			OnEvents: []string{"order.**", "user.*.deleted"},
			EventTriggers: []*switchyardv1.EventTrigger{
				{Key: "order.paid", Filter: `payload.amount > 100 && metadata.region == "eu"`, Scope: "acme"},
			},
			OnCron:      []*switchyardv1.CronTrigger{{Schedule: "0 2 * * *", TimeZone: "Europe/Paris"}, {Schedule: "@every 30s"}},
			Concurrency: &switchyardv1.ConcurrencyRule{Key: "payload.customer", MaxRuns: 2, Strategy: switchyardv1.ConcurrencyStrategy_CONCURRENCY_STRATEGY_CANCEL_IN_PROGRESS},
			Tasks: []*switchyardv1.TaskSpec{
				{Name: "a", Action: "fuzz.a", Timeout: durationpb.New(time.Minute), Retry: &switchyardv1.RetryPolicy{MaxAttempts: 5, InitialBackoff: durationpb.New(time.Second), MaxBackoff: durationpb.New(time.Minute)}},
				{Name: "b", Action: "fuzz.b", Parents: []string{"a"}},
				{Name: "c", Action: "fuzz.c", Parents: []string{"a", "b"}},
			},
		}},
		// A cycle, a bad filter and a bad schedule: invalid_argument.
		&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "fuzz-cycle", Tasks: []*switchyardv1.TaskSpec{
			{Name: "a", Action: "x", Parents: []string{"b"}}, {Name: "b", Action: "x", Parents: []string{"a"}},
		}}},
		&switchyardv1.PutWorkflowRequest{Spec: &switchyardv1.WorkflowSpec{Name: "fuzz-bad", Tasks: []*switchyardv1.TaskSpec{{Name: "a", Action: "x"}},
			EventTriggers: []*switchyardv1.EventTrigger{{Key: "a.**.b", Filter: "payload.("}}, OnCron: []*switchyardv1.CronTrigger{{Schedule: "61 * * * *", TimeZone: "Mars/Olympus"}}}},
	}},
	switchyardv1connect.WorkflowServiceGetWorkflowProcedure: {valid: []proto.Message{
		&switchyardv1.GetWorkflowRequest{Name: fzFlow},
		&switchyardv1.GetWorkflowRequest{Name: fzFlow, Version: 1},
		&switchyardv1.GetWorkflowRequest{Name: fzFlow, Version: 999},
	}},
	switchyardv1connect.WorkflowServiceListWorkflowsProcedure: {valid: []proto.Message{
		&switchyardv1.ListWorkflowsRequest{PageSize: 1},
		&switchyardv1.ListWorkflowsRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.WorkflowServiceDeleteWorkflowProcedure: {
		valid: []proto.Message{&switchyardv1.DeleteWorkflowRequest{Name: fzFlow}},
		renew: func(t testing.TB, e *fuzzEnv) { e.putFlow(t) },
	},
	switchyardv1connect.WorkflowServiceRunWorkflowProcedure: {valid: []proto.Message{
		&switchyardv1.RunWorkflowRequest{Name: fzFlow, Input: fuzzStruct(map[string]any{"url": "https://example.com/a.png", "n": 1.5}), IdempotencyKey: "fuzz-run", Priority: 9},
		&switchyardv1.RunWorkflowRequest{Name: fzJob, Input: fuzzStruct(map[string]any{"customer": "c1"}), RunAt: fzFuture},
		&switchyardv1.RunWorkflowRequest{Name: fzJob}, // no concurrency key: invalid_argument
	}},
	switchyardv1connect.RunServiceGetRunProcedure: {pathID: fzRun, valid: []proto.Message{
		&switchyardv1.GetRunRequest{Id: fzRun}, &switchyardv1.GetRunRequest{Id: fzEndedRun},
	}},
	switchyardv1connect.RunServiceListRunsProcedure: {valid: []proto.Message{
		&switchyardv1.ListRunsRequest{Workflow: fzFlow, Status: switchyardv1.RunStatus_RUN_STATUS_QUEUED, EventId: fzEvent, CreatedAfter: fzTime,
			PageSize: 2, Trigger: switchyardv1.RunTrigger_RUN_TRIGGER_EVENT},
		&switchyardv1.ListRunsRequest{PageToken: "fuzz", CreatedBefore: fzTime},
	}},
	switchyardv1connect.RunServiceCancelRunProcedure: {
		pathID: fzRun,
		valid:  []proto.Message{&switchyardv1.CancelRunRequest{Id: fzRun, Reason: "fuzz"}, &switchyardv1.CancelRunRequest{Id: fzEndedRun}},
		renew:  func(t testing.TB, e *fuzzEnv) { e.newActiveRun(t) },
	},
	switchyardv1connect.RunServiceReplayRunProcedure: {pathID: fzEndedRun, valid: []proto.Message{
		&switchyardv1.ReplayRunRequest{Id: fzEndedRun, Mode: switchyardv1.ReplayMode_REPLAY_MODE_FROM_FAILED, IdempotencyKey: "fuzz-replay"},
		&switchyardv1.ReplayRunRequest{Id: fzEndedRun, Mode: switchyardv1.ReplayMode_REPLAY_MODE_WHOLE},
		&switchyardv1.ReplayRunRequest{Id: fzRun}, // not ended: failed_precondition
	}},
	switchyardv1connect.RunServiceWatchRunProcedure: {valid: []proto.Message{
		&switchyardv1.WatchRunRequest{Id: fzRun}, &switchyardv1.WatchRunRequest{Id: fzEndedRun},
	}},
	switchyardv1connect.WorkerServiceRegisterWorkerProcedure: {valid: []proto.Message{
		&switchyardv1.RegisterWorkerRequest{Name: "fuzz", Actions: []string{"fuzz.a", "fuzz/b:c"}, Slots: 8, Labels: map[string]string{"zone": "eu"}},
		&switchyardv1.RegisterWorkerRequest{Name: "fuzz", Actions: []string{"a", "a"}}, // not unique
	}},
	switchyardv1connect.WorkerServiceListenProcedure: {valid: []proto.Message{
		&switchyardv1.ListenRequest{WorkerId: fzWorker},
	}},
	switchyardv1connect.WorkerServiceHeartbeatProcedure: {pathID: fzWorker, valid: []proto.Message{
		&switchyardv1.HeartbeatRequest{WorkerId: fzWorker},
	}},
	switchyardv1connect.WorkerServiceAcknowledgeProcedure: {
		pathID: fzWorker, worker: true,
		valid: []proto.Message{
			&switchyardv1.AcknowledgeRequest{WorkerId: fzWorker, StreamId: "fuzz-stream", KeepaliveSeq: 1,
				Assignments: []*switchyardv1.AttemptRef{{TaskId: fzTask, Attempt: 1}}},
			&switchyardv1.AcknowledgeRequest{WorkerId: fzWorker, StreamId: "fuzz-stream"},
		},
	},
	switchyardv1connect.WorkerServiceCompleteTaskProcedure: {
		pathID: fzTask, worker: true,
		valid: []proto.Message{
			&switchyardv1.CompleteTaskRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Output: fuzzStruct(map[string]any{"ok": true, "list": []any{1, "x"}})},
			&switchyardv1.CompleteTaskRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 2}, // stale: failed_precondition
		},
		renew: func(t testing.TB, e *fuzzEnv) { e.nextTask(t) },
	},
	switchyardv1connect.WorkerServiceFailTaskProcedure: {
		pathID: fzTask, worker: true,
		valid: []proto.Message{
			&switchyardv1.FailTaskRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Error: "boom", Retryable: true},
			&switchyardv1.FailTaskRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Error: "fatal"},
		},
		renew: func(t testing.TB, e *fuzzEnv) { e.nextTask(t) },
	},
	switchyardv1connect.DurableServiceRecordStepProcedure: {
		pathID: fzTask, worker: true,
		valid: []proto.Message{
			&switchyardv1.RecordStepRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Name: "charge", Result: structpb.NewStructValue(fuzzStruct(map[string]any{"id": "ch-1"}))},
			&switchyardv1.RecordStepRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 2, Name: "charge"}, // stale: failed_precondition
		},
	},
	switchyardv1connect.DurableServiceWaitProcedure: {
		pathID: fzTask, worker: true,
		valid: []proto.Message{
			&switchyardv1.WaitRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Name: "paid", Wait: &switchyardv1.WaitSpec{
				Mode: switchyardv1.WaitMode_WAIT_MODE_ANY, Conditions: []*switchyardv1.WaitCondition{
					{Name: "paid", Kind: &switchyardv1.WaitCondition_Event{Event: &switchyardv1.EventCondition{Key: "fuzz.paid",
						Condition: "event.payload.id == input.id", Lookback: durationpb.New(time.Hour), Timeout: durationpb.New(time.Hour)}}},
					{Name: "nap", Kind: &switchyardv1.WaitCondition_Sleep{Sleep: &switchyardv1.SleepCondition{Duration: durationpb.New(time.Hour)}}},
				}}},
			&switchyardv1.WaitRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Name: "bad", Wait: &switchyardv1.WaitSpec{
				Conditions: []*switchyardv1.WaitCondition{{Name: "e", Kind: &switchyardv1.WaitCondition_Event{Event: &switchyardv1.EventCondition{Key: "k", Condition: "1 +"}}}}}},
		},
		renew: func(t testing.TB, e *fuzzEnv) { e.nextTask(t) },
	},
	switchyardv1connect.DurableServiceSpawnChildrenProcedure: {
		pathID: fzTask, worker: true,
		valid: []proto.Message{
			&switchyardv1.SpawnChildrenRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Name: "fan", Children: []*switchyardv1.ChildSpec{
				{Workflow: fzJob, Input: fuzzStruct(map[string]any{"i": 1})}}},
			&switchyardv1.SpawnChildrenRequest{WorkerId: fzWorker, TaskId: fzTask, Attempt: 1, Name: "none", Children: []*switchyardv1.ChildSpec{{Workflow: "missing"}}},
		},
	},
	switchyardv1connect.DurableServiceListStepsProcedure: {pathID: fzTask, valid: []proto.Message{
		&switchyardv1.ListStepsRequest{TaskId: fzTask},
	}},
	switchyardv1connect.WorkerServiceListWorkersProcedure: {valid: []proto.Message{
		&switchyardv1.ListWorkersRequest{PageSize: 1}, &switchyardv1.ListWorkersRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.WebhookServiceCreateWebhookProcedure: {valid: []proto.Message{
		&switchyardv1.CreateWebhookRequest{Settings: fzSettings(switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC), Secret: "fuzz-secret"},
		&switchyardv1.CreateWebhookRequest{Settings: fzSettings(switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB)},
		&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{Name: "bad", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `1 + `}},
	}},
	switchyardv1connect.WebhookServiceGetWebhookProcedure: {pathID: fzWebhook, valid: []proto.Message{
		&switchyardv1.GetWebhookRequest{Id: fzWebhook},
	}},
	switchyardv1connect.WebhookServiceListWebhooksProcedure: {valid: []proto.Message{
		&switchyardv1.ListWebhooksRequest{PageSize: 1}, &switchyardv1.ListWebhooksRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.WebhookServiceUpdateWebhookProcedure: {pathID: fzWebhook, valid: []proto.Message{
		&switchyardv1.UpdateWebhookRequest{Id: fzWebhook, Settings: fzSettings(switchyardv1.WebhookScheme_WEBHOOK_SCHEME_BEARER)},
		&switchyardv1.UpdateWebhookRequest{Id: fzWebhook, Settings: fzSettings(switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC)},
	}},
	switchyardv1connect.WebhookServiceDeleteWebhookProcedure: {
		pathID: fzWebhook,
		valid:  []proto.Message{&switchyardv1.DeleteWebhookRequest{Id: fzWebhook}},
		renew:  func(t testing.TB, e *fuzzEnv) { e.newWebhook(t) },
	},
	switchyardv1connect.WebhookServiceRotateWebhookSecretProcedure: {pathID: fzWebhook, valid: []proto.Message{
		&switchyardv1.RotateWebhookSecretRequest{Id: fzWebhook, Secret: "fuzz-secret"}, &switchyardv1.RotateWebhookSecretRequest{Id: fzWebhook},
	}},
	switchyardv1connect.WebhookServiceListWebhookDeliveriesProcedure: {pathID: fzWebhook, valid: []proto.Message{
		&switchyardv1.ListWebhookDeliveriesRequest{WebhookId: fzWebhook, PageSize: 2}, &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: fzWebhook, PageToken: "fuzz"},
	}},
	switchyardv1connect.RateLimitServicePutRateLimitProcedure: {valid: []proto.Message{
		&switchyardv1.PutRateLimitRequest{RateLimit: &switchyardv1.NamedRateLimit{Name: fzFlow, Max: 100, Period: durationpb.New(time.Second)}},
	}},
	switchyardv1connect.RateLimitServiceGetRateLimitProcedure: {pathID: fzFlow, valid: []proto.Message{
		&switchyardv1.GetRateLimitRequest{Name: fzFlow},
	}},
	switchyardv1connect.RateLimitServiceListRateLimitsProcedure: {valid: []proto.Message{
		&switchyardv1.ListRateLimitsRequest{PageSize: 1}, &switchyardv1.ListRateLimitsRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.RateLimitServiceDeleteRateLimitProcedure: {pathID: fzFlow, valid: []proto.Message{
		&switchyardv1.DeleteRateLimitRequest{Name: fzFlow},
	}},
	switchyardv1connect.RunServiceBulkCancelRunsProcedure: {valid: []proto.Message{
		&switchyardv1.BulkCancelRunsRequest{Selector: &switchyardv1.RunSelector{Workflow: fzFlow, EventKey: "fuzz.none"}, Reason: "fuzz"},
	}},
	switchyardv1connect.RunServiceBulkReplayRunsProcedure: {valid: []proto.Message{
		&switchyardv1.BulkReplayRunsRequest{Selector: &switchyardv1.RunSelector{Workflow: fzFlow, EventKey: "fuzz.none"}},
	}},
	switchyardv1connect.RunServiceGetBulkOperationProcedure: {pathID: fzNoOperation, valid: []proto.Message{
		&switchyardv1.GetBulkOperationRequest{Id: fzNoOperation},
	}},
	switchyardv1connect.RunServiceWatchBulkOperationProcedure: {pathID: fzNoOperation, valid: []proto.Message{
		&switchyardv1.WatchBulkOperationRequest{Id: fzNoOperation},
	}},
	switchyardv1connect.WorkflowServicePauseWorkflowProcedure: {valid: []proto.Message{
		&switchyardv1.PauseWorkflowRequest{Name: "fuzz-none"},
	}},
	switchyardv1connect.WorkflowServiceResumeWorkflowProcedure: {valid: []proto.Message{
		&switchyardv1.ResumeWorkflowRequest{Name: "fuzz-none"},
	}},
	switchyardv1connect.AdminServiceCreateTenantProcedure: {valid: []proto.Message{
		&switchyardv1.CreateTenantRequest{Id: "fuzz-new", Name: "Fuzz"}, &switchyardv1.CreateTenantRequest{Id: fzTenant},
	}},
	switchyardv1connect.AdminServiceUpdateTenantProcedure: {pathID: fzTenant, valid: []proto.Message{
		&switchyardv1.UpdateTenantRequest{Id: fzTenant, Name: proto.String("Fuzz"), RateLimit: &switchyardv1.RateLimit{PerSecond: 100_000, Burst: 200_000}},
		&switchyardv1.UpdateTenantRequest{Id: fzTenant, RateLimit: &switchyardv1.RateLimit{}},
		&switchyardv1.UpdateTenantRequest{Id: "nope", Name: proto.String("")},
	}},
	switchyardv1connect.AdminServiceListTenantsProcedure: {valid: []proto.Message{
		&switchyardv1.ListTenantsRequest{PageSize: 1}, &switchyardv1.ListTenantsRequest{PageToken: "fuzz"},
	}},
	switchyardv1connect.AdminServiceCreateTokenProcedure: {valid: []proto.Message{
		&switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_WORKER, Name: "fuzz", ExpiresAt: fzFuture},
		&switchyardv1.CreateTokenRequest{Tenant: "nope", Role: switchyardv1.Role_ROLE_VIEWER, Name: "fuzz"},
		&switchyardv1.CreateTokenRequest{Role: switchyardv1.Role_ROLE_ADMIN, Name: "fuzz", ExpiresAt: fzTime}, // expired
	}},
	switchyardv1connect.AdminServiceListTokensProcedure: {valid: []proto.Message{
		&switchyardv1.ListTokensRequest{PageSize: 1}, &switchyardv1.ListTokensRequest{Tenant: "nope", PageToken: "fuzz"},
	}},
	switchyardv1connect.AdminServiceRevokeTokenProcedure: {
		pathID: fzToken,
		valid:  []proto.Message{&switchyardv1.RevokeTokenRequest{Id: fzToken}},
		renew:  func(t testing.TB, e *fuzzEnv) { e.newToken(t) },
	},
	switchyardv1connect.AdminServiceWhoAmIProcedure: {valid: []proto.Message{&switchyardv1.WhoAmIRequest{}}},
}

// fuzzRPCTarget fuzzes one RPC: an input is a body and whether it is JSON.
// JSON goes to the Connect handler and, when the RPC has a REST route that takes
// a body, to that route; binary goes to the Connect handler as protobuf. A
// server stream is read up to its first message.
func fuzzRPCTarget(f *testing.F, procedure string) {
	rpc, ok := fuzzRPCs[procedure]
	if !ok {
		f.Fatalf("no fuzz case for %s", procedure)
	}
	md := methodOf(f, procedure)
	stream := md.IsStreamingServer()
	method, path := bodyRoute(md, rpc.pathID)
	e := newFuzzEnv(f, rpc.worker)
	for _, s := range fuzzSeeds(rpc.valid) {
		f.Add(s.body, s.json)
	}
	call := func(t *testing.T, c client, body []byte) {
		what := procedure + " over " + c.proto.Name
		ok := e.check(t, what, stream, func(ctx context.Context) error {
			if stream {
				return c.rawStream(ctx, procedure, e.withIDs(body))
			}
			return c.rawCall(ctx, procedure, "", e.withIDs(body))
		})
		if ok && rpc.renew != nil {
			rpc.renew(t, e)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		if !asJSON {
			call(t, e.binary, body)
			return
		}
		call(t, e.json, body)
		if path == "" {
			return
		}
		ok := e.check(t, procedure+" over REST "+method+" "+path, false, func(ctx context.Context) error {
			return e.rest.restRaw(ctx, method, string(e.withIDs([]byte(path))), e.withIDs(body))
		})
		if ok && rpc.renew != nil {
			rpc.renew(t, e)
		}
	})
}

// methodOf finds the descriptor of procedure ("/pkg.Service/Method").
func methodOf(t testing.TB, procedure string) protoreflect.MethodDescriptor {
	t.Helper()
	name := strings.ReplaceAll(strings.TrimPrefix(procedure, "/"), "/", ".")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("procedure %s: %v", procedure, err)
	}
	return d.(protoreflect.MethodDescriptor)
}

// restRule returns the RPC's google.api.http rule: its method and path template.
func restRule(md protoreflect.MethodDescriptor) (rule *annotations.HttpRule, method, template string) {
	rule, _ = proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return nil, "", ""
	}
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return rule, http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return rule, http.MethodPost, p.Post
	case *annotations.HttpRule_Put:
		return rule, http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		return rule, http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return rule, http.MethodPatch, p.Patch
	}
	return nil, "", ""
}

// bodyRoute returns the RPC's REST route when it takes the request as its body,
// with each path variable filled: {name} with fzFlow, any other with id.
func bodyRoute(md protoreflect.MethodDescriptor, id string) (method, path string) {
	rule, method, template := restRule(md)
	if rule == nil || rule.GetBody() != "*" {
		return "", ""
	}
	return method, fillPath(template, func(v string) string {
		if v == "name" {
			return fzFlow
		}
		return id
	})
}

// fillPath replaces each {variable} of a path template.
func fillPath(template string, value func(variable string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(template, '{')
		if i < 0 {
			b.WriteString(template)
			return b.String()
		}
		j := strings.IndexByte(template[i:], '}')
		b.WriteString(template[:i])
		b.WriteString(value(template[i+1 : i+j]))
		template = template[i+j+1:]
	}
}

// apiMethods returns every RPC of the API, by procedure.
func apiMethods() map[string]protoreflect.MethodDescriptor {
	out := map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFilesByPackage("switchyard.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				out[fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())] = md
			}
		}
		return true
	})
	return out
}

// TestFuzzCoversEveryRPC keeps the fuzz targets complete: every RPC of the API
// has a case in fuzzRPCs (and so a FuzzXxx target calling fuzzRPCTarget).
func TestFuzzCoversEveryRPC(t *testing.T) {
	t.Parallel()
	methods := apiMethods()
	if len(methods) < 30 {
		t.Fatalf("found only %d RPCs", len(methods))
	}
	for _, procedure := range slices.Sorted(maps.Keys(methods)) {
		if _, ok := fuzzRPCs[procedure]; !ok {
			t.Errorf("%s has no fuzz case in fuzzRPCs", procedure)
		}
	}
	for procedure := range fuzzRPCs {
		if methods[procedure] == nil {
			t.Errorf("fuzz case %s is not an RPC of the API", procedure)
		}
	}
}

// TestFuzzOracle shows that the oracle of the fuzz targets sees what it must:
// a call that stores, and one that fails without storing.
func TestFuzzOracle(t *testing.T) {
	t.Parallel()
	e := newFuzzEnv(t, false)
	push := mustJSON(&switchyardv1.PushEventRequest{Key: "fuzz.oracle", IdempotencyKey: "oracle"})
	o := e.observe(t, false, func(ctx context.Context) error {
		return e.json.rawCall(ctx, switchyardv1connect.EventServicePushEventProcedure, "", push)
	})
	if o.err != nil || o.changed["events"] != 1 || o.changed["runs"] != 1 || len(o.problems) > 0 {
		t.Fatalf("a push that starts a run: %v, changed %v, problems %q; want one event and one run", o.err, o.changed, o.problems)
	}
	// A bulk push whose second item reuses the first push's idempotency key for
	// another event fails whole: nothing counted.
	bulk := mustJSON(&switchyardv1.BulkPushEventsRequest{Events: []*switchyardv1.PushEventRequest{
		{Key: "fuzz.a", IdempotencyKey: "oracle-2"}, {Key: "fuzz.b", IdempotencyKey: "oracle"},
	}})
	o = e.observe(t, false, func(ctx context.Context) error {
		return e.json.rawCall(ctx, switchyardv1connect.EventServiceBulkPushEventsProcedure, "", bulk)
	})
	if connect.CodeOf(o.err) != connect.CodeAlreadyExists || len(o.changed) != 0 {
		t.Fatalf("a bulk push with one key for two events: %v, changed %v; want already_exists and nothing", o.err, o.changed)
	}
	o = e.observe(t, false, func(ctx context.Context) error {
		_, err := e.api.workers.Heartbeat(ctx, connect.NewRequest(&switchyardv1.HeartbeatRequest{WorkerId: e.ids[fzWorker]}))
		return err
	})
	if o.err != nil || o.changed["workers"] != 1 {
		t.Fatalf("a heartbeat: %v, changed %v; want one worker updated", o.err, o.changed)
	}
}
