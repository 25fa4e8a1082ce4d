import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { explain } from "./errors";

describe("explain", () => {
  test("names every Connect code in snake case", () => {
    const codes = Object.values(Code).filter((v): v is Code => typeof v === "number");
    expect(codes).toHaveLength(16);
    const names = codes.map((c) => explain(new ConnectError("m", c)).code);
    expect(names).toEqual([
      "canceled",
      "unknown",
      "invalid_argument",
      "deadline_exceeded",
      "not_found",
      "already_exists",
      "permission_denied",
      "resource_exhausted",
      "failed_precondition",
      "aborted",
      "out_of_range",
      "unimplemented",
      "internal",
      "unavailable",
      "data_loss",
      "unauthenticated",
    ]);
  });

  test("keeps the raw message and the request id", () => {
    const err = new ConnectError("run x not found", Code.NotFound, { "X-Request-Id": "r1" });
    expect(explain(err)).toMatchObject({ code: "not_found", message: "run x not found", requestId: "r1" });
  });

  test("calls a failed fetch a network failure", () => {
    const err = ConnectError.from(new TypeError("Failed to fetch"));
    expect(explain(err)).toMatchObject({ code: "unavailable", title: "Cannot reach the server" });
  });
});
