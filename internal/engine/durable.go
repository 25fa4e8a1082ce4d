package engine

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/store"
)

// Durable execution: a task's attempt records named steps, waits (sleeps,
// events, child runs) without holding its worker, and spawns child runs
// exactly once; a workflow's task may declare a wait before it starts.
//
// A wait is every row of one (task, step) in the waits table. Rows change
// only by conditional updates from open (or pending, for a declared wait not
// yet armed), so each resolves once. A push marks the open event rows its
// events satisfy in its own transaction; the resolver (resolver.go) decides
// the waits whose rows changed or came due, records their results and hands
// the task back. Event waits and pushes take turns per event key through the
// store's key locks (see [store.Q.WaitKeysLock]), so an event is either seen
// by a wait's lookback or sees the wait.

// Wait modes.
const (
	WaitAny = "ANY"
	WaitAll = "ALL"
)

// declaredStep is the step name of a task's declared wait.
const declaredStep = "wait_for"

// Wait-timeout actions of a declared wait.
const (
	OnWaitTimeoutFail = "FAIL"
	OnWaitTimeoutSkip = "SKIP"
	OnWaitTimeoutRun  = "RUN"
)

// WaitSpec is what a wait waits for.
type WaitSpec struct {
	Mode       string          `json:"mode,omitempty"` // WaitAny or WaitAll ("" is all)
	Conditions []WaitCondition `json:"conditions"`
}

// WaitCondition is one thing a wait waits for: exactly one of Sleep, Event
// and Child is set.
type WaitCondition struct {
	Name  string          `json:"name"`
	Sleep *SleepCondition `json:"sleep,omitempty"`
	Event *EventCondition `json:"event,omitempty"`
	Child *ChildCondition `json:"child,omitempty"`
}

// SleepCondition is satisfied Duration after the wait began, or at Until
// when set.
type SleepCondition struct {
	Duration time.Duration `json:"duration,omitempty"`
	Until    time.Time     `json:"until,omitzero"`
}

// EventCondition is satisfied by an event with Key (a key or pattern) for
// which Condition (CEL over event and input, empty for any) is true, stored
// after the wait began or up to Lookback before. Timeout (0: none) times it
// out.
type EventCondition struct {
	Key       string        `json:"key"`
	Condition string        `json:"condition,omitempty"`
	Lookback  time.Duration `json:"lookback,omitempty"`
	Timeout   time.Duration `json:"timeout,omitempty"`
}

// ChildCondition is satisfied when the child run ends.
type ChildCondition struct {
	RunID string `json:"run_id"`
}

// Wait condition states as the API shows them.
const (
	WaitStateOpen      = "OPEN"
	WaitStateSatisfied = "SATISFIED"
	WaitStateTimedOut  = "TIMED_OUT"
	WaitStateCancelled = "CANCELLED"
)

// WaitResult is how a wait ended.
type WaitResult struct {
	Conditions []ConditionResult `json:"conditions"`
	Winner     string            `json:"winner,omitempty"`
	TimedOut   bool              `json:"timed_out,omitempty"`
}

// ConditionResult is how one condition of a wait ended.
type ConditionResult struct {
	Name       string       `json:"name"`
	State      string       `json:"state"` // a WaitState*
	Event      *Event       `json:"event,omitempty"`
	Child      *ChildResult `json:"child,omitempty"`
	ResolvedAt time.Time    `json:"resolved_at,omitzero"`
}

// ChildResult is how a child run ended.
type ChildResult struct {
	RunID   string                    `json:"run_id"`
	Status  string                    `json:"status"`
	Outputs map[string]map[string]any `json:"outputs,omitempty"`
	Error   string                    `json:"error,omitempty"`
}

// Step is a recorded step of a task.
type Step struct {
	Name        string
	Kind        string // store.StepResult, StepWait or StepSpawn
	Result      any
	Wait        *WaitResult
	ChildRunIDs []string
	RecordedAt  time.Time
}

// WaitInfo is one condition of a task's wait as GetRun shows it.
type WaitInfo struct {
	TaskID     string
	Step       string
	Condition  string
	Mode       string
	State      string // a WaitState*
	Kind       string // sleep, event or child
	Key        string
	Expression string
	Deadline   time.Time
	EventID    string
	ChildRunID string
	CreatedAt  time.Time
	ResolvedAt time.Time
}

// waitInfo is a wait row as the API shows it.
func waitInfo(w *store.Wait) *WaitInfo {
	return &WaitInfo{TaskID: w.TaskID, Step: w.Step, Condition: w.Cond, Mode: w.Mode, State: waitState(w.State), Kind: w.Kind,
		Key: w.Key, Expression: w.Expression, Deadline: w.Deadline.Time, EventID: w.EventID, ChildRunID: w.ChildRunID,
		CreatedAt: w.CreatedAt.Time, ResolvedAt: w.ResolvedAt.Time}
}

// waitState is a stored wait state as the API shows it (pending shows open).
func waitState(s string) string {
	switch s {
	case store.WaitSatisfied:
		return WaitStateSatisfied
	case store.WaitTimedOut:
		return WaitStateTimedOut
	case store.WaitCancelled:
		return WaitStateCancelled
	default:
		return WaitStateOpen
	}
}

// stepFromRow is a stored step as the API shows it.
func stepFromRow(s *store.Step) (*Step, error) {
	out := &Step{Name: s.Name, Kind: s.Kind, ChildRunIDs: s.ChildRunIDs.V, RecordedAt: s.CreatedAt.Time}
	switch s.Kind {
	case store.StepResult:
		v, err := s.ResultValue()
		if err != nil {
			return nil, err
		}
		out.Result = v
	case store.StepWait:
		out.Wait = new(WaitResult)
		if err := decodeStored("wait step "+s.Name, store.JSONOf(json.RawMessage(s.WaitResult)), out.Wait); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitEnv is the CEL environment of an event condition: the event and the
// run's input.
var waitEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// gateEnv is the CEL environment of skip_if and cancel_if: the run's input,
// the parents' outputs by name and the declared wait's result.
var gateEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("parents", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("wait", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// durablePrograms caches the compiled conditions of waits and declared
// tasks, by environment and text: the same few expressions are evaluated
// for many waits.
var durablePrograms sync.Map // programKey → cel.Program

type programKey struct {
	env  *cel.Env
	expr string
}

// durableProgram compiles a bool expression over env, once.
func durableProgram(env *cel.Env, expr string) (cel.Program, error) {
	k := programKey{env, expr}
	if p, ok := durablePrograms.Load(k); ok {
		return p.(cel.Program), nil
	}
	p, err := compileExpr(env, expr, cel.BoolType)
	if err != nil {
		return nil, err
	}
	durablePrograms.Store(k, p)
	return p, nil
}

// eventMap is an event as the `event` variable of a condition.
func eventMap(ev *store.Event) map[string]any {
	return map[string]any(rowVars(ev))
}

// conditionHolds evaluates an event condition (true when empty).
func conditionHolds(expr string, ev *store.Event, input map[string]any) (bool, error) {
	if expr == "" {
		return true, nil
	}
	p, err := durableProgram(waitEnv, expr)
	if err != nil {
		return false, err
	}
	return evalBool(p, map[string]any{"event": eventMap(ev), "input": input}, "condition")
}

// checkWaitSpec refuses a spec whose condition names repeat, whose event
// conditions do not compile or whose key patterns are malformed; with
// declared, also child conditions. field prefixes the field names.
func checkWaitSpec(spec *WaitSpec, field string, declared bool) error {
	if len(spec.Conditions) == 0 {
		return invalid(field+".conditions", "wait.conditions", "a wait needs at least one condition")
	}
	if spec.Mode == "" {
		spec.Mode = WaitAll
	}
	seen := map[string]bool{}
	for i, c := range spec.Conditions {
		f := fmt.Sprintf("%s.conditions[%d]", field, i)
		if seen[c.Name] {
			return invalid(f+".name", "wait.unique_name", "condition name %q is used twice", c.Name)
		}
		seen[c.Name] = true
		switch {
		case c.Child != nil && declared:
			return invalid(f+".child", "wait.child", "a declared wait_for cannot wait for child runs")
		case c.Event != nil:
			if err := validateKeyPattern(c.Event.Key); err != nil {
				return invalid(f+".event.key", "wait.key", "key %q: %v", c.Event.Key, err)
			}
			if c.Event.Condition != "" {
				if _, err := durableProgram(waitEnv, c.Event.Condition); err != nil {
					return invalid(f+".event.condition", "wait.condition", "condition does not compile: %v", err)
				}
			}
		case c.Sleep == nil && c.Child == nil:
			return invalid(f, "wait.kind", "condition %q names no sleep, event or child", c.Name)
		}
	}
	return nil
}
