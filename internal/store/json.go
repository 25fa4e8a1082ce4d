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

// Object is a JSON object stored in a TEXT column: its text, kept exactly as
// written (a retry is compared with the first request by it), and its value,
// decoded once when read. A column that does not hold a JSON object is a scan
// error. The zero Object is stored as NULL, and NULL is read as it.
type Object struct {
	text string
	m    map[string]any
}

// ObjectOf encodes m (nil is {}) as [EncodeJSON] does; its value is what
// reading the text back yields.
func ObjectOf(m map[string]any) (Object, error) {
	if m == nil {
		m = map[string]any{}
	}
	text, err := EncodeJSON(m)
	if err != nil {
		return Object{}, err
	}
	var o Object
	if err := o.Scan(text); err != nil {
		return Object{}, err
	}
	return o, nil
}

// Text is the object's JSON text ("" for the zero Object).
func (o Object) Text() string { return o.text }

// Map is the object's value, shared by every copy of o: read it, do not change
// it. It is nil for the zero Object.
func (o Object) Map() map[string]any { return o.m }

// IsZero reports whether o is the zero Object (a NULL column).
func (o Object) IsZero() bool { return o.text == "" }

// Value stores the object's text; the zero Object is NULL.
func (o Object) Value() (driver.Value, error) {
	if o.IsZero() {
		return nil, nil
	}
	return o.text, nil
}

// Scan reads a column holding a JSON object; NULL is the zero Object.
func (o *Object) Scan(src any) error {
	var text string
	switch s := src.(type) {
	case nil:
		*o = Object{}
		return nil
	case string:
		text = s
	case []byte:
		text = string(s)
	default:
		return fmt.Errorf("%w: it holds %T, not text", ErrJSONColumn, src)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return fmt.Errorf("%w: %w", ErrJSONColumn, err)
	}
	if m == nil {
		return fmt.Errorf("%w: %q is not a JSON object", ErrJSONColumn, text)
	}
	*o = Object{text: text, m: m}
	return nil
}
