package service

// Conversions between the API's messages and the engine's types. A conversion
// of an engine result takes nil to nil: a handler's body builds its answer from
// what the engine returned, also when the engine failed (see [unary]).

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/webhook"
)

func eventInput(m *switchyardv1.PushEventRequest) engine.EventInput {
	in := engine.EventInput{
		Key:            m.GetKey(),
		Payload:        m.GetPayload().AsMap(),
		Metadata:       m.GetMetadata(),
		Scope:          m.GetScope(),
		Priority:       m.GetPriority(),
		IdempotencyKey: m.GetIdempotencyKey(),
	}
	if m.OccurredAt != nil {
		in.OccurredAt = m.GetOccurredAt().AsTime()
	}
	return in
}

func eventFilter(m *switchyardv1.ListEventsRequest) engine.EventFilter {
	return engine.EventFilter{
		Key: m.GetKey(), Scope: m.GetScope(),
		CreatedAfter: timeOrZero(m.GetCreatedAfter()), CreatedBefore: timeOrZero(m.GetCreatedBefore()),
	}
}

func pushResultProto(r *engine.PushResult) *switchyardv1.PushEventResponse {
	if r == nil {
		return nil
	}
	return &switchyardv1.PushEventResponse{Event: eventProto(r.Event), RunIds: r.RunIDs, Deduplicated: r.Deduplicated}
}

func replayEventProto(r *engine.ReplayResult) *switchyardv1.ReplayEventResponse {
	if r == nil {
		return nil
	}
	return &switchyardv1.ReplayEventResponse{RunIds: r.RunIDs, SkippedTriggers: skippedProto(r.Skipped), Deduplicated: r.Deduplicated}
}

func eventProto(ev *engine.Event) *switchyardv1.Event {
	if ev == nil {
		return nil
	}
	payload, err := structpb.NewStruct(ev.Payload)
	if err != nil {
		// Stored payloads were JSON objects when they came in; they stay so.
		payload = &structpb.Struct{}
	}
	metadata := ev.Metadata
	if len(metadata) == 0 {
		metadata = nil
	}
	return &switchyardv1.Event{
		Id:              ev.ID,
		Key:             ev.Key,
		Payload:         payload,
		Metadata:        metadata,
		Scope:           ev.Scope,
		Priority:        ev.Priority,
		OccurredAt:      timestamppb.New(ev.OccurredAt),
		CreatedAt:       timestamppb.New(ev.CreatedAt),
		IdempotencyKey:  ev.IdempotencyKey,
		RunIds:          ev.RunIDs,
		SkippedTriggers: skippedProto(ev.Skipped),
	}
}

func skippedProto(skipped []engine.SkippedTrigger) []*switchyardv1.SkippedTrigger {
	out := make([]*switchyardv1.SkippedTrigger, len(skipped))
	for i, s := range skipped {
		out[i] = &switchyardv1.SkippedTrigger{Workflow: s.Workflow, WorkflowVersion: s.WorkflowVersion, Trigger: s.Trigger, Reason: s.Reason}
	}
	return out
}

func settingsFromProto(p *switchyardv1.WebhookSettings) engine.WebhookSettings {
	h := p.GetHmac()
	return engine.WebhookSettings{
		Name:                  p.GetName(),
		Scheme:                schemes.name(p.GetScheme()),
		HMAC:                  webhook.HMACConfig{Header: h.GetHeader(), Algorithm: h.GetAlgorithm(), Encoding: h.GetEncoding(), Prefix: h.GetPrefix()},
		Tolerance:             p.GetTolerance().AsDuration(),
		KeyExpression:         p.GetKeyExpression(),
		ScopeExpression:       p.GetScopeExpression(),
		IdempotencyExpression: p.GetIdempotencyExpression(),
	}
}

func webhookProto(w *engine.Webhook) *switchyardv1.Webhook {
	if w == nil {
		return nil
	}
	s := w.Settings
	settings := &switchyardv1.WebhookSettings{
		Name:                  s.Name,
		Scheme:                schemes.proto(s.Scheme),
		KeyExpression:         s.KeyExpression,
		ScopeExpression:       s.ScopeExpression,
		IdempotencyExpression: s.IdempotencyExpression,
	}
	if s.Tolerance != 0 {
		settings.Tolerance = durationpb.New(s.Tolerance)
	}
	if s.HMAC != (webhook.HMACConfig{}) {
		settings.Hmac = &switchyardv1.HMACConfig{Header: s.HMAC.Header, Algorithm: s.HMAC.Algorithm, Encoding: s.HMAC.Encoding, Prefix: s.HMAC.Prefix}
	}
	return &switchyardv1.Webhook{
		Id: w.ID, Settings: settings, Path: WebhookPath + w.ID,
		CreatedAt: timestamppb.New(w.CreatedAt), UpdatedAt: timestamppb.New(w.UpdatedAt),
	}
}

func deliveryProto(d *engine.Delivery) *switchyardv1.WebhookDelivery {
	return &switchyardv1.WebhookDelivery{
		Id: d.ID, Outcome: deliveryOutcomeProto[d.Outcome], Reason: d.Reason, HttpStatus: d.HTTPStatus,
		EventId: d.EventID, ReceivedAt: timestamppb.New(d.ReceivedAt),
	}
}

func specFromProto(p *switchyardv1.WorkflowSpec) engine.WorkflowSpec {
	spec := engine.WorkflowSpec{Name: p.GetName(), Description: p.GetDescription(), OnEvents: p.GetOnEvents()}
	for _, t := range p.GetEventTriggers() {
		spec.EventTriggers = append(spec.EventTriggers, engine.EventTrigger{Key: t.GetKey(), Filter: t.GetFilter(), Scope: t.GetScope(),
			RateLimit: triggerLimitFromProto(t.GetRateLimit()), Debounce: debounceFromProto(t.GetDebounce()), Batch: batchFromProto(t.GetBatch())})
	}
	for _, c := range p.GetCancelOn() {
		spec.CancelOn = append(spec.CancelOn, engine.CancelOnEvent{Key: c.GetKey(), Condition: c.GetCondition()})
	}
	for _, c := range p.GetOnCron() {
		spec.OnCron = append(spec.OnCron, engine.CronTrigger{Schedule: c.GetSchedule(), TimeZone: c.GetTimeZone()})
	}
	if c := p.GetConcurrency(); c != nil {
		spec.Concurrency = &engine.ConcurrencyRule{Key: c.GetKey(), MaxRuns: c.GetMaxRuns(), Strategy: strategies.name(c.GetStrategy())}
	}
	for _, t := range p.GetTasks() {
		spec.Tasks = append(spec.Tasks, engine.TaskSpec{
			Name:    t.GetName(),
			Action:  t.GetAction(),
			Parents: t.GetParents(),
			Retry: engine.RetryPolicy{
				MaxAttempts:    t.GetRetry().GetMaxAttempts(),
				InitialBackoff: t.GetRetry().GetInitialBackoff().AsDuration(),
				MaxBackoff:     t.GetRetry().GetMaxBackoff().AsDuration(),
			},
			Timeout:       t.GetTimeout().AsDuration(),
			RateLimits:    taskLimitsFromProto(t.GetRateLimits()),
			WaitFor:       waitSpecFromProto(t.GetWaitFor()),
			OnWaitTimeout: waitTimeoutActions.name(t.GetOnWaitTimeout()),
			SkipIf:        t.GetSkipIf(),
			CancelIf:      t.GetCancelIf(),
		})
	}
	return spec
}

func workflowProto(wf *engine.Workflow) *switchyardv1.Workflow {
	if wf == nil {
		return nil
	}
	spec := &switchyardv1.WorkflowSpec{Name: wf.Spec.Name, Description: wf.Spec.Description, OnEvents: wf.Spec.OnEvents}
	for _, t := range wf.Spec.EventTriggers {
		spec.EventTriggers = append(spec.EventTriggers, &switchyardv1.EventTrigger{Key: t.Key, Filter: t.Filter, Scope: t.Scope,
			RateLimit: triggerLimitProto(t.RateLimit), Debounce: debounceProto(t.Debounce), Batch: batchProto(t.Batch)})
	}
	for _, c := range wf.Spec.CancelOn {
		spec.CancelOn = append(spec.CancelOn, &switchyardv1.CancelOnEvent{Key: c.Key, Condition: c.Condition})
	}
	for _, c := range wf.Spec.OnCron {
		spec.OnCron = append(spec.OnCron, &switchyardv1.CronTrigger{Schedule: c.Schedule, TimeZone: c.TimeZone})
	}
	if c := wf.Spec.Concurrency; c != nil {
		spec.Concurrency = &switchyardv1.ConcurrencyRule{Key: c.Key, MaxRuns: c.MaxRuns, Strategy: strategies.proto(c.Strategy)}
	}
	for _, t := range wf.Spec.Tasks {
		spec.Tasks = append(spec.Tasks, &switchyardv1.TaskSpec{
			Name:    t.Name,
			Action:  t.Action,
			Parents: t.Parents,
			Retry: &switchyardv1.RetryPolicy{
				MaxAttempts:    t.Retry.MaxAttempts,
				InitialBackoff: durationpb.New(t.Retry.InitialBackoff),
				MaxBackoff:     durationpb.New(t.Retry.MaxBackoff),
			},
			Timeout:       durationpb.New(t.Timeout),
			RateLimits:    taskLimitsProto(t.RateLimits),
			WaitFor:       waitSpecProto(t.WaitFor),
			OnWaitTimeout: waitTimeoutActions.proto(t.OnWaitTimeout),
			SkipIf:        t.SkipIf,
			CancelIf:      t.CancelIf,
		})
	}
	out := &switchyardv1.Workflow{Spec: spec, Version: wf.Version, CreatedAt: timestamppb.New(wf.CreatedAt)}
	if p := wf.Pause; p != nil {
		out.Paused, out.SkipCronWhilePaused, out.PausedAt = true, p.SkipCron, timestamppb.New(p.PausedAt)
	}
	return out
}

// timeOrZero returns the time t holds, or the zero time when t is unset.
func timeOrZero(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func structOrNil(m map[string]any) *structpb.Struct {
	if m == nil {
		return nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil
	}
	return s
}

// watchRunProto is what WatchRun sends for the run's latest state, or a
// keepalive when run is nil.
func watchRunProto(run *engine.Run) *switchyardv1.WatchRunResponse {
	if run == nil {
		return &switchyardv1.WatchRunResponse{Keepalive: true}
	}
	return &switchyardv1.WatchRunResponse{Run: runProto(run)}
}

func runFilter(m *switchyardv1.ListRunsRequest) engine.RunFilter {
	f := engine.RunFilter{Workflow: m.GetWorkflow(), EventID: m.GetEventId(), Trigger: runTriggers.name(m.GetTrigger())}
	if m.GetStatus() != switchyardv1.RunStatus_RUN_STATUS_UNSPECIFIED {
		f.Status = runStatuses.name(m.GetStatus())
	}
	f.CreatedAfter, f.CreatedBefore = timeOrZero(m.GetCreatedAfter()), timeOrZero(m.GetCreatedBefore())
	f.ParentRunID = m.GetParentRunId()
	return f
}

func runInput(m *switchyardv1.RunWorkflowRequest) engine.RunInput {
	return engine.RunInput{
		Input: m.GetInput().AsMap(), IdempotencyKey: m.GetIdempotencyKey(), Priority: m.GetPriority(), RunAt: timeOrZero(m.GetRunAt()),
	}
}

func runProto(r *engine.Run) *switchyardv1.Run {
	if r == nil {
		return nil
	}
	out := &switchyardv1.Run{
		Id:              r.ID,
		Workflow:        r.Workflow,
		WorkflowVersion: r.WorkflowVersion,
		Status:          runStatuses.proto(r.Status),
		EventId:         r.EventID,
		Input:           structOrNil(r.Input),
		Error:           r.Error,
		CreatedAt:       timestamppb.New(r.CreatedAt),
		FinishedAt:      timestampOrNil(r.FinishedAt),
		Trigger:         runTriggers.proto(r.Trigger),
		ReplayOf:        r.ReplayOf,
		CronTick:        timestampOrNil(r.CronTick),
		Priority:        r.Priority,
		ScheduledAt:     timestampOrNil(r.ScheduledAt),
		ConcurrencyKey:  r.ConcurrencyKey,
		WaitReason:      r.WaitReason,
		EventIds:        r.EventIDs,
		ParentRunId:     r.ParentRunID,
		ParentTaskId:    r.ParentTaskID,
		Waits:           protos(r.Waits, waitInfoProto),
		WaitingUntil:    timestampOrNil(r.WaitingUntil),
	}
	for _, t := range r.Tasks {
		out.Tasks = append(out.Tasks, &switchyardv1.Task{
			Id:          t.ID,
			Name:        t.Name,
			Action:      t.Action,
			Status:      taskStatusProto[t.Status],
			Attempt:     t.Attempt,
			MaxAttempts: t.MaxAttempts,
			WorkerId:    t.WorkerID,
			Output:      structOrNil(t.Output),
			Error:       t.Error,
			Parents:     t.Parents,
			StartedAt:   timestampOrNil(t.StartedAt),
			FinishedAt:  timestampOrNil(t.FinishedAt),
			AvailableAt: timestampOrNil(t.AvailableAt),
			WaitReason:  t.WaitReason,
			Waits:       protos(t.Waits, waitInfoProto),
			Resumes:     t.Resumes,
		})
	}
	return out
}

func registeredProto(id string, interval time.Duration) *switchyardv1.RegisterWorkerResponse {
	return &switchyardv1.RegisterWorkerResponse{WorkerId: id, HeartbeatInterval: durationpb.New(interval)}
}

func workerParams(m *switchyardv1.RegisterWorkerRequest) engine.RegisterWorkerParams {
	return engine.RegisterWorkerParams{
		Name: m.GetName(), Actions: m.GetActions(), Slots: m.GetSlots(), Labels: m.GetLabels(), IdempotencyKey: m.GetIdempotencyKey(),
	}
}

func attemptRefs(m *switchyardv1.AcknowledgeRequest) []engine.AttemptRef {
	refs := make([]engine.AttemptRef, len(m.GetAssignments()))
	for i, a := range m.GetAssignments() {
		refs[i] = engine.AttemptRef{TaskID: a.GetTaskId(), Attempt: a.GetAttempt()}
	}
	return refs
}

func listenProto(m *engine.Message) *switchyardv1.ListenResponse {
	switch {
	case m.Assignment != nil:
		a := m.Assignment
		parents := make(map[string]*structpb.Struct, len(a.ParentOutputs))
		for name, o := range a.ParentOutputs {
			parents[name] = structOrNil(o)
		}
		return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Assignment{Assignment: &switchyardv1.TaskAssignment{
			TaskId: a.TaskID, Attempt: a.Attempt, RunId: a.RunID, Workflow: a.Workflow, TaskName: a.TaskName,
			Action: a.Action, Input: structOrNil(a.Input), ParentOutputs: parents, Deadline: timestamppb.New(a.Deadline),
			Traceparent: a.TraceParent, Steps: protos(a.Steps, stepProto), WaitResult: waitResultProto(a.WaitResult),
		}}}
	case m.Cancellation != nil:
		c := m.Cancellation
		return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Cancellation{Cancellation: &switchyardv1.TaskCancellation{
			TaskId: c.TaskID, Attempt: c.Attempt, Reason: c.Reason,
		}}}
	}
	k := &switchyardv1.Keepalive{}
	if m.Keepalive != nil {
		k.StreamId, k.Seq, k.Interval = m.Keepalive.StreamID, m.Keepalive.Seq, durationpb.New(m.Keepalive.Interval)
	}
	return &switchyardv1.ListenResponse{Message: &switchyardv1.ListenResponse_Keepalive{Keepalive: k}}
}

func workerProto(w *engine.Worker) *switchyardv1.Worker {
	status := switchyardv1.WorkerStatus_WORKER_STATUS_INACTIVE
	if w.Active {
		status = switchyardv1.WorkerStatus_WORKER_STATUS_ACTIVE
	}
	labels := w.Labels
	if len(labels) == 0 {
		labels = nil
	}
	return &switchyardv1.Worker{
		Id: w.ID, Name: w.Name, Actions: w.Actions, Slots: w.Slots, SlotsInUse: w.SlotsInUse, Labels: labels,
		Status: status, LastHeartbeatAt: timestamppb.New(w.LastHeartbeatAt), CreatedAt: timestamppb.New(w.CreatedAt),
	}
}

func tenantProto(t *engine.Tenant) *switchyardv1.Tenant {
	out := &switchyardv1.Tenant{Id: t.ID, Name: t.Name, CreatedAt: timestamppb.New(t.CreatedAt)}
	if t.RateLimit.PerSecond > 0 {
		out.RateLimit = &switchyardv1.RateLimit{PerSecond: int32(t.RateLimit.PerSecond), Burst: int32(t.RateLimit.Burst)}
	}
	return out
}

func rateLimit(r *switchyardv1.RateLimit) auth.Rate {
	return auth.Rate{PerSecond: int(r.GetPerSecond()), Burst: int(r.GetBurst())}
}

func tokenProto(t *engine.Token) *switchyardv1.Token {
	if t == nil {
		return nil
	}
	return &switchyardv1.Token{
		Id: t.ID, Tenant: t.TenantID, Name: t.Name, Role: roles.proto(t.Role),
		CreatedAt: timestamppb.New(t.CreatedAt), LastUsedAt: timestampOrNil(t.LastUsedAt),
		ExpiresAt: timestampOrNil(t.ExpiresAt), RevokedAt: timestampOrNil(t.RevokedAt),
	}
}
