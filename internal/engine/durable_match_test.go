package engine

import (
	"slices"
	"testing"
)

// TestWaitMatch: the indexed equality of a condition is found at the top
// level or in a conjunct, either way round, and evaluated on the input;
// anything else has no index.
func TestWaitMatch(t *testing.T) {
	t.Parallel()
	input := map[string]any{"order_id": "o-1", "n": float64(42), "nested": map[string]any{"id": "x"}}
	for _, c := range []struct{ expr, want string }{
		{"event.payload.order_id == input.order_id", `order_id="o-1"`},
		{"input.order_id == event.payload.order_id", `order_id="o-1"`},
		{"event.payload.amount > 0 && event.payload.order.id == input.nested.id", `order.id="x"`},
		{"event.payload.n == input.n", `n=42`},
		{"event.payload.n == 42", `n=42`},
		{"event.payload.k == input.order_id + '-x'", `k="o-1-x"`},
		{"event.payload.order_id == input.order_id || true", ""},
		{"event.payload.a == event.payload.b", ""},
		{"event.key == input.order_id", ""},
		{"event.payload.order_id == input.missing", ""},
		{"event.payload.order_id == input.nested", ""},
		{"", ""},
	} {
		if got := waitMatch(c.expr, input); got != c.want {
			t.Errorf("waitMatch(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// TestPayloadMatches: every scalar leaf up to the depth limit, and "".
func TestPayloadMatches(t *testing.T) {
	t.Parallel()
	got := payloadMatches(map[string]any{"order_id": "o-1", "n": float64(42), "ok": true, "list": []any{1},
		"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": "deep", "e": map[string]any{"f": "too deep"}}}}})
	want := []string{"", `a.b.c.d="deep"`, `n=42`, `ok=true`, `order_id="o-1"`}
	if !slices.Equal(got, want) {
		t.Errorf("payloadMatches = %q, want %q", got, want)
	}
}
