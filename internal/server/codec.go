package server

import (
	"errors"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchyard/switchyard/internal/service"
)

// JSON requests (Connect JSON and the REST routes) are decoded by one rule.
// Unknown fields are ignored, as binary protobuf ignores them. An enum name that
// does not exist is refused: ignoring it would quietly turn a misspelled
// `REPLAY_MODE_FROM_FAILD` into the zero value and do something else than asked.
// Every decoding error is invalid_argument on every route.

var (
	strictJSON  = protojson.UnmarshalOptions{}
	lenientJSON = protojson.UnmarshalOptions{DiscardUnknown: true}
)

// decodeJSON decodes data into msg by that rule. Where a request has both an
// unknown field and a misspelled enum name, the name is refused only when it
// comes first: protojson stops at the first problem. Its errors quote the
// request only in excerpts (protojson's quote the offending value whole).
func decodeJSON(data []byte, msg proto.Message) error {
	err := strictJSON.Unmarshal(data, msg)
	if err != nil && strings.Contains(err.Error(), "unknown field") {
		proto.Reset(msg)
		err = lenientJSON.Unmarshal(data, msg)
	}
	if err != nil {
		return errors.New(service.Excerpt(err.Error()))
	}
	return nil
}

// connectJSON is the Connect handlers' JSON codec, under one of the names
// Connect knows JSON by.
type connectJSON struct{ name string }

func (c connectJSON) Name() string { return c.name }

func (connectJSON) IsBinary() bool { return false }

func (connectJSON) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return nil, errNotProto
	}
	return protojson.Marshal(msg)
}

func (c connectJSON) MarshalStable(v any) ([]byte, error) { return c.Marshal(v) }

// Unmarshal decodes a request; Connect makes its errors invalid_argument.
func (connectJSON) Unmarshal(data []byte, v any) error {
	msg, ok := v.(proto.Message)
	if !ok {
		return errNotProto
	}
	return decodeJSON(data, msg)
}

var errNotProto = errors.New("not a protobuf message")

// jsonCodecOptions make the Connect handlers decode JSON by the rule.
func jsonCodecOptions() []connect.HandlerOption {
	return []connect.HandlerOption{
		connect.WithCodec(connectJSON{"json"}),
		connect.WithCodec(connectJSON{"json; charset=utf-8"}),
	}
}

// restJSONCodec is the REST transcoder's JSON codec, decoding by the rule.
type restJSONCodec struct{ *vanguard.JSONCodec }

func newRESTJSONCodec(res vanguard.TypeResolver) vanguard.Codec {
	return restJSONCodec{vanguard.NewJSONCodec(res)}
}

func (c restJSONCodec) Unmarshal(data []byte, msg proto.Message) error {
	if err := decodeJSON(data, msg); err != nil {
		// The message may quote invalid UTF-8 from the body, which an error
		// response cannot carry.
		return connect.NewError(connect.CodeInvalidArgument, errors.New(restExcerpt(err.Error())))
	}
	return nil
}

func (c restJSONCodec) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	if err := c.JSONCodec.UnmarshalField(data, msg, field); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, errors.New(service.Excerpt(err.Error())))
	}
	return nil
}
