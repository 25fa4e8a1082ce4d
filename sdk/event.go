package sdk

import (
	"context"
	"fmt"
	"maps"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// PushOption sets an optional field of a pushed event.
type PushOption interface {
	applyToPush(*switchyardv1.PushEventRequest)
}

// RunOption sets an optional field of a manual run.
type RunOption interface {
	applyToRun(*switchyardv1.RunWorkflowRequest)
}

// WriteOption applies to every idempotent write: it is both a [PushOption]
// and a [RunOption].
type WriteOption interface {
	PushOption
	RunOption
}

type pushOptionFunc func(*switchyardv1.PushEventRequest)

func (f pushOptionFunc) applyToPush(r *switchyardv1.PushEventRequest) { f(r) }

// WithMetadata adds string metadata to the event.
func WithMetadata(md map[string]string) PushOption {
	return pushOptionFunc(func(r *switchyardv1.PushEventRequest) {
		if r.Metadata == nil {
			r.Metadata = map[string]string{}
		}
		maps.Copy(r.Metadata, md)
	})
}

// WithScope sets the event's scope, such as a customer or region.
func WithScope(scope string) PushOption {
	return pushOptionFunc(func(r *switchyardv1.PushEventRequest) { r.Scope = scope })
}

// WithPriority sets the event's priority, 0 (the default) to 9 (most urgent).
func WithPriority(p int32) PushOption {
	return pushOptionFunc(func(r *switchyardv1.PushEventRequest) { r.Priority = p })
}

// WithOccurredAt sets when the event happened; the server uses its own time
// otherwise.
func WithOccurredAt(t time.Time) PushOption {
	return pushOptionFunc(func(r *switchyardv1.PushEventRequest) { r.OccurredAt = timestamppb.New(t) })
}

// WithIdempotencyKey sets the idempotency key of a push or a manual run: a
// repeat with the same key returns the original result with deduplicated =
// true. Without it the client generates a key per call, which makes its own
// retries safe but not a second call.
func WithIdempotencyKey(key string) WriteOption {
	return idempotencyKey(key)
}

type idempotencyKey string

func (k idempotencyKey) applyToPush(r *switchyardv1.PushEventRequest)  { r.IdempotencyKey = string(k) }
func (k idempotencyKey) applyToRun(r *switchyardv1.RunWorkflowRequest) { r.IdempotencyKey = string(k) }

// newIdempotencyKey returns a fresh key for one logical call.
func newIdempotencyKey() string {
	return uuid.NewString()
}

// Push stores one event with the JSON object payload (nil means {}) and returns
// the stored event and the runs it started. The call is retried under the
// client's [RetryPolicy] with one idempotency key for all attempts, so it stores
// the event at most once.
func (c *Client) Push(ctx context.Context, key string, payload map[string]any, opts ...PushOption) (*switchyardv1.PushEventResponse, error) {
	req := &switchyardv1.PushEventRequest{Key: key}
	s, err := toStruct(payload)
	if err != nil {
		return nil, fmt.Errorf("push event %s: %w", key, err)
	}
	req.Payload = s
	for _, o := range opts {
		o.applyToPush(req)
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = newIdempotencyKey()
	}
	var res *connect.Response[switchyardv1.PushEventResponse]
	err = retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.events.PushEvent(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push event %s: %w", key, err)
	}
	return res.Msg, nil
}

// PushBulk stores 1 to 1000 events all-or-nothing. Items without an idempotency
// key get one before the first attempt (the caller's messages are not
// changed), so retries store each event at most once.
func (c *Client) PushBulk(ctx context.Context, events []*switchyardv1.PushEventRequest) (*switchyardv1.BulkPushEventsResponse, error) {
	req := &switchyardv1.BulkPushEventsRequest{Events: make([]*switchyardv1.PushEventRequest, len(events))}
	for i, e := range events {
		if e != nil && e.GetIdempotencyKey() == "" {
			e = proto.CloneOf(e)
			e.IdempotencyKey = newIdempotencyKey()
		}
		req.Events[i] = e
	}
	var res *connect.Response[switchyardv1.BulkPushEventsResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.events.BulkPushEvents(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push %d events: %w", len(events), err)
	}
	return res.Msg, nil
}

// GetEvent returns one event.
func (c *Client) GetEvent(ctx context.Context, id string) (*switchyardv1.Event, error) {
	var res *connect.Response[switchyardv1.GetEventResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.events.GetEvent(ctx, connect.NewRequest(&switchyardv1.GetEventRequest{Id: id}))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", id, err)
	}
	return res.Msg.GetEvent(), nil
}

// ListEvents returns one page of events, newest first; req may be nil for the
// first page without filters.
func (c *Client) ListEvents(ctx context.Context, req *switchyardv1.ListEventsRequest) (*switchyardv1.ListEventsResponse, error) {
	if req == nil {
		req = &switchyardv1.ListEventsRequest{}
	}
	var res *connect.Response[switchyardv1.ListEventsResponse]
	err := retry(ctx, c.retry, func(ctx context.Context) (err error) {
		res, err = c.events.ListEvents(ctx, connect.NewRequest(req))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return res.Msg, nil
}
