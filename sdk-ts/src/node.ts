import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

/** The protocols a Node transport can speak; the server answers all of them. */
export type Protocol = "connect" | "grpc" | "grpc-web";

/** Options of {@link createNodeTransport}. */
export interface NodeTransportOptions {
  /** The server's URL, such as `http://127.0.0.1:8080`. */
  baseUrl: string;
  /**
   * `connect` (the default: Connect over HTTP/1.1, which passes proxies that
   * block gRPC, streams included), `grpc` (HTTP/2) or `grpc-web`.
   */
  protocol?: Protocol;
  /** The HTTP version: `2` for gRPC, `1.1` otherwise by default. */
  httpVersion?: "1.1" | "2";
  /** Binary protobuf (the default) or, when false, JSON; gRPC is always binary. */
  useBinaryFormat?: boolean;
}

/**
 * Returns a Node transport for a {@link SwitchyardClient}: Connect, gRPC or
 * gRPC-Web over HTTP/1.1 or HTTP/2 (plain `http://` uses h2c for HTTP/2).
 */
export function createNodeTransport(opts: NodeTransportOptions): Transport {
  const protocol = opts.protocol ?? "connect";
  const useBinaryFormat = opts.useBinaryFormat ?? true;
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl: opts.baseUrl });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl: opts.baseUrl, httpVersion: opts.httpVersion ?? "1.1", useBinaryFormat });
    case "connect":
      return createConnectTransport({ baseUrl: opts.baseUrl, httpVersion: opts.httpVersion ?? "1.1", useBinaryFormat });
  }
}
