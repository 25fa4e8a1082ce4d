package service

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"

	switchyardv1 "github.com/switchyard/switchyard/gen/switchyard/v1"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/engine"
	"github.com/switchyard/switchyard/internal/webhook"
)

// WebhookPath is where senders post: WebhookPath + webhook id.
const WebhookPath = "/webhooks/"

// MaxWebhookBodyBytes bounds a webhook request body.
const MaxWebhookBodyBytes = 1 << 20

// WebhookReceiver turns third-party webhook requests into events. It verifies
// the request against the webhook's scheme, evaluates the webhook's expressions,
// and pushes the result through the same path as PushEvent (the API's
// validation rules, the push transaction with its triggers, deduplication).
// Senders speak plain HTTP, so it answers with HTTP statuses and a small JSON
// body, and records each delivery's outcome.
type WebhookReceiver struct {
	engine *engine.Engine
	events *EventService
	limits *auth.Limiter
	errs   Errors
	log    *slog.Logger
	now    func() time.Time
}

// NewWebhookReceiver returns the receiver, pushing through events. Each
// webhook has a rate limit of its own in l (nil means none): a delivery over it
// is answered 429 with Retry-After, and not recorded.
func NewWebhookReceiver(e *engine.Engine, events *EventService, l *auth.Limiter, log *slog.Logger) *WebhookReceiver {
	return &WebhookReceiver{engine: e, events: events, limits: l, errs: Errors{Log: log}, log: log, now: time.Now}
}

// receipt is the JSON answer to a sender.
type receipt struct {
	EventID      string   `json:"event_id,omitempty"`
	RunIDs       []string `json:"run_ids,omitempty"`
	Deduplicated bool     `json:"deduplicated,omitempty"`
	Error        string   `json:"error,omitempty"`
	RequestID    string   `json:"request_id"`
}

// httpStatus is the status a sender gets for each Connect code of the push.
var httpStatus = map[connect.Code]int{
	connect.CodeInvalidArgument:   http.StatusBadRequest,
	connect.CodeAlreadyExists:     http.StatusConflict,
	connect.CodeResourceExhausted: http.StatusTooManyRequests,
	connect.CodeUnavailable:       http.StatusServiceUnavailable,
	connect.CodeDeadlineExceeded:  http.StatusGatewayTimeout,
	connect.CodeCanceled:          499, // the sender went away
}

func (r *WebhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx := WithRequestID(req.Context(), uuid.NewString())
	id := strings.TrimPrefix(req.URL.Path, WebhookPath)
	answer := func(status int, rec receipt) {
		rec.RequestID, rec.Error = RequestID(ctx), Excerpt(rec.Error)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(RequestIDHeader, rec.RequestID)
		if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(rec)
		r.log.InfoContext(ctx, "webhook", "webhook_id", id, "status", status, "event_id", rec.EventID, "error", rec.Error, "request_id", rec.RequestID)
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(http.StatusMethodNotAllowed, receipt{Error: "webhooks take POST"})
		return
	}
	if uuid.Validate(id) != nil {
		answer(http.StatusNotFound, receipt{Error: "no such webhook"})
		return
	}
	target, err := r.engine.WebhookTarget(ctx, id)
	var ee *engine.Error
	if errors.As(err, &ee) && ee.Kind == engine.KindNotFound {
		answer(http.StatusNotFound, receipt{Error: "no such webhook"})
		return
	}
	if err != nil {
		ce := r.errs.Convert(ctx, err)
		answer(statusOf(ce), receipt{Error: connectMessage(ce)})
		return
	}
	var limited *auth.RateLimitError
	if err := r.limits.AllowWebhook(ctx, target.TenantID, id); errors.As(err, &limited) {
		w.Header().Set("Retry-After", RetryAfter(limited.RetryAfter))
		answer(http.StatusTooManyRequests, receipt{Error: limited.Error()})
		return
	}
	// Every answer from here on is recorded as the webhook's delivery.
	reject := func(status int, reason string) {
		reason = Excerpt(reason)
		r.engine.RecordDelivery(ctx, target.TenantID, id, engine.Delivery{Outcome: engine.DeliveryRejected, Reason: reason, HTTPStatus: int32(status)})
		answer(status, receipt{Error: reason})
	}
	body, err := readBody(w, req)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reject(http.StatusRequestEntityTooLarge, "body over "+strconv.Itoa(MaxWebhookBodyBytes)+" bytes")
			return
		}
		reject(http.StatusBadRequest, "body could not be read")
		return
	}
	if err := target.Verifier.Verify(req.Header, body, r.now()); err != nil {
		var rej *webhook.Rejection
		if errors.As(err, &rej) {
			reject(http.StatusUnauthorized, rej.Reason)
			return
		}
		// The webhook's own configuration is broken: our fault, not the sender's.
		ce := r.errs.Convert(ctx, err)
		reject(statusOf(ce), connectMessage(ce))
		return
	}
	var decoded any
	if err := json.Unmarshal(body, &decoded); err != nil {
		reject(http.StatusBadRequest, "body is not JSON")
		return
	}
	ev, err := target.Evaluate(decoded, req.Header, req.URL.Query())
	if err != nil {
		reject(http.StatusBadRequest, err.Error())
		return
	}
	push, err := pushRequest(id, decoded, ev)
	if err == nil {
		err = protovalidate.Validate(push)
	}
	if err != nil {
		reject(http.StatusBadRequest, "the event is invalid: "+err.Error())
		return
	}
	res, err := r.events.push(ctx, target.TenantID, push)
	if err != nil {
		ce := r.errs.Convert(ctx, err)
		reject(statusOf(ce), connectMessage(ce))
		return
	}
	outcome := engine.DeliveryAccepted
	if res.GetDeduplicated() {
		outcome = engine.DeliveryDuplicate
	}
	r.engine.RecordDelivery(ctx, target.TenantID, id, engine.Delivery{Outcome: outcome, HTTPStatus: http.StatusOK, EventID: res.GetEvent().GetId()})
	answer(http.StatusOK, receipt{EventID: res.GetEvent().GetId(), RunIDs: res.GetRunIds(), Deduplicated: res.GetDeduplicated()})
}

func readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	defer req.Body.Close()
	return io.ReadAll(http.MaxBytesReader(w, req.Body, MaxWebhookBodyBytes))
}

// pushRequest builds the PushEvent request a webhook request becomes. The payload
// is the JSON body (a body that is not an object goes under "body"); the
// metadata names the webhook and delivery; the delivery id, when there is one,
// makes the idempotency key, so redeliveries are deduplicated.
func pushRequest(webhookID string, body any, ev *engine.WebhookEvent) (*switchyardv1.PushEventRequest, error) {
	obj, ok := body.(map[string]any)
	if !ok {
		obj = map[string]any{"body": body}
	}
	payload, err := structpb.NewStruct(obj)
	if err != nil {
		return nil, err
	}
	req := &switchyardv1.PushEventRequest{
		Key:      ev.Key,
		Scope:    ev.Scope,
		Payload:  payload,
		Metadata: map[string]string{"webhook_id": webhookID},
	}
	if ev.DeliveryID != "" {
		delivery := ev.DeliveryID
		if len(delivery) > 128 {
			sum := sha256.Sum256([]byte(delivery))
			delivery = "sha256:" + hex.EncodeToString(sum[:])
		}
		req.Metadata["delivery_id"] = delivery
		req.IdempotencyKey = "webhook:" + webhookID + ":" + delivery
	}
	return req, nil
}

func statusOf(err error) int {
	if s, ok := httpStatus[connect.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}
