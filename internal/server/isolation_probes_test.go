package server_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
)

// target names one object of each kind: another tenant's real ones, or ghosts
// that exist nowhere. An idProbe asks about a target; the answers about the two
// must not differ.
type target struct {
	tenant    string
	event     string
	run       string // a run that has not ended (its task is running)
	endedRun  string
	workflow  string
	worker    string
	task      string // the running task of run, attempt 1, held by worker
	webhook   string
	token     string
	ownWorker string // a worker of the caller's own tenant: the same in both targets
}

// ghostTarget returns a target of objects that do not exist, with ownWorker
// as the caller's own worker.
func ghostTarget(ownWorker string) target {
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	suffix := strings.ReplaceAll(id()[24:], "-", "")
	return target{
		tenant: "ghost-" + suffix, event: id(), run: id(), endedRun: id(), workflow: "ghost-flow-" + suffix,
		worker: id(), task: id(), webhook: id(), token: id(), ownWorker: ownWorker,
	}
}

// names returns the target's own names with the placeholders that stand for
// them in a normalised answer, longest first so that no name is replaced
// inside another.
func (x target) names() [][2]string {
	out := [][2]string{
		{x.tenant, "<tenant>"}, {x.event, "<event>"}, {x.run, "<run>"}, {x.endedRun, "<ended-run>"},
		{x.workflow, "<workflow>"}, {x.worker, "<worker>"}, {x.task, "<task>"}, {x.webhook, "<webhook>"}, {x.token, "<token>"},
	}
	out = slices.DeleteFunc(out, func(n [2]string) bool { return n[0] == "" })
	slices.SortStableFunc(out, func(a, b [2]string) int { return cmp.Compare(len(b[0]), len(a[0])) })
	return out
}

// answer is what a call returned, with the target's names replaced by
// placeholders: two answers are equal when a caller cannot tell them apart.
type answer struct {
	code    connect.Code // 0 for success
	message string
	details string
}

func (a answer) String() string {
	if a.code == 0 {
		return "success"
	}
	return fmt.Sprintf("%s: %q %s", a.code, a.message, a.details)
}

func answerOf(err error, x target) answer {
	if err == nil {
		return answer{}
	}
	norm := func(s string) string {
		for _, n := range x.names() {
			s = strings.ReplaceAll(s, n[0], n[1])
		}
		return s
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return answer{code: connect.CodeUnknown, message: norm(err.Error())}
	}
	var details []string
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			details = append(details, d.Type()+": undecodable")
			continue
		}
		js, _ := protojson.Marshal(v)
		details = append(details, d.Type()+": "+string(js))
	}
	return answer{code: ce.Code(), message: norm(ce.Message()), details: norm(strings.Join(details, "; "))}
}

// retryUnavailable makes call again, as a client should, while the server
// answers unavailable (an overloaded pool on a loaded test machine).
func retryUnavailable(call func() error) error {
	for range 10 {
		err := call()
		if connect.CodeOf(err) != connect.CodeUnavailable {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return call()
}

// idProbe is one RPC asked about a target's object over any protocol.
type idProbe struct {
	name      string
	procedure string
	streaming bool // no REST route: not probed over REST
	// allowed is the code a role the role table lets in gets, the same for a
	// real object of another tenant as for a ghost.
	allowed connect.Code
	call    func(ctx context.Context, c client, x target) error
}

// unaryProbe asks with the request req builds, or over REST with method on
// the path path builds (with the request as the body of a POST, PUT or PATCH).
func unaryProbe[Req, Res any, PRes interface {
	*Res
	proto.Message
}](name, procedure string, req func(x target) *Req, method string, path func(x target) string) idProbe {
	call := func(ctx context.Context, c client, x target) error {
		r := req(x)
		if c.proto.REST {
			var body proto.Message
			if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
				body = any(r).(proto.Message)
			}
			_, err := restCall[Res, PRes](ctx, c, method, path(x), body)
			return err
		}
		_, err := unary[Req, Res](ctx, c, procedure, r)
		return err
	}
	return idProbe{name: name, procedure: procedure, allowed: connect.CodeNotFound, call: func(ctx context.Context, c client, x target) error {
		return retryUnavailable(func() error { return call(ctx, c, x) })
	}}
}

// streamProbe opens a server stream: its first message (or its end) is the
// answer.
func streamProbe[Req, Res any](name, procedure string, req func(x target) *Req) idProbe {
	call := func(ctx context.Context, c client, x target) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cl := connect.NewClient[Req, Res](c.proto.HTTP, c.url+procedure, c.options()...)
		stream, err := cl.CallServerStream(ctx, connect.NewRequest(req(x)))
		if err != nil {
			return err
		}
		defer stream.Close()
		if stream.Receive() {
			return nil
		}
		return stream.Err()
	}
	return idProbe{name: name, procedure: procedure, streaming: true, allowed: connect.CodeNotFound, call: func(ctx context.Context, c client, x target) error {
		return retryUnavailable(func() error { return call(ctx, c, x) })
	}}
}

func esc(s string) string { return url.PathEscape(s) }

// isolationProbes lists every RPC that names an object by id or name (a
// tenant included), each asked about the target's object.
func isolationProbes() []idProbe {
	settings := &switchyardv1.WebhookSettings{Name: "taken", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"taken"`}
	createTenant := unaryProbe[switchyardv1.CreateTenantRequest, switchyardv1.CreateTenantResponse]("CreateTenant", switchyardv1connect.AdminServiceCreateTenantProcedure,
		func(x target) *switchyardv1.CreateTenantRequest {
			return &switchyardv1.CreateTenantRequest{Id: x.tenant}
		},
		http.MethodPost, func(target) string { return "/v1/tenants" })
	updateTenant := unaryProbe[switchyardv1.UpdateTenantRequest, switchyardv1.UpdateTenantResponse]("UpdateTenant", switchyardv1connect.AdminServiceUpdateTenantProcedure,
		func(x target) *switchyardv1.UpdateTenantRequest {
			return &switchyardv1.UpdateTenantRequest{Id: x.tenant, Name: proto.String("intruder")}
		},
		http.MethodPatch, func(x target) string { return "/v1/tenants/" + esc(x.tenant) })
	// Only operators create and update tenants; another tenant's admin is
	// refused before the id is looked at.
	createTenant.allowed = connect.CodePermissionDenied
	updateTenant.allowed = connect.CodePermissionDenied
	return []idProbe{
		unaryProbe[switchyardv1.GetEventRequest, switchyardv1.GetEventResponse]("GetEvent", switchyardv1connect.EventServiceGetEventProcedure,
			func(x target) *switchyardv1.GetEventRequest { return &switchyardv1.GetEventRequest{Id: x.event} },
			http.MethodGet, func(x target) string { return "/v1/events/" + esc(x.event) }),
		unaryProbe[switchyardv1.ReplayEventRequest, switchyardv1.ReplayEventResponse]("ReplayEvent", switchyardv1connect.EventServiceReplayEventProcedure,
			func(x target) *switchyardv1.ReplayEventRequest { return &switchyardv1.ReplayEventRequest{Id: x.event} },
			http.MethodPost, func(x target) string { return "/v1/events/" + esc(x.event) + ":replay" }),

		unaryProbe[switchyardv1.GetRunRequest, switchyardv1.GetRunResponse]("GetRun", switchyardv1connect.RunServiceGetRunProcedure,
			func(x target) *switchyardv1.GetRunRequest { return &switchyardv1.GetRunRequest{Id: x.run} },
			http.MethodGet, func(x target) string { return "/v1/runs/" + esc(x.run) }),
		unaryProbe[switchyardv1.GetRunRequest, switchyardv1.GetRunResponse]("GetRun(ended)", switchyardv1connect.RunServiceGetRunProcedure,
			func(x target) *switchyardv1.GetRunRequest { return &switchyardv1.GetRunRequest{Id: x.endedRun} },
			http.MethodGet, func(x target) string { return "/v1/runs/" + esc(x.endedRun) }),
		unaryProbe[switchyardv1.CancelRunRequest, switchyardv1.CancelRunResponse]("CancelRun", switchyardv1connect.RunServiceCancelRunProcedure,
			func(x target) *switchyardv1.CancelRunRequest { return &switchyardv1.CancelRunRequest{Id: x.run} },
			http.MethodPost, func(x target) string { return "/v1/runs/" + esc(x.run) + ":cancel" }),
		unaryProbe[switchyardv1.ReplayRunRequest, switchyardv1.ReplayRunResponse]("ReplayRun", switchyardv1connect.RunServiceReplayRunProcedure,
			func(x target) *switchyardv1.ReplayRunRequest {
				return &switchyardv1.ReplayRunRequest{Id: x.endedRun, Mode: switchyardv1.ReplayMode_REPLAY_MODE_WHOLE}
			},
			http.MethodPost, func(x target) string { return "/v1/runs/" + esc(x.endedRun) + ":replay" }),
		streamProbe[switchyardv1.WatchRunRequest, switchyardv1.WatchRunResponse]("WatchRun", switchyardv1connect.RunServiceWatchRunProcedure,
			func(x target) *switchyardv1.WatchRunRequest { return &switchyardv1.WatchRunRequest{Id: x.run} }),
		streamProbe[switchyardv1.WatchRunRequest, switchyardv1.WatchRunResponse]("WatchRun(ended)", switchyardv1connect.RunServiceWatchRunProcedure,
			func(x target) *switchyardv1.WatchRunRequest { return &switchyardv1.WatchRunRequest{Id: x.endedRun} }),

		unaryProbe[switchyardv1.GetWorkflowRequest, switchyardv1.GetWorkflowResponse]("GetWorkflow", switchyardv1connect.WorkflowServiceGetWorkflowProcedure,
			func(x target) *switchyardv1.GetWorkflowRequest {
				return &switchyardv1.GetWorkflowRequest{Name: x.workflow}
			},
			http.MethodGet, func(x target) string { return "/v1/workflows/" + esc(x.workflow) }),
		unaryProbe[switchyardv1.GetWorkflowRequest, switchyardv1.GetWorkflowResponse]("GetWorkflow(v2)", switchyardv1connect.WorkflowServiceGetWorkflowProcedure,
			func(x target) *switchyardv1.GetWorkflowRequest {
				return &switchyardv1.GetWorkflowRequest{Name: x.workflow, Version: 2}
			},
			http.MethodGet, func(x target) string { return "/v1/workflows/" + esc(x.workflow) + "?version=2" }),
		unaryProbe[switchyardv1.DeleteWorkflowRequest, switchyardv1.DeleteWorkflowResponse]("DeleteWorkflow", switchyardv1connect.WorkflowServiceDeleteWorkflowProcedure,
			func(x target) *switchyardv1.DeleteWorkflowRequest {
				return &switchyardv1.DeleteWorkflowRequest{Name: x.workflow}
			},
			http.MethodDelete, func(x target) string { return "/v1/workflows/" + esc(x.workflow) }),
		unaryProbe[switchyardv1.RunWorkflowRequest, switchyardv1.RunWorkflowResponse]("RunWorkflow", switchyardv1connect.WorkflowServiceRunWorkflowProcedure,
			func(x target) *switchyardv1.RunWorkflowRequest {
				return &switchyardv1.RunWorkflowRequest{Name: x.workflow}
			},
			http.MethodPost, func(x target) string { return "/v1/workflows/" + esc(x.workflow) + ":run" }),

		unaryProbe[switchyardv1.HeartbeatRequest, switchyardv1.HeartbeatResponse]("Heartbeat", switchyardv1connect.WorkerServiceHeartbeatProcedure,
			func(x target) *switchyardv1.HeartbeatRequest {
				return &switchyardv1.HeartbeatRequest{WorkerId: x.worker}
			},
			http.MethodPost, func(x target) string { return "/v1/workers/" + esc(x.worker) + ":heartbeat" }),
		streamProbe[switchyardv1.ListenRequest, switchyardv1.ListenResponse]("Listen", switchyardv1connect.WorkerServiceListenProcedure,
			func(x target) *switchyardv1.ListenRequest { return &switchyardv1.ListenRequest{WorkerId: x.worker} }),
		completeProbe("CompleteTask(their worker)", func(x target) string { return x.worker }),
		completeProbe("CompleteTask(own worker)", func(x target) string { return x.ownWorker }),
		failProbe("FailTask(their worker)", func(x target) string { return x.worker }),
		failProbe("FailTask(own worker)", func(x target) string { return x.ownWorker }),

		unaryProbe[switchyardv1.GetWebhookRequest, switchyardv1.GetWebhookResponse]("GetWebhook", switchyardv1connect.WebhookServiceGetWebhookProcedure,
			func(x target) *switchyardv1.GetWebhookRequest { return &switchyardv1.GetWebhookRequest{Id: x.webhook} },
			http.MethodGet, func(x target) string { return "/v1/webhooks/" + esc(x.webhook) }),
		unaryProbe[switchyardv1.UpdateWebhookRequest, switchyardv1.UpdateWebhookResponse]("UpdateWebhook", switchyardv1connect.WebhookServiceUpdateWebhookProcedure,
			func(x target) *switchyardv1.UpdateWebhookRequest {
				return &switchyardv1.UpdateWebhookRequest{Id: x.webhook, Settings: settings}
			},
			http.MethodPut, func(x target) string { return "/v1/webhooks/" + esc(x.webhook) }),
		unaryProbe[switchyardv1.DeleteWebhookRequest, switchyardv1.DeleteWebhookResponse]("DeleteWebhook", switchyardv1connect.WebhookServiceDeleteWebhookProcedure,
			func(x target) *switchyardv1.DeleteWebhookRequest {
				return &switchyardv1.DeleteWebhookRequest{Id: x.webhook}
			},
			http.MethodDelete, func(x target) string { return "/v1/webhooks/" + esc(x.webhook) }),
		unaryProbe[switchyardv1.RotateWebhookSecretRequest, switchyardv1.RotateWebhookSecretResponse]("RotateWebhookSecret", switchyardv1connect.WebhookServiceRotateWebhookSecretProcedure,
			func(x target) *switchyardv1.RotateWebhookSecretRequest {
				return &switchyardv1.RotateWebhookSecretRequest{Id: x.webhook}
			},
			http.MethodPost, func(x target) string { return "/v1/webhooks/" + esc(x.webhook) + ":rotateSecret" }),
		unaryProbe[switchyardv1.ListWebhookDeliveriesRequest, switchyardv1.ListWebhookDeliveriesResponse]("ListWebhookDeliveries", switchyardv1connect.WebhookServiceListWebhookDeliveriesProcedure,
			func(x target) *switchyardv1.ListWebhookDeliveriesRequest {
				return &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: x.webhook}
			},
			http.MethodGet, func(x target) string { return "/v1/webhooks/" + esc(x.webhook) + "/deliveries" }),

		unaryProbe[switchyardv1.RevokeTokenRequest, switchyardv1.RevokeTokenResponse]("RevokeToken", switchyardv1connect.AdminServiceRevokeTokenProcedure,
			func(x target) *switchyardv1.RevokeTokenRequest { return &switchyardv1.RevokeTokenRequest{Id: x.token} },
			http.MethodPost, func(x target) string { return "/v1/tokens/" + esc(x.token) + ":revoke" }),
		unaryProbe[switchyardv1.ListTokensRequest, switchyardv1.ListTokensResponse]("ListTokens(tenant)", switchyardv1connect.AdminServiceListTokensProcedure,
			func(x target) *switchyardv1.ListTokensRequest {
				return &switchyardv1.ListTokensRequest{Tenant: x.tenant}
			},
			http.MethodGet, func(x target) string { return "/v1/tokens?tenant=" + url.QueryEscape(x.tenant) }),
		unaryProbe[switchyardv1.CreateTokenRequest, switchyardv1.CreateTokenResponse]("CreateToken(tenant)", switchyardv1connect.AdminServiceCreateTokenProcedure,
			func(x target) *switchyardv1.CreateTokenRequest {
				return &switchyardv1.CreateTokenRequest{Tenant: x.tenant, Role: switchyardv1.Role_ROLE_ADMIN, Name: "intruder"}
			},
			http.MethodPost, func(target) string { return "/v1/tokens" }),
		createTenant,
		updateTenant,
	}
}

func completeProbe(name string, worker func(x target) string) idProbe {
	return unaryProbe[switchyardv1.CompleteTaskRequest, switchyardv1.CompleteTaskResponse](name, switchyardv1connect.WorkerServiceCompleteTaskProcedure,
		func(x target) *switchyardv1.CompleteTaskRequest {
			return &switchyardv1.CompleteTaskRequest{WorkerId: worker(x), TaskId: x.task, Attempt: 1, Output: mustStruct(map[string]any{"by": "intruder"})}
		},
		http.MethodPost, func(x target) string { return "/v1/tasks/" + esc(x.task) + ":complete" })
}

func failProbe(name string, worker func(x target) string) idProbe {
	return unaryProbe[switchyardv1.FailTaskRequest, switchyardv1.FailTaskResponse](name, switchyardv1connect.WorkerServiceFailTaskProcedure,
		func(x target) *switchyardv1.FailTaskRequest {
			return &switchyardv1.FailTaskRequest{WorkerId: worker(x), TaskId: x.task, Attempt: 1, Error: "intruder"}
		},
		http.MethodPost, func(x target) string { return "/v1/tasks/" + esc(x.task) + ":fail" })
}

// listCall is one list RPC over any protocol; it returns the response as
// protojson, for a search for another tenant's names.
type listCall struct {
	name      string
	procedure string
	call      func(ctx context.Context, c client) (string, error)
}

func listProbe[Req, Res any, PRes interface {
	*Res
	proto.Message
}](name, procedure string, req *Req, path string) listCall {
	return listCall{name: name, procedure: procedure, call: func(ctx context.Context, c client) (string, error) {
		var res *Res
		err := retryUnavailable(func() (err error) {
			if c.proto.REST {
				res, err = restCall[Res, PRes](ctx, c, http.MethodGet, path, nil)
			} else {
				res, err = unary[Req, Res](ctx, c, procedure, req)
			}
			return err
		})
		if err != nil {
			return "", err
		}
		js, err := protojson.Marshal(PRes(res))
		return string(js), err
	}}
}

// isolationLists lists every list RPC, unfiltered and filtered by the other
// tenant's names.
func isolationLists(b target) []listCall {
	return []listCall{
		listProbe[switchyardv1.ListEventsRequest, switchyardv1.ListEventsResponse]("ListEvents", switchyardv1connect.EventServiceListEventsProcedure,
			&switchyardv1.ListEventsRequest{PageSize: 500}, "/v1/events?page_size=500"),
		listProbe[switchyardv1.ListEventsRequest, switchyardv1.ListEventsResponse]("ListEvents(key)", switchyardv1connect.EventServiceListEventsProcedure,
			&switchyardv1.ListEventsRequest{Key: bravoEventKey}, "/v1/events?key="+url.QueryEscape(bravoEventKey)),
		listProbe[switchyardv1.ListRunsRequest, switchyardv1.ListRunsResponse]("ListRuns", switchyardv1connect.RunServiceListRunsProcedure,
			&switchyardv1.ListRunsRequest{PageSize: 500}, "/v1/runs?page_size=500"),
		listProbe[switchyardv1.ListRunsRequest, switchyardv1.ListRunsResponse]("ListRuns(event)", switchyardv1connect.RunServiceListRunsProcedure,
			&switchyardv1.ListRunsRequest{EventId: b.event}, "/v1/runs?event_id="+url.QueryEscape(b.event)),
		listProbe[switchyardv1.ListRunsRequest, switchyardv1.ListRunsResponse]("ListRuns(workflow)", switchyardv1connect.RunServiceListRunsProcedure,
			&switchyardv1.ListRunsRequest{Workflow: b.workflow}, "/v1/runs?workflow="+url.QueryEscape(b.workflow)),
		listProbe[switchyardv1.ListWorkflowsRequest, switchyardv1.ListWorkflowsResponse]("ListWorkflows", switchyardv1connect.WorkflowServiceListWorkflowsProcedure,
			&switchyardv1.ListWorkflowsRequest{PageSize: 500}, "/v1/workflows?page_size=500"),
		listProbe[switchyardv1.ListWorkersRequest, switchyardv1.ListWorkersResponse]("ListWorkers", switchyardv1connect.WorkerServiceListWorkersProcedure,
			&switchyardv1.ListWorkersRequest{PageSize: 500}, "/v1/workers?page_size=500"),
		listProbe[switchyardv1.ListWebhooksRequest, switchyardv1.ListWebhooksResponse]("ListWebhooks", switchyardv1connect.WebhookServiceListWebhooksProcedure,
			&switchyardv1.ListWebhooksRequest{PageSize: 500}, "/v1/webhooks?page_size=500"),
		listProbe[switchyardv1.ListTokensRequest, switchyardv1.ListTokensResponse]("ListTokens", switchyardv1connect.AdminServiceListTokensProcedure,
			&switchyardv1.ListTokensRequest{PageSize: 500}, "/v1/tokens?page_size=500"),
		listProbe[switchyardv1.ListTenantsRequest, switchyardv1.ListTenantsResponse]("ListTenants", switchyardv1connect.AdminServiceListTenantsProcedure,
			&switchyardv1.ListTenantsRequest{PageSize: 500}, "/v1/tenants?page_size=500"),
	}
}
