import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** Connect's error codes and error type, re-exported for `instanceof` and `switch`. */
export { Code, ConnectError };

/**
 * SwitchyardError is what every call of a {@link SwitchyardClient} throws: the
 * Connect code and details of the server's answer (or of the transport's
 * failure), with what the call was for in its message.
 */
export class SwitchyardError extends Error {
  /** The Connect code, the same on every protocol (e.g. `Code.InvalidArgument`). */
  readonly code: Code;
  /** The server's message, without the code or what the call was for. */
  readonly rawMessage: string;
  /** The error details, as Connect gives them (`type` names the message). */
  readonly details: ConnectError["details"];
  /** The request id the server answered with (`X-Request-Id`), or "". */
  readonly requestId: string;
  /** The underlying Connect error. */
  override readonly cause: ConnectError;

  /** Wraps a Connect error; `what` says what the call was for ("push event"). */
  constructor(what: string, cause: ConnectError) {
    super(`${what}: ${cause.message}`);
    this.name = "SwitchyardError";
    this.code = cause.code;
    this.rawMessage = cause.rawMessage;
    this.details = cause.details;
    this.requestId = cause.metadata.get("x-request-id") ?? "";
    this.cause = cause;
  }

  /**
   * The delay in milliseconds that a `google.rpc.RetryInfo` detail asks for
   * before the next call, or 0 when there is none.
   */
  get retryDelayMs(): number {
    return retryDelayMs(this.cause);
  }
}

/**
 * Wraps any thrown value as a {@link SwitchyardError}, keeping the Connect code
 * of a Connect error (others become `Code.Unknown`).
 */
export function toSwitchyardError(what: string, err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) {
    return err;
  }
  return new SwitchyardError(what, ConnectError.from(err));
}

/** The type name of google.rpc.RetryInfo in error details. */
const retryInfoType = "google.rpc.RetryInfo";

/**
 * The delay in milliseconds that a `google.rpc.RetryInfo` detail of err asks
 * for, or 0 when err has none.
 */
export function retryDelayMs(err: unknown): number {
  const ce = err instanceof SwitchyardError ? err.cause : err instanceof ConnectError ? err : undefined;
  if (ce === undefined) {
    return 0;
  }
  for (const d of ce.details) {
    if ("desc" in d) {
      continue;
    }
    if (d.type !== retryInfoType) {
      continue;
    }
    try {
      return decodeRetryDelay(d.value);
    } catch {
      return 0;
    }
  }
  return 0;
}

/** Decodes RetryInfo { Duration retry_delay = 1 } to milliseconds. */
function decodeRetryDelay(bytes: Uint8Array): number {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field !== 1) {
      r.skip(wireType);
      continue;
    }
    const d = new BinaryReader(r.bytes());
    let seconds = 0;
    let nanos = 0;
    while (d.pos < d.len) {
      const [f, wt] = d.tag();
      if (f === 1) {
        seconds = Number(d.int64());
      } else if (f === 2) {
        nanos = d.int32();
      } else {
        d.skip(wt);
      }
    }
    return Math.max(0, seconds * 1000 + nanos / 1e6);
  }
  return 0;
}

/**
 * PermanentError marks a task's failure as not worth retrying: a TaskFunc that
 * throws one fails its task at once, whatever its retry policy says. Any other
 * error is a retryable failure.
 */
export class PermanentError extends Error {
  /** Wraps cause (an Error or a message). */
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "PermanentError";
  }
}
