package engine

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/parser"

	"github.com/switchyard/switchyard/internal/store"
)

// Matching events to waits. A condition whose top level is (or has as a
// conjunct of &&) `event.payload.<path> == <expression over input>` is
// indexed: when the wait is created the right side is evaluated on the run's
// input and stored as the wait's match, "<path>=<JSON value>". A pushed event
// looks up the open waits on its key whose match is "" or one of its own
// "<path>=<JSON value>" pairs (every scalar of its payload up to
// maxMatchDepth deep, at most maxMatchLeaves), in one indexed query; only
// those candidates' conditions are evaluated.
const (
	maxMatchDepth  = 4
	maxMatchLeaves = 256
	// maxMatchesPerQuery bounds the match values of one candidate query.
	maxMatchesPerQuery = 2000
)

// indexedEquality returns the payload path and the input-side expression of
// the condition's indexed equality; ok is false when it has none.
func indexedEquality(expr string) (path, rhs string, ok bool) {
	if expr == "" {
		return "", "", false
	}
	a, iss := waitEnv.Parse(expr)
	if iss.Err() != nil {
		return "", "", false
	}
	native := a.NativeRep()
	var conjuncts []celast.Expr
	var collect func(x celast.Expr)
	collect = func(x celast.Expr) {
		if x.Kind() == celast.CallKind && x.AsCall().FunctionName() == "_&&_" {
			for _, arg := range x.AsCall().Args() {
				collect(arg)
			}
			return
		}
		conjuncts = append(conjuncts, x)
	}
	collect(native.Expr())
	for _, c := range conjuncts {
		if c.Kind() != celast.CallKind || c.AsCall().FunctionName() != "_==_" || len(c.AsCall().Args()) != 2 {
			continue
		}
		args := c.AsCall().Args()
		for _, pair := range [][2]celast.Expr{{args[0], args[1]}, {args[1], args[0]}} {
			p, isPath := payloadPath(pair[0])
			if !isPath || !overInputOnly(pair[1]) {
				continue
			}
			text, err := parser.Unparse(pair[1], native.SourceInfo())
			if err != nil {
				continue
			}
			return p, text, true
		}
	}
	return "", "", false
}

// payloadPath returns the dotted path of an `event.payload.a.b` selection.
func payloadPath(x celast.Expr) (string, bool) {
	var fields []string
	for x.Kind() == celast.SelectKind && !x.AsSelect().IsTestOnly() {
		fields = append(fields, x.AsSelect().FieldName())
		x = x.AsSelect().Operand()
	}
	if x.Kind() != celast.IdentKind || x.AsIdent() != "event" || len(fields) < 2 || len(fields) > maxMatchDepth+1 {
		return "", false
	}
	if fields[len(fields)-1] != "payload" {
		return "", false
	}
	slices.Reverse(fields)
	return strings.Join(fields[1:], "."), true
}

// overInputOnly reports whether x reads no variable but input.
func overInputOnly(x celast.Expr) bool {
	switch x.Kind() {
	case celast.IdentKind:
		return x.AsIdent() == "input"
	case celast.LiteralKind:
		return true
	case celast.SelectKind:
		return overInputOnly(x.AsSelect().Operand())
	case celast.CallKind:
		c := x.AsCall()
		if c.IsMemberFunction() && !overInputOnly(c.Target()) {
			return false
		}
		for _, a := range c.Args() {
			if !overInputOnly(a) {
				return false
			}
		}
		return true
	case celast.ListKind:
		for _, e := range x.AsList().Elements() {
			if !overInputOnly(e) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// waitMatch is the stored match of an event condition on a run's input: ""
// when the condition has no indexed equality or its right side has no
// scalar value on this input.
func waitMatch(expr string, input map[string]any) string {
	path, rhs, ok := indexedEquality(expr)
	if !ok {
		return ""
	}
	p, err := compileExpr(waitEnv, rhs, keyTypes...)
	if err != nil {
		return ""
	}
	out, _, err := p.Eval(map[string]any{"input": input, "event": map[string]any{}})
	if err != nil {
		return ""
	}
	v, ok := scalarJSON(out.Value())
	if !ok {
		return ""
	}
	return path + "=" + v
}

// scalarJSON is the canonical JSON of a string, number or bool (numbers as
// JSON decoding and CEL give them compare equal when equal).
func scalarJSON(v any) (string, bool) {
	switch x := v.(type) {
	case string, bool:
	case int64:
		v = float64(x)
	case uint64:
		v = float64(x)
	case int:
		v = float64(x)
	case float64:
	default:
		return "", false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// payloadMatches are the candidate matches of a payload: "" and a
// "<path>=<JSON>" for each scalar leaf.
func payloadMatches(payload map[string]any) []string {
	out := []string{""}
	var walk func(prefix string, m map[string]any, depth int)
	walk = func(prefix string, m map[string]any, depth int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(out) > maxMatchLeaves {
				return
			}
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			if sub, ok := m[k].(map[string]any); ok {
				if depth < maxMatchDepth {
					walk(path, sub, depth+1)
				}
				continue
			}
			if v, ok := scalarJSON(m[k]); ok {
				out = append(out, path+"="+v)
			}
		}
	}
	walk("", payload, 1)
	return out
}

// keyMatches reports whether an event key matches a key or pattern.
func keyMatches(pattern, key string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == key
	}
	var ix keyIndex[struct{}]
	ix.add(pattern, struct{}{})
	return len(ix.match(key)) > 0
}

// waitLockKeys are the lock keys of the events of items.
func waitLockKeys(items []*pushItem) []store.WaitLockKey {
	var keys []store.WaitLockKey
	seen := map[store.WaitLockKey]bool{}
	for _, it := range items {
		for _, k := range []store.WaitLockKey{{TenantID: it.tenantID, Key: it.row.Key}, {TenantID: it.tenantID, Key: store.WaitPatternKey}} {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// lockWaitKeys takes the shared locks of the events' keys, before any other
// lock of the push's transaction, so that no wait on those keys is being
// created meanwhile (see [store.Q.WaitKeysLock]).
func lockWaitKeys(ctx context.Context, q store.Q, items []*pushItem) error {
	return q.WaitKeysLock(ctx, waitLockKeys(items), true)
}

// satisfyWaits marks the open waits that the newly stored events satisfy,
// in the push's transaction: one candidate query per distinct key, then the
// candidates' conditions. A wait row matched by two events of the batch
// takes the first.
func (e *Engine) satisfyWaits(ctx context.Context, q store.Q, sig *signals, items []*pushItem, inserted map[string]bool, now time.Time) error {
	type tenantKey struct{ tenant, key string }
	byKey := map[tenantKey][]*pushItem{}
	var order []tenantKey
	matchesOf := map[*pushItem][]string{}
	for _, it := range items {
		if !inserted[it.row.ID] {
			continue
		}
		tk := tenantKey{it.tenantID, it.row.Key}
		if byKey[tk] == nil {
			order = append(order, tk)
		}
		byKey[tk] = append(byKey[tk], it)
		matchesOf[it] = payloadMatches(it.row.Payload.Map())
	}
	for _, tk := range order {
		var all []string
		seen := map[string]bool{}
		for _, it := range byKey[tk] {
			for _, m := range matchesOf[it] {
				if !seen[m] {
					seen[m] = true
					all = append(all, m)
				}
			}
		}
		var cands []*store.Wait
		for start := 0; start < len(all); start += maxMatchesPerQuery {
			rows, err := q.WaitListCandidates(ctx, tk.tenant, tk.key, all[start:min(start+maxMatchesPerQuery, len(all))])
			if err != nil {
				return err
			}
			cands = append(cands, rows...)
		}
		if len(cands) == 0 {
			continue
		}
		if err := e.satisfyCandidates(ctx, q, sig, byKey[tk], matchesOf, cands, now); err != nil {
			return err
		}
	}
	return nil
}

// satisfyCandidates evaluates the candidate waits against the events, in
// the events' order, and marks each satisfied row with its first event, in
// one round trip.
func (e *Engine) satisfyCandidates(ctx context.Context, q store.Q, sig *signals, items []*pushItem,
	matchesOf map[*pushItem][]string, cands []*store.Wait, now time.Time,
) error {
	taken := map[string]bool{}
	idsByEvent := map[string][]string{}
	for _, it := range items {
		ms := map[string]bool{}
		for _, m := range matchesOf[it] {
			ms[m] = true
		}
		for _, w := range cands {
			if taken[w.ID] || !ms[w.Match] || !keyMatches(w.Key, it.row.Key) {
				continue
			}
			if !w.Deadline.IsZero() && !w.Deadline.After(it.row.CreatedAt.Time) {
				continue // stored at or past the deadline: the wait timed out, though the resolver has yet to say so
			}
			ok, err := conditionHolds(w.Expression, it.row, w.RunInput.Map())
			if err != nil || !ok {
				continue // a condition that fails on this event is not satisfied by it
			}
			taken[w.ID] = true
			idsByEvent[it.row.ID] = append(idsByEvent[it.row.ID], w.ID)
		}
	}
	if len(idsByEvent) == 0 {
		return nil
	}
	if err := q.WaitSatisfyMany(ctx, idsByEvent, now); err != nil {
		return err
	}
	sig.add(signalWaits)
	return nil
}
