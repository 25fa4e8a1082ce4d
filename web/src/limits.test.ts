import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, test } from "vitest";
import { NamedRateLimitKeySchema, NamedRateLimitSchema } from "./gen/switchyard/v1/ratelimit_pb";
import { fillRows, rateText } from "./pages/Limits";

describe("rate limits page", () => {
  test("says each limit's rate in its period's unit", () => {
    const limit = (max: number, seconds: number, nanos = 0) =>
      create(NamedRateLimitSchema, { name: "l", max, period: create(DurationSchema, { seconds: BigInt(seconds), nanos }) });
    expect(rateText(limit(100, 1))).toBe("100 per 1 s");
    expect(rateText(limit(10, 60))).toBe("10 per 1 min");
    expect(rateText(limit(5, 0, 250_000_000))).toBe("5 per 250 ms");
  });

  test("has a row per used key, and one for a limit no key used yet", () => {
    const used = create(NamedRateLimitSchema, {
      name: "per-customer",
      max: 10,
      keys: [create(NamedRateLimitKeySchema, { key: "c1", used: 10n }), create(NamedRateLimitKeySchema, { key: "c2", used: 3n })],
    });
    const idle = create(NamedRateLimitSchema, { name: "stripe-api", max: 100 });
    expect(fillRows([used, idle]).map((r) => `${r.limit.name}/${r.key}=${r.used}`)).toEqual([
      "per-customer/c1=10",
      "per-customer/c2=3",
      "stripe-api/=0",
    ]);
  });
});
