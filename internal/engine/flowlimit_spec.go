package engine

import (
	"fmt"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/store"
)

// TaskRateLimit is a declared limit a task consumes Units from when it
// starts, for the key Key gives: a CEL expression over the run's `input`
// (such as `input.customer_id`), or empty for the limit's one shared key.
type TaskRateLimit struct {
	Limit string `json:"limit"`
	Key   string `json:"key,omitempty"`
	Units int32  `json:"units"`
}

// limitKeyEnv is the CEL environment of a task's rate limit key: the run's
// input.
var limitKeyEnv = func() *cel.Env {
	env, err := cel.NewEnv(cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		panic(err)
	}
	return env
}()

// compileLimitKey compiles a rate limit key: a string, number or bool.
func compileLimitKey(expr string) (cel.Program, error) {
	return compileExpr(limitKeyEnv, expr, keyTypes...)
}

// normalizeRateLimits checks and completes the rate limits of a task spec:
// names are declared-limit names, each named once, units 1 to the most a
// limit may allow (0 means 1), keys compile.
func (t *TaskSpec) normalizeRateLimits(field string) error {
	seen := map[string]bool{}
	for j := range t.RateLimits {
		l, f := &t.RateLimits[j], fmt.Sprintf("%s.rate_limits[%d]", field, j)
		if !rateLimitName.MatchString(l.Limit) {
			return invalid(f+".limit", "rate_limits.limit", "%q is not 1 to 128 letters, digits and . _ -", l.Limit)
		}
		if seen[l.Limit] {
			return invalid(f+".limit", "rate_limits.unique", "task %q names rate limit %q twice", t.Name, l.Limit)
		}
		seen[l.Limit] = true
		if l.Units == 0 {
			l.Units = 1
		}
		if l.Units < 0 || l.Units > maxRateLimitUnits {
			return invalid(f+".units", "rate_limits.units", "%d is not between 1 and %d", l.Units, maxRateLimitUnits)
		}
		if l.Key != "" {
			if _, err := compileLimitKey(l.Key); err != nil {
				return invalid(f+".key", "rate_limits.compile", "%v", err)
			}
		}
	}
	return nil
}

// compiledLimit is one rate limit of a task with its key compiled.
type compiledLimit struct {
	spec TaskRateLimit
	key  cel.Program // nil: the limit's shared key
}

// compileTaskLimits compiles the rate limit keys of every task of a workflow.
func (wf *compiledWorkflow) compileTaskLimits() error {
	wf.taskLimits = make([][]compiledLimit, len(wf.spec.Tasks))
	for i, t := range wf.spec.Tasks {
		for _, l := range t.RateLimits {
			c := compiledLimit{spec: l}
			if l.Key != "" {
				p, err := compileLimitKey(l.Key)
				if err != nil {
					return fmt.Errorf("workflow %s version %d: task %s: rate limit key: %w", wf.row.Name, wf.row.Version, t.Name, err)
				}
				c.key = p
			}
			wf.taskLimits[i] = append(wf.taskLimits[i], c)
		}
	}
	return nil
}

// limitsOf evaluates the rate limits of the workflow's i-th task for a run's
// input. A key that does not evaluate (a field the input lacks) is the empty
// key, which every such run shares.
func (wf *compiledWorkflow) limitsOf(i int, input store.Object) []store.TaskRateLimit {
	out := []store.TaskRateLimit{}
	if i >= len(wf.taskLimits) {
		return out
	}
	var vars map[string]any
	for _, c := range wf.taskLimits[i] {
		l := store.TaskRateLimit{Limit: c.spec.Limit, Units: c.spec.Units}
		if c.key != nil {
			if vars == nil {
				in := input.Map()
				if in == nil {
					in = map[string]any{}
				}
				vars = map[string]any{"input": in}
			}
			if k, err := evalConcurrencyKey(c.key, vars); err == nil {
				l.Key = k
			}
		}
		out = append(out, l)
	}
	return out
}
