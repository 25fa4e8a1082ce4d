// Package archtest checks rules of the module's shape that no compiler
// enforces: the public Go surface is sdk/ and gen/ only, files and functions
// stay small, and the layers import only downward.
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const (
	maxFileLines = 600
	maxFuncLines = 80
)

// root returns the module's root directory.
func root(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// sourceFile is one parsed non-test, non-generated Go file.
type sourceFile struct {
	rel  string // slash-separated, relative to the module root
	fset *token.FileSet
	file *ast.File
}

// sources parses every hand-written, non-test Go file of the module.
func sources(t *testing.T) []sourceFile {
	t.Helper()
	dir := root(t)
	var out []sourceFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "gen" || strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, sourceFile{rel: rel, fset: fset, file: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no Go files found")
	}
	return out
}

// TestPublicSurface checks that every importable package outside sdk/ and
// gen/ is under internal/: nothing else is API of the module.
func TestPublicSurface(t *testing.T) {
	t.Parallel()
	for _, s := range sources(t) {
		dir := filepath.ToSlash(filepath.Dir(s.rel))
		if s.file.Name.Name == "main" || dir == "sdk" || strings.HasPrefix(dir, "sdk/") ||
			dir == "internal" || strings.HasPrefix(dir, "internal/") || strings.Contains(dir, "/internal/") {
			continue
		}
		t.Errorf("%s: package %s is importable from outside the module; move it under internal/", s.rel, s.file.Name.Name)
	}
}

// TestSizes checks that no hand-written file is longer than maxFileLines and
// no function longer than maxFuncLines.
func TestSizes(t *testing.T) {
	t.Parallel()
	for _, s := range sources(t) {
		if n := s.fset.File(s.file.Pos()).LineCount(); n > maxFileLines {
			t.Errorf("%s: %d lines, more than %d: split it by concept", s.rel, n, maxFileLines)
		}
		for _, d := range s.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			n := s.fset.Position(fn.End()).Line - s.fset.Position(fn.Pos()).Line + 1
			if n > maxFuncLines {
				t.Errorf("%s: func %s has %d lines, more than %d", s.rel, fn.Name.Name, n, maxFuncLines)
			}
		}
	}
}

// TestLayers checks the import rules between the server's parts: the store
// knows no part above it, auth and metrics reach data only through the
// engine (through interfaces they declare), the engine knows neither auth nor
// the handlers, and the handlers never see the store.
func TestLayers(t *testing.T) {
	t.Parallel()
	const mod = "github.com/switchyard/switchyard/"
	forbidden := map[string][]string{
		"internal/store":   {"internal/engine", "internal/service", "internal/server", "internal/auth", "internal/metrics"},
		"internal/engine":  {"internal/service", "internal/server", "internal/auth", "internal/metrics"},
		"internal/auth":    {"internal/store", "internal/service", "internal/server"},
		"internal/metrics": {"internal/store", "internal/service", "internal/server"},
		"internal/service": {"internal/store", "internal/server"},
	}
	for _, s := range sources(t) {
		dir := filepath.ToSlash(filepath.Dir(s.rel))
		for layer, deny := range forbidden {
			if dir != layer && !strings.HasPrefix(dir, layer+"/") {
				continue
			}
			for _, imp := range s.file.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				for _, d := range deny {
					if path == mod+d || strings.HasPrefix(path, mod+d+"/") {
						t.Errorf("%s imports %s: %s may not depend on %s", s.rel, path, layer, d)
					}
				}
			}
		}
	}
}
