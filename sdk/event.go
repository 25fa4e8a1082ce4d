package sdk

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

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
	return invoke(ctx, c, "push event "+key, c.events.PushEvent, req)
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
	return invoke(ctx, c, fmt.Sprintf("push %d events", len(events)), c.events.BulkPushEvents, req)
}

// GetEvent returns one event.
func (c *Client) GetEvent(ctx context.Context, id string) (*switchyardv1.Event, error) {
	res, err := invoke(ctx, c, "get event "+id, c.events.GetEvent, &switchyardv1.GetEventRequest{Id: id})
	return res.GetEvent(), err
}

// ListEvents returns one page of events, newest first; req may be nil for the
// first page without filters.
func (c *Client) ListEvents(ctx context.Context, req *switchyardv1.ListEventsRequest) (*switchyardv1.ListEventsResponse, error) {
	return invoke(ctx, c, "list events", c.events.ListEvents, req)
}

// ReplayEvent runs a stored event through the current triggers again and
// returns the runs that started (new runs with trigger RUN_TRIGGER_REPLAY,
// linked to the event) and the triggers that matched but started none. The call
// is retried under the client's [RetryPolicy] with one idempotency key for all
// attempts, so it replays the event at most once; give [WithIdempotencyKey] to
// make a second call return the first one's runs.
func (c *Client) ReplayEvent(ctx context.Context, id string, opts ...ReplayOption) (*switchyardv1.ReplayEventResponse, error) {
	cfg := newReplayConfig(opts)
	req := &switchyardv1.ReplayEventRequest{Id: id, IdempotencyKey: cfg.idempotencyKey}
	return invoke(ctx, c, "replay event "+id, c.events.ReplayEvent, req)
}
