import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router";
import { describe, expect, test } from "vitest";
import { BusyButton, ConfirmButton, EventLink, PageHead, RunLink, WorkflowLink } from "./components";

const id = "01a21680-1234-7000-8000-000000000abc";

function routed(node: React.ReactNode) {
  return renderToStaticMarkup(<MemoryRouter>{node}</MemoryRouter>);
}

/** link returns the attributes and the text of the one link in html. */
function link(html: string): { attrs: Record<string, string>; text: string } {
  const m = html.match(/^<a ([^>]*)>([^<]*)<\/a>$/);
  expect(m, html).not.toBeNull();
  return { attrs: Object.fromEntries([...m![1].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])), text: m![2] };
}

describe("links", () => {
  test("RunLink shows a run's id shortened, with the whole id as its title and data-run-id", () => {
    const { attrs, text } = link(routed(<RunLink id={id} testId="run-link" />));
    expect(text).toBe("…000000000abc");
    expect(attrs).toMatchObject({ href: `/runs/${id}`, class: "mono", title: id, "data-testid": "run-link", "data-run-id": id });
  });

  test("full shows the whole id; EventLink links to the event with data-event-id", () => {
    const { attrs, text } = link(routed(<EventLink id={id} full />));
    expect(text).toBe(id);
    expect(attrs).toMatchObject({ href: `/events/${id}`, class: "mono", title: id, "data-event-id": id });
    expect(attrs).not.toHaveProperty("data-run-id");
  });

  test("WorkflowLink encodes the name in the path", () => {
    const { attrs, text } = link(routed(<WorkflowLink name="a b/c" className="mono" />));
    expect(text).toBe("a b/c");
    expect(attrs).toMatchObject({ href: "/workflows/a%20b%2Fc", class: "mono" });
  });
});

describe("PageHead", () => {
  test("shows the title, live with how it is refreshed, and what is beside them", () => {
    const html = renderToStaticMarkup(
      <PageHead title="Runs" live="Refreshed every 2 seconds">
        <button>x</button>
      </PageHead>,
    );
    expect(html).toBe(
      '<div class="page-head"><h1>Runs</h1><span class="live" title="Refreshed every 2 seconds">live</span><button>x</button></div>',
    );
  });

  test("is not live without live", () => {
    expect(renderToStaticMarkup(<PageHead title="Workflows" />)).toBe('<div class="page-head"><h1>Workflows</h1></div>');
  });
});

describe("BusyButton", () => {
  test("shows its label and is enabled while idle", () => {
    const html = renderToStaticMarkup(<BusyButton label="Replay event" busyLabel="Replaying…" busy={false} testId="event-replay" />);
    expect(html).toBe('<button type="button" class="button" data-testid="event-replay">Replay event</button>');
  });

  test("is disabled and shows busyLabel while busy", () => {
    const html = renderToStaticMarkup(
      <BusyButton label="Push event" busyLabel="Pushing…" busy testId="push-submit" variant="primary" type="submit" />,
    );
    expect(html).toBe('<button type="submit" class="button primary" data-testid="push-submit" disabled="">Pushing…</button>');
  });

  test("is disabled when disabled, busy or not", () => {
    const html = renderToStaticMarkup(<BusyButton label="Run now" busyLabel="Starting…" busy={false} disabled testId="run" />);
    expect(html).toContain('disabled="">Run now</button>');
  });
});

describe("ConfirmButton", () => {
  test("shows only its button until it is pressed", () => {
    const html = renderToStaticMarkup(
      <ConfirmButton label="Cancel run" busyLabel="Cancelling…" busy={false} testId="run-cancel" variant="danger"
        title="Cancel this run?" okLabel="Cancel run" onOk={() => {}}>
        <p>Sure?</p>
      </ConfirmButton>,
    );
    expect(html).toBe('<button type="button" class="button danger" data-testid="run-cancel">Cancel run</button>');
  });
});
