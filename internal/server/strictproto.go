package server

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// strictInterceptor refuses binary requests that carry a field the message
// does not have, or a known field in the wire type of another type: protobuf
// keeps both as unknown fields and the handler would never see them, as JSON
// requests with such fields are refused by their codec (see strict.go).
type strictInterceptor struct{}

func (strictInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(ctx, strictConn{conn})
	}
}

func (strictInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (strictInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := strictRequest(req.Any()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// strictConn checks each request message a stream receives.
type strictConn struct{ connect.StreamingHandlerConn }

func (c strictConn) Receive(msg any) error {
	if err := c.StreamingHandlerConn.Receive(msg); err != nil {
		return err
	}
	return strictRequest(msg)
}

// strictRequest returns invalid_argument when the request msg holds unknown
// fields.
func strictRequest(msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil
	}
	if problem := unknownFields("", m.ProtoReflect()); problem != "" {
		return connect.NewError(connect.CodeInvalidArgument, errors.New(problem))
	}
	return nil
}

// unknownFields describes the first unknown field in m or a message inside it.
func unknownFields(path string, m protoreflect.Message) (problem string) {
	if raw := m.GetUnknown(); len(raw) > 0 {
		num, _, _ := protowire.ConsumeTag(raw)
		if fd := m.Descriptor().Fields().ByNumber(num); fd != nil {
			return mustBe(join(path, string(fd.Name())), wantType(fd))
		}
		if path == "" {
			return fmt.Sprintf("unknown field number %d", num)
		}
		return fmt.Sprintf("unknown field number %d in %s", num, path)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		name := join(path, string(fd.Name()))
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				if problem = unknownFields(fmt.Sprintf("%s[%d]", name, i), v.List().Get(i).Message()); problem != "" {
					return false
				}
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					problem = unknownFields(fmt.Sprintf("%s[%q]", name, k.String()), mv.Message())
					return problem == ""
				})
			}
		default:
			problem = unknownFields(name, v.Message())
		}
		return problem == ""
	})
	return problem
}

// wantType names the type of the values of fd, as the JSON checks do.
func wantType(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return "a map"
	case fd.IsList():
		return "a list"
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == "google.protobuf.Struct" {
			return "a JSON object"
		}
		return "a message"
	case protoreflect.StringKind:
		return "a string"
	case protoreflect.BytesKind:
		return "bytes"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.EnumKind:
		return "an enum value"
	default:
		return numberKind(fd.Kind())
	}
}
