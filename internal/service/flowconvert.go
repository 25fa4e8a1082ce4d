package service

import (
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/engine"
)

func debounceFromProto(d *switchyardv1.Debounce) *engine.Debounce {
	if d == nil {
		return nil
	}
	return &engine.Debounce{Key: d.GetKey(), QuietPeriod: d.GetQuietPeriod().AsDuration(), MaxWait: d.GetMaxWait().AsDuration()}
}

func debounceProto(d *engine.Debounce) *switchyardv1.Debounce {
	if d == nil {
		return nil
	}
	return &switchyardv1.Debounce{Key: d.Key, QuietPeriod: durationpb.New(d.QuietPeriod), MaxWait: durationpb.New(d.MaxWait)}
}

func batchFromProto(b *switchyardv1.EventBatch) *engine.EventBatch {
	if b == nil {
		return nil
	}
	return &engine.EventBatch{Key: b.GetKey(), MaxEvents: b.GetMaxEvents(), MaxWait: b.GetMaxWait().AsDuration()}
}

func batchProto(b *engine.EventBatch) *switchyardv1.EventBatch {
	if b == nil {
		return nil
	}
	return &switchyardv1.EventBatch{Key: b.Key, MaxEvents: b.MaxEvents, MaxWait: durationpb.New(b.MaxWait)}
}

func runSelector(p *switchyardv1.RunSelector) engine.RunSelector {
	s := engine.RunSelector{Workflow: p.GetWorkflow(), CreatedAfter: timeOrZero(p.GetCreatedAfter()), CreatedBefore: timeOrZero(p.GetCreatedBefore()),
		EventKey: p.GetEventKey(), EventMetadata: p.GetEventMetadata()}
	for _, st := range p.GetStatuses() {
		s.Statuses = append(s.Statuses, runStatuses.name(st))
	}
	return s
}

func runSelectorProto(s engine.RunSelector) *switchyardv1.RunSelector {
	p := &switchyardv1.RunSelector{Workflow: s.Workflow, CreatedAfter: timestampOrNil(s.CreatedAfter), CreatedBefore: timestampOrNil(s.CreatedBefore),
		EventKey: s.EventKey, EventMetadata: s.EventMetadata}
	for _, st := range s.Statuses {
		p.Statuses = append(p.Statuses, runStatuses.proto(st))
	}
	return p
}

func bulkProto(op *engine.BulkOperation) *switchyardv1.BulkOperation {
	if op == nil {
		return nil
	}
	return &switchyardv1.BulkOperation{Id: op.ID, Kind: bulkKinds.proto(op.Kind), Selector: runSelectorProto(op.Selector),
		Matched: op.Matched, Processed: op.Processed, Affected: op.Affected, Done: op.Done,
		CreatedAt: timestamppb.New(op.CreatedAt), FinishedAt: timestampOrNil(op.FinishedAt)}
}

// watchBulkProto is what WatchBulkOperation sends for the operation's latest
// state, or a keepalive when op is nil.
func watchBulkProto(op *engine.BulkOperation) *switchyardv1.WatchBulkOperationResponse {
	if op == nil {
		return &switchyardv1.WatchBulkOperationResponse{Keepalive: true}
	}
	return &switchyardv1.WatchBulkOperationResponse{Operation: bulkProto(op)}
}
