// Errors in plain words: every Connect code, and the browser's own network
// failure, explained for people, with the raw message and the request id.
import { Code, ConnectError } from "@connectrpc/connect";
import { REQUEST_ID_HEADER } from "./api";

interface Explained {
  /** The Connect code name in snake case, or "unavailable" for a network failure. */
  code: string;
  title: string;
  advice: string;
}

const byCode: Record<Code, Omit<Explained, "code"> & { code: string }> = {
  [Code.Canceled]: { code: "canceled", title: "The request was cancelled", advice: "It was stopped before it finished, usually because you left the page. Try again." },
  [Code.Unknown]: { code: "unknown", title: "Something went wrong", advice: "The server or the network answered in a way the dashboard did not understand. Try again; if it keeps happening, quote the request id." },
  [Code.InvalidArgument]: { code: "invalid_argument", title: "The request was not valid", advice: "A field breaks one of the API's rules; the message below names it. Correct it and submit again." },
  [Code.DeadlineExceeded]: { code: "deadline_exceeded", title: "The request took too long", advice: "The deadline passed before the server answered; nothing was stored. Try again." },
  [Code.NotFound]: { code: "not_found", title: "Not found", advice: "There is no such object in your tenant. It may have been deleted or pruned, or the id is wrong." },
  [Code.AlreadyExists]: { code: "already_exists", title: "Already exists", advice: "This idempotency key was used before for a different request. Use a new key, or repeat the original request exactly." },
  [Code.PermissionDenied]: { code: "permission_denied", title: "Your token may not do this", advice: "The token's role does not allow this call. Sign in with a token whose role does (an admin token can do everything)." },
  [Code.ResourceExhausted]: { code: "resource_exhausted", title: "Too much at once", advice: "A rate or size limit was reached. Wait a moment and try again, or send less." },
  [Code.FailedPrecondition]: { code: "failed_precondition", title: "Not possible in the current state", advice: "The object is not in a state that allows this, for example replaying a run that has not ended. Refresh and look again." },
  [Code.Aborted]: { code: "aborted", title: "The request was aborted", advice: "It conflicted with another change. Try again." },
  [Code.OutOfRange]: { code: "out_of_range", title: "Out of range", advice: "A value is outside what the server accepts. Correct it and try again." },
  [Code.Unimplemented]: { code: "unimplemented", title: "Not supported by this server", advice: "The server does not offer this call. Check that the Server address points at a Switchyard server of a matching version." },
  [Code.Internal]: { code: "internal", title: "The server hit a bug", advice: "This is a server error, not your fault. Try again; if it persists, report it with the request id below." },
  [Code.Unavailable]: { code: "unavailable", title: "The server is unavailable", advice: "The server (or its database) cannot answer right now. Wait a moment and retry." },
  [Code.DataLoss]: { code: "data_loss", title: "Data was lost or corrupted", advice: "The server reported unrecoverable data loss. Report it with the request id below." },
  [Code.Unauthenticated]: { code: "unauthenticated", title: "Not signed in", advice: "This token was not accepted (unauthenticated). Check it or create a new one with `switchyard tokens create`." },
};

const network: Explained = {
  code: "unavailable",
  title: "Cannot reach the server",
  advice: "The browser could not connect. Check that the server is running, that the Server address is right, and that the server allows this origin (--cors-origins).",
};

/** isNetworkError reports whether e is a failure to reach the server at all. */
export function isNetworkError(e: unknown): boolean {
  if (!(e instanceof ConnectError)) {
    return e instanceof TypeError;
  }
  return e.code === Code.Unknown && e.cause instanceof TypeError;
}

/** explain describes any error for people. */
export function explain(e: unknown): Explained & { message: string; requestId: string } {
  const err = ConnectError.from(e);
  const base = isNetworkError(e) ? network : byCode[err.code] ?? byCode[Code.Unknown];
  return {
    ...base,
    message: err.rawMessage,
    requestId: err.metadata.get(REQUEST_ID_HEADER) ?? "",
  };
}

/** errorText is a one-line description of e, for inline messages. */
export function errorText(e: unknown): string {
  const x = explain(e);
  return x.message ? `${x.title}: ${x.message}` : x.title;
}

/** ApiError shows an error: what it means, what to do, the raw message, the request id and a Retry button. */
export function ApiError({ error, onRetry, compact }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const x = explain(error);
  return (
    <div className={compact ? "api-error compact" : "api-error"} role="alert" data-testid="api-error" data-code={x.code}>
      <div className="api-error-title">
        <strong>{x.title}</strong> <code className="api-error-code">{x.code}</code>
      </div>
      <p className="api-error-advice">{x.advice}</p>
      {x.message && <pre className="api-error-message">{x.message}</pre>}
      {x.requestId && (
        <p className="api-error-meta">
          Request id: <code data-testid="api-error-request-id">{x.requestId}</code>
        </p>
      )}
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
