import { describe, expect, test } from "vitest";
import { parseJsonObject } from "./components";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { formatDuration, runDuration, runStatusName, taskStatusName, workerStatusName } from "./format";
import { RunStatus, TaskStatus } from "./gen/switchyard/v1/run_pb";
import { WorkerStatus } from "./gen/switchyard/v1/worker_pb";

describe("status names", () => {
  test("are the enum names without prefix, lower case", () => {
    expect(runStatusName(RunStatus.SUCCEEDED)).toBe("succeeded");
    expect(runStatusName(RunStatus.WAITING)).toBe("waiting");
    expect(taskStatusName(TaskStatus.PENDING)).toBe("pending");
    expect(workerStatusName(WorkerStatus.INACTIVE)).toBe("inactive");
  });
});

describe("formatDuration", () => {
  test.each([
    [850, "850 ms"],
    [1500, "1.5 s"],
    [12_300, "12 s"],
    [245_000, "4 m 5 s"],
    [7_380_000, "2 h 3 m"],
  ])("%d ms is %s", (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe("parseJsonObject", () => {
  test("accepts an object and empty text", () => {
    expect(parseJsonObject('{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parseJsonObject("  ")).toEqual({ value: {} });
  });
  test.each(["{", "[1]", "3", "null", '"s"'])("refuses %s with a message", (text) => {
    const r = parseJsonObject(text);
    expect(r.value).toBeUndefined();
    expect(r.error).toMatch(/JSON/);
  });
});

describe("runDuration", () => {
  const now = Date.parse("2026-12-02T10:00:00Z");
  const at = (iso: string) => timestampFromDate(new Date(iso));
  test.each([RunStatus.SCHEDULED, RunStatus.QUEUED, RunStatus.WAITING])(
    "of a run not started (status %i) is none, and does not grow",
    (status) => {
      const run = { status, createdAt: at("2026-12-02T09:00:00Z"), scheduledAt: at("2026-12-02T11:00:00Z") };
      expect(runDuration(run, now)).toBe("—");
      expect(runDuration(run, now + 3_600_000)).toBe("—");
    },
  );
  test("of a running run grows from its start", () => {
    const run = { status: RunStatus.RUNNING, createdAt: at("2026-12-02T09:59:48Z") };
    expect(runDuration(run, now)).toBe("12 s");
    expect(runDuration(run, now + 245_000 - 12_000)).toBe("4 m 5 s");
  });
  test.each([
    ["a scheduled run that ran counts from its scheduled time", RunStatus.SUCCEEDED, "2026-12-02T09:00:01.5Z", "1.5 s"],
    ["a scheduled run cancelled before its time has none", RunStatus.CANCELLED, "2026-12-02T08:30:00Z", "—"],
  ])("of %s", (_, status, finished, want) => {
    const run = {
      status,
      createdAt: at("2026-12-02T08:00:00Z"),
      scheduledAt: at("2026-12-02T09:00:00Z"),
      finishedAt: at(finished),
    };
    expect(runDuration(run, now)).toBe(want);
  });
});
