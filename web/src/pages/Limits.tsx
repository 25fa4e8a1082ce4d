// The rate limits, live: each limit's rate and the fill of its keys.
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { Empty } from "../components";
import { formatTime } from "../format";
import { RateLimitService, type NamedRateLimit } from "../gen/switchyard/v1/ratelimit_pb";
import { DataTable, ListPage, usePagedList, type Column } from "../lists";

/** fillRows flattens limits into one row per key (a limit no key used yet is one empty row). */
export function fillRows(limits: NamedRateLimit[]): { limit: NamedRateLimit; key: string; used: bigint; resetsAt?: Timestamp }[] {
  return limits.flatMap((limit) =>
    limit.keys.length === 0
      ? [{ limit, key: "", used: 0n }]
      : limit.keys.map((k) => ({ limit, key: k.key, used: k.used, resetsAt: k.resetsAt })),
  );
}

/** durationMs is a duration in milliseconds (0 when absent). */
export function durationMs(d: Duration | undefined): number {
  return d ? Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6) : 0;
}

/** rateText says a limit's rate, such as "100 per 1 s". */
export function rateText(l: NamedRateLimit): string {
  const ms = durationMs(l.period);
  const period = ms % 60000 === 0 ? `${ms / 60000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
  return `${l.max} per ${period}`;
}

type Row = ReturnType<typeof fillRows>[number];

function Fill({ row }: { row: Row }) {
  const used = Number(row.used);
  const pct = row.limit.max ? Math.min(100, (100 * used) / row.limit.max) : 0;
  return (
    <>
      <div className="slots" title={`${used} of ${row.limit.max} used in the last period`}>
        <div className={`slots-bar${pct >= 100 ? " full" : ""}`} style={{ width: `${pct}%` }} />
      </div>
      <span data-testid="limit-used">
        {used} / {row.limit.max}
      </span>
    </>
  );
}

const columns: Column<Row>[] = [
  { head: "Limit", cell: (r) => <strong>{r.limit.name}</strong> },
  { head: "Rate", cell: (r) => rateText(r.limit) },
  { head: "Key", className: "mono small", cell: (r) => r.key || <span className="muted">(shared)</span> },
  { head: "Used", cell: (r) => <Fill row={r} /> },
  { head: "Oldest counted until", cell: (r) => formatTime(r.resetsAt) },
];

const noLimits = (
  <Empty title="No rate limits are declared.">
    Declare one with <code>switchyard ratelimits put stripe-api --max 100 --period 1s</code>, then name it in a
    task's <code>rateLimits</code>.
  </Empty>
);

export function LimitsPage() {
  const list = usePagedList(RateLimitService.method.listRateLimits, {}, { pageSize: 50, refetchInterval: 1000 });
  return (
    <ListPage title="Rate limits" live="Refreshed every second" list={list} what="rate limits" items={(d) => d.rateLimits} empty={noLimits}>
      {(limits) => (
        <DataTable rows={fillRows(limits)} rowKey={(r) => `${r.limit.name}/${r.key}`} columns={columns} rowTestId="limit-row"
          rowData={(r) => ({ limit: r.limit.name, key: r.key })} />
      )}
    </ListPage>
  );
}
