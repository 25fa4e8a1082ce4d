package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
)

// A durable task runs from the top on every attempt, and its steps make the
// repeats cheap and safe: a step recorded by an earlier attempt (its result, a
// wait's end, the child runs it spawned) is not done again, its record is
// used. The records come with the assignment, so a recorded step costs no
// call. A wait that is not over when it begins suspends the attempt: the
// server holds the task as WAITING, the worker frees its slot and sends no
// report, and when the wait is over the task is assigned again (a new attempt
// that does not count against its retry policy) and runs from the top, its
// wait now recorded. Every call is retried under the client's [RetryPolicy];
// the server fences each by (task, attempt, worker) and repeating one is
// harmless.

// ErrSuspended is what a wait of a [Task] returns when the wait is not over:
// the attempt is suspended and the [TaskFunc] must return (whatever it
// returns is ignored: the worker sends no report for a suspended attempt, and
// ends its context with this cause). Every later durable call of the attempt
// returns it too.
var ErrSuspended = errors.New("the task waits: attempt suspended")

// durable is the durable state of an attempt: the steps its task recorded so
// far and how to end the attempt when a wait suspends it.
type durable struct {
	client   *Client
	workerID string
	taskID   string
	attempt  int32
	// suspend ends the attempt without a report and frees its slot.
	suspend func()

	mu        sync.Mutex
	steps     map[string]*switchyardv1.Step
	suspended bool
}

// newDurable returns the durable state of an attempt assigned with steps.
func newDurable(c *Client, workerID string, a *switchyardv1.TaskAssignment) *durable {
	d := &durable{client: c, workerID: workerID, taskID: a.GetTaskId(), attempt: a.GetAttempt(),
		suspend: func() {}, steps: make(map[string]*switchyardv1.Step, len(a.GetSteps()))}
	for _, s := range a.GetSteps() {
		d.steps[s.GetName()] = s
	}
	return d
}

// errNotDurable is returned by the durable calls of a Task that no worker
// assigned (one a test built by hand, say).
var errNotDurable = errors.New("the task was not assigned by a worker: it cannot record steps")

// state returns t's durable state.
func (t *Task) state() (*durable, error) {
	if t.durable == nil {
		return nil, errNotDurable
	}
	return t.durable, nil
}

// recorded returns the step name recorded as kind, or nil when none is; it
// fails once the attempt is suspended, or when name was recorded as another
// kind.
func (d *durable) recorded(name string, kind switchyardv1.StepKind) (*switchyardv1.Step, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.suspended {
		return nil, ErrSuspended
	}
	s := d.steps[name]
	if s != nil && s.GetKind() != kind {
		return nil, fmt.Errorf("step %q: recorded as %s, used as %s", name, s.GetKind(), kind)
	}
	return s, nil
}

// record keeps s as recorded.
func (d *durable) record(s *switchyardv1.Step) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.steps[s.GetName()] = s
}

// suspendNow marks the attempt suspended and ends it.
func (d *durable) suspendNow() {
	d.mu.Lock()
	d.suspended = true
	d.mu.Unlock()
	d.suspend()
}

// Step runs fn once for the task: its result (anything encoding/json can
// encode) is recorded under name, unique in the task, and a later attempt
// that reaches the step gets the recorded result without running fn. The
// result is returned as encoding/json decodes it into an any (a float64, a
// map[string]any, ...), the same on the first attempt as on the others; see
// [StepOf] for a typed result. An error of fn is returned (wrapped) and
// records nothing: the step runs again on the task's next attempt.
func (t *Task) Step(ctx context.Context, name string, fn func(ctx context.Context) (any, error)) (any, error) {
	v, err := t.step(ctx, name, fn)
	if err != nil {
		return nil, err
	}
	return v.AsInterface(), nil
}

// StepOf is [Task.Step] with a typed result: T is encoded to JSON to be
// recorded, and the recorded JSON decoded into T is returned, on the first
// attempt as on the others.
func StepOf[T any](ctx context.Context, t *Task, name string, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	v, err := t.step(ctx, name, func(ctx context.Context) (any, error) { return fn(ctx) })
	if err != nil {
		return out, err
	}
	b, err := protojson.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		return out, fmt.Errorf("step %s: decode the recorded result: %w", name, err)
	}
	return out, nil
}

// step returns the result recorded for name, running fn and recording its
// result first when there is none.
func (t *Task) step(ctx context.Context, name string, fn func(ctx context.Context) (any, error)) (*structpb.Value, error) {
	d, err := t.state()
	if err != nil {
		return nil, err
	}
	s, err := d.recorded(name, switchyardv1.StepKind_STEP_KIND_RESULT)
	if err != nil {
		return nil, err
	}
	if s == nil {
		res, err := fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", name, err)
		}
		v, err := toValue(res)
		if err != nil {
			return nil, Permanent(fmt.Errorf("step %s: %w", name, err))
		}
		rec, err := invoke(ctx, d.client, "record step "+name, d.client.durable.RecordStep, &switchyardv1.RecordStepRequest{
			WorkerId: d.workerID, TaskId: d.taskID, Attempt: d.attempt, Name: name, Result: v,
		})
		if err != nil {
			return nil, err
		}
		s = rec.GetStep()
		d.record(s)
	}
	if s.GetResult() == nil {
		return structpb.NewNullValue(), nil
	}
	return s.GetResult(), nil
}

// toValue converts any value encoding/json can encode to a
// google.protobuf.Value.
func toValue(v any) (*structpb.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	out := &structpb.Value{}
	if err := protojson.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return out, nil
}

// Sleep suspends the task for d, named name (unique in the task): it
// returns [ErrSuspended], and the task runs again, from the top, once d has
// passed since the sleep began; then Sleep returns nil at once.
func (t *Task) Sleep(ctx context.Context, name string, d time.Duration) error {
	_, err := t.WaitAll(ctx, name, ForSleep("sleep", d))
	return err
}

// SleepUntil is [Task.Sleep] until a time; a time already past does not
// suspend the task.
func (t *Task) SleepUntil(ctx context.Context, name string, until time.Time) error {
	_, err := t.WaitAll(ctx, name, ForTime("sleep", until))
	return err
}

// WaitForEvent waits, under name (unique in the task), for an event as spec
// describes and returns it; it returns a nil event and a nil error when
// spec.Timeout passed first. When no event within spec.Lookback matches, the
// task is suspended until one comes or the timeout passes: WaitForEvent
// returns [ErrSuspended], and on the task's next attempt the event (or the
// timeout).
func (t *Task) WaitForEvent(ctx context.Context, name string, spec WaitSpec) (*switchyardv1.Event, error) {
	res, err := t.WaitAll(ctx, name, ForEvent("event", spec))
	if err != nil {
		return nil, err
	}
	return res.Event("event"), nil
}

// WaitAny waits, under name (unique in the task), until one of waits is
// satisfied (the others are cancelled; Winner names it) or all timed out
// (TimedOut), suspending the task until then as [Task.WaitForEvent] does.
func (t *Task) WaitAny(ctx context.Context, name string, waits ...Wait) (*WaitResult, error) {
	return t.wait(ctx, name, switchyardv1.WaitMode_WAIT_MODE_ANY, waits)
}

// WaitAll waits, under name (unique in the task), until each of waits is
// satisfied or timed out, suspending the task until then as
// [Task.WaitForEvent] does. TimedOut is set when none was satisfied.
func (t *Task) WaitAll(ctx context.Context, name string, waits ...Wait) (*WaitResult, error) {
	return t.wait(ctx, name, switchyardv1.WaitMode_WAIT_MODE_ALL, waits)
}

// wait returns the result of the wait name, recorded or asked for; it
// suspends the attempt when the server says the wait is not over.
func (t *Task) wait(ctx context.Context, name string, mode switchyardv1.WaitMode, waits []Wait) (*WaitResult, error) {
	d, err := t.state()
	if err != nil {
		return nil, err
	}
	s, err := d.recorded(name, switchyardv1.StepKind_STEP_KIND_WAIT)
	if err != nil {
		return nil, err
	}
	if s != nil {
		return newWaitResult(s.GetWait()), nil
	}
	spec := &switchyardv1.WaitSpec{Mode: mode, Conditions: make([]*switchyardv1.WaitCondition, len(waits))}
	for i, w := range waits {
		if w.cond == nil {
			return nil, Permanent(fmt.Errorf("wait %s: condition %d is a zero Wait", name, i))
		}
		spec.Conditions[i] = w.cond
	}
	res, err := invoke(ctx, d.client, "wait "+name, d.client.durable.Wait, &switchyardv1.WaitRequest{
		WorkerId: d.workerID, TaskId: d.taskID, Attempt: d.attempt, Name: name, Wait: spec,
	})
	if err != nil {
		return nil, err
	}
	if !res.GetResolved() {
		d.suspendNow()
		return nil, ErrSuspended
	}
	d.record(&switchyardv1.Step{Name: name, Kind: switchyardv1.StepKind_STEP_KIND_WAIT, Wait: res.GetResult()})
	return newWaitResult(res.GetResult()), nil
}

// WaitSpec describes an event to wait for.
type WaitSpec struct {
	// Key is the event key, or a key pattern as in a trigger (`payment.*`).
	Key string
	// Condition is a CEL expression over `event` (key, payload, metadata,
	// scope) and `input` (the run's input) that must be true, such as
	// `event.payload.order_id == input.order_id`; empty accepts every event
	// with the key.
	Condition string
	// Lookback makes an event stored up to this long before the wait began
	// count (the newest such event is taken), so that the wait does not lose
	// a race with a fast producer; 0 counts only later events.
	Lookback time.Duration
	// Timeout is how long to wait; 0 waits until the run ends.
	Timeout time.Duration
}

// Wait is one condition of [Task.WaitAny] or [Task.WaitAll], made by
// [ForSleep], [ForTime], [ForEvent] or [ForChild]. Its name, unique in its
// wait (1 to 128 letters, digits and `. _ -`), names it in the [WaitResult].
type Wait struct {
	cond *switchyardv1.WaitCondition
}

// ForSleep is satisfied d after the wait began.
func ForSleep(name string, d time.Duration) Wait {
	return Wait{cond: &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Sleep{
		Sleep: &switchyardv1.SleepCondition{Duration: durationpb.New(d)}}}}
}

// ForTime is satisfied at t.
func ForTime(name string, t time.Time) Wait {
	return Wait{cond: &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Sleep{
		Sleep: &switchyardv1.SleepCondition{Until: timestamppb.New(t)}}}}
}

// ForEvent is satisfied by an event as spec describes, or times out.
func ForEvent(name string, spec WaitSpec) Wait {
	ev := &switchyardv1.EventCondition{Key: spec.Key, Condition: spec.Condition}
	if spec.Lookback > 0 {
		ev.Lookback = durationpb.New(spec.Lookback)
	}
	if spec.Timeout > 0 {
		ev.Timeout = durationpb.New(spec.Timeout)
	}
	return Wait{cond: &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Event{Event: ev}}}
}

// ForChild is satisfied when the child run runID (one the task spawned)
// ends, however it ends.
func ForChild(name, runID string) Wait {
	return Wait{cond: &switchyardv1.WaitCondition{Name: name, Kind: &switchyardv1.WaitCondition_Child{
		Child: &switchyardv1.ChildCondition{RunId: runID}}}}
}
