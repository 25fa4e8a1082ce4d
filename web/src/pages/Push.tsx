// The push form: one event, its JSON payload checked in the browser.
import { useMutation } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { parseJsonObject } from "../components";
import { ApiError } from "../errors";
import { EventService, type PushEventRequest } from "../gen/switchyard/v1/event_pb";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PushEventRequestSchema } from "../gen/switchyard/v1/event_pb";
import { SkippedTriggers } from "./Event";

const keyPattern = /^[A-Za-z0-9._:/-]+$/;

/** parseMetadata parses a JSON object of strings. */
function parseMetadata(text: string): { value?: Record<string, string>; error?: string } {
  const r = parseJsonObject(text);
  if (r.error || !r.value) {
    return { error: r.error };
  }
  for (const [k, v] of Object.entries(r.value)) {
    if (typeof v !== "string") {
      return { error: `Metadata values are strings: "${k}" is ${v === null ? "null" : typeof v}.` };
    }
  }
  return { value: r.value as Record<string, string> };
}

export function PushPage() {
  const [key, setKey] = useState("");
  const [payload, setPayload] = useState("{\n  \n}");
  const [metadata, setMetadata] = useState("");
  const [idempotencyKey, setIdempotencyKey] = useState("");
  const [scope, setScope] = useState("");
  const [priority, setPriority] = useState(0);
  const push = useMutation(EventService.method.pushEvent);

  const parsedPayload = parseJsonObject(payload);
  const parsedMetadata = parseMetadata(metadata);
  const keyError = key === "" ? "" : keyPattern.test(key) ? "" : "Letters, digits and . _ - : / only.";
  const invalid = key === "" || !!keyError || !!parsedPayload.error || !!parsedMetadata.error;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (invalid) {
      return;
    }
    const req: MessageInitShape<typeof PushEventRequestSchema> = {
      key,
      payload: parsedPayload.value as PushEventRequest["payload"],
      metadata: parsedMetadata.value ?? {},
      idempotencyKey: idempotencyKey.trim(),
      scope: scope.trim(),
      priority,
    };
    push.mutate(req);
  }

  const res = push.data;
  return (
    <section>
      <div className="page-head">
        <h1>Push an event</h1>
      </div>
      <form className="card form" onSubmit={submit} noValidate>
        <label className="field">
          <span>Key</span>
          <input
            data-testid="push-key"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="user.created"
            spellCheck={false}
            required
          />
          {keyError && <small className="field-error">{keyError}</small>}
        </label>
        <label className="field">
          <span>Payload (a JSON object)</span>
          <textarea
            data-testid="push-payload"
            className={parsedPayload.error ? "invalid" : ""}
            value={payload}
            onChange={(e) => setPayload(e.target.value)}
            rows={8}
            spellCheck={false}
            aria-invalid={!!parsedPayload.error}
          />
          {parsedPayload.error && (
            <small className="field-error" data-testid="push-payload-error" role="alert">
              {parsedPayload.error}
            </small>
          )}
        </label>
        <label className="field">
          <span>Metadata (a JSON object of strings; optional)</span>
          <textarea
            data-testid="push-metadata"
            className={parsedMetadata.error ? "invalid" : ""}
            value={metadata}
            onChange={(e) => setMetadata(e.target.value)}
            rows={3}
            placeholder='{"source": "dashboard"}'
            spellCheck={false}
          />
          {parsedMetadata.error && (
            <small className="field-error" data-testid="push-metadata-error" role="alert">
              {parsedMetadata.error}
            </small>
          )}
        </label>
        <div className="row">
          <label className="field">
            <span>Idempotency key (optional)</span>
            <input
              data-testid="push-idempotency-key"
              value={idempotencyKey}
              onChange={(e) => setIdempotencyKey(e.target.value)}
              placeholder="makes the push safe to retry"
              spellCheck={false}
            />
          </label>
          <label className="field">
            <span>Scope (optional)</span>
            <input data-testid="push-scope" value={scope} onChange={(e) => setScope(e.target.value)} spellCheck={false} />
          </label>
          <label className="field narrow">
            <span>Priority</span>
            <input
              data-testid="push-priority"
              type="number"
              min={0}
              max={9}
              value={priority}
              onChange={(e) => setPriority(Math.max(0, Math.min(9, Number(e.target.value) || 0)))}
            />
          </label>
        </div>
        <div className="form-buttons">
          <button type="submit" className="button primary" data-testid="push-submit" disabled={invalid || push.isPending}>
            {push.isPending ? "Pushing…" : "Push event"}
          </button>
          <span className="muted">
            The event and the runs it starts are stored in one transaction; with an idempotency key a retry is safe.
          </span>
        </div>
      </form>
      {push.error && <ApiError error={push.error} onRetry={() => push.mutate(push.variables!)} />}
      {res?.event && (
        <div className="card result" data-testid="push-result" data-event-id={res.event.id} data-deduplicated={res.deduplicated}>
          <h2>{res.deduplicated ? "Already pushed (deduplicated)" : "Event stored"}</h2>
          <p>
            Event{" "}
            <Link to={`/events/${res.event.id}`} className="mono" data-testid="push-event-link">
              {res.event.id}
            </Link>
            {res.deduplicated && " — this idempotency key was used before, so the original event is shown and nothing new was stored."}
          </p>
          {res.runIds.length === 0 ? (
            <p className="muted">It started no run: no workflow's trigger matched the key.</p>
          ) : (
            <>
              <p>
                It started {res.runIds.length} run{res.runIds.length === 1 ? "" : "s"}:
              </p>
              <ul className="run-links">
                {res.runIds.map((id) => (
                  <li key={id}>
                    <Link to={`/runs/${id}`} data-testid="push-run-link" data-run-id={id} className="mono">
                      {id}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
          {res.event.skippedTriggers.length > 0 && (
            <>
              <h3>Skipped triggers</h3>
              <SkippedTriggers skipped={res.event.skippedTriggers} />
            </>
          )}
        </div>
      )}
    </section>
  );
}
