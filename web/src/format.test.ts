import { describe, expect, test } from "vitest";
import { parseJsonObject } from "./components";
import { formatDuration, runStatusName, taskStatusName, workerStatusName } from "./format";
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
