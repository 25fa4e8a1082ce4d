// Small shared pieces of the pages: loading and empty states, status badges,
// JSON blocks, the confirm dialog, cursor paging and a ticking clock.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { prettyJson, shortId } from "./format";

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

/** RunLink links to a run. */
export function RunLink({ id, testId }: { id: string; testId?: string }) {
  return (
    <Link to={`/runs/${id}`} data-testid={testId} data-run-id={id} className="mono" title={id}>
      {shortId(id)}
    </Link>
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

/** usePager keeps the page tokens of a cursor-paged list: the current one and those before it. */
export function usePager(resetKey: string) {
  const [stack, setStack] = useState<string[]>([""]);
  const [key, setKey] = useState(resetKey);
  if (key !== resetKey) {
    setKey(resetKey);
    setStack([""]);
  }
  const token = stack[stack.length - 1];
  return {
    token,
    page: stack.length,
    hasPrev: stack.length > 1,
    next: (t: string) => setStack((s) => [...s, t]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    first: () => setStack([""]),
  };
}

/** Pager shows the previous and next buttons of a cursor-paged list. */
export function Pager({
  pager,
  nextToken,
}: {
  pager: ReturnType<typeof usePager>;
  nextToken: string | undefined;
}) {
  return (
    <div className="pager">
      <button type="button" className="button" data-testid="page-prev" disabled={!pager.hasPrev} onClick={pager.prev}>
        ← Newer
      </button>
      <span className="muted">Page {pager.page}</span>
      <button
        type="button"
        className="button"
        data-testid="page-next"
        disabled={!nextToken}
        onClick={() => nextToken && pager.next(nextToken)}
      >
        Older →
      </button>
    </div>
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

/** useFilterParam keeps a text filter in the URL, applied once typing pauses. */
export function useFilterParam(name: string): [string, string, (v: string) => void] {
  const [params, setParams] = useSearchParams();
  const applied = params.get(name) ?? "";
  const [text, setText] = useState(applied);
  useEffect(() => setText(applied), [applied]);
  useEffect(() => {
    if (text.trim() === applied) {
      return;
    }
    const t = window.setTimeout(() => {
      setParams(
        (p) => {
          const n = new URLSearchParams(p);
          if (text.trim()) {
            n.set(name, text.trim());
          } else {
            n.delete(name);
          }
          return n;
        },
        { replace: true },
      );
    }, 250);
    return () => window.clearTimeout(t);
  }, [text, applied, name, setParams]);
  return [applied, text, setText];
}


/**
 * usePagingPlaceholder keeps a list's previous page on screen while the next
 * page loads, but not after a filter changed (rows of the old filter would
 * look like answers to the new one). Call settle with the query each render.
 */
export function usePagingPlaceholder<T>(filterKey: string) {
  const shown = useRef(filterKey);
  return {
    placeholderData: (prev: T | undefined) => (shown.current === filterKey ? prev : undefined),
    settle: (q: { data: unknown; isPlaceholderData: boolean }) => {
      if (q.data !== undefined && !q.isPlaceholderData) {
        shown.current = filterKey;
      }
    },
  };
}
