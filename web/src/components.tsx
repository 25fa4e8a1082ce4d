// Small shared pieces of the pages: page heads, loading and empty states,
// status badges, JSON blocks, links to runs, events and workflows, the frame
// of a drawn DAG, buttons that say when they are busy or ask first, the
// confirm dialog and a ticking clock.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import type { Layout } from "./dag";
import { prettyJson, shortId } from "./format";

/** PageHead is the head of a page: its title, "live" when live names how it is refreshed, and more beside them. */
export function PageHead({ title, live, children }: { title: ReactNode; live?: string; children?: ReactNode }) {
  return (
    <div className="page-head">
      <h1>{title}</h1>
      {live && (
        <span className="live" title={live}>
          live
        </span>
      )}
      {children}
    </div>
  );
}

/** Loading is shown while data is on its way. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" data-testid="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      Loading {what}…
    </div>
  );
}

/** Empty is shown when a list has nothing in it, with what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state" data-testid="empty-state">
      <strong>{title}</strong>
      {children && <div className="empty-hint">{children}</div>}
    </div>
  );
}

/** Status is a coloured badge for a lower-case status name. */
export function Status({ name, testId }: { name: string; testId?: string }) {
  return (
    <span className={`status status-${name}`} data-testid={testId}>
      {name}
    </span>
  );
}

/** Json shows a JSON value. */
export function Json({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="json" data-testid={testId}>
      {prettyJson(value)}
    </pre>
  );
}

/** IdLink links to a run or an event by its id, shown shortened unless full. */
function IdLink({ kind, id, full, testId }: { kind: "run" | "event"; id: string; full?: boolean; testId?: string }) {
  const data = { [`data-${kind}-id`]: id };
  return (
    <Link to={`/${kind}s/${id}`} data-testid={testId} {...data} className="mono" title={id}>
      {full ? id : shortId(id)}
    </Link>
  );
}

/** RunLink links to a run. */
export function RunLink(props: { id: string; full?: boolean; testId?: string }) {
  return <IdLink kind="run" {...props} />;
}

/** EventLink links to an event. */
export function EventLink(props: { id: string; full?: boolean; testId?: string }) {
  return <IdLink kind="event" {...props} />;
}

/** WorkflowLink links to a workflow. */
export function WorkflowLink({ name, className }: { name: string; className?: string }) {
  return (
    <Link to={`/workflows/${encodeURIComponent(name)}`} className={className}>
      {name}
    </Link>
  );
}

/** DagSvg draws a laid-out DAG: children are its edges and nodes; edges end in the arrow url(#markerId). */
export function DagSvg({
  graph,
  label,
  markerId,
  testId,
  children,
}: {
  graph: Layout;
  label: string;
  markerId: string;
  testId?: string;
  children: ReactNode;
}) {
  return (
    <svg
      className="dag"
      data-testid={testId}
      width={graph.width}
      height={graph.height}
      viewBox={`0 0 ${graph.width} ${graph.height}`}
      role="img"
      aria-label={label}
    >
      <defs>
        <marker id={markerId} viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" className="dag-arrow" />
        </marker>
      </defs>
      {children}
    </svg>
  );
}

/** BusyButton is a button that is disabled and says busyLabel while its action is under way. */
export function BusyButton({
  label,
  busyLabel,
  busy,
  testId,
  variant,
  type = "button",
  disabled,
  onClick,
  title,
}: {
  label: string;
  busyLabel: string;
  busy: boolean;
  testId: string;
  /** variant is added to the button's classes: primary, danger, wide. */
  variant?: string;
  type?: "button" | "submit";
  disabled?: boolean;
  onClick?: () => void;
  title?: string;
}) {
  return (
    <button
      type={type}
      className={variant ? `button ${variant}` : "button"}
      data-testid={testId}
      disabled={disabled || busy}
      onClick={onClick}
      title={title}
    >
      {busy ? busyLabel : label}
    </button>
  );
}

/** Confirm is a modal dialog asking to confirm an action. */
export function Confirm({
  title,
  children,
  okLabel,
  onOk,
  onCancel,
}: {
  title: string;
  children?: ReactNode;
  okLabel: string;
  onOk: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) {
      d.showModal();
    }
  }, []);
  return (
    <dialog ref={ref} className="dialog" onCancel={onCancel} aria-labelledby="confirm-title">
      <h3 id="confirm-title">{title}</h3>
      {children}
      <div className="dialog-buttons">
        <button type="button" className="button" onClick={onCancel} data-testid="confirm-cancel">
          Keep it
        </button>
        <button type="button" className="button danger" onClick={onOk} data-testid="confirm-ok" autoFocus>
          {okLabel}
        </button>
      </div>
    </dialog>
  );
}

/** ConfirmButton is a BusyButton that asks in a Confirm dialog (title, okLabel, children) before it calls onOk. */
export function ConfirmButton({
  title,
  okLabel,
  onOk,
  children,
  ...button
}: Omit<Parameters<typeof BusyButton>[0], "onClick" | "type"> & {
  title: string;
  okLabel: string;
  onOk: () => void;
  children: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  return (
    <>
      <BusyButton {...button} onClick={() => setAsking(true)} />
      {asking && (
        <Confirm
          title={title}
          okLabel={okLabel}
          onCancel={() => setAsking(false)}
          onOk={() => {
            setAsking(false);
            onOk();
          }}
        >
          {children}
        </Confirm>
      )}
    </>
  );
}

/** useNow returns the current time in milliseconds, updated every interval. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs]);
  return now;
}

/** parseJsonObject parses text as a JSON object; it returns the object or a message saying what is wrong. */
export function parseJsonObject(text: string): { value?: Record<string, unknown>; error?: string } {
  if (text.trim() === "") {
    return { value: {} };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return { error: "Must be a JSON object, such as {\"user_id\": \"u1\"}." };
  }
  return { value: v as Record<string, unknown> };
}
