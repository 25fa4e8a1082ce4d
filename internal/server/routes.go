package server

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Requests that reach no RPC are answered in the shape their caller reads:
// an unknown procedure as a Connect or gRPC error (not a plain-text page), a
// request whose Content-Type no protocol takes with HTTP 415 and a body that
// says what to send, and on the REST routes an unknown path with 404 and a
// known path with the wrong method with 405 and Allow.

// rpcContentTypes are the media types of the RPC protocols (Connect unary and
// streaming, gRPC, gRPC-Web), in every codec the server has.
var rpcContentTypes = map[string]bool{
	"application/json": true, "application/proto": true,
	"application/connect+json": true, "application/connect+proto": true,
	"application/grpc": true, "application/grpc+proto": true, "application/grpc+json": true,
	"application/grpc-web": true, "application/grpc-web+proto": true, "application/grpc-web+json": true,
}

// procedures are the paths of the RPCs of the named services.
type procedures map[string]protoreflect.ServiceDescriptor

// newProcedures indexes the methods of the services, by their full names.
func newProcedures(services []string) procedures {
	p := procedures{}
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			continue
		}
		sd := d.(protoreflect.ServiceDescriptor)
		for i := range sd.Methods().Len() {
			p["/"+name+"/"+string(sd.Methods().Get(i).Name())] = sd
		}
	}
	return p
}

// rpcRoutes answers POST requests for RPCs of the API that do not exist, or
// in a Content-Type no protocol takes, and passes everything else to next:
// also the calls of the other services mux serves (health, reflection).
func rpcRoutes(procs procedures, mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		_, known := procs[r.URL.Path]
		switch {
		case known && !rpcContentTypes[media]:
			unsupportedMedia(w, r.Header.Get("Content-Type"))
		case !known && rpcContentTypes[media] && isProcedurePath(r.URL.Path) && !procs.otherService(mux, r):
			unknownProcedure(w, r.URL.Path, media, procs)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// otherService reports whether mux routes r to a service that is not one of
// the API's, which answers for its own procedures.
func (p procedures) otherService(mux *http.ServeMux, r *http.Request) bool {
	_, pattern := mux.Handler(r)
	if pattern == "" || pattern == "/" {
		return false
	}
	for path := range p {
		if strings.HasPrefix(path, pattern) {
			return false
		}
	}
	return true
}

// isProcedurePath reports whether path has the shape /package.Service/Method.
func isProcedurePath(path string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ok && strings.Contains(service, ".") && method != "" && !strings.Contains(method, "/")
}

// unsupportedMedia answers a call whose Content-Type no protocol takes.
func unsupportedMedia(w http.ResponseWriter, contentType string) {
	msg := fmt.Sprintf("Content-Type %q is not one the API takes: send application/json with a JSON body "+
		"(Connect; curl: -H 'Content-Type: application/json'), application/proto with a binary body, "+
		"or application/grpc / application/grpc-web from a gRPC client", contentType)
	w.Header().Set("Accept-Post", "application/json, application/proto, application/grpc, application/grpc-web")
	writeJSONError(w, http.StatusUnsupportedMediaType, map[string]any{"code": connect.CodeInvalidArgument.String(), "message": msg})
}

// unknownProcedure answers a call of an RPC that does not exist: a gRPC or
// gRPC-Web error in headers for those protocols, else a Connect error.
func unknownProcedure(w http.ResponseWriter, path, media string, procs procedures) {
	msg := "unknown procedure " + path
	if s := closestProcedure(path, procs); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	if strings.HasPrefix(media, "application/grpc") {
		base, _, _ := strings.Cut(media, "+")
		w.Header().Set("Content-Type", base)
		w.Header().Set("Grpc-Status", fmt.Sprint(int(connect.CodeUnimplemented)))
		w.Header().Set("Grpc-Message", url.PathEscape(msg))
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSONError(w, http.StatusNotFound, map[string]any{"code": connect.CodeUnimplemented.String(), "message": msg})
}

// closestProcedure returns the procedure closest to path, if one is close.
func closestProcedure(path string, procs procedures) string {
	best, bestDist := "", len(path)/4+1
	for p := range procs {
		if d := editDistance(strings.ToLower(path), strings.ToLower(p)); d < bestDist {
			best, bestDist = p, d
		}
	}
	return best
}

func writeJSONError(w http.ResponseWriter, status int, body map[string]any) {
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// restParams are the fields a REST path or query string may set, by the proto
// path Vanguard names them by, for wording its errors as the JSON checks do.
// A path that means different fields in different requests is left out.
type restParams map[string]protoreflect.FieldDescriptor

func newRESTParams(procs procedures) restParams {
	p := restParams{}
	ambiguous := map[string]bool{}
	var add func(prefix string, md protoreflect.MessageDescriptor, depth int)
	add = func(prefix string, md protoreflect.MessageDescriptor, depth int) {
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			name := join(prefix, string(fd.Name()))
			if fd.Kind() == protoreflect.MessageKind {
				if depth < 3 && !fd.IsMap() && md.FullName().Parent() != "google.protobuf" {
					add(name, fd.Message(), depth+1)
				}
				continue
			}
			if old, ok := p[name]; ok && (old.Kind() != fd.Kind() || old.Enum() != fd.Enum()) {
				ambiguous[name] = true
			}
			p[name] = fd
		}
	}
	for path, sd := range procs {
		md := sd.Methods().ByName(protoreflect.Name(path[strings.LastIndex(path, "/")+1:]))
		add("", md.Input(), 0)
	}
	for name := range ambiguous {
		delete(p, name)
	}
	return p
}

// Vanguard's errors for a path or query value it could not read, and for a
// query parameter that names no field.
var (
	vanguardParam   = regexp.MustCompile(`^invalid parameter "([^"]+)"`)
	vanguardUnknown = regexp.MustCompile(`^unknown field in field path "([^"]+)": element "([^"]+)" does not correspond to any field of type ([\w.]+)$`)
)

// reword returns the message for Vanguard's message msg about the path or
// query string of the request r, as the JSON checks word the same mistake;
// msg when it cannot.
func (p restParams) reword(msg string, r *http.Request) string {
	if m := vanguardUnknown.FindStringSubmatch(msg); m != nil {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(m[3]))
		if md, ok := d.(protoreflect.MessageDescriptor); ok && err == nil {
			return unmarshalPrefix + restExcerpt(unknownField(m[1], m[2], md))
		}
		return msg
	}
	m := vanguardParam.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	fd := p[m[1]]
	if fd == nil {
		return msg
	}
	q := r.URL.Query()
	values := q[m[1]]
	if jsonName := lowerCamel(m[1]); len(values) == 0 {
		values = q[jsonName]
	}
	for _, v := range values {
		if problem := scalarProblem(m[1], v, fd); problem != "" {
			return unmarshalPrefix + restExcerpt(problem)
		}
	}
	return msg
}

// lowerCamel is the JSON name protoc gives the field path name.
func lowerCamel(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		switch {
		case r == '_':
			upper = true
		case upper && r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			upper = false
		default:
			b.WriteRune(r)
			upper = false
		}
	}
	return b.String()
}
