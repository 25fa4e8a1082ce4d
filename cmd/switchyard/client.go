package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/switchyard/switchyard/internal/service"
	"github.com/switchyard/switchyard/sdk"
)

// clientFlags are the flags every client command takes.
type clientFlags struct {
	server    string
	token     string
	tokenFile string
	protocol  string
	output    string
	caFile    string
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	for _, fl := range []struct {
		p                  *string
		name, value, usage string
	}{
		{&f.server, "server", "http://127.0.0.1:8080", "server URL"},
		{&f.token, "token", "", "API token (others on the machine may see it in ps; prefer --token-file or SWITCHYARD_TOKEN)"},
		{&f.tokenFile, "token-file", "", "file holding the API token"},
		{&f.protocol, "protocol", "grpc", "wire protocol: grpc, connect or grpc-web"},
		{&f.output, "o", "text", "output: text (tables) or json"},
		{&f.caFile, "ca-file", "", "PEM file of the CA certificates to trust for an https:// --server, instead of the system's"},
	} {
		fs.StringVar(fl.p, fl.name, fl.value, fl.usage)
	}
}

// client returns an SDK client for the flags, after checking them.
func (f *clientFlags) client() (*sdk.Client, error) {
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("-o %q: want text or json", f.output)
	}
	if !strings.HasPrefix(f.server, "http://") && !strings.HasPrefix(f.server, "https://") {
		return nil, fmt.Errorf("--server %q: want an http:// or https:// URL", f.server)
	}
	token, err := f.readToken()
	if err != nil {
		return nil, err
	}
	var p sdk.Protocol
	switch f.protocol {
	case "grpc":
		p = sdk.ProtocolGRPC
	case "connect":
		p = sdk.ProtocolConnect
	case "grpc-web":
		p = sdk.ProtocolGRPCWeb
	default:
		return nil, fmt.Errorf("--protocol %q: want grpc, connect or grpc-web", f.protocol)
	}
	opts := []sdk.Option{sdk.WithToken(token), sdk.WithProtocol(p)}
	if f.caFile != "" {
		roots, err := loadCAFile(f.caFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdk.WithTLSConfig(&tls.Config{RootCAs: roots}))
	}
	return sdk.NewClient(f.server, opts...), nil
}

// readToken returns the token of --token or, failing that, of --token-file.
func (f *clientFlags) readToken() (string, error) {
	if f.token != "" || f.tokenFile == "" {
		return f.token, nil
	}
	data, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("--token-file %s: the file is empty; want the token that serve printed or tokens create made", f.tokenFile)
	}
	return token, nil
}

// json reports whether the output is JSON.
func (f *clientFlags) json() bool { return f.output == "json" }

// clientFlagSet starts a client command: a flag set with the common client
// flags; the command adds its own, then calls [clientFlags.parse].
func clientFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	fs := newFlagSet(name, stderr)
	cf := new(clientFlags)
	cf.register(fs)
	return fs, cf
}

// parse parses args, checks the named positional arguments are there, and
// returns them with a client.
func (f *clientFlags) parse(fs *flag.FlagSet, args []string, names ...string) ([]string, *sdk.Client, error) {
	args, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(fs, args, names...); err != nil {
		return nil, nil, err
	}
	c, err := f.client()
	if err != nil {
		return nil, nil, err
	}
	return args, c, nil
}

// pageFlags adds the paging flags of list commands.
func pageFlags(fs *flag.FlagSet, what string) (limit *int, pageToken *string) {
	limit = fs.Int("limit", 0, "at most this many "+what+" (the server's default is 50, its maximum 500)")
	pageToken = fs.String("page-token", "", "the next page token a previous call printed")
	return limit, pageToken
}

// priorityFlag adds the --priority flag of the commands that start work.
func priorityFlag(fs *flag.FlagSet) *int {
	return fs.Int("priority", 0, "priority, 0 (default) to 9 (most urgent)")
}

// parseArgs parses args whose flags may come before, between or after the
// positional arguments (everything after "--" is positional), applies the
// SWITCHYARD_* fallbacks, and returns the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if err := parseFlags(fs, nil); err != nil {
		return nil, err
	}
	return append(positional, rest...), nil
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, args []string, names ...string) error {
	if len(args) == len(names) {
		return nil
	}
	usage := fs.Name()
	for _, n := range names {
		usage += " " + n
	}
	return fmt.Errorf("usage: switchyard %s [flags] (got %d arguments, want %d)", usage, len(args), len(names))
}

// explain returns err with what a Connect error carries spelled out: its code
// and message (in its text already), the field violations of invalid_argument,
// other details, and the request id to quote to an operator; or, for a failed
// TLS handshake, how to fix it.
func explain(err error) error {
	if hint := tlsHint(err); hint != "" {
		return &explainedError{msg: err.Error() + "\n  " + hint, err: err}
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	var b strings.Builder
	b.WriteString(err.Error())
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		switch v := v.(type) {
		case *validate.Violations:
			for _, viol := range v.GetViolations() {
				line := fieldPath(viol.GetField()) + ": " + viol.GetMessage()
				if !strings.Contains(ce.Message(), line) {
					b.WriteString("\n  " + line)
				}
			}
		case *errdetails.BadRequest:
			for _, viol := range v.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", viol.GetField(), viol.GetDescription())
			}
		case *errdetails.ErrorInfo:
			for k, val := range v.GetMetadata() {
				fmt.Fprintf(&b, "\n  %s: %s", k, val)
			}
		case *errdetails.RetryInfo:
			fmt.Fprintf(&b, "\n  retry after %v", v.GetRetryDelay().AsDuration())
		}
	}
	if id := ce.Meta().Get(service.RequestIDHeader); id != "" {
		fmt.Fprintf(&b, "\n  request id: %s", id)
	}
	return &explainedError{msg: b.String(), err: err}
}

// explainedError is an error with a longer text than the error it wraps.
type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// fieldPath renders a protovalidate field path as "events[3].payload".
func fieldPath(fp *validate.FieldPath) string {
	var b strings.Builder
	for i, el := range fp.GetElements() {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(el.GetFieldName())
		switch s := el.GetSubscript().(type) {
		case *validate.FieldPathElement_Index:
			b.WriteString("[" + strconv.FormatUint(s.Index, 10) + "]")
		case *validate.FieldPathElement_StringKey:
			b.WriteString("[" + strconv.Quote(s.StringKey) + "]")
		case *validate.FieldPathElement_IntKey:
			b.WriteString("[" + strconv.FormatInt(s.IntKey, 10) + "]")
		case *validate.FieldPathElement_UintKey:
			b.WriteString("[" + strconv.FormatUint(s.UintKey, 10) + "]")
		case *validate.FieldPathElement_BoolKey:
			b.WriteString("[" + strconv.FormatBool(s.BoolKey) + "]")
		}
	}
	if b.Len() == 0 {
		return "request"
	}
	return b.String()
}
