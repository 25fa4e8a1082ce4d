package sdk

import (
	"maps"
	"time"

	"github.com/google/uuid"
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

// ReplayOption sets an optional field of a replay of an event or of a run.
type ReplayOption interface {
	applyToReplay(*replayConfig)
}

// PushRunOption sets a field that pushed events and manual runs share: it is
// both a [PushOption] and a [RunOption].
type PushRunOption interface {
	PushOption
	RunOption
}

// WriteOption applies to every idempotent write: it is a [PushOption], a
// [RunOption] and a [ReplayOption].
type WriteOption interface {
	PushRunOption
	ReplayOption
}

// replayConfig is what replay options set; ReplayEvent and ReplayRun copy it
// into their requests.
type replayConfig struct {
	idempotencyKey string
}

type pushOptionFunc func(*switchyardv1.PushEventRequest)

func (f pushOptionFunc) applyToPush(r *switchyardv1.PushEventRequest) { f(r) }

type runOptionFunc func(*switchyardv1.RunWorkflowRequest)

func (f runOptionFunc) applyToRun(r *switchyardv1.RunWorkflowRequest) { f(r) }

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

// WithOccurredAt sets when the event happened; the server uses its own time
// otherwise.
func WithOccurredAt(t time.Time) PushOption {
	return pushOptionFunc(func(r *switchyardv1.PushEventRequest) { r.OccurredAt = timestamppb.New(t) })
}

// WithPriority sets the priority, 0 (the default) to 9 (most urgent), of a
// pushed event, which the runs it starts take, or of a manual run. Workers are
// given the tasks of higher-priority runs first.
func WithPriority(p int32) PushRunOption {
	return priority(p)
}

type priority int32

func (p priority) applyToPush(r *switchyardv1.PushEventRequest)  { r.Priority = int32(p) }
func (p priority) applyToRun(r *switchyardv1.RunWorkflowRequest) { r.Priority = int32(p) }

// WithRunAt delays a manual run: until t it has status RUN_STATUS_SCHEDULED
// (and can be cancelled), and its scheduled_at is t. The server accepts up to
// a year ahead; a zero or past t starts the run now.
func WithRunAt(t time.Time) RunOption {
	return runOptionFunc(func(r *switchyardv1.RunWorkflowRequest) {
		if t.IsZero() {
			r.RunAt = nil
			return
		}
		r.RunAt = timestamppb.New(t)
	})
}

// WithIdempotencyKey sets the idempotency key of a push, a manual run or a
// replay: a repeat with the same key returns the original result with
// deduplicated = true. Without it the client generates a key per call, which
// makes its own retries safe but not a second call.
func WithIdempotencyKey(key string) WriteOption {
	return idempotencyKey(key)
}

type idempotencyKey string

func (k idempotencyKey) applyToPush(r *switchyardv1.PushEventRequest)  { r.IdempotencyKey = string(k) }
func (k idempotencyKey) applyToRun(r *switchyardv1.RunWorkflowRequest) { r.IdempotencyKey = string(k) }
func (k idempotencyKey) applyToReplay(c *replayConfig)                 { c.idempotencyKey = string(k) }

// newReplayConfig applies opts and gives the replay a fresh idempotency key
// when they set none.
func newReplayConfig(opts []ReplayOption) replayConfig {
	var cfg replayConfig
	for _, o := range opts {
		o.applyToReplay(&cfg)
	}
	if cfg.idempotencyKey == "" {
		cfg.idempotencyKey = newIdempotencyKey()
	}
	return cfg
}

// newIdempotencyKey returns a fresh key for one logical call.
func newIdempotencyKey() string {
	return uuid.NewString()
}
