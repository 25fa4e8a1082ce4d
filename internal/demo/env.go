package demo

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultServer is the server the demo workers reach when SWITCHYARD_SERVER
// is not set.
const DefaultServer = "http://127.0.0.1:8080"

// ServerFromEnv returns SWITCHYARD_SERVER, or [DefaultServer].
func ServerFromEnv() string {
	if s := os.Getenv("SWITCHYARD_SERVER"); s != "" {
		return s
	}
	return DefaultServer
}

// TokenFromEnv returns the API token the demo workers use, read as the
// switchyard command reads it: SWITCHYARD_TOKEN, or else the file that
// SWITCHYARD_TOKEN_FILE names. Neither set is an error, so that a worker
// does not start only to be refused.
func TokenFromEnv() (string, error) {
	if tok := os.Getenv("SWITCHYARD_TOKEN"); tok != "" {
		return tok, nil
	}
	path := os.Getenv("SWITCHYARD_TOKEN_FILE")
	if path == "" {
		return "", errors.New("no token: set SWITCHYARD_TOKEN, or SWITCHYARD_TOKEN_FILE to a file holding it")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("SWITCHYARD_TOKEN_FILE: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", fmt.Errorf("SWITCHYARD_TOKEN_FILE %s: the file is empty", path)
	}
	return tok, nil
}
