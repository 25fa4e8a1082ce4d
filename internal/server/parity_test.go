package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
)

var timeNow = time.Now

// parityCase runs one behaviour of one RPC and returns its outcome in a form
// that must be identical on every protocol (see [env.describe]). It also
// asserts the expected values itself.
type parityCase struct {
	name string
	// rpc is the procedure under test. A server-streaming one has no REST
	// route: on REST the case streams over Connect JSON (see [env.runCase]).
	rpc string
	run func(e *env) string
}

// parityOptions say how a parity table runs.
type parityOptions struct {
	// ownServer gives each protocol a server of its own whose default tenant
	// the cases use: for cases that act on the whole server (they hold its
	// pool). Otherwise the protocols of one engine share one server, each in a
	// fresh tenant of its own, so that each starts from the same state.
	ownServer bool
	// tls adds the protocols over TLS on the first engine (SQLite, there in
	// every run); it needs ownServer.
	tls bool
	// engine sets the servers' engine intervals.
	engine engine.Config
}

// env is what a parity case gets: a server, the tenant of the protocol under
// test with a token of each role, and a client for the protocol. The cases of
// one protocol run in order on it.
type env struct {
	t   *testing.T
	srv *servertest.Server
	// c calls as the tenant's admin.
	c client
	// operator calls as an admin of the default tenant.
	operator client
	tenant   string
	tokens   map[string]string // role → secret, in tenant
	// ids remembers ids between cases (by name).
	ids    map[string]string
	norm   *normaliser
	tables []table
	// setup is the protocol of what the cases prepare or wait for outside
	// the protocol under test: gRPC, over TLS to a server that serves TLS.
	setup servertest.Protocol
}

// as returns the client calling with the tenant's token of role.
func (e *env) as(role string) client { return e.c.withToken(e.tokens[role]) }

// runParity runs cases over every protocol on every database engine and
// asserts that each case has the same outcome (answer, error code and details)
// and leaves the same stored rows on every protocol.
func runParity(t *testing.T, cases []parityCase, opts parityOptions) {
	t.Parallel()
	for ei, eng := range storetest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			protocols := servertest.Protocols()
			if opts.tls && ei == 0 {
				// TLS changes the transport, not the store: over TLS on one
				// engine is enough.
				protocols = append(protocols, servertest.ProtocolsTLS(servertest.TestCA().Pool)...)
			}
			var shared *servertest.Server
			if !opts.ownServer {
				shared = startParityServer(t, eng, opts, false)
			}
			outcomes := make([][]string, len(protocols)) // [protocol][case]
			runProtocol := func(t *testing.T, i int, p servertest.Protocol) {
				srv := shared
				if opts.ownServer {
					srv = startParityServer(t, eng, opts, p.TLS)
				}
				e := newEnv(t, srv, p, i, opts.ownServer)
				for _, pc := range cases {
					outcomes[i] = append(outcomes[i], e.runCase(pc))
				}
			}
			if opts.ownServer {
				// A server each, with a small pool and a short acquire
				// timeout: the protocols take turns as -parallel allows, so
				// that a loaded machine does not make the other calls outwait
				// that timeout.
				t.Run("protocols", func(t *testing.T) {
					for i, p := range protocols {
						t.Run(subtestName(p), func(t *testing.T) {
							t.Parallel()
							runProtocol(t, i, p)
						})
					}
				})
			} else {
				// One server: the protocols run at once, each in a subtest
				// started from a goroutine of its own. They spend their time
				// waiting on the server, so -parallel (the number of CPUs)
				// would only slow them.
				var wg sync.WaitGroup
				for i, p := range protocols {
					wg.Go(func() { t.Run(subtestName(p), func(t *testing.T) { runProtocol(t, i, p) }) })
				}
				wg.Wait()
			}
			if os.Getenv("PARITY_DUMP") != "" { // shows what the cases compare
				for ci, pc := range cases {
					t.Logf("=== %s\n%s", pc.name, outcomes[0][ci])
				}
			}
			if t.Failed() {
				return
			}
			for ci, pc := range cases {
				want := outcomes[0][ci]
				for pi := 1; pi < len(protocols); pi++ {
					if got := outcomes[pi][ci]; got != want {
						t.Errorf("case %q differs between protocols:\n%s:\n%s\n%s:\n%s", pc.name, protocols[0].Name, want, protocols[pi].Name, got)
					}
				}
			}
		})
	}
}

func subtestName(p servertest.Protocol) string { return strings.ReplaceAll(p.Name, "/", "_") }

// startParityServer starts a server for one protocol (ownServer) or for all:
// a server of one protocol has a small pool and gives up waiting for it soon,
// for the cases that exhaust it; a shared one waits long enough for the calls
// of every protocol at once.
func startParityServer(t *testing.T, eng storetest.Engine, opts parityOptions, tls bool) *servertest.Server {
	cfg := store.Config{MaxConns: 4, AcquireTimeout: 2 * time.Second}
	if !opts.ownServer {
		cfg = store.Config{MaxConns: 6, AcquireTimeout: 20 * time.Second}
	}
	return servertest.Start(t, eng, servertest.Options{Store: cfg, Engine: opts.engine, TLS: tls})
}

// newEnv prepares the tenant of protocol i: the default tenant on a server of
// its own, a new tenant on a shared server. Either way it has a token of
// every role.
func newEnv(t *testing.T, srv *servertest.Server, p servertest.Protocol, i int, ownServer bool) *env {
	c := context.Background()
	setup := grpcProtocol()
	if p.TLS {
		i := slices.IndexFunc(servertest.ProtocolsTLS(servertest.TestCA().Pool), func(p servertest.Protocol) bool { return p.Name == "grpc/h2+tls" })
		setup = servertest.ProtocolsTLS(servertest.TestCA().Pool)[i]
	}
	op := newAPI(srv.URL, setup)
	tenant := store.DefaultTenant
	if !ownServer {
		tenant = fmt.Sprintf("pt%02d", i)
		if _, err := op.admin.CreateTenant(c, connect.NewRequest(&switchyardv1.CreateTenantRequest{Id: tenant})); err != nil {
			t.Fatal(err)
		}
	}
	tokens := map[string]string{}
	for _, role := range auth.Roles {
		if role == auth.RoleAdmin && ownServer {
			tokens[role] = servertest.AdminToken
			continue
		}
		tokens[role] = createToken(t, op, tenant, roleOf[role])
	}
	operator := client{proto: p, url: srv.URL, token: servertest.AdminToken}
	e := &env{
		t: t, srv: srv, c: operator.withToken(tokens[auth.RoleAdmin]), operator: operator,
		tenant: tenant, tokens: tokens, ids: map[string]string{}, norm: &normaliser{ids: map[string]string{}},
		tables: tenantTables(t, srv.Store), setup: setup,
	}
	if !ownServer {
		e.norm.tenant = tenant
	}
	return e
}

// runCase runs one case and returns its outcome followed by the tenant's
// stored rows.
func (e *env) runCase(pc parityCase) string {
	md, ok := apiMethodsOnce()[pc.rpc]
	if !ok {
		e.t.Fatalf("case %q: %s is not an RPC of the API", pc.name, pc.rpc)
	}
	if md.IsStreamingServer() && e.c.proto.REST {
		// A server stream has no google.api.http rule, so the transcoder has
		// no route for it. A REST caller streams over Connect with JSON on the
		// same HTTP version, as here, so that the cases after this one find
		// the state it leaves.
		if rule, _, _ := restRule(md); rule != nil {
			e.t.Errorf("%s is a stream with a REST route %v", pc.rpc, rule)
		}
		streaming := *e
		streaming.c.proto = servertest.Protocol{Name: e.c.proto.Name + " streaming over connect-json", HTTP: e.c.proto.HTTP, Options: []connect.ClientOption{connect.WithProtoJSON()}}
		return pc.run(&streaming) + "\nstored:\n" + e.stored()
	}
	return pc.run(e) + "\nstored:\n" + e.stored()
}

var apiMethodsOnce = sync.OnceValue(apiMethods)

// call makes one unary call of procedure over the client's protocol: with a
// Connect client, or on REST on the RPC's google.api.http route, with the
// request's fields in the path and in the query string or the body.
func call[Req, Res any, PReq interface {
	*Req
	proto.Message
}, PRes interface {
	*Res
	proto.Message
}](ctx context.Context, c client, procedure string, req *Req) (*Res, error) {
	if !c.proto.REST {
		return unary[Req, Res](ctx, c, procedure, req)
	}
	method, path, body, err := restRequest(procedure, PReq(req).ProtoReflect())
	if err != nil {
		return nil, err
	}
	return restDo[Res, PRes](ctx, c, method, path, body)
}

// rpcOf is one unary RPC of the API with its request and response types.
type rpcOf[Req, Res any, PReq interface {
	*Req
	proto.Message
}, PRes interface {
	*Res
	proto.Message
}] struct {
	procedure string
}

// unaryOf returns the unary RPC procedure, whose request is Req and whose
// response is Res.
func unaryOf[Req, Res any, PReq interface {
	*Req
	proto.Message
}, PRes interface {
	*Res
	proto.Message
}](procedure string) rpcOf[Req, Res, PReq, PRes] {
	return rpcOf[Req, Res, PReq, PRes]{procedure: procedure}
}

// do calls the RPC with c (see [call]).
func (r rpcOf[Req, Res, PReq, PRes]) do(e *env, c client, req *Req) (*Res, error) {
	return call[Req, Res, PReq, PRes](ctx(e), c, r.procedure, req)
}

// listPages calls a list RPC page after page (at most four), following
// next_page_token, and returns each page's outcome. names names a page's
// items; the names of every page, joined by spaces, must be want.
func listPages[Res interface {
	proto.Message
	GetNextPageToken() string
}](e *env, list func(token string) (Res, error), names func(Res) []string, want string) string {
	e.t.Helper()
	var out, got []string
	token := ""
	for range 4 {
		res, err := list(token)
		out = append(out, e.expect(0, res, err))
		if err != nil {
			break
		}
		got = append(got, names(res)...)
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if strings.Join(got, " ") != want {
		e.t.Errorf("%s: listed %q, want %q", e.c.proto.Name, strings.Join(got, " "), want)
	}
	return strings.Join(out, "\n")
}

// operatorCaller names an admin of the default tenant as the caller of a case
// built by [rpcOf.refused] or [rpcOf.invalid]; the other callers are roles.
const operatorCaller = "operator"

// caller returns the client calling as who: a role in the tenant, or
// operatorCaller.
func (e *env) caller(who string) client {
	if who == operatorCaller {
		return e.operator
	}
	return e.as(who)
}

// refused is a case of one call by who that must fail with code and change
// nothing.
func (r rpcOf[Req, Res, PReq, PRes]) refused(name, who string, code connect.Code, req func(e *env) *Req) parityCase {
	return parityCase{name, r.procedure, func(e *env) string {
		res, err := r.do(e, e.caller(who), req(e))
		return e.expect(code, PRes(res), err)
	}}
}

// invalid is a case of one call by who that must fail with invalid_argument
// naming field among its violations.
func (r rpcOf[Req, Res, PReq, PRes]) invalid(name, who, field string, req func(e *env) *Req) parityCase {
	return parityCase{name, r.procedure, func(e *env) string {
		_, err := r.do(e, e.caller(who), req(e))
		return e.expectViolation(field, err)
	}}
}

// restRequest maps a request onto the REST route of procedure.
func restRequest(procedure string, m protoreflect.Message) (method, path string, body []byte, err error) {
	md, ok := apiMethodsOnce()[procedure]
	if !ok {
		return "", "", nil, fmt.Errorf("no RPC %s", procedure)
	}
	rule, method, template := restRule(md)
	if rule == nil {
		return "", "", nil, fmt.Errorf("%s has no REST route", procedure)
	}
	fields := m.Descriptor().Fields()
	inPath := map[protoreflect.Name]bool{}
	path = fillPath(template, func(v string) string {
		inPath[protoreflect.Name(v)] = true
		return url.PathEscape(m.Get(fields.ByName(protoreflect.Name(v))).String())
	})
	if rule.GetBody() == "*" {
		body, err = protojson.Marshal(m.Interface())
		return method, path, body, err
	}
	q := url.Values{}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if !inPath[fd.Name()] {
			var s string
			s, err = queryValue(fd, v)
			q.Set(string(fd.Name()), s)
		}
		return err == nil
	})
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return method, path, nil, err
}

// queryValue renders a field of a GET or DELETE request as the query string
// carries it.
func queryValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) (string, error) {
	switch {
	case fd.IsList() || fd.IsMap():
		return "", fmt.Errorf("field %s: lists and maps are not sent in a query string here", fd.Name())
	case fd.Kind() == protoreflect.EnumKind:
		return string(fd.Enum().Values().ByNumber(v.Enum()).Name()), nil
	case fd.Kind() == protoreflect.MessageKind:
		ts, ok := v.Message().Interface().(*timestamppb.Timestamp)
		if !ok {
			return "", fmt.Errorf("field %s: only timestamps among messages are sent in a query string here", fd.Name())
		}
		return ts.AsTime().Format(time.RFC3339Nano), nil
	}
	return v.String(), nil
}

// stream opens a server stream of procedure and returns its messages until it
// ends or until done says the last one received is enough (then it closes
// the stream), with the stream's error.
func stream[Req, Res any](ctx context.Context, c client, procedure string, req *Req, done func(*Res) bool) ([]*Res, error) {
	cl := connect.NewClient[Req, Res](c.proto.HTTP, c.url+procedure, c.options()...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := cl.CallServerStream(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var out []*Res
	for st.Receive() {
		out = append(out, st.Msg())
		if done(st.Msg()) {
			return out, nil
		}
	}
	return out, st.Err()
}

// normaliser replaces what necessarily differs between protocols in a text:
// each id by a placeholder numbered in the order the ids first appear (the
// same order on every protocol, as the cases run in the same order), and the
// protocol's tenant by "<tenant>".
type normaliser struct {
	tenant string // "" when every protocol has the same tenant
	mu     sync.Mutex
	ids    map[string]string
}

func (n *normaliser) text(s string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	s = uuidPattern.ReplaceAllStringFunc(s, func(id string) string {
		p, ok := n.ids[id]
		if !ok {
			p = fmt.Sprintf("<id%d>", len(n.ids)+1)
			n.ids[id] = p
		}
		return p
	})
	if n.tenant != "" {
		s = strings.ReplaceAll(s, n.tenant, "<tenant>")
	}
	return s
}

// describe renders an outcome without what legitimately differs between
// protocols (see [normaliser] and [scrub]) and without protocol-specific error
// wording: the code, the violated fields and the error's facts must match.
func (e *env) describe(res proto.Message, err error) string {
	if err != nil {
		var info []string
		var ce *connect.Error
		if errors.As(err, &ce) {
			for _, d := range ce.Details() {
				if v, derr := d.Value(); derr == nil {
					if ei, ok := v.(*errdetails.ErrorInfo); ok {
						info = append(info, ei.GetReason(), fmt.Sprint(len(ei.GetMetadata())))
					}
				}
			}
		}
		return fmt.Sprintf("error %s %v %v", connect.CodeOf(err), violationFields(err), info)
	}
	if res == nil {
		return "ok"
	}
	m := proto.Clone(res)
	scrub(m.ProtoReflect())
	return e.norm.text(prototext.Format(m))
}

// volatileFields are answer fields whose values differ on every call: secrets
// and page tokens (which carry ids and times), stream ids, trace contexts, and
// a token's last use (written in the background).
var volatileFields = map[protoreflect.Name]bool{
	"secret": true, "next_page_token": true, "stream_id": true, "traceparent": true, "last_used_at": true,
}

// scrub replaces every set timestamp by the zero time and every set volatile
// field by its name, in m and every message inside it.
func scrub(m protoreflect.Message) {
	var fds []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fds = append(fds, fd)
		return true
	})
	for _, fd := range fds {
		v := m.Get(fd)
		switch {
		case volatileFields[fd.Name()] && fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString("<"+string(fd.Name())+">"))
		case volatileFields[fd.Name()]:
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				scrub(v.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				scrub(mv.Message())
				return true
			})
		case fd.IsMap() || fd.IsList() || fd.Message() == nil:
		case fd.Message().FullName() == "google.protobuf.Timestamp":
			m.Set(fd, protoreflect.ValueOfMessage((&timestamppb.Timestamp{}).ProtoReflect()))
		default:
			scrub(v.Message())
		}
	}
}

// table is a table that holds tenants' rows, with its columns.
type table struct {
	name    string
	columns []string
}

// tenantTables lists every table with a tenant_id column, by name, with its
// columns in their order.
func tenantTables(t *testing.T, st *store.Store) []table {
	c := context.Background()
	tablesQ := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	columnsQ := "SELECT name FROM pragma_table_info(?) ORDER BY cid"
	if st.Postgres() {
		tablesQ = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
		columnsQ = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
	}
	var names []string
	if err := st.DB().NewRaw(tablesQ).Scan(c, &names); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var out []table
	for _, name := range names {
		var cols []string
		if err := st.DB().NewRaw(columnsQ, name).Scan(c, &cols); err != nil {
			t.Fatalf("columns of %s: %v", name, err)
		}
		if slices.Contains(cols, "tenant_id") {
			out = append(out, table{name: name, columns: cols})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d tables with tenants' rows: %v", len(out), out)
	}
	return out
}

// Stored columns that differ between protocols: secrets (random or sealed
// with a random nonce) and stream and trace ids are shown as set or not;
// volatile ones (written in the background, or derived from a time) not at
// all. Times (columns ending in _at, cron ticks, wait deadlines and lookback
// starts) are shown as set or not.
var (
	opaqueColumns   = map[string]bool{"token_hash": true, "secret": true, "stream_id": true, "trace_parent": true, "cron_tick": true, "deadline": true, "lookback_from": true}
	volatileColumns = map[string]bool{"last_used_at": true, "queue_rank": true}
)

// stored renders every row of the tenant (and of the tenants named after it),
// each table's rows in the order of their columns, normalised.
func (e *env) stored() string {
	c := context.Background()
	var b strings.Builder
	for _, tb := range e.tables {
		order := make([]string, len(tb.columns))
		for i := range order {
			order[i] = fmt.Sprint(i + 1)
		}
		rows, err := e.srv.Store.DB().QueryContext(c, fmt.Sprintf("SELECT * FROM %s WHERE tenant_id = ? OR tenant_id LIKE ? ORDER BY %s", tb.name, strings.Join(order, ", ")), e.tenant, e.tenant+"-%")
		if err != nil {
			e.t.Fatalf("read %s: %v", tb.name, err)
		}
		vals := make([]any, len(tb.columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatalf("read %s: %v", tb.name, err)
			}
			b.WriteString(tb.name + ":")
			for i, col := range tb.columns {
				b.WriteString(" " + col + "=" + e.cell(col, vals[i]))
			}
			b.WriteString("\n")
		}
		if err := rows.Err(); err != nil {
			e.t.Fatalf("read %s: %v", tb.name, err)
		}
		_ = rows.Close()
	}
	return b.String()
}

// cell renders one stored value (see opaqueColumns and volatileColumns).
func (e *env) cell(col string, v any) string {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	set := v != nil && v != "" && v != int64(0)
	switch {
	case volatileColumns[col]:
		return "<volatile>"
	case opaqueColumns[col] || strings.HasSuffix(col, "_at"):
		if set {
			return "<set>"
		}
		return "<unset>"
	}
	return e.norm.text(fmt.Sprintf("%q", fmt.Sprint(v)))
}

func ctx(e *env) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return c
}

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func mustOK(e *env, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Errorf("%s: unexpected error: %v", e.c.proto.Name, err)
	}
}

func wantCode(e *env, err error, want connect.Code) {
	e.t.Helper()
	if got := connect.CodeOf(err); err == nil || got != want {
		e.t.Errorf("%s: got %v (code %s), want code %s", e.c.proto.Name, err, got, want)
	}
}

// expect asserts that a call failed with want (or succeeded, for want 0)
// and returns its outcome.
func (e *env) expect(want connect.Code, res proto.Message, err error) string {
	e.t.Helper()
	if want == 0 {
		mustOK(e, err)
	} else {
		wantCode(e, err, want)
	}
	return e.describe(res, err)
}

// expectViolation asserts that a call failed with invalid_argument naming
// field among its violations, and returns its outcome.
func (e *env) expectViolation(field string, err error) string {
	e.t.Helper()
	wantCode(e, err, connect.CodeInvalidArgument)
	if fields := violationFields(err); !slices.Contains(fields, field) {
		e.t.Errorf("%s: violations %v do not name %s", e.c.proto.Name, fields, field)
	}
	return e.describe(nil, err)
}

func errMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// violationFields returns the field paths of an error's protovalidate details.
func violationFields(err error) []string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []string
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			continue
		}
		if vs, ok := v.(*validate.Violations); ok {
			for _, viol := range vs.GetViolations() {
				var parts []string
				for _, el := range viol.GetField().GetElements() {
					p := el.GetFieldName()
					if idx, ok := el.GetSubscript().(*validate.FieldPathElement_Index); ok {
						p += fmt.Sprintf("[%d]", idx.Index)
					}
					parts = append(parts, p)
				}
				out = append(out, strings.Join(parts, "."))
			}
		}
	}
	return out
}

// ghostID is a well-formed id that names nothing.
const ghostID = "01890000-0000-7000-8000-000000000000"

// parityTables are the parity cases of every service.
func parityTables() map[string][]parityCase {
	return map[string][]parityCase{
		"EventService": parityCases, "WorkflowService": workflowCases, "RunService": runCases,
		"WorkerService": workerCases, "WebhookService": webhookCases, "AdminService": adminCases,
		"RateLimitService": rateLimitCases, "DurableService": durableCases,
	}
}

// TestParityCoversEveryRPC keeps the parity tables complete: every RPC of
// the API is the RPC under test of at least two cases of its service's
// table (a success and a refusal).
func TestParityCoversEveryRPC(t *testing.T) {
	t.Parallel()
	cases := map[string]int{}
	for service, table := range parityTables() {
		for _, pc := range table {
			if !strings.HasPrefix(pc.rpc, "/switchyard.v1."+service+"/") {
				t.Errorf("%s case %q tests %s, of another service", service, pc.name, pc.rpc)
			}
			cases[pc.rpc]++
		}
	}
	for name := range apiMethodsOnce() {
		if cases[name] < 2 {
			t.Errorf("%s has %d parity cases, want at least a success and a refusal", name, cases[name])
		}
	}
}
