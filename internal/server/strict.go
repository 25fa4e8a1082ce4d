package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Requests are read strictly: a field the API does not have is refused rather
// than dropped (a misspelled `paylod` would otherwise store an empty payload),
// and a value of the wrong type is refused with the field's name and the type
// it wants. The messages name fields by their proto path (`tasks[0].action`),
// as validation does, so that every protocol and every part of a REST request
// (body, path, query string) words the same mistake the same way.

// jsonProblem returns what is wrong with the JSON request data for a message
// of md: the first unknown field or value of the wrong type, in the order of
// the fields' names; "" when it finds nothing (data may still fail to decode,
// for reasons protojson then states).
func jsonProblem(data []byte, md protoreflect.MessageDescriptor) string {
	return messageProblem("", jsonValue(data), md)
}

// messageProblem checks v, the JSON form of a message of md at path.
func messageProblem(path string, v any, md protoreflect.MessageDescriptor) string {
	if v == nil {
		return ""
	}
	if md.FullName().Parent() == "google.protobuf" {
		return wellKnownProblem(path, v, md)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return mustBe(path, "a JSON object")
	}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		fd := fieldByJSONKey(md, key)
		if fd == nil {
			return unknownField(join(path, key), key, md)
		}
		if p := fieldProblem(join(path, string(fd.Name())), obj[key], fd); p != "" {
			return p
		}
	}
	return ""
}

// fieldByJSONKey returns the field of md that key names, by its JSON or its
// proto name, as protojson accepts either.
func fieldByJSONKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(key); fd != nil {
		return fd
	}
	return md.Fields().ByTextName(key)
}

// unknownField says that the field at path does not exist, and which field of
// md the caller may have meant.
func unknownField(path, key string, md protoreflect.MessageDescriptor) string {
	msg := fmt.Sprintf("unknown field %q", path)
	if s := closestField(key, md); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// closestField returns the name of the field of md closest to key in edit
// distance, in the same style (camelCase or snake_case) as key; "" when no
// field is close enough to be a likely misspelling.
func closestField(key string, md protoreflect.MessageDescriptor) string {
	best, bestDist := "", len(key)/2+1
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		name := fd.JSONName()
		if strings.Contains(key, "_") {
			name = string(fd.Name())
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// fieldProblem checks v, the JSON form of the field fd at path.
func fieldProblem(path string, v any, fd protoreflect.FieldDescriptor) string {
	switch {
	case v == nil:
		return ""
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok {
			return mustBe(path, "a JSON object")
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if p := valueProblem(fmt.Sprintf("%s[%q]", path, k), obj[k], fd.MapValue()); p != "" {
				return p
			}
		}
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return mustBe(path, "a JSON array")
		}
		for i, e := range list {
			if p := valueProblem(fmt.Sprintf("%s[%d]", path, i), e, fd); p != "" {
				return p
			}
		}
	default:
		return valueProblem(path, v, fd)
	}
	return ""
}

// valueProblem checks v, one JSON value of the field fd at path.
func valueProblem(path string, v any, fd protoreflect.FieldDescriptor) string {
	if v == nil && fd.Kind() != protoreflect.MessageKind {
		return ""
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return messageProblem(path, v, fd.Message())
	case protoreflect.StringKind:
		if _, ok := v.(string); !ok {
			return mustBe(path, "a string")
		}
	case protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			return mustBe(path, "a base64 string")
		}
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			return mustBe(path, "true or false")
		}
	case protoreflect.EnumKind:
		return enumProblem(path, v, fd.Enum())
	default:
		return numberProblem(path, v, fd.Kind())
	}
	return ""
}

// scalarProblem checks s, the text of a value of the scalar field fd at path
// as a REST path or query string gives it: the same rules, the same words.
func scalarProblem(path, s string, fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if s != "true" && s != "false" {
			return mustBe(path, "true or false")
		}
		return ""
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind, protoreflect.GroupKind:
		return ""
	}
	return valueProblem(path, s, fd)
}

// enumProblem checks v, the name or number of a value of ed.
func enumProblem(path string, v any, ed protoreflect.EnumDescriptor) string {
	switch v := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(v)) != nil {
			return ""
		}
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && ed.Values().ByNumber(protoreflect.EnumNumber(n)) != nil {
			return ""
		}
	case json.Number:
		if n, err := v.Int64(); err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			return "" // protojson keeps numbers it does not know, as protobuf does
		}
	}
	names := make([]string, 0, ed.Values().Len())
	for i := range ed.Values().Len() {
		if ed.Values().Get(i).Number() != 0 {
			names = append(names, string(ed.Values().Get(i).Name()))
		}
	}
	return fmt.Sprintf("%s must be one of %s, not %s", path, strings.Join(names, ", "), quoteJSON(v))
}

// numberProblem checks v, a JSON number or a string holding one, for a field of
// the numeric kind k.
func numberProblem(path string, v any, k protoreflect.Kind) string {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = v
	default:
		return mustBe(path, numberKind(k))
	}
	var ok bool
	switch k {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		_, err := strconv.ParseFloat(s, 64)
		ok = err == nil || s == "NaN" || s == "Infinity" || s == "-Infinity"
	default:
		ok = wholeNumberFits(s, k)
	}
	if !ok {
		return fmt.Sprintf("%s must be %s, not %s", path, numberKind(k), quoteJSON(v))
	}
	return ""
}

// wholeNumberFits reports whether s is a whole number in the range of k; as
// protojson, it takes exponents ("1e3").
func wholeNumberFits(s string, k protoreflect.Kind) bool {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) {
		return false
	}
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return f >= math.MinInt32 && f <= math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return f >= 0 && f <= math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return f >= 0 && f <= math.MaxUint64
	default:
		return f >= math.MinInt64 && f <= math.MaxInt64
	}
}

// numberKind names the numbers a field of kind k takes.
func numberKind(k protoreflect.Kind) string {
	switch k {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "a number"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return fmt.Sprintf("a whole number ≥ 0 (%s)", k)
	default:
		return fmt.Sprintf("a whole number (%s)", k)
	}
}

// wellKnownProblem checks the JSON forms of the google.protobuf types that
// requests use; others are left to protojson.
func wellKnownProblem(path string, v any, md protoreflect.MessageDescriptor) string {
	_, isString := v.(string)
	switch md.Name() {
	case "Struct":
		if _, ok := v.(map[string]any); !ok {
			return mustBe(path, "a JSON object")
		}
	case "ListValue":
		if _, ok := v.([]any); !ok {
			return mustBe(path, "a JSON array")
		}
	case "Timestamp":
		if !isString {
			return mustBe(path, `an RFC 3339 time string such as "2030-01-02T15:04:05Z"`)
		}
	case "Duration":
		if !isString {
			return mustBe(path, `a duration string in seconds such as "1.5s"`)
		}
	}
	return ""
}

func mustBe(path, what string) string {
	if path == "" {
		return "the request must be " + what
	}
	return path + " must be " + what
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// quoteJSON quotes a value as it appeared in the request.
func quoteJSON(v any) string {
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonValue decodes data, one JSON value; nil when it is not one.
func jsonValue(data []byte) any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}
