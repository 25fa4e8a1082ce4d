package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built as, set by the linker
// (-ldflags "-X main.version=v1.2.3"); otherwise the module version go install
// recorded, or "devel".
var version = ""

// versionCommand is `switchyard version`: the version, the commit it was built
// from when known, and the Go version.
func versionCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
		return fmt.Errorf("usage: switchyard version (takes no arguments, got %q)", args[0])
	}
	v, commit := version, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	line := "switchyard " + v
	if commit != "" {
		line += " (commit " + commit + ")"
	}
	_, err := fmt.Fprintf(stdout, "%s %s\n", line, runtime.Version())
	return err
}
