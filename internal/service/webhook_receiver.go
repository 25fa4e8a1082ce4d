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
// checks the event by the API's validation rules for PushEvent, and pushes it
// through the engine's push (the push transaction with its triggers,
// deduplication). Senders speak plain HTTP, so it answers with HTTP statuses and
// a small JSON body, and records each delivery's outcome.
//
// It is not an [http.Handler] by itself: the server serves [WebhookReceiver.Serve]
// behind the middleware of every call (request id, panic recovery, the log
// line), and its failures become Connect errors through [Errors.Convert], as
// every RPC's do.
type WebhookReceiver struct {
	engine *engine.Engine
	limits *auth.Limiter
	errs   Errors
	now    func() time.Time
}

// NewWebhookReceiver returns the receiver. Each webhook has a rate limit of its
// own in l (nil means none): a delivery over it is answered 429 with
// Retry-After, and not recorded.
func NewWebhookReceiver(e *engine.Engine, l *auth.Limiter, log *slog.Logger) *WebhookReceiver {
	return &WebhookReceiver{engine: e, limits: l, errs: Errors{Log: log}, now: time.Now}
}

// receipt is the JSON answer to a sender.
type receipt struct {
	EventID      string   `json:"event_id,omitempty"`
	RunIDs       []string `json:"run_ids,omitempty"`
	Deduplicated bool     `json:"deduplicated,omitempty"`
	Error        string   `json:"error,omitempty"`
	RequestID    string   `json:"request_id"`
}

// httpStatus is the status a sender gets for each Connect code of a failure.
var httpStatus = map[connect.Code]int{
	connect.CodeInvalidArgument:   http.StatusBadRequest,
	connect.CodeAlreadyExists:     http.StatusConflict,
	connect.CodeResourceExhausted: http.StatusTooManyRequests,
	connect.CodeUnavailable:       http.StatusServiceUnavailable,
	connect.CodeDeadlineExceeded:  http.StatusGatewayTimeout,
	connect.CodeCanceled:          499, // the sender went away
}

// Serve answers one webhook request and returns the error it answered with
// (nil for an accepted delivery), for the log line of the middleware that
// serves it.
func (r *WebhookReceiver) Serve(w http.ResponseWriter, req *http.Request) error {
	ctx := req.Context()
	id := strings.TrimPrefix(req.URL.Path, WebhookPath)
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return answer(w, req, http.StatusMethodNotAllowed, receipt{}, refusal(connect.CodeUnimplemented, "webhooks take POST"))
	}
	if uuid.Validate(id) != nil {
		return answer(w, req, http.StatusNotFound, receipt{}, refusal(connect.CodeNotFound, "no such webhook"))
	}
	target, err := r.engine.WebhookTarget(ctx, id)
	if ee := engine.ErrorOf(err); ee != nil && ee.Kind == engine.KindNotFound {
		return answer(w, req, http.StatusNotFound, receipt{}, refusal(connect.CodeNotFound, "no such webhook"))
	}
	if err == nil {
		err = r.limits.AllowWebhook(ctx, target.TenantID, id)
	}
	if err != nil {
		status, ce := r.convert(w, req, err)
		return answer(w, req, status, receipt{}, ce)
	}
	// Every answer from here on is recorded as the webhook's delivery.
	res, status, ce := r.deliver(w, req, id, target)
	if ce != nil {
		r.engine.RecordDelivery(ctx, target.TenantID, id, engine.Delivery{Outcome: engine.DeliveryRejected, Reason: Excerpt(ce.Message()), HTTPStatus: int32(status)})
		return answer(w, req, status, receipt{}, ce)
	}
	outcome := engine.DeliveryAccepted
	if res.Deduplicated {
		outcome = engine.DeliveryDuplicate
	}
	r.engine.RecordDelivery(ctx, target.TenantID, id, engine.Delivery{Outcome: outcome, HTTPStatus: http.StatusOK, EventID: res.Event.ID})
	return answer(w, req, http.StatusOK, receipt{EventID: res.Event.ID, RunIDs: res.RunIDs, Deduplicated: res.Deduplicated}, nil)
}

// deliver verifies, evaluates, checks and pushes the request's event, or says
// why not and with which status.
func (r *WebhookReceiver) deliver(w http.ResponseWriter, req *http.Request, id string, target *engine.WebhookTarget) (*engine.PushResult, int, *connect.Error) {
	body, err := readBody(w, req)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, refusal(connect.CodeResourceExhausted, "body over "+strconv.Itoa(MaxWebhookBodyBytes)+" bytes")
		}
		return nil, http.StatusBadRequest, refusal(connect.CodeInvalidArgument, "body could not be read")
	}
	if err := target.Verifier.Verify(req.Header, body, r.now()); err != nil {
		var rej *webhook.Rejection
		if errors.As(err, &rej) {
			return nil, http.StatusUnauthorized, refusal(connect.CodeUnauthenticated, rej.Reason)
		}
		// The webhook's own configuration is broken: our fault, not the sender's.
		status, ce := r.convert(w, req, err)
		return nil, status, ce
	}
	var decoded any
	if err := json.Unmarshal(body, &decoded); err != nil {
		return nil, http.StatusBadRequest, refusal(connect.CodeInvalidArgument, "body is not JSON")
	}
	ev, err := target.Evaluate(decoded, req.Header, req.URL.Query())
	if err != nil {
		return nil, http.StatusBadRequest, refusal(connect.CodeInvalidArgument, err.Error())
	}
	push, err := pushRequest(id, decoded, ev)
	if err == nil {
		// The rules every PushEvent request passes (the validation interceptor's).
		err = protovalidate.Validate(push)
	}
	if err != nil {
		return nil, http.StatusBadRequest, refusal(connect.CodeInvalidArgument, "the event is invalid: "+err.Error())
	}
	res, err := r.engine.PushEvent(req.Context(), target.TenantID, eventInput(push))
	if err != nil {
		status, ce := r.convert(w, req, err)
		return nil, status, ce
	}
	return res, http.StatusOK, nil
}

// refusal is the error of a request the receiver turns down itself.
func refusal(code connect.Code, reason string) *connect.Error {
	return connect.NewError(code, errors.New(Excerpt(reason)))
}

// convert turns err into its Connect error through [Errors.Convert], the
// mapping of every RPC, puts that error's headers (such as a rate limit's
// Retry-After) on the answer, and returns the status its code stands for.
func (r *WebhookReceiver) convert(w http.ResponseWriter, req *http.Request, err error) (int, *connect.Error) {
	var ce *connect.Error
	if !errors.As(r.errs.Convert(req.Context(), err), &ce) {
		ce = connect.NewError(connect.CodeInternal, errors.New("internal error (request id "+RequestID(req.Context())+")"))
	}
	for k, v := range ce.Meta() {
		w.Header()[k] = v
	}
	status, ok := httpStatus[ce.Code()]
	if !ok {
		status = http.StatusInternalServerError
	}
	return status, ce
}

// answer writes the receipt with status, and the error's message when there is
// one; it returns that error.
func answer(w http.ResponseWriter, req *http.Request, status int, rec receipt, ce *connect.Error) error {
	rec.RequestID = RequestID(req.Context())
	w.Header().Set("Content-Type", "application/json")
	if (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	if ce == nil {
		_ = json.NewEncoder(w).Encode(rec)
		return nil
	}
	rec.Error = Excerpt(ce.Message())
	_ = json.NewEncoder(w).Encode(rec)
	return ce
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
