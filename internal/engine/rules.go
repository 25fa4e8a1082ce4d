package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // cron time zones work on hosts without a zoneinfo database

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"github.com/robfig/cron/v3"
)

// EventTrigger starts a run for each event whose key matches Key (an exact key
// or a pattern), whose scope equals Scope (when set) and for which Filter (a CEL
// expression, when set) is true.
type EventTrigger struct {
	Key    string `json:"key"`
	Filter string `json:"filter,omitempty"`
	Scope  string `json:"scope,omitempty"`
	// RateLimit limits the runs the trigger starts; nil means no limit.
	RateLimit *TriggerRateLimit `json:"rate_limit,omitempty"`
	// Debounce or Batch (at most one) gathers matching events into windows.
	Debounce *Debounce   `json:"debounce,omitempty"`
	Batch    *EventBatch `json:"batch,omitempty"`
}

// CronTrigger starts a run at each tick of Schedule in TimeZone ("" is UTC).
type CronTrigger struct {
	Schedule string `json:"schedule"`
	TimeZone string `json:"time_zone,omitempty"`
}

// Concurrency strategies.
const (
	StrategyQueue            = "QUEUE"
	StrategyCancelInProgress = "CANCEL_IN_PROGRESS"
	StrategyCancelNewest     = "CANCEL_NEWEST"
	// StrategyGroupRoundRobin: MaxRuns runs of the workflow are active in
	// all, and waiting runs' keys take turns (see roundrobin.go).
	StrategyGroupRoundRobin = "GROUP_ROUND_ROBIN"
)

// ConcurrencyRule limits the active runs of a workflow that share the value of
// Key (a CEL expression over the run's input) to MaxRuns; Strategy says what
// happens to a run beyond the limit.
type ConcurrencyRule struct {
	Key      string `json:"key"`
	MaxRuns  int32  `json:"max_runs"`
	Strategy string `json:"strategy"`
}

// eventEnv is the CEL environment of trigger filters and concurrency keys: the
// event's key, payload (a run's input), metadata and scope.
var eventEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("key", cel.StringType),
		cel.Variable("payload", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("metadata", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("scope", cel.StringType),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compileEventExpr compiles an expression over eventEnv (see [compileExpr]).
func compileEventExpr(expr string, want ...*cel.Type) (cel.Program, error) {
	return compileExpr(eventEnv, expr, want...)
}

// compileExpr compiles and type-checks an expression over env whose type must
// be one of want (or dyn, checked when evaluated); the error names the
// position of the problem. Every CEL expression of the engine compiles here.
func compileExpr(env *cel.Env, expr string, want ...*cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, exprError(expr, iss)
	}
	out := ast.OutputType()
	ok := out.IsExactType(cel.DynType)
	names := make([]string, len(want))
	for i, w := range want {
		ok = ok || out.IsExactType(w)
		names[i] = w.String()
	}
	if !ok {
		return nil, fmt.Errorf("the expression gives %s, not %s", out, strings.Join(names, " or "))
	}
	return env.Program(ast, cel.CostLimit(exprCostLimit))
}

// compileFilter compiles a trigger filter: a bool expression.
func compileFilter(expr string) (cel.Program, error) {
	return compileEventExpr(expr, cel.BoolType)
}

// keyTypes are the types a key expression may give: a string, number or bool.
var keyTypes = []*cel.Type{cel.StringType, cel.IntType, cel.UintType, cel.DoubleType, cel.BoolType}

// compileConcurrencyKey compiles a concurrency key.
func compileConcurrencyKey(expr string) (cel.Program, error) {
	return compileEventExpr(expr, keyTypes...)
}

// eventVars are the variables of eventEnv for one event (or run input).
type eventVars map[string]any

func newEventVars(key string, payload map[string]any, metadata map[string]string, scope string) eventVars {
	if payload == nil {
		payload = map[string]any{}
	}
	if metadata == nil {
		metadata = map[string]string{}
	}
	return eventVars{"key": key, "payload": payload, "metadata": metadata, "scope": scope}
}

// evalFilter evaluates a filter; an error or a value that is not a bool is an
// error saying so.
func evalFilter(p cel.Program, vars eventVars) (bool, error) {
	return evalBool(p, vars, "filter")
}

// evalBool evaluates a bool expression (what names it in errors); an error or
// a value that is not a bool is an error saying so.
func evalBool(p cel.Program, vars map[string]any, what string) (bool, error) {
	out, _, err := p.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("%s gave %s, not a bool", what, out.Type().TypeName())
	}
	return bool(b), nil
}

// maxConcurrencyKeyBytes bounds a concurrency key's value.
const maxConcurrencyKeyBytes = 255

// evalConcurrencyKey evaluates a concurrency key to its string form.
func evalConcurrencyKey(p cel.Program, vars eventVars) (string, error) {
	out, _, err := p.Eval(map[string]any(vars))
	if err != nil {
		return "", fmt.Errorf("concurrency key: %w", err)
	}
	var s string
	switch v := out.Value().(type) {
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case uint64:
		s = strconv.FormatUint(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		s = strconv.FormatBool(v)
	default:
		return "", fmt.Errorf("concurrency key gave %s, not a string, number or bool", out.Type().TypeName())
	}
	if s == "" {
		return "", errors.New("concurrency key is empty")
	}
	if len(s) > maxConcurrencyKeyBytes {
		return "", fmt.Errorf("concurrency key is %d bytes; the limit is %d", len(s), maxConcurrencyKeyBytes)
	}
	return s, nil
}

// cronParser reads standard five-field expressions, six fields with seconds
// first, and descriptors (@hourly, @every 30s).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron parses a cron trigger into its schedule in its time zone.
func parseCron(c CronTrigger) (cron.Schedule, error) {
	if strings.HasPrefix(c.Schedule, "TZ=") || strings.HasPrefix(c.Schedule, "CRON_TZ=") {
		return nil, errors.New("give the time zone in time_zone, not in the schedule")
	}
	loc := time.UTC
	if c.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(c.TimeZone); err != nil {
			return nil, fmt.Errorf("unknown time zone %q", c.TimeZone)
		}
	}
	s, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + c.Schedule)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "CRON_TZ="+loc.String()+" "))
	}
	return s, nil
}

// normalizeRules checks and completes the trigger and concurrency parts of a
// spec: key patterns, filters and concurrency keys compile, cron schedules and
// time zones parse.
func (s *WorkflowSpec) normalizeRules() error {
	for i, k := range s.OnEvents {
		if err := validateKeyPattern(k); err != nil {
			return invalid(fmt.Sprintf("spec.on_events[%d]", i), "on_events.pattern", "%v", err)
		}
	}
	for i, t := range s.EventTriggers {
		field := fmt.Sprintf("spec.event_triggers[%d]", i)
		if err := validateKeyPattern(t.Key); err != nil {
			return invalid(field+".key", "event_triggers.pattern", "%v", err)
		}
		if t.Filter != "" {
			if _, err := compileFilter(t.Filter); err != nil {
				return invalid(field+".filter", "filter.compile", "%v", err)
			}
		}
		if t.RateLimit != nil {
			if err := t.RateLimit.normalize(field + ".rate_limit"); err != nil {
				return err
			}
		}
	}
	seen := map[CronTrigger]bool{}
	for i, c := range s.OnCron {
		field := fmt.Sprintf("spec.on_cron[%d]", i)
		if _, err := parseCron(c); err != nil {
			return invalid(field, "on_cron.schedule", "%q: %v", c.Schedule, err)
		}
		if seen[c] {
			return invalid(field, "on_cron.unique", "schedule %q in time zone %q is given twice", c.Schedule, c.TimeZone)
		}
		seen[c] = true
	}
	if c := s.Concurrency; c != nil {
		if _, err := compileConcurrencyKey(c.Key); err != nil {
			return invalid("spec.concurrency.key", "concurrency.compile", "%v", err)
		}
		if c.Strategy == "" {
			c.Strategy = StrategyQueue
		}
	}
	return s.normalizeFlow()
}
