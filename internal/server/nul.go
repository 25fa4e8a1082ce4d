package server

import (
	"context"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// nulInterceptor refuses requests with a NUL byte in a string field: neither
// database can store one. JSON values (Struct payloads) are exempt, since they
// are stored as JSON, where a NUL is escaped.
type nulInterceptor struct{}

func (nulInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if m, ok := req.Any().(proto.Message); ok {
			if path := nulField(m.ProtoReflect(), ""); path != "" {
				return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s: contains a NUL byte", path))
			}
		}
		return next(ctx, req)
	}
}

func (nulInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (nulInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// nulField returns the path of the first string field of m holding a NUL.
func nulField(m protoreflect.Message, prefix string) (path string) {
	if m.Descriptor().FullName().Parent() == "google.protobuf" {
		return ""
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				path = nulValue(fd, v.List().Get(i), name)
				if path != "" {
					return false
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if strings.ContainsRune(k.String(), 0) {
					path = name
				} else {
					path = nulValue(fd.MapValue(), mv, name)
				}
				return path == ""
			})
		default:
			path = nulValue(fd, v, name)
		}
		return path == ""
	})
	return path
}

func nulValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, name string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.ContainsRune(v.String(), 0) {
			return name
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return nulField(v.Message(), name+".")
	}
	return ""
}
