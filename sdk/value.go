package sdk

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// toStruct converts a JSON object to a google.protobuf.Struct through
// encoding/json, so that any value encoding/json can encode (structs, typed
// slices, json.Marshaler) is accepted. A nil map is a nil Struct.
func toStruct(m map[string]any) (*structpb.Struct, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode JSON object: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("encode JSON object: %w", err)
	}
	return s, nil
}

// fromStruct converts a Struct to a map, never nil.
func fromStruct(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	return s.AsMap()
}
