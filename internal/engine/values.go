package engine

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/store"
)

// newID returns a UUIDv7: time-ordered, so ids make good index keys and cursors.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// pluck is f of each of xs, in order.
func pluck[X, Y any](xs []X, f func(X) Y) []Y {
	out := make([]Y, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// storedJSON is a value of the engine's own (a workflow spec, webhook
// settings) as its column holds it: encoding/json's form, kept as written.
func storedJSON(v any) (store.JSON[json.RawMessage], error) {
	b, err := json.Marshal(v)
	if err != nil {
		return store.JSON[json.RawMessage]{}, fmt.Errorf("encode %T: %w", v, err)
	}
	return store.JSONOf(json.RawMessage(b)), nil
}

// decodeStored decodes a column written by storedJSON into v; a column that
// does not decode is damaged, an error wrapping [store.ErrJSONColumn] naming
// what holds it.
func decodeStored(what string, col store.JSON[json.RawMessage], v any) error {
	if err := json.Unmarshal(col.V, v); err != nil {
		return fmt.Errorf("%s: %w: %w", what, store.ErrJSONColumn, err)
	}
	return nil
}
