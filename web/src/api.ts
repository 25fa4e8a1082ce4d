// The API client: one gRPC-Web transport (binary protobuf) per signed-in
// session, with the bearer token added to every call and each failure's
// request id kept on the error.
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { RunService } from "./gen/switchyard/v1/run_pb";

/** REQUEST_ID_HEADER is the response header that names a call in the server's logs. */
export const REQUEST_ID_HEADER = "x-request-id";

// requestIds holds the request id of each call's response, keyed by the
// call's abort signal (unique per call and passed to fetch), so that an error
// reported in the gRPC-Web trailer still carries the id the server sent in
// the response headers.
const requestIds = new WeakMap<AbortSignal, string>();

const fetchRecordingRequestId: typeof globalThis.fetch = async (input, init) => {
  const response = await globalThis.fetch(input, init);
  const id = response.headers.get(REQUEST_ID_HEADER);
  if (id && init?.signal) {
    requestIds.set(init.signal, id);
  }
  return response;
};

function authInterceptor(token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (e) {
      const err = ConnectError.from(e);
      const id = requestIds.get(req.signal);
      if (id && !err.metadata.has(REQUEST_ID_HEADER)) {
        err.metadata.set(REQUEST_ID_HEADER, id);
      }
      throw err;
    }
  };
}

/** createTransport returns a gRPC-Web transport to baseUrl that authenticates with token. */
export function createTransport(baseUrl: string, token: string): Transport {
  return createGrpcWebTransport({
    baseUrl,
    useBinaryFormat: true,
    interceptors: [authInterceptor(token)],
    fetch: fetchRecordingRequestId,
  });
}

/** checkToken makes the cheapest authenticated call, to tell whether token is accepted. */
export async function checkToken(baseUrl: string, token: string): Promise<void> {
  const client = createClient(RunService, createTransport(baseUrl, token));
  await client.listRuns({ pageSize: 1 }, { timeoutMs: 15000 });
}

/** isUnauthenticated reports whether e is an API answer that the token is not accepted. */
export function isUnauthenticated(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.Unauthenticated;
}

/** normalizeServer turns what the user typed into an origin URL without a trailing slash. */
export function normalizeServer(s: string): string {
  let v = s.trim();
  if (v === "") {
    return window.location.origin;
  }
  if (!/^https?:\/\//i.test(v)) {
    v = `http://${v}`;
  }
  return v.replace(/\/+$/, "");
}
