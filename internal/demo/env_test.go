package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenFromEnv: the demo workers take the token from SWITCHYARD_TOKEN or
// the file SWITCHYARD_TOKEN_FILE names, and refuse to start without one.
func TestTokenFromEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("sy_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, file, want, wantErr string
	}{
		{name: "env", token: "sy_from_env", file: file, want: "sy_from_env"},
		{name: "file", file: file, want: "sy_from_file"},
		{name: "none", wantErr: "no token: set SWITCHYARD_TOKEN"},
		{name: "missing file", file: filepath.Join(t.TempDir(), "nope"), wantErr: "SWITCHYARD_TOKEN_FILE: open"},
		{name: "empty file", file: empty, wantErr: "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SWITCHYARD_TOKEN", tc.token)
			t.Setenv("SWITCHYARD_TOKEN_FILE", tc.file)
			got, err := TokenFromEnv()
			if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("TokenFromEnv() = %q, %v; want %q, error containing %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
