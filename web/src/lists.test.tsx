import { Code, ConnectError } from "@connectrpc/connect";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, test } from "vitest";
import { DataTable, PagedList, QueryView, type PagerState, type QueryState } from "./lists";

interface Fruit {
  id: string;
  name: string;
  ripe: boolean;
}

const fruit: Fruit[] = [
  { id: "f1", name: "apple", ripe: true },
  { id: "f2", name: "pear", ripe: false },
];

describe("DataTable", () => {
  test("has a heading per column and a cell per column and row, with the column's class and title", () => {
    const html = renderToStaticMarkup(
      <DataTable
        rows={fruit}
        rowKey={(f) => f.id}
        columns={[
          { head: "Name", className: "mono", cell: (f) => f.name },
          { head: "Ripe", title: (f) => `${f.name} is ${f.ripe ? "ripe" : "not ripe"}`, cell: (f) => (f.ripe ? "yes" : "no") },
        ]}
      />,
    );
    expect(html).toBe(
      '<table class="table"><thead><tr><th>Name</th><th>Ripe</th></tr></thead><tbody>' +
        '<tr><td class="mono">apple</td><td title="apple is ripe">yes</td></tr>' +
        '<tr><td class="mono">pear</td><td title="pear is not ripe">no</td></tr>' +
        "</tbody></table>",
    );
  });

  test("gives each row its test id and data attributes, and leaves out a column given as false", () => {
    const html = renderToStaticMarkup(
      <DataTable
        rows={fruit.slice(0, 1)}
        rowKey={(f) => f.id}
        rowTestId="fruit-row"
        rowData={(f) => ({ "fruit-id": f.id, ripe: String(f.ripe) })}
        columns={[{ head: "Name", cell: (f) => f.name }, false]}
      />,
    );
    expect(html).toContain("<thead><tr><th>Name</th></tr></thead>");
    expect(html).toContain('<tr data-testid="fruit-row" data-fruit-id="f1" data-ripe="true"><td>apple</td></tr>');
  });
});

function query<D>(data: D | undefined, error?: unknown): QueryState<D> {
  return { data, error, refetch: () => {} };
}

const unavailable = new ConnectError("database down", Code.Unavailable);

describe("QueryView", () => {
  const view = (q: QueryState<string>, compact?: boolean) =>
    renderToStaticMarkup(
      <QueryView q={q} what="fruit" compact={compact}>
        {(d) => <p data-testid="shown">{d}</p>}
      </QueryView>,
    );

  test("shows Loading until data comes", () => {
    const html = view(query<string>(undefined));
    expect(html).toContain('data-testid="loading"');
    expect(html).toContain("Loading fruit…");
    expect(html).not.toContain("shown");
  });

  test("shows the error in full, with Retry, while there is no data", () => {
    const html = view(query<string>(undefined, unavailable));
    expect(html).toContain('<div class="api-error" role="alert" data-testid="api-error" data-code="unavailable">');
    expect(html).toContain(">Retry</button>");
    expect(html).not.toContain("loading");
  });

  test("shows the error compact when asked, while there is no data", () => {
    expect(view(query<string>(undefined, unavailable), true)).toContain('class="api-error compact"');
  });

  test("shows the data, and an error compact above data kept from before", () => {
    expect(view(query("ripe"))).toBe('<p data-testid="shown">ripe</p>');
    const html = view(query("ripe", unavailable));
    expect(html).toMatch(/^<div class="api-error compact".*<p data-testid="shown">ripe<\/p>$/);
  });
});

function pager(page: number): PagerState {
  return { token: page > 1 ? `t${page}` : "", page, hasPrev: page > 1, next: () => {}, prev: () => {}, first: () => {} };
}

interface Page {
  fruit: Fruit[];
  nextPageToken: string;
}

function list(data: Page, page = 1, filtered = false): string {
  const empty: ReactNode = <p data-testid="first-empty">No fruit yet.</p>;
  return renderToStaticMarkup(
    <PagedList
      list={{ q: query(data), pager: pager(page) }}
      what="fruit"
      items={(d) => d.fruit}
      filtered={filtered}
      filteredHint="Clear the filters."
      empty={empty}
    >
      {(rows) => <ul>{rows.map((f) => <li key={f.id}>{f.name}</li>)}</ul>}
    </PagedList>,
  );
}

describe("PagedList", () => {
  test("shows the rows and the pager, Older enabled when there is a next page", () => {
    const html = list({ fruit, nextPageToken: "n" }, 2);
    expect(html).toContain("<ul><li>apple</li><li>pear</li></ul>");
    expect(html).toContain('<button type="button" class="button" data-testid="page-prev">← Newer</button>');
    expect(html).toContain("Page 2");
    expect(html).toContain('<button type="button" class="button" data-testid="page-next">Older →</button>');
  });

  test("disables both pager buttons on a first and last page", () => {
    const html = list({ fruit, nextPageToken: "" });
    expect(html).toContain('data-testid="page-prev" disabled=""');
    expect(html).toContain('data-testid="page-next" disabled=""');
  });

  test("an empty, unfiltered first page shows only empty", () => {
    expect(list({ fruit: [], nextPageToken: "" })).toBe('<p data-testid="first-empty">No fruit yet.</p>');
  });

  test("an empty filtered page says that the filters match nothing, with the hint and the pager", () => {
    const html = list({ fruit: [], nextPageToken: "" }, 1, true);
    expect(html).toContain("<strong>No fruit match these filters.</strong>");
    expect(html).toContain("Clear the filters.");
    expect(html).toContain('data-testid="page-prev"');
    expect(html).not.toContain("first-empty");
  });

  test("an empty later page says there are no more, with the pager to go back", () => {
    const html = list({ fruit: [], nextPageToken: "" }, 3);
    expect(html).toContain("<strong>No more fruit.</strong>");
    expect(html).toContain('<button type="button" class="button" data-testid="page-prev">← Newer</button>');
    expect(html).not.toContain("first-empty");
  });
});
