package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/server/servertest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/store/storetest"
	"github.com/switchyard/switchyard/internal/webhook"
	"github.com/switchyard/switchyard/internal/webhook/webhooktest"
)

type webhookEnv struct {
	t   *testing.T
	srv *servertest.Server
	a   *api
}

func (w *webhookEnv) create(settings *switchyardv1.WebhookSettings, secret string) (*switchyardv1.Webhook, string) {
	w.t.Helper()
	res, err := w.a.webhooks.CreateWebhook(context.Background(), connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: settings, Secret: secret}))
	if err != nil {
		w.t.Fatalf("create webhook: %v", err)
	}
	return res.Msg.GetWebhook(), res.Msg.GetSecret()
}

type delivered struct {
	status int
	body   map[string]any
	header http.Header
}

func (w *webhookEnv) post(path string, h http.Header, body []byte) delivered {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	d := delivered{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(raw, &d.body); err != nil {
		w.t.Fatalf("answer %d is not JSON: %q", res.StatusCode, raw)
	}
	return d
}

func (w *webhookEnv) eventCount() int {
	w.t.Helper()
	n, err := w.srv.Store.DB().NewSelect().Model((*store.Event)(nil)).Count(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return int(n)
}

func (w *webhookEnv) deliveries(id string) []*switchyardv1.WebhookDelivery {
	w.t.Helper()
	res, err := w.a.webhooks.ListWebhookDeliveries(context.Background(), connect.NewRequest(&switchyardv1.ListWebhookDeliveriesRequest{WebhookId: id}))
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Msg.GetDeliveries()
}

func startWebhookEnv(t *testing.T, eng storetest.Engine) *webhookEnv {
	srv, a := startEngineServer(t, eng)
	return &webhookEnv{t: t, srv: srv, a: a}
}

var schemeOf = map[switchyardv1.WebhookScheme]webhook.Scheme{
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB: webhook.SchemeGitHub,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_STRIPE: webhook.SchemeStripe,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SLACK:  webhook.SchemeSlack,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SVIX:   webhook.SchemeSvix,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC:   webhook.SchemeHMAC,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_BEARER: webhook.SchemeBearer,
	switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE:   webhook.SchemeNone,
}

// TestWebhookSchemes signs real requests as each sender does: a valid one
// becomes an event and starts the workflow; a tampered body, a wrong secret and
// a stale timestamp are rejected with nothing stored.
func TestWebhookSchemes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		w := startWebhookEnv(t, eng)
		putWorkflow(t, w.a, &switchyardv1.WorkflowSpec{Name: "on-hook", OnEvents: []string{"hook.push"}, Tasks: []*switchyardv1.TaskSpec{task("t", "hook")}})
		hmacCfg := &switchyardv1.HMACConfig{Header: "X-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="}
		stale := map[switchyardv1.WebhookScheme]bool{
			switchyardv1.WebhookScheme_WEBHOOK_SCHEME_STRIPE: true,
			switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SLACK:  true,
			switchyardv1.WebhookScheme_WEBHOOK_SCHEME_SVIX:   true,
		}
		for scheme := range schemeOf {
			if scheme == switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE {
				continue
			}
			name := strings.TrimPrefix(scheme.String(), "WEBHOOK_SCHEME_")
			settings := &switchyardv1.WebhookSettings{Name: name, Scheme: scheme, KeyExpression: `"hook." + body.action`}
			var cfg webhook.HMACConfig
			if scheme == switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC {
				settings.Hmac = hmacCfg
				cfg = webhook.HMACConfig{Header: hmacCfg.Header, Algorithm: hmacCfg.Algorithm, Encoding: hmacCfg.Encoding, Prefix: hmacCfg.Prefix}
			}
			hook, secret := w.create(settings, "")
			if !strings.HasPrefix(secret, "whsec_") {
				t.Fatalf("%s: generated secret %q", name, secret)
			}
			sign := func(secret string, body []byte, at time.Time) http.Header {
				return webhooktest.Sign(schemeOf[scheme], secret, cfg, body, at)
			}
			body := []byte(fmt.Sprintf(`{"action":"push","scheme":%q}`, name))
			before := w.eventCount()
			type reject struct {
				what string
				h    http.Header
				body []byte
			}
			rejects := []reject{
				{"wrong secret", sign("whsec_"+strings.Repeat("A", 43)+"=", body, time.Now()), body},
				{"no signature", http.Header{}, body},
			}
			if scheme != switchyardv1.WebhookScheme_WEBHOOK_SCHEME_BEARER { // a bearer token signs nothing
				rejects = append(rejects, reject{"tampered body", sign(secret, body, time.Now()), []byte(fmt.Sprintf(`{"action":"push","scheme":%q,"evil":1}`, name))})
			}
			if stale[scheme] {
				rejects = append(rejects, reject{"stale timestamp", sign(secret, body, time.Now().Add(-10*time.Minute)), body})
			}
			for _, r := range rejects {
				if d := w.post(hook.GetPath(), r.h, r.body); d.status != http.StatusUnauthorized {
					t.Errorf("%s %s: status %d %v, want 401", name, r.what, d.status, d.body)
				}
			}
			if n := w.eventCount(); n != before {
				t.Fatalf("%s: rejected deliveries stored %d events", name, n-before)
			}
			d := w.post(hook.GetPath(), sign(secret, body, time.Now()), body)
			if d.status != http.StatusOK || d.body["event_id"] == nil {
				t.Fatalf("%s: valid delivery: %d %v", name, d.status, d.body)
			}
			ev, err := w.a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: d.body["event_id"].(string)}))
			if err != nil || ev.Msg.GetEvent().GetKey() != "hook.push" || ev.Msg.GetEvent().GetPayload().GetFields()["scheme"].GetStringValue() != name ||
				ev.Msg.GetEvent().GetMetadata()["webhook_id"] != hook.GetId() {
				t.Fatalf("%s: stored event %v, %v", name, ev, err)
			}
			if runs, _ := d.body["run_ids"].([]any); len(runs) != 1 {
				t.Fatalf("%s: delivery started runs %v, want 1", name, d.body["run_ids"])
			}
			ds := w.deliveries(hook.GetId())
			if len(ds) != len(rejects)+1 || ds[0].GetOutcome() != switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_ACCEPTED || ds[1].GetOutcome() != switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_REJECTED ||
				ds[1].GetHttpStatus() != http.StatusUnauthorized || ds[1].GetReason() == "" || strings.Contains(ds[1].GetReason(), secret) {
				t.Fatalf("%s: deliveries %v", name, ds)
			}
		}
	})
}

// TestGitHubWebhookEndToEnd sets up a webhook as the README shows for GitHub:
// key and scope from expressions, redeliveries deduplicated by delivery id,
// rotation, and the error answers.
func TestGitHubWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		w := startWebhookEnv(t, eng)
		hook, secret := w.create(&switchyardv1.WebhookSettings{
			Name:            "github",
			Scheme:          switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB,
			KeyExpression:   `"github." + headers["x-github-event"]`,
			ScopeExpression: `body.repository.full_name`,
		}, "It's a Secret to Everybody")
		if secret != "It's a Secret to Everybody" {
			t.Fatalf("the chosen secret came back as %q", secret)
		}
		body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"acme/app"}}`)
		h := webhooktest.Sign(webhook.SchemeGitHub, secret, webhook.HMACConfig{}, body, time.Now())
		h.Set("X-GitHub-Event", "push")
		h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")

		first := w.post(hook.GetPath(), h, body)
		again := w.post(hook.GetPath(), h, body) // GitHub's redelivery
		if first.status != 200 || again.status != 200 || again.body["deduplicated"] != true || first.body["event_id"] != again.body["event_id"] {
			t.Fatalf("delivery then redelivery: %v / %v", first.body, again.body)
		}
		ev, err := w.a.events.GetEvent(context.Background(), connect.NewRequest(&switchyardv1.GetEventRequest{Id: first.body["event_id"].(string)}))
		if err != nil || ev.Msg.GetEvent().GetKey() != "github.push" || ev.Msg.GetEvent().GetScope() != "acme/app" ||
			ev.Msg.GetEvent().GetMetadata()["delivery_id"] != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
			t.Fatalf("event: %v, %v", ev, err)
		}
		if n := w.eventCount(); n != 1 {
			t.Fatalf("%d events stored, want 1", n)
		}
		if ds := w.deliveries(hook.GetId()); len(ds) != 2 || ds[0].GetOutcome() != switchyardv1.DeliveryOutcome_DELIVERY_OUTCOME_DUPLICATE {
			t.Fatalf("deliveries: %v", ds)
		}

		// The secret is never shown again.
		got, err := w.a.webhooks.GetWebhook(context.Background(), connect.NewRequest(&switchyardv1.GetWebhookRequest{Id: hook.GetId()}))
		if err != nil || strings.Contains(fmt.Sprint(got.Msg), secret) {
			t.Fatalf("get webhook: %v, %v", got, err)
		}

		bad := func(h http.Header, body []byte) int { return w.post(hook.GetPath(), h, body).status }
		signed := func(body []byte, event string) http.Header {
			h := webhooktest.Sign(webhook.SchemeGitHub, secret, webhook.HMACConfig{}, body, time.Now())
			h.Set("X-GitHub-Event", event)
			return h
		}
		if s := bad(signed([]byte(`not json`), "push"), []byte(`not json`)); s != http.StatusBadRequest {
			t.Errorf("body that is not JSON: %d, want 400", s)
		}
		noScope := []byte(`{"ref":"x"}`)
		if s := bad(signed(noScope, "push"), noScope); s != http.StatusBadRequest {
			t.Errorf("scope expression that fails: %d, want 400", s)
		}
		if s := bad(signed(body, "has space"), body); s != http.StatusBadRequest {
			t.Errorf("key expression giving an invalid key: %d, want 400", s)
		}
		huge := []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`)
		if s := bad(signed(huge, "push"), huge); s != http.StatusRequestEntityTooLarge {
			t.Errorf("oversize body: %d, want 413", s)
		}
		if d := w.post("/webhooks/01890000-0000-7000-8000-000000000000", h, body); d.status != http.StatusNotFound {
			t.Errorf("unknown webhook: %d, want 404", d.status)
		}
		if n := w.eventCount(); n != 1 {
			t.Fatalf("rejected deliveries stored events: %d, want 1", n)
		}

		// Rotation: the old secret stops working, the new one works.
		rot, err := w.a.webhooks.RotateWebhookSecret(context.Background(), connect.NewRequest(&switchyardv1.RotateWebhookSecretRequest{Id: hook.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		other := []byte(`{"repository":{"full_name":"acme/app"}}`)
		if s := bad(signed(other, "push"), other); s != http.StatusUnauthorized {
			t.Fatalf("old secret after rotation: %d, want 401", s)
		}
		h2 := webhooktest.Sign(webhook.SchemeGitHub, rot.Msg.GetSecret(), webhook.HMACConfig{}, other, time.Now())
		h2.Set("X-GitHub-Event", "issues")
		if d := w.post(hook.GetPath(), h2, other); d.status != http.StatusOK {
			t.Fatalf("new secret after rotation: %d %v", d.status, d.body)
		}
	})
}

func TestWebhookManagement(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, eng storetest.Engine) {
		w := startWebhookEnv(t, eng)
		ctx := context.Background()
		_, err := w.a.webhooks.CreateWebhook(ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
			Name: "bad", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"a" + `,
		}}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "1:") {
			t.Fatalf("invalid expression: %v, want invalid_argument with its position", err)
		}
		_, err = w.a.webhooks.CreateWebhook(ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
			Name: "bad", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `1 + 2`,
		}}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("expression that is not a string: %v, want invalid_argument", err)
		}
		_, err = w.a.webhooks.CreateWebhook(ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
			Name: "bad", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_HMAC, KeyExpression: `"k"`,
		}}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("HMAC without settings: %v, want invalid_argument", err)
		}
		_, err = w.a.webhooks.CreateWebhook(ctx, connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
			Name: "bad", KeyExpression: `"k"`,
		}}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Fatalf("no scheme: %v, want invalid_argument", err)
		}
		hook, _ := w.create(&switchyardv1.WebhookSettings{Name: "open", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"open." + query["kind"]`}, "")
		if d := w.post(hook.GetPath()+"?kind=ping", nil, []byte(`[1,2]`)); d.status != 200 {
			t.Fatalf("NONE scheme delivery: %d %v", d.status, d.body)
		}
		list, err := w.a.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{Key: "open.ping"}))
		if err != nil || len(list.Msg.GetEvents()) != 1 || list.Msg.GetEvents()[0].GetPayload().GetFields()["body"].GetListValue() == nil {
			t.Fatalf("event from an array body: %v, %v", list, err)
		}
		up, err := w.a.webhooks.UpdateWebhook(ctx, connect.NewRequest(&switchyardv1.UpdateWebhookRequest{Id: hook.GetId(), Settings: &switchyardv1.WebhookSettings{
			Name: "renamed", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_NONE, KeyExpression: `"renamed"`, Tolerance: durationpb.New(time.Minute),
		}}))
		if err != nil || up.Msg.GetWebhook().GetSettings().GetName() != "renamed" || up.Msg.GetWebhook().GetSettings().GetTolerance().AsDuration() != time.Minute {
			t.Fatalf("update: %v, %v", up, err)
		}
		if d := w.post(hook.GetPath(), nil, []byte(`{}`)); d.status != 200 {
			t.Fatalf("delivery after update: %d %v", d.status, d.body)
		}
		if l, _ := w.a.events.ListEvents(ctx, connect.NewRequest(&switchyardv1.ListEventsRequest{Key: "renamed"})); len(l.Msg.GetEvents()) != 1 {
			t.Fatalf("the updated key expression was not used")
		}
		ws, err := w.a.webhooks.ListWebhooks(ctx, connect.NewRequest(&switchyardv1.ListWebhooksRequest{}))
		if err != nil || len(ws.Msg.GetWebhooks()) != 1 {
			t.Fatalf("list: %v, %v", ws, err)
		}
		if _, err := w.a.webhooks.DeleteWebhook(ctx, connect.NewRequest(&switchyardv1.DeleteWebhookRequest{Id: hook.GetId()})); err != nil {
			t.Fatal(err)
		}
		if d := w.post(hook.GetPath(), nil, []byte(`{}`)); d.status != http.StatusNotFound {
			t.Fatalf("delivery to a deleted webhook: %d, want 404", d.status)
		}
		if _, err := w.a.webhooks.GetWebhook(ctx, connect.NewRequest(&switchyardv1.GetWebhookRequest{Id: hook.GetId()})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("get deleted: %v, want not_found", err)
		}
	})
}

func TestWebhookNeedsSecretKey(t *testing.T) {
	t.Parallel()
	cfg := fastEngine
	cfg.SecretKey = []byte{} // configured, but empty: no key
	srv := servertest.Start(t, storetest.Engines(t)[0], servertest.Options{Engine: cfg})
	a := newAPI(srv.URL, grpcProtocol())
	_, err := a.webhooks.CreateWebhook(context.Background(), connect.NewRequest(&switchyardv1.CreateWebhookRequest{Settings: &switchyardv1.WebhookSettings{
		Name: "k", Scheme: switchyardv1.WebhookScheme_WEBHOOK_SCHEME_GITHUB, KeyExpression: `"k"`,
	}}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "--secret-key") {
		t.Fatalf("create without a secret key: %v, want failed_precondition naming --secret-key", err)
	}
	if n, _ := srv.Store.DB().NewSelect().Model((*store.Webhook)(nil)).Count(context.Background()); n != 0 {
		t.Fatalf("%d webhooks stored", n)
	}
}
