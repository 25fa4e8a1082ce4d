package server_test

import (
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/gen/switchyard/v1/switchyardv1connect"
	"github.com/switchyard/switchyard/internal/auth"
)

var (
	createWebhookRPC  = unaryOf[switchyardv1.CreateWebhookRequest, switchyardv1.CreateWebhookResponse](switchyardv1connect.WebhookServiceCreateWebhookProcedure)
	getWebhookRPC     = unaryOf[switchyardv1.GetWebhookRequest, switchyardv1.GetWebhookResponse](switchyardv1connect.WebhookServiceGetWebhookProcedure)
	listWebhooksRPC   = unaryOf[switchyardv1.ListWebhooksRequest, switchyardv1.ListWebhooksResponse](switchyardv1connect.WebhookServiceListWebhooksProcedure)
	updateWebhookRPC  = unaryOf[switchyardv1.UpdateWebhookRequest, switchyardv1.UpdateWebhookResponse](switchyardv1connect.WebhookServiceUpdateWebhookProcedure)
	deleteWebhookRPC  = unaryOf[switchyardv1.DeleteWebhookRequest, switchyardv1.DeleteWebhookResponse](switchyardv1connect.WebhookServiceDeleteWebhookProcedure)
	rotateSecretRPC   = unaryOf[switchyardv1.RotateWebhookSecretRequest, switchyardv1.RotateWebhookSecretResponse](switchyardv1connect.WebhookServiceRotateWebhookSecretProcedure)
	listDeliveriesRPC = unaryOf[switchyardv1.ListWebhookDeliveriesRequest, switchyardv1.ListWebhookDeliveriesResponse](switchyardv1connect.WebhookServiceListWebhookDeliveriesProcedure)
)

// TestWebhookServiceParity runs every WebhookService case over every protocol
// on every database engine.
func TestWebhookServiceParity(t *testing.T) {
	runParity(t, webhookCases, parityOptions{})
}

// hookSettings are open settings (no signature) whose events are keyed by the
// body's kind.
func hookSettings(name string) *switchyardv1.WebhookSettings {
	return &switchyardv1.WebhookSettings{Name: name, Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"hook." + body.kind`}
}

// deliver posts body to the webhook as a sender would, over the protocol's
// HTTP client, and returns the HTTP status.
func deliver(e *env, id, body string) int {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx(e), http.MethodPost, e.c.url+"/webhooks/"+id, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := e.c.proto.HTTP.Do(req)
	if err != nil {
		e.t.Fatalf("deliver: %v", err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

var webhookCases = []parityCase{
	{"create returns the webhook and the secret given, once", createWebhookRPC.procedure, func(e *env) string {
		res, err := createWebhookRPC.do(e, e.c, &switchyardv1.CreateWebhookRequest{Settings: hookSettings("github"), Secret: "given-secret"})
		if err == nil && (res.GetSecret() != "given-secret" || res.GetWebhook().GetPath() != "/webhooks/"+res.GetWebhook().GetId()) {
			e.t.Errorf("%s: created %v, want the given secret and the webhook's path", e.c.proto.Name, res)
		}
		e.ids["hook"] = res.GetWebhook().GetId()
		return e.expect(0, res, err)
	}},
	{"create with invalid settings is invalid_argument", createWebhookRPC.procedure, func(e *env) string {
		_, err1 := createWebhookRPC.do(e, e.c, &switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"k"`}})
		_, err2 := createWebhookRPC.do(e, e.c, &switchyardv1.CreateWebhookRequest{})
		s := hookSettings("bad")
		s.KeyExpression = `"a" + `
		_, err3 := createWebhookRPC.do(e, e.c, &switchyardv1.CreateWebhookRequest{Settings: s})
		return strings.Join([]string{e.expectViolation("settings.name", err1), e.expectViolation("settings", err2), e.expect(connect.CodeInvalidArgument, nil, err3)}, "\n")
	}},
	createWebhookRPC.refused("create by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.CreateWebhookRequest {
		return &switchyardv1.CreateWebhookRequest{Settings: hookSettings("producer")}
	}),
	{"get returns the webhook without its secret", getWebhookRPC.procedure, func(e *env) string {
		res, err := getWebhookRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.GetWebhookRequest{Id: e.ids["hook"]})
		if err == nil && res.GetWebhook().GetSettings().GetName() != "github" {
			e.t.Errorf("%s: got %v, want the webhook github", e.c.proto.Name, res)
		}
		return e.expect(0, res, err)
	}},
	getWebhookRPC.refused("get of an unknown webhook is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.GetWebhookRequest {
		return &switchyardv1.GetWebhookRequest{Id: ghostID}
	}),
	getWebhookRPC.invalid("get with a malformed id is invalid_argument", auth.RoleAdmin, "id", func(e *env) *switchyardv1.GetWebhookRequest {
		return &switchyardv1.GetWebhookRequest{Id: "not-a-uuid"}
	}),
	getWebhookRPC.refused("get by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.GetWebhookRequest {
		return &switchyardv1.GetWebhookRequest{Id: e.ids["hook"]}
	}),
	{"list pages through the webhooks newest first", listWebhooksRPC.procedure, func(e *env) string {
		second, err := createWebhookRPC.do(e, e.c, &switchyardv1.CreateWebhookRequest{Settings: hookSettings("stripe")})
		mustOK(e, err)
		e.ids["second hook"] = second.GetWebhook().GetId()
		return listPages(e, func(token string) (*switchyardv1.ListWebhooksResponse, error) {
			return listWebhooksRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListWebhooksRequest{PageSize: 1, PageToken: token})
		}, func(res *switchyardv1.ListWebhooksResponse) (names []string) {
			for _, w := range res.GetWebhooks() {
				names = append(names, w.GetSettings().GetName())
			}
			return names
		}, "stripe github")
	}},
	{"list with a bad page token or size is invalid_argument", listWebhooksRPC.procedure, func(e *env) string {
		_, err1 := listWebhooksRPC.do(e, e.c, &switchyardv1.ListWebhooksRequest{PageToken: "garbage"})
		_, err2 := listWebhooksRPC.do(e, e.c, &switchyardv1.ListWebhooksRequest{PageSize: 501})
		return e.expect(connect.CodeInvalidArgument, nil, err1) + "\n" + e.expectViolation("page_size", err2)
	}},
	listWebhooksRPC.refused("list by a producer is permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListWebhooksRequest {
		return &switchyardv1.ListWebhooksRequest{}
	}),
	{"update replaces the settings", updateWebhookRPC.procedure, func(e *env) string {
		s := hookSettings("github-renamed")
		s.ScopeExpression = `"acme"`
		res, err := updateWebhookRPC.do(e, e.c, &switchyardv1.UpdateWebhookRequest{Id: e.ids["hook"], Settings: s})
		if err == nil && res.GetWebhook().GetSettings().GetName() != "github-renamed" {
			e.t.Errorf("%s: updated %v, want the new name", e.c.proto.Name, res)
		}
		return e.expect(0, res, err)
	}},
	updateWebhookRPC.refused("update of an unknown webhook is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.UpdateWebhookRequest {
		return &switchyardv1.UpdateWebhookRequest{Id: ghostID, Settings: hookSettings("ghost")}
	}),
	updateWebhookRPC.invalid("update without settings is invalid_argument", auth.RoleAdmin, "settings", func(e *env) *switchyardv1.UpdateWebhookRequest {
		return &switchyardv1.UpdateWebhookRequest{Id: e.ids["hook"]}
	}),
	updateWebhookRPC.refused("update by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.UpdateWebhookRequest {
		return &switchyardv1.UpdateWebhookRequest{Id: e.ids["hook"], Settings: hookSettings("viewer")}
	}),
	{"rotate replaces the secret with the one given", rotateSecretRPC.procedure, func(e *env) string {
		res, err := rotateSecretRPC.do(e, e.c, &switchyardv1.RotateWebhookSecretRequest{Id: e.ids["hook"], Secret: "rotated-secret"})
		if err == nil && res.GetSecret() != "rotated-secret" {
			e.t.Errorf("%s: rotated %v, want the given secret", e.c.proto.Name, res)
		}
		return e.expect(0, res, err)
	}},
	rotateSecretRPC.refused("rotate of an unknown webhook is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.RotateWebhookSecretRequest {
		return &switchyardv1.RotateWebhookSecretRequest{Id: ghostID}
	}),
	rotateSecretRPC.invalid("rotate to a long secret is invalid_argument", auth.RoleAdmin, "secret", func(e *env) *switchyardv1.RotateWebhookSecretRequest {
		return &switchyardv1.RotateWebhookSecretRequest{Id: e.ids["hook"], Secret: strings.Repeat("s", 513)}
	}),
	rotateSecretRPC.refused("rotate by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.RotateWebhookSecretRequest {
		return &switchyardv1.RotateWebhookSecretRequest{Id: e.ids["hook"]}
	}),
	{"deliveries list what came in, newest first", listDeliveriesRPC.procedure, func(e *env) string {
		first, second := deliver(e, e.ids["hook"], `{"kind":"push","n":1}`), deliver(e, e.ids["hook"], `not json`)
		if first != http.StatusOK || second != http.StatusBadRequest {
			e.t.Errorf("%s: deliveries answered %d and %d, want 200 and 400", e.c.proto.Name, first, second)
		}
		res, err := listDeliveriesRPC.do(e, e.as(auth.RoleViewer), &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: e.ids["hook"]})
		if d := res.GetDeliveries(); err == nil && (len(d) != 2 || d[0].GetOutcome() != switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_REJECTED || d[1].GetOutcome() != switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_ACCEPTED) {
			e.t.Errorf("%s: deliveries %v, want one rejected after one accepted", e.c.proto.Name, d)
		}
		return e.expect(0, res, err)
	}},
	listDeliveriesRPC.refused("deliveries of an unknown webhook are not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.ListWebhookDeliveriesRequest {
		return &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: ghostID}
	}),
	listDeliveriesRPC.invalid("deliveries with a malformed id are invalid_argument", auth.RoleAdmin, "webhook_id", func(e *env) *switchyardv1.ListWebhookDeliveriesRequest {
		return &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: "not-a-uuid"}
	}),
	listDeliveriesRPC.refused("deliveries for a producer are permission_denied", auth.RoleProducer, connect.CodePermissionDenied, func(e *env) *switchyardv1.ListWebhookDeliveriesRequest {
		return &switchyardv1.ListWebhookDeliveriesRequest{WebhookId: e.ids["hook"]}
	}),
	{"delete removes the webhook", deleteWebhookRPC.procedure, func(e *env) string {
		res, err := deleteWebhookRPC.do(e, e.c, &switchyardv1.DeleteWebhookRequest{Id: e.ids["second hook"]})
		_, errGet := getWebhookRPC.do(e, e.c, &switchyardv1.GetWebhookRequest{Id: e.ids["second hook"]})
		if status := deliver(e, e.ids["second hook"], `{"kind":"late"}`); status != http.StatusNotFound {
			e.t.Errorf("%s: delivery to a deleted webhook answered %d, want 404", e.c.proto.Name, status)
		}
		return e.expect(0, res, err) + "\n" + e.expect(connect.CodeNotFound, nil, errGet)
	}},
	deleteWebhookRPC.refused("delete of an unknown webhook is not_found", auth.RoleAdmin, connect.CodeNotFound, func(e *env) *switchyardv1.DeleteWebhookRequest {
		return &switchyardv1.DeleteWebhookRequest{Id: ghostID}
	}),
	deleteWebhookRPC.invalid("delete with a malformed id is invalid_argument", auth.RoleAdmin, "id", func(e *env) *switchyardv1.DeleteWebhookRequest {
		return &switchyardv1.DeleteWebhookRequest{Id: "not-a-uuid"}
	}),
	deleteWebhookRPC.refused("delete by a viewer is permission_denied", auth.RoleViewer, connect.CodePermissionDenied, func(e *env) *switchyardv1.DeleteWebhookRequest {
		return &switchyardv1.DeleteWebhookRequest{Id: e.ids["hook"]}
	}),
}
