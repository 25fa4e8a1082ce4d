package engine

import (
	"fmt"
	"net/http"
	"strings"

	"cel.dev/cel-go/cel"

	"github.com/switchyard/switchyard/internal/webhook"
)

// requestEnv is the CEL environment of webhook expressions: the JSON body, the
// headers (lower-case names) and the query parameters of the request.
var requestEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("body", cel.DynType),
		cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("query", cel.MapType(cel.StringType, cel.StringType)),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// exprCostLimit bounds the work of one expression evaluation.
const exprCostLimit = 100_000

// compileRequestExpr compiles and type-checks an expression that must give a
// string; the error names the position of the problem.
func compileRequestExpr(expr string) (cel.Program, error) {
	return compileExpr(requestEnv, expr, cel.StringType)
}

type webhookExprs struct {
	scheme           webhook.Scheme
	key, scope, idem cel.Program // scope and idem may be nil
}

func compileWebhookExprs(s WebhookSettings) (*webhookExprs, error) {
	x := &webhookExprs{scheme: webhookSchemes[s.Scheme]}
	var err error
	if x.key, err = compileRequestExpr(s.KeyExpression); err != nil {
		return nil, err
	}
	if s.ScopeExpression != "" {
		if x.scope, err = compileRequestExpr(s.ScopeExpression); err != nil {
			return nil, err
		}
	}
	if s.IdempotencyExpression != "" {
		if x.idem, err = compileRequestExpr(s.IdempotencyExpression); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// WebhookEvent is what a webhook request becomes.
type WebhookEvent struct {
	Key        string
	Scope      string
	DeliveryID string // "" when the request has none
}

// Evaluate applies the webhook's expressions to a request whose body was decoded
// from JSON. An expression that fails or gives no string is an error saying so.
func (t *WebhookTarget) Evaluate(body any, h http.Header, query map[string][]string) (*WebhookEvent, error) {
	headers := make(map[string]string, len(h))
	for name, vals := range h {
		headers[strings.ToLower(name)] = strings.Join(vals, ", ")
	}
	q := make(map[string]string, len(query))
	for name, vals := range query {
		q[name] = strings.Join(vals, ",")
	}
	vars := map[string]any{"body": body, "headers": headers, "query": q}
	eval := func(what string, p cel.Program) (string, error) {
		if p == nil {
			return "", nil
		}
		out, _, err := p.Eval(vars)
		if err != nil {
			return "", fmt.Errorf("%s expression: %w", what, err)
		}
		s, ok := out.Value().(string)
		if !ok {
			return "", fmt.Errorf("%s expression gave %v, not a string", what, out.Type())
		}
		return s, nil
	}
	ev := &WebhookEvent{}
	var err error
	if ev.Key, err = eval("key", t.exprs.key); err != nil {
		return nil, err
	}
	if ev.Scope, err = eval("scope", t.exprs.scope); err != nil {
		return nil, err
	}
	if ev.DeliveryID, err = eval("idempotency", t.exprs.idem); err != nil {
		return nil, err
	}
	if t.exprs.idem == nil {
		ev.DeliveryID = webhook.DefaultDeliveryID(t.exprs.scheme, h)
		if obj, ok := body.(map[string]any); ok && t.exprs.scheme == webhook.SchemeStripe {
			ev.DeliveryID, _ = obj["id"].(string)
		}
	}
	return ev, nil
}
