// Command testprogress turns the output of `go test -json` on its standard
// input into a line per package as soon as the package ends (its result, time
// and test counts, with a running count of packages), and the output of every
// failed test, failed package and build error. It exits 1 when anything
// failed or the stream holds no result, so that with `set -o pipefail` a pipe
// `go test -json ./... | testprogress` fails when the tests do. The Makefile's
// test and test-quick targets use it:
//
//	go test -json ./... | go run ./internal/testprogress
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

// pkgState is what one package printed so far.
type pkgState struct {
	output            []string            // output not of a test
	tests             map[string][]string // output per running test
	passed, failed    int
	skipped, reported int
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout, time.Now()))
}

// run reads events from in, reports on out, and returns the exit status.
func run(in io.Reader, out io.Writer, start time.Time) int {
	pkgs := map[string]*pkgState{}
	state := func(p string) *pkgState {
		s := pkgs[p]
		if s == nil {
			s = &pkgState{tests: map[string][]string{}}
			pkgs[p] = s
		}
		return s
	}
	var done, failedPkgs int
	failed := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(out, sc.Text()) // not an event: a go command's own message
			continue
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test != "":
			failed = testEvent(out, state(e.Package), e) || failed
		case e.Action == "output":
			s := state(e.Package)
			s.output = append(s.output, e.Output)
		case e.Action == "pass" || e.Action == "fail" || e.Action == "skip":
			done++
			s := state(e.Package)
			if e.Action == "fail" {
				failed = true
				failedPkgs++
				if s.reported == 0 {
					fmt.Fprint(out, strings.Join(s.output, ""))
				}
			}
			word := map[string]string{"pass": "ok  ", "fail": "FAIL", "skip": "--  "}[e.Action]
			fmt.Fprintf(out, "%s %-60s %6.1fs  %d passed, %d failed, %d skipped  [%d done, %s]\n",
				word, e.Package, e.Elapsed, s.passed, s.failed, s.skipped, done, time.Since(start).Round(time.Second))
			delete(pkgs, e.Package)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testprogress: read:", err)
		return 1
	}
	switch {
	case failed:
		fmt.Fprintf(out, "FAIL (%d of %d packages failed, or a build failed) in %s\n", failedPkgs, done, time.Since(start).Round(time.Second))
		return 1
	case done == 0:
		fmt.Fprintln(out, "testprogress: no package results in the input")
		return 1
	}
	fmt.Fprintf(out, "PASS: %d packages in %s\n", done, time.Since(start).Round(time.Second))
	return 0
}

// testEvent records one event of a test and prints the test's output when it
// failed; it reports whether it did.
func testEvent(out io.Writer, s *pkgState, e event) bool {
	switch e.Action {
	case "output":
		s.tests[e.Test] = append(s.tests[e.Test], e.Output)
	case "pass":
		s.passed++
		delete(s.tests, e.Test)
	case "skip":
		s.skipped++
		delete(s.tests, e.Test)
	case "fail":
		s.failed++
		s.reported++
		fmt.Fprintf(out, "--- FAIL: %s (%s)\n%s", e.Test, e.Package, strings.Join(s.tests[e.Test], ""))
		delete(s.tests, e.Test)
		return true
	}
	return false
}
