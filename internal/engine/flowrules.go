package engine

import (
	"fmt"
	"time"

	"cel.dev/cel-go/cel"
)

// Debounce gathers a burst of matching events with the same value of Key (a
// CEL expression over the event; "" groups them all) into one run, started
// with the last event once none came for QuietPeriod, or MaxWait after the
// burst's first event.
type Debounce struct {
	Key         string        `json:"key,omitempty"`
	QuietPeriod time.Duration `json:"quiet_period"`
	MaxWait     time.Duration `json:"max_wait"`
}

// EventBatch gathers up to MaxEvents matching events with the same value of
// Key, or those that came within MaxWait of the first, into one run whose
// input lists them.
type EventBatch struct {
	Key       string        `json:"key,omitempty"`
	MaxEvents int32         `json:"max_events"`
	MaxWait   time.Duration `json:"max_wait"`
}

// CancelOnEvent cancels the workflow's runs that have not ended when an event
// whose key matches Key comes and Condition (a CEL expression over event and
// input; "" is true) holds for the run.
type CancelOnEvent struct {
	Key       string `json:"key"`
	Condition string `json:"condition,omitempty"`
}

// cancelEnv is the CEL environment of cancel conditions: the event, as a map
// with key, payload, metadata and scope, and the run's input.
var cancelEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compileCancelCondition compiles a cancel condition: a bool expression over
// cancelEnv.
func compileCancelCondition(expr string) (cel.Program, error) {
	return compileExpr(cancelEnv, expr, cel.BoolType)
}

// evalCancelCondition evaluates a cancel condition for an event and a run's
// input.
func evalCancelCondition(p cel.Program, event eventVars, input map[string]any) (bool, error) {
	if input == nil {
		input = map[string]any{}
	}
	return evalBool(p, map[string]any{"event": map[string]any(event), "input": input}, "cancel condition")
}

// normalizeFlow checks and completes the debounce, batch and cancel-on parts
// of a spec.
func (s *WorkflowSpec) normalizeFlow() error {
	for i := range s.EventTriggers {
		if err := s.EventTriggers[i].normalizeWindow(fmt.Sprintf("spec.event_triggers[%d]", i)); err != nil {
			return err
		}
	}
	for i, c := range s.CancelOn {
		field := fmt.Sprintf("spec.cancel_on[%d]", i)
		if err := validateKeyPattern(c.Key); err != nil {
			return invalid(field+".key", "cancel_on.pattern", "%v", err)
		}
		if c.Condition != "" {
			if _, err := compileCancelCondition(c.Condition); err != nil {
				return invalid(field+".condition", "cancel_on.compile", "%v", err)
			}
		}
	}
	return nil
}

// normalizeWindow checks a trigger's debounce or batch and fills in the
// default max wait of a debounce.
func (t *EventTrigger) normalizeWindow(field string) error {
	if t.Debounce != nil && t.Batch != nil {
		return invalid(field, "event_triggers.window", "a trigger debounces or batches, not both")
	}
	if d := t.Debounce; d != nil {
		if d.QuietPeriod <= 0 {
			return invalid(field+".debounce.quiet_period", "debounce.quiet_period", "a quiet period is required")
		}
		if d.MaxWait == 0 {
			d.MaxWait = 10 * d.QuietPeriod
		}
		if d.MaxWait < d.QuietPeriod {
			return invalid(field+".debounce.max_wait", "debounce.max_wait", "max_wait %s is below quiet_period %s", d.MaxWait, d.QuietPeriod)
		}
		return compileWindowKey(field+".debounce.key", d.Key)
	}
	if b := t.Batch; b != nil {
		if b.MaxEvents <= 0 {
			return invalid(field+".batch.max_events", "batch.max_events", "max_events is required")
		}
		if b.MaxWait <= 0 {
			return invalid(field+".batch.max_wait", "batch.max_wait", "max_wait is required")
		}
		return compileWindowKey(field+".batch.key", b.Key)
	}
	return nil
}

func compileWindowKey(field, expr string) error {
	if expr == "" {
		return nil
	}
	if _, err := compileConcurrencyKey(expr); err != nil {
		return invalid(field, "window.key", "%v", err)
	}
	return nil
}
