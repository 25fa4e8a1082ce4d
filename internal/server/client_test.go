package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/server/servertest"
)

// client calls the EventService over one protocol. Connect protocols use a
// connect-go client; REST uses plain net/http with JSON, as curl would.
type client struct {
	proto servertest.Protocol
	url   string
	token string
}

func (c client) withToken(token string) client {
	c.token = token
	return c
}

func (c client) options(extra ...connect.ClientOption) []connect.ClientOption {
	return append(append([]connect.ClientOption{}, c.proto.Options...),
		append([]connect.ClientOption{connect.WithInterceptors(servertest.BearerInterceptor(c.token))}, extra...)...)
}

func (c client) push(ctx context.Context, req *switchyardv1.PushEventRequest) (*switchyardv1.PushEventResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.PushEventResponse](ctx, c, http.MethodPost, "/v1/events", req)
	}
	return unary[switchyardv1.PushEventRequest, switchyardv1.PushEventResponse](ctx, c, switchyardv1connect.EventServicePushEventProcedure, req)
}

func (c client) bulk(ctx context.Context, req *switchyardv1.BulkPushEventsRequest) (*switchyardv1.BulkPushEventsResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.BulkPushEventsResponse](ctx, c, http.MethodPost, "/v1/events:bulk", req)
	}
	return unary[switchyardv1.BulkPushEventsRequest, switchyardv1.BulkPushEventsResponse](ctx, c, switchyardv1connect.EventServiceBulkPushEventsProcedure, req)
}

func (c client) get(ctx context.Context, id string) (*switchyardv1.GetEventResponse, error) {
	if c.proto.REST {
		return restCall[switchyardv1.GetEventResponse](ctx, c, http.MethodGet, "/v1/events/"+url.PathEscape(id), nil)
	}
	return unary[switchyardv1.GetEventRequest, switchyardv1.GetEventResponse](ctx, c, switchyardv1connect.EventServiceGetEventProcedure, &switchyardv1.GetEventRequest{Id: id})
}

func (c client) list(ctx context.Context, req *switchyardv1.ListEventsRequest) (*switchyardv1.ListEventsResponse, error) {
	if c.proto.REST {
		q := url.Values{}
		set := func(k, v string) {
			if v != "" {
				q.Set(k, v)
			}
		}
		set("key", req.GetKey())
		set("scope", req.GetScope())
		set("page_token", req.GetPageToken())
		if req.GetPageSize() != 0 {
			set("page_size", fmt.Sprint(req.GetPageSize()))
		}
		if req.CreatedAfter != nil {
			set("created_after", req.GetCreatedAfter().AsTime().Format("2006-01-02T15:04:05.999999999Z"))
		}
		return restCall[switchyardv1.ListEventsResponse](ctx, c, http.MethodGet, "/v1/events?"+q.Encode(), nil)
	}
	return unary[switchyardv1.ListEventsRequest, switchyardv1.ListEventsResponse](ctx, c, switchyardv1connect.EventServiceListEventsProcedure, req)
}

// pushRaw sends body as the PushEvent request exactly as given: for malformed and
// mistyped messages no real client would send. body is JSON for JSON protocols
// and binary protobuf for the others.
func (c client) pushRaw(ctx context.Context, body []byte) error {
	return c.rawCall(ctx, switchyardv1connect.EventServicePushEventProcedure, "/v1/events", body)
}

// rawCall sends body exactly as given to procedure, or with POST to restPath
// on REST.
func (c client) rawCall(ctx context.Context, procedure, restPath string, body []byte) error {
	if c.proto.REST {
		_, err := restDo[emptypb.Empty](ctx, c, http.MethodPost, restPath, body)
		return err
	}
	codec := &rawCodec{name: "proto", body: body}
	if isJSON(c.proto) {
		codec.name = "json"
	}
	cl := connect.NewClient[rawMessage, emptypb.Empty](c.proto.HTTP, c.url+procedure, c.options(connect.WithCodec(codec))...)
	_, err := cl.CallUnary(ctx, connect.NewRequest(&rawMessage{}))
	return err
}

func isJSON(p servertest.Protocol) bool {
	return p.REST || strings.HasPrefix(p.Name, "connect-json")
}

func unary[Req, Res any](ctx context.Context, c client, procedure string, req *Req) (*Res, error) {
	cl := connect.NewClient[Req, Res](c.proto.HTTP, c.url+procedure, c.options()...)
	res, err := cl.CallUnary(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func restCall[Res any, PRes interface {
	*Res
	proto.Message
}](ctx context.Context, c client, method, path string, req proto.Message) (*Res, error) {
	var body []byte
	if req != nil {
		var err error
		if body, err = protojson.Marshal(req); err != nil {
			return nil, err
		}
	}
	return restDo[Res, PRes](ctx, c, method, path, body)
}

// restDo makes a REST call and decodes its JSON answer, or its google.rpc.Status
// error body into a *connect.Error.
func restDo[Res any, PRes interface {
	*Res
	proto.Message
}](ctx context.Context, c client, method, path string, body []byte) (*Res, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if dl, ok := ctx.Deadline(); ok {
		hreq.Header.Set("X-Server-Timeout", fmt.Sprintf("%.3f", max(0.001, dl.Sub(timeNow()).Seconds())))
	}
	hres, err := c.proto.HTTP.Do(hreq)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
		}
		if ctx.Err() != nil {
			return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
		}
		return nil, fmt.Errorf("%w: %w", servertest.ErrNoCode, err)
	}
	defer hres.Body.Close()
	data, err := io.ReadAll(hres.Body)
	if err != nil {
		return nil, err
	}
	if hres.StatusCode != http.StatusOK {
		st := &status.Status{}
		if err := protojson.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("HTTP %d with a body that is not a google.rpc.Status: %q", hres.StatusCode, data)
		}
		ce := connect.NewError(connect.Code(st.GetCode()), errors.New(st.GetMessage()))
		for _, d := range st.GetDetails() {
			if detail, err := connect.NewErrorDetail(d); err == nil {
				ce.AddDetail(detail)
			}
		}
		if want := restStatus[ce.Code()]; want != 0 && want != hres.StatusCode {
			return nil, fmt.Errorf("code %s came with HTTP %d, want %d", ce.Code(), hres.StatusCode, want)
		}
		return nil, ce
	}
	res := PRes(new(Res))
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, res); err != nil {
		return nil, fmt.Errorf("decode %q: %w", data, err)
	}
	return (*Res)(res), nil
}

// restStatus is the HTTP status each code must come with on REST routes.
var restStatus = map[connect.Code]int{
	connect.CodeInvalidArgument:   http.StatusBadRequest,
	connect.CodeNotFound:          http.StatusNotFound,
	connect.CodeAlreadyExists:     http.StatusConflict,
	connect.CodeUnauthenticated:   http.StatusUnauthorized,
	connect.CodeResourceExhausted: http.StatusTooManyRequests,
	connect.CodeUnavailable:       http.StatusServiceUnavailable,
	connect.CodeDeadlineExceeded:  http.StatusGatewayTimeout,
}

// rawMessage and rawCodec let a connect client send bytes no encoder would make.
type rawMessage struct{}

type rawCodec struct {
	name string
	body []byte
}

func (c *rawCodec) Name() string { return c.name }

func (c *rawCodec) Marshal(any) ([]byte, error) { return c.body, nil }

func (c *rawCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot decode into %T", msg)
	}
	if c.name == "json" {
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
	}
	return proto.Unmarshal(data, m)
}
