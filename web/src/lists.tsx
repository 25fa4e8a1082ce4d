// Lists: tables by columns, a query's loading and error states, and
// cursor-paged lists that keep their page while refreshing.
import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { useQuery, type UseQueryOptions } from "@connectrpc/connect-query";
import { useRef, useState, type ReactNode } from "react";
import { Empty, Loading, PageHead } from "./components";
import { ApiError } from "./errors";

/** Column is one column of a DataTable: its heading and how a row fills its cell. */
export interface Column<T> {
  head: string;
  cell: (row: T) => ReactNode;
  className?: string;
  /** title is the cell's tooltip. */
  title?: (row: T) => string;
}

/**
 * DataTable shows rows as a table; a column given as false is left out. Each
 * row has the test id rowTestId and, for each name of rowData, the attribute
 * data-name.
 */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  rowTestId,
  rowData,
}: {
  columns: (Column<T> | false)[];
  rows: T[];
  rowKey: (row: T) => string;
  rowTestId?: string;
  rowData?: (row: T) => Record<string, string>;
}) {
  const shown = columns.filter((c): c is Column<T> => c !== false);
  const attributes = (r: T) =>
    Object.fromEntries(Object.entries(rowData?.(r) ?? {}).map(([name, value]) => [`data-${name}`, value]));
  return (
    <table className="table">
      <thead>
        <tr>
          {shown.map((c) => (
            <th key={c.head}>{c.head}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)} data-testid={rowTestId} {...attributes(r)}>
            {shown.map((c) => (
              <td key={c.head} className={c.className} title={c.title?.(r)}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** QueryState is what QueryView needs of a query. */
export interface QueryState<D> {
  data: D | undefined;
  error: unknown;
  refetch: () => unknown;
}

/**
 * QueryView shows a query's data through children; until it comes, Loading;
 * its error in full while there is no data (compact inside a card), and
 * compact above data it keeps from before.
 */
export function QueryView<D>({
  q,
  what,
  compact = false,
  children,
}: {
  q: QueryState<D>;
  what: string;
  compact?: boolean;
  children: (data: D) => ReactNode;
}) {
  if (q.data === undefined) {
    return q.error ? <ApiError error={q.error} onRetry={() => q.refetch()} compact={compact} /> : <Loading what={what} />;
  }
  return (
    <>
      {q.error ? <ApiError error={q.error} onRetry={() => q.refetch()} compact /> : null}
      {children(q.data)}
    </>
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

/** PagerState is the state of a cursor-paged list, from usePager. */
export type PagerState = ReturnType<typeof usePager>;

/** Pager shows the previous and next buttons of a cursor-paged list. */
export function Pager({ pager, nextToken }: { pager: PagerState; nextToken: string | undefined }) {
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

/** PagedListState is a page of a cursor-paged list and where it is in the list. */
export interface PagedListState<D> {
  q: QueryState<D>;
  pager: PagerState;
}

/**
 * usePagedList fetches a cursor-paged list through method with the given
 * filters, refreshed every refetchInterval milliseconds. Other filters start
 * again at the first page.
 */
export function usePagedList<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  filters: MessageInitShape<I>,
  { pageSize, refetchInterval }: { pageSize: number; refetchInterval: number },
): PagedListState<MessageShape<O>> {
  const filterKey = JSON.stringify(filters);
  const pager = usePager(filterKey);
  const placeholder = usePagingPlaceholder<MessageShape<O>>(filterKey);
  const input = { ...filters, pageSize, pageToken: pager.token } as MessageInitShape<I>;
  // A message is never a function, which TypeScript cannot tell of a generic O.
  const placeholderData = placeholder.placeholderData as UseQueryOptions<O>["placeholderData"];
  const q = useQuery(method, input, { refetchInterval, placeholderData });
  placeholder.settle(q);
  return { q, pager };
}

/** PagedListProps are what PagedList takes. */
export interface PagedListProps<D, T> {
  list: PagedListState<D>;
  /** what the list holds, in the plural. */
  what: string;
  items: (data: D) => T[];
  filtered?: boolean;
  filteredHint?: ReactNode;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}

/**
 * PagedList shows a page of a cursor-paged list through children, with the
 * pager under it. An empty page says whether the filters match nothing, the
 * list has no more, or it is empty (then empty is shown and no pager).
 */
export function PagedList<D extends { nextPageToken: string }, T>({
  list: { q, pager },
  what,
  items,
  filtered = false,
  filteredHint,
  empty,
  children,
}: PagedListProps<D, T>) {
  return (
    <QueryView q={q} what={what}>
      {(data) => {
        const rows = items(data);
        if (rows.length === 0 && !filtered && !pager.hasPrev) {
          return empty;
        }
        return (
          <>
            {rows.length > 0 ? (
              children(rows)
            ) : filtered ? (
              <Empty title={`No ${what} match these filters.`}>{filteredHint}</Empty>
            ) : (
              <Empty title={`No more ${what}.`} />
            )}
            <Pager pager={pager} nextToken={data.nextPageToken} />
          </>
        );
      }}
    </QueryView>
  );
}

/**
 * ListPage is a page of one cursor-paged list: its head (title, live, and
 * actions beside them), its filters and the PagedList.
 */
export function ListPage<D extends { nextPageToken: string }, T>({
  title,
  live,
  actions,
  filters,
  ...list
}: PagedListProps<D, T> & { title: string; live?: string; actions?: ReactNode; filters?: ReactNode }) {
  return (
    <section>
      <PageHead title={title} live={live}>
        {actions}
      </PageHead>
      {filters && <div className="filters">{filters}</div>}
      <PagedList {...list} />
    </section>
  );
}
