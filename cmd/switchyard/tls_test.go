package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

// writeFile writes data into a new file of the test's temp dir.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeBinaryTLS runs `switchyard serve --tls-cert --tls-key` with a
// certificate from a private CA: it listens on https://, negotiates HTTP/2 for
// gRPC and HTTP/1.1 for clients offering only that, client commands reach it
// with --ca-file, and SIGTERM still exits 0.
func TestServeBinaryTLS(t *testing.T) {
	t.Parallel()
	ca := servertest.TestCA()
	certPEM, keyPEM, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile := writeFile(t, "server.crt", certPEM), writeFile(t, "server.key", keyPEM), writeFile(t, "ca.crt", ca.CertPEM)
	const token = "sy_tls_admin_token"
	cmd, url, _ := startBinary(t, buildBinary(t), "--data-dir", t.TempDir(), "--admin-token", token,
		"--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("serve with --tls-cert listens on %s, want https://", url)
	}

	for _, c := range []struct {
		client *http.Client
		proto  string
	}{{servertest.HTTP1TLSClient(ca.Pool), "HTTP/1.1"}, {servertest.HTTP2TLSClient(ca.Pool), "HTTP/2.0"}} {
		res, err := c.client.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Proto != c.proto {
			t.Errorf("GET /healthz: %d over %s, want 200 over %s", res.StatusCode, res.Proto, c.proto)
		}
	}
	events := switchyardv1connect.NewEventServiceClient(servertest.HTTP2TLSClient(ca.Pool), url,
		connect.WithGRPC(), connect.WithInterceptors(servertest.BearerInterceptor(token)))
	if _, err := events.PushEvent(context.Background(), connect.NewRequest(&switchyardv1.PushEventRequest{Key: "grpc.tls"})); err != nil {
		t.Fatalf("push over gRPC and TLS: %v", err)
	}

	for _, protocol := range []string{"grpc", "connect", "grpc-web"} {
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"push", "cli.tls", "--server", url, "--token", token,
			"--ca-file", caFile, "--protocol", protocol, "-o", "json"}, &stdout, &bytes.Buffer{})
		if err != nil || !strings.Contains(stdout.String(), `"cli.tls"`) {
			t.Errorf("push --protocol %s --ca-file: %v, printed %q", protocol, err, stdout.String())
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
}

// TestServeTLSFlagErrors checks that bad TLS files stop serve before it
// listens.
func TestServeTLSFlagErrors(t *testing.T) {
	t.Parallel()
	certPEM, _, err := servertest.TestCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := servertest.TestCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, otherKeyFile := writeFile(t, "server.crt", certPEM), writeFile(t, "other.key", otherKey)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, "--tls-cert and --tls-key go together"},
		{"missing file", []string{"--tls-cert", certFile, "--tls-key", filepath.Join(t.TempDir(), "none.key")}, "--tls-cert/--tls-key: open "},
		{"key of another certificate", []string{"--tls-cert", certFile, "--tls-key", otherKeyFile}, "--tls-cert/--tls-key: tls: private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout bytes.Buffer
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
			err := run(context.Background(), args, &stdout, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve %v: %v, want an error containing %q", tt.args, err, tt.want)
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("serve %v printed %q before failing, want no listening line", tt.args, stdout.String())
			}
		})
	}
}

// TestClientCommandsTLSErrors checks what client commands say when TLS fails:
// each error names its cause and the flag that fixes it.
func TestClientCommandsTLSErrors(t *testing.T) {
	t.Parallel()
	eng := storetest.Engines(t)[0]
	tlsSrv := servertest.Start(t, eng, servertest.Options{TLS: true})
	plainSrv := servertest.Start(t, eng, servertest.Options{})
	other, err := servertest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	otherCA := writeFile(t, "other.crt", other.CertPEM)
	notPEM := writeFile(t, "not.pem", []byte("not a certificate"))
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error, in order
	}{
		{"system roots", []string{"--server", tlsSrv.URL}, []string{"unavailable", "x509: certificate signed by unknown authority",
			"not issued by a CA this client trusts", "--ca-file PATH (or SWITCHYARD_CA_FILE)"}},
		{"another CA", []string{"--server", tlsSrv.URL, "--ca-file", otherCA}, []string{"x509: certificate signed by unknown authority",
			"not issued by a CA this client trusts"}},
		{"another CA over connect", []string{"--server", tlsSrv.URL, "--ca-file", otherCA, "--protocol", "connect"}, []string{
			"x509: certificate signed by unknown authority", "not issued by a CA this client trusts"}},
		{"wrong host", []string{"--server", strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1), "--ca-file", writeFile(t, "ca.crt", servertest.TestCA().CertPEM)},
			[]string{"x509: certificate is not valid for any names", "not for localhost: use a --server host that the certificate names"}},
		{"https to a plain server", []string{"--server", strings.Replace(plainSrv.URL, "http://", "https://", 1)}, []string{
			"unavailable: http: server gave HTTP response to HTTPS client"}},
		{"missing CA file", []string{"--server", tlsSrv.URL, "--ca-file", filepath.Join(t.TempDir(), "none.crt")}, []string{"--ca-file: open "}},
		{"CA file without PEM", []string{"--server", tlsSrv.URL, "--ca-file", notPEM}, []string{"--ca-file " + notPEM + ": no PEM certificate in it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"workflows", "list", "--token", servertest.AdminToken}, tt.args...)
			err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil {
				t.Fatalf("switchyard %v succeeded", args)
			}
			wantErr(t, err, tt.want...)
		})
	}
}

// TestCAFileFromEnvironment sets SWITCHYARD_CA_FILE, so it cannot run in
// parallel.
func TestCAFileFromEnvironment(t *testing.T) {
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{TLS: true})
	t.Setenv("SWITCHYARD_CA_FILE", writeFile(t, "ca.crt", servertest.TestCA().CertPEM))
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"workflows", "list", "--server", srv.URL, "--token", servertest.AdminToken}, &stdout, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("workflows list with the CA from SWITCHYARD_CA_FILE: %v", err)
	}
	if got, want := stdout.String(), "NAME  VERSION  TASKS  ON EVENTS  CREATED\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
