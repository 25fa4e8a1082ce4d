// The push form: one event, its JSON payload checked in the browser.
import { useMutation } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { BusyButton, EventLink, PageHead, parseJsonObject, RunLink } from "../components";
import { ApiError } from "../errors";
import { Field, TextAreaField, TextField } from "../fields";
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
      <PageHead title="Push an event" />
      <form className="card form" onSubmit={submit} noValidate>
        <TextField
          label="Key"
          testId="push-key"
          value={key}
          onText={setKey}
          placeholder="user.created"
          required
          error={keyError}
        />
        <TextAreaField
          label="Payload (a JSON object)"
          testId="push-payload"
          value={payload}
          onText={setPayload}
          rows={8}
          error={parsedPayload.error}
        />
        <TextAreaField
          label="Metadata (a JSON object of strings; optional)"
          testId="push-metadata"
          value={metadata}
          onText={setMetadata}
          rows={3}
          placeholder='{"source": "dashboard"}'
          error={parsedMetadata.error}
        />
        <div className="row">
          <TextField
            label="Idempotency key (optional)"
            testId="push-idempotency-key"
            value={idempotencyKey}
            onText={setIdempotencyKey}
            placeholder="makes the push safe to retry"
          />
          <TextField label="Scope (optional)" testId="push-scope" value={scope} onText={setScope} />
          <Field label="Priority" variant="narrow">
            <input
              data-testid="push-priority"
              type="number"
              min={0}
              max={9}
              value={priority}
              onChange={(e) => setPriority(Math.max(0, Math.min(9, Number(e.target.value) || 0)))}
            />
          </Field>
        </div>
        <div className="form-buttons">
          <BusyButton
            type="submit"
            variant="primary"
            testId="push-submit"
            label="Push event"
            busyLabel="Pushing…"
            busy={push.isPending}
            disabled={invalid}
          />
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
            Event <EventLink id={res.event.id} full testId="push-event-link" />
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
                    <RunLink id={id} full testId="push-run-link" />
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
