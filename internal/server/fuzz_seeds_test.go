package server_test

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fuzzSeed is one seed input of a per-RPC fuzz target.
type fuzzSeed struct {
	body []byte
	json bool
}

// fuzzSeeds returns the seed corpus of an RPC: its valid requests, as JSON and
// as binary; malformed bodies; and, for each field of the first valid request,
// that request with the field made wrong in the ways each encoding allows
// (wrong types, out-of-range numbers, unknown enum values, invalid UTF-8,
// timestamps and durations out of range, deeply nested or non-finite Struct
// values, truncated or mistagged binary fields).
func fuzzSeeds(valid []proto.Message) []fuzzSeed {
	var out []fuzzSeed
	js := func(b []byte) { out = append(out, fuzzSeed{b, true}) }
	bin := func(b []byte) { out = append(out, fuzzSeed{b, false}) }
	for _, m := range valid {
		js(mustJSON(m))
		bin(mustProto(m))
	}
	for _, s := range []string{"", "{}", "null", "[]", `"x"`, "{", `{"a":`, "\xff", `{"unknown":1}`, `{"a":1,"a":2}`} {
		js([]byte(s))
	}
	bin(nil)
	bin([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}) // an over-long varint tag
	bin(protowire.AppendTag(nil, 0, protowire.VarintType))                        // field number 0
	bin(protowire.AppendTag(nil, 1, protowire.StartGroupType))                    // an unterminated group
	if len(valid) == 0 {
		return out
	}
	base := valid[0]
	for _, b := range jsonFieldVariants(base) {
		js(b)
	}
	for _, b := range binaryFieldVariants(base) {
		bin(b)
	}
	return out
}

func mustJSON(m proto.Message) []byte {
	b, err := protojson.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func mustProto(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// jsonFieldVariants returns m as JSON with one top-level field at a time set
// to a value that is wrong for it, or at the edge of what it takes.
func jsonFieldVariants(m proto.Message) [][]byte {
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(mustJSON(m), &obj); err != nil {
		panic(err)
	}
	var out [][]byte
	fields := m.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		for _, v := range badJSONValues(fd) {
			o := maps.Clone(obj)
			o[fd.JSONName()] = json.RawMessage(v)
			out = append(out, jsonObject(o))
		}
	}
	return out
}

func badJSONValues(fd protoreflect.FieldDescriptor) []string {
	switch {
	case fd.IsMap():
		return []string{`[]`, `{"":"x"}`, `{"k":1}`, `{"` + strings.Repeat("k", 200) + `":"v"}`}
	case fd.IsList():
		return []string{`{}`, `[null]`, `[` + strings.TrimSuffix(strings.Repeat(`"x",`, 1100), ",") + `]`}
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return []string{`123`, `"not-a-uuid"`, `"a\u0000b"`, `"\ud800"`, `"` + strings.Repeat("é", 300) + `"`}
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
		protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return []string{`"x"`, `2147483648`, `-1`, `1e400`, `1.5`, `"0x10"`}
	case protoreflect.BoolKind:
		return []string{`"true"`, `1`}
	case protoreflect.EnumKind:
		return []string{`"NOT_A_VALUE"`, `99`, `-1`}
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		return []string{`"NaN"`, `"-Infinity"`, `1e309`}
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			return []string{`"10000-01-01T00:00:00Z"`, `"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999999999Z"`, `"2026-02-30T00:00:00Z"`, `1`}
		case "google.protobuf.Duration":
			return []string{`"-1s"`, `"315576000001s"`, `"0.000000001s"`, `"1.5"`}
		case "google.protobuf.Struct":
			return []string{deepJSON(64), deepJSON(20000), `{"a":1e308,"b":-0,"c":"\u0000","d":[[[[]]]],"e":null}`, `[]`}
		}
		return []string{`[]`, `"x"`, `{"unknown":1}`}
	}
	return nil
}

// jsonObject writes o by hand (encoding/json would refuse the values nested
// past its limit), keys sorted.
func jsonObject(o map[string]json.RawMessage) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(o)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(k) + ":" + string(o[k]))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// deepJSON is a Struct value nested depth objects deep.
func deepJSON(depth int) string {
	return strings.Repeat(`{"x":`, depth) + `1` + strings.Repeat(`}`, depth)
}

// binaryFieldVariants returns m in binary with, for one top-level field at a
// time, an extra occurrence of it that is wrong (the last occurrence of a
// scalar wins; messages merge).
func binaryFieldVariants(m proto.Message) [][]byte {
	base := mustProto(m)
	out := [][]byte{base[:len(base)/2], append(cloneBytes(base), 0x80)} // truncated; a dangling varint
	add := func(extra []byte) { out = append(out, append(cloneBytes(base), extra...)) }
	fields := m.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		num := fd.Number()
		// The wrong wire type.
		if fd.Kind() == protoreflect.StringKind || fd.Kind() == protoreflect.MessageKind || fd.IsMap() {
			add(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1))
		} else {
			add(protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), "x"))
		}
		// A length past the end.
		add(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.BytesType), 1<<30))
		switch {
		case fd.IsMap():
			add(protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), []byte{0x0a, 0x02, 0xff, 0xfe}))
			continue
		case fd.Kind() == protoreflect.StringKind:
			add(protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), "\xff\xfe")) // not UTF-8
			add(protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), "a\x00b"))
		case fd.Kind() == protoreflect.EnumKind:
			add(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1000))
		case fd.Kind() == protoreflect.Int32Kind:
			add(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), 1<<40+5))
			add(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), math.MaxUint64))
		case fd.Kind() == protoreflect.MessageKind:
			for _, v := range badBinaryMessages(fd.Message().FullName()) {
				add(protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v))
			}
		}
	}
	return out
}

func badBinaryMessages(name protoreflect.FullName) [][]byte {
	switch name {
	case "google.protobuf.Timestamp":
		return [][]byte{
			mustProto(&timestamppb.Timestamp{Seconds: math.MaxInt64}),
			mustProto(&timestamppb.Timestamp{Seconds: math.MinInt64, Nanos: -1}),
			mustProto(&timestamppb.Timestamp{Seconds: 253402300800}), // year 10000
		}
	case "google.protobuf.Duration":
		return [][]byte{
			mustProto(&durationpb.Duration{Seconds: math.MinInt64}),
			mustProto(&durationpb.Duration{Seconds: 1, Nanos: -1}),
		}
	case "google.protobuf.Struct":
		return [][]byte{
			mustProto(&structpb.Struct{Fields: map[string]*structpb.Value{"nan": structpb.NewNumberValue(math.NaN())}}),
			mustProto(&structpb.Struct{Fields: map[string]*structpb.Value{"inf": structpb.NewNumberValue(math.Inf(-1))}}),
			mustProto(&structpb.Struct{Fields: map[string]*structpb.Value{"bad": {}}}), // a Value with no kind
			mustProto(deepStruct(64)),
			mustProto(deepStruct(6000)), // past the decoder's nesting limit
		}
	}
	return [][]byte{{0x0a, 0x02, 0xff, 0xfe}} // field 1 as invalid UTF-8
}

func deepStruct(depth int) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewNumberValue(1)}}
	for range depth - 1 {
		s = &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewStructValue(s)}}
	}
	return s
}

func cloneBytes(b []byte) []byte { return append([]byte(nil), b...) }
