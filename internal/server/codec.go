package server

import (
	"errors"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchyard/switchyard/internal/service"
)

// JSON requests (Connect JSON and the REST routes) are decoded by one rule:
// strictly (see strict.go). A field the message does not have is refused,
// naming it and the field it is closest to; a value of the wrong type is
// refused, naming the field and the type it wants; an enum name that does not
// exist is refused rather than read as the zero value. Every decoding error is
// invalid_argument on every route, and its message quotes the request only in
// excerpts (protojson's quote the offending value whole).
func decodeJSON(data []byte, msg proto.Message) error {
	err := protojson.Unmarshal(data, msg)
	if err == nil {
		return nil
	}
	if problem := jsonProblem(data, msg.ProtoReflect().Descriptor()); problem != "" {
		return errors.New(service.Excerpt(problem))
	}
	return errors.New(service.Excerpt(err.Error()))
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

// newRESTJSONCodec returns the codec; it leaves out unset fields as Connect
// JSON does (Vanguard's own would write error details padded with nulls).
func newRESTJSONCodec(res vanguard.TypeResolver) vanguard.Codec {
	c := vanguard.NewJSONCodec(res)
	c.MarshalOptions.EmitUnpopulated = false
	return restJSONCodec{c}
}

// unmarshalPrefix is how Connect starts the message of a request it could not
// decode.
const unmarshalPrefix = "unmarshal message: "

func (c restJSONCodec) Unmarshal(data []byte, msg proto.Message) error {
	if err := decodeJSON(data, msg); err != nil {
		// The message may quote invalid UTF-8 from the body, which an error
		// response cannot carry. Its prefix is the one Connect gives the same
		// error, so that every route words it the same.
		return connect.NewError(connect.CodeInvalidArgument, errors.New(unmarshalPrefix+restExcerpt(err.Error())))
	}
	return nil
}

func (c restJSONCodec) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	if err := c.JSONCodec.UnmarshalField(data, msg, field); err != nil {
		problem := fieldProblem(string(field.Name()), jsonValue(data), field)
		if problem == "" {
			problem = err.Error()
		}
		return connect.NewError(connect.CodeInvalidArgument, errors.New(unmarshalPrefix+restExcerpt(problem)))
	}
	return nil
}
