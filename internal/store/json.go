package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrJSONColumn is the error of reading a JSON column whose text is not the
// JSON of its type.
var ErrJSONColumn = errors.New("store: JSON column does not decode")

// JSON is a value stored in a TEXT column as JSON. It is encoded when written
// and decoded when read, so a column that does not hold a T is a scan error,
// never a silently empty value. Objects are encoded with sorted keys and without
// HTML escaping, so equal values are stored as equal text.
type JSON[T any] struct {
	V T
}

// JSONOf wraps v for a JSON column.
func JSONOf[T any](v T) JSON[T] { return JSON[T]{V: v} }

// Value encodes the value for the database.
func (j JSON[T]) Value() (driver.Value, error) {
	return EncodeJSON(j.V)
}

// Scan decodes a column's JSON text; NULL leaves the zero value.
func (j *JSON[T]) Scan(src any) error {
	var raw []byte
	switch s := src.(type) {
	case nil:
		var zero T
		j.V = zero
		return nil
	case string:
		raw = []byte(s)
	case []byte:
		raw = s
	default:
		return fmt.Errorf("%w: it holds %T, not text", ErrJSONColumn, src)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%w: %w", ErrJSONColumn, err)
	}
	j.V = v
	return nil
}

// EncodeJSON encodes v with sorted object keys and no HTML escaping, so equal
// values always encode to equal strings.
func EncodeJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n")), nil
}
