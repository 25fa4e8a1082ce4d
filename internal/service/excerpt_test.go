package service

import (
	"errors"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

func TestExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a1", 40) // 80 characters
	cut := long[:excerptLen] + "…"
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"short message", "short message"},
		{long, cut},
		{strings.Repeat("x", MaxQuoted), strings.Repeat("x", MaxQuoted)},
		{strings.Repeat("x", MaxQuoted+1), strings.Repeat("x", excerptLen) + "…"},
		{`invalid value for int32 field priority: "` + long + `"`, `invalid value for int32 field priority: "` + cut + `"`},
		{`metadata["` + long + `"]: must be at most 128 characters`, `metadata["` + cut + `"]: must be at most 128 characters`},
		{"words stay whole " + strings.Repeat("word ", 30), "words stay whole " + strings.Repeat("word ", 30)},
		{"spec.event_triggers[0].filter: does not match regex pattern `^[A-Za-z0-9._:/-]+$`", "spec.event_triggers[0].filter: does not match regex pattern `^[A-Za-z0-9._:/-]+$`"},
		{"ünïcödé " + strings.Repeat("é", 70), "ünïcödé " + strings.Repeat("é", excerptLen) + "…"},
	} {
		if got := Excerpt(tc.in); got != tc.want {
			t.Errorf("Excerpt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExcerptError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("s", 100)
	ce := connect.NewError(connect.CodeInvalidArgument, errors.New(`validation error: metadata["`+long+`"]: too long`))
	ce.Meta().Set("X-Request-Id", "r1")
	d, err := connect.NewErrorDetail(&validate.Violations{Violations: []*validate.Violation{{
		Field: &validate.FieldPath{Elements: []*validate.FieldPathElement{{
			FieldName: proto.String("metadata"),
			Subscript: &validate.FieldPathElement_StringKey{StringKey: long},
		}}},
		RuleId:  proto.String("string.max_len"),
		Message: proto.String("key " + long + " is too long"),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ce.AddDetail(d)

	got := excerptError(ce)
	cut := long[:excerptLen] + "…"
	if got.Code() != connect.CodeInvalidArgument || got.Message() != `validation error: metadata["`+cut+`"]: too long` || got.Meta().Get("X-Request-Id") != "r1" {
		t.Fatalf("excerptError: %v (meta %v)", got, got.Meta())
	}
	if len(got.Details()) != 1 {
		t.Fatalf("%d details, want 1", len(got.Details()))
	}
	v, err := got.Details()[0].Value()
	if err != nil {
		t.Fatal(err)
	}
	viol := v.(*validate.Violations).GetViolations()[0]
	if key := viol.GetField().GetElements()[0].GetStringKey(); key != cut {
		t.Errorf("field path key %q, want %q", key, cut)
	}
	if viol.GetMessage() != "key "+cut+" is too long" || viol.GetRuleId() != "string.max_len" {
		t.Errorf("violation %v", viol)
	}

	short := connect.NewError(connect.CodeNotFound, errors.New("event 0189 not found"))
	if excerptError(short) != short {
		t.Error("an error with nothing to cut was rebuilt")
	}
}
