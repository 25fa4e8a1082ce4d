import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router";
import { describe, expect, test } from "vitest";
import { runDuration, runNotStarted } from "./format";
import { WaitInfoSchema, WaitMode, WaitState } from "./gen/switchyard/v1/durable_pb";
import { RunSchema, RunStatus } from "./gen/switchyard/v1/run_pb";
import { earliest, nodeLabel, RunWaits, WaitTable, waitSummary, waitWhat } from "./waits";

const soon = new Date("2026-12-05T10:00:00Z");
const later = new Date("2026-12-06T10:00:00Z");
const eventId = "01a21680-1234-7000-8000-0000000000e1";
const childId = "01a21680-1234-7000-8000-0000000000c1";
const parentId = "01a21680-1234-7000-8000-0000000000a1";

const payment = create(WaitInfoSchema, {
  step: "payment",
  condition: "paid",
  mode: WaitMode.ANY,
  state: WaitState.OPEN,
  kind: "event",
  key: "payment.confirmed",
  expression: "event.payload.order_id == input.order_id",
  deadline: timestampFromDate(later),
});
const reminder = create(WaitInfoSchema, {
  step: "payment",
  condition: "reminder",
  mode: WaitMode.ANY,
  state: WaitState.OPEN,
  kind: "sleep",
  deadline: timestampFromDate(soon),
});

function routed(node: React.ReactNode) {
  return renderToStaticMarkup(<MemoryRouter>{node}</MemoryRouter>);
}

describe("waitWhat and waitSummary", () => {
  test("say what each condition waits for, joined by the wait's mode, until the earliest deadline", () => {
    expect(waitWhat(payment)).toBe("event payment.confirmed where event.payload.order_id == input.order_id");
    expect(waitWhat(reminder)).toBe("sleep");
    expect(waitWhat(create(WaitInfoSchema, { kind: "child", childRunId: childId }))).toBe(`child run ${childId}`);
    expect(earliest([payment, reminder])).toEqual(timestampFromDate(soon));
    expect(waitSummary([payment, reminder])).toBe(
      `event payment.confirmed where event.payload.order_id == input.order_id or sleep until ${soon.toLocaleString()}`,
    );
    const all = [create(WaitInfoSchema, { ...reminder, mode: WaitMode.ALL }), create(WaitInfoSchema, { kind: "child", childRunId: childId, mode: WaitMode.ALL })];
    expect(waitSummary(all)).toBe(`sleep and child run ${childId} until ${soon.toLocaleString()}`);
    expect(waitSummary([create(WaitInfoSchema, { kind: "event", key: "k" })])).toBe("event k");
  });
});

describe("nodeLabel", () => {
  test("fits a node: the first wait's kind, how many more, and the deadline's time within a day, else its date", () => {
    const hhmm = soon.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    expect(nodeLabel([reminder], soon.getTime() - 3600_000)).toBe(`sleep until ${hhmm}`);
    expect(nodeLabel([payment, reminder], soon.getTime() - 3600_000)).toBe(`event +1 until ${hhmm}`);
    expect(nodeLabel([payment], soon.getTime() - 3 * 24 * 3600_000)).toBe(
      `event until ${later.toLocaleDateString([], { month: "short", day: "numeric" })}`,
    );
    expect(nodeLabel([create(WaitInfoSchema, { kind: "event", key: "k" })])).toBe("event, no deadline");
    for (const w of [[reminder], [payment, reminder]]) {
      expect(nodeLabel(w, soon.getTime()).length).toBeLessThanOrEqual(22);
    }
  });
});

describe("WaitTable", () => {
  test("shows each condition's key, expression, state and deadline, and links the event that satisfied one and a child run", () => {
    const satisfied = create(WaitInfoSchema, { ...payment, state: WaitState.SATISFIED, eventId, resolvedAt: timestampFromDate(soon) });
    const cancelled = create(WaitInfoSchema, { ...reminder, state: WaitState.CANCELLED });
    const child = create(WaitInfoSchema, { step: "kids", condition: "child-0", kind: "child", childRunId: childId, state: WaitState.TIMED_OUT });
    const html = routed(<WaitTable waits={[satisfied, cancelled, child]} />);
    const rows = html.match(/<tr data-testid="wait-row"[^>]*>/g);
    expect(rows).toEqual([
      '<tr data-testid="wait-row" data-kind="event" data-state="satisfied">',
      '<tr data-testid="wait-row" data-kind="sleep" data-state="cancelled">',
      '<tr data-testid="wait-row" data-kind="child" data-state="timed_out">',
    ]);
    expect(html).toContain('<code data-testid="wait-key">payment.confirmed</code>');
    expect(html).toContain('<code data-testid="wait-expression">event.payload.order_id == input.order_id</code>');
    expect(html).toContain(`data-testid="wait-event-link" data-event-id="${eventId}"`);
    expect(html).toContain(`href="/events/${eventId}"`);
    expect(html).toContain(`data-testid="wait-child-link" data-run-id="${childId}"`);
    expect(html).toContain(`<td data-testid="wait-deadline">${later.toLocaleString()}</td>`);
    expect(html).toContain('<td data-testid="wait-deadline">never</td>');
    expect(html).toContain('<span class="status status-timed_out">timed_out</span>');
  });
});

describe("RunWaits", () => {
  test("says what a waiting run waits for, and links its parent", () => {
    const run = create(RunSchema, { status: RunStatus.WAITING, waits: [payment, reminder], waitingUntil: timestampFromDate(soon), parentRunId: parentId });
    const html = routed(<RunWaits run={run} />);
    expect(html).toContain(`data-testid="run-parent-link" data-run-id="${parentId}"`);
    expect(html).toContain(`href="/runs/${parentId}"`);
    expect(html).toContain(
      `data-testid="run-waits">Waiting for event payment.confirmed where event.payload.order_id == input.order_id or sleep until ${soon.toLocaleString()}.</p>`,
    );
  });

  test("shows nothing for a run that neither waits nor has a parent", () => {
    expect(routed(<RunWaits run={create(RunSchema, { status: RunStatus.RUNNING })} />)).toBe("");
  });
});

describe("a run waiting for a durable wait has started", () => {
  test("its duration grows, unlike a run held by its concurrency gate", () => {
    expect(runNotStarted(RunStatus.WAITING)).toBe(true);
    expect(runNotStarted(RunStatus.WAITING, 2)).toBe(false);
    const created = timestampFromDate(new Date(soon.getTime() - 5000));
    expect(runDuration({ status: RunStatus.WAITING, createdAt: created, waits: [payment] }, soon.getTime())).toBe("5.0 s");
    expect(runDuration({ status: RunStatus.WAITING, createdAt: created, waits: [] }, soon.getTime())).toBe("—");
  });
});
