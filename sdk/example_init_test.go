package sdk_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// The examples talk to real servers on the embedded SQLite store, started by
// TestMain, one of them over TLS; they have no *testing.T of their own.
var (
	exampleServerURL    string
	exampleToken        = servertest.AdminToken
	exampleTLSServerURL string
	exampleCAFile       string // the PEM certificate of the CA that issued the TLS server's
)

func TestMain(m *testing.M) {
	if url := os.Getenv(killHelperEnv); url != "" {
		os.Exit(runKillHelper(url))
	}
	tb := &mainTB{}
	srv := servertest.Start(tb, storetest.Engines(tb)[0], servertest.Options{})
	exampleServerURL = srv.URL
	tlsSrv := servertest.Start(tb, storetest.Engines(tb)[0], servertest.Options{TLS: true})
	exampleTLSServerURL = tlsSrv.URL
	exampleCAFile = filepath.Join(tb.TempDir(), "ca.crt")
	if err := os.WriteFile(exampleCAFile, servertest.TestCA().CertPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	code := m.Run()
	tb.cleanup()
	os.Exit(code)
}

// mainTB is the testing.TB that TestMain hands to servertest: a failure ends
// the process, and cleanups run when TestMain calls cleanup. The methods that
// servertest and storetest do not call are left to the nil embedded TB.
type mainTB struct {
	testing.TB
	cleanups []func()
}

func (tb *mainTB) Helper()                   {}
func (tb *mainTB) Name() string              { return "TestMain" }
func (tb *mainTB) Cleanup(f func())          { tb.cleanups = append(tb.cleanups, f) }
func (tb *mainTB) Logf(string, ...any)       {}
func (tb *mainTB) Fatal(args ...any)         { tb.fail(fmt.Sprint(args...)) }
func (tb *mainTB) Fatalf(f string, a ...any) { tb.fail(fmt.Sprintf(f, a...)) }
func (tb *mainTB) Errorf(f string, a ...any) { tb.fail(fmt.Sprintf(f, a...)) }

func (tb *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "switchyard-sdk-example-")
	if err != nil {
		tb.fail(err.Error())
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func (tb *mainTB) fail(msg string) {
	fmt.Fprintln(os.Stderr, "example server:", msg)
	tb.cleanup()
	os.Exit(1)
}

func (tb *mainTB) cleanup() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		tb.cleanups[i]()
	}
	tb.cleanups = nil
}
