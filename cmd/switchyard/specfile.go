package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// readSpec reads the file path ("-" for stdin) into msg: JSON, or YAML when
// the name ends in .yaml or .yml, with the field names of the API's JSON
// (onEvents or on_events). A field msg does not have is an error, so that a
// misspelled field is not silently dropped.
func readSpec(path string, stdin io.Reader, msg proto.Message) error {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("-f %s: %w", path, err)
	}
	isYAML := strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")
	if isYAML {
		if data, err = yamlToJSON(data); err != nil {
			return fmt.Errorf("-f %s: not YAML: %w", path, err)
		}
	}
	if err := protojson.Unmarshal(data, msg); err != nil {
		msg := strings.TrimPrefix(err.Error(), "proto: ")
		if isYAML {
			msg = jsonPosition.ReplaceAllString(msg, "") // a position in the converted JSON, not in the file
		}
		return fmt.Errorf("-f %s: %s", path, msg)
	}
	return nil
}

// jsonPosition is the position protojson gives its errors.
var jsonPosition = regexp.MustCompile(`\(line \d+:\d+\): `)

// yamlToJSON converts a YAML document to JSON.
func yamlToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
