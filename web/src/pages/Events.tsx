// The events list: filters by key and scope, cursor paging, live.
import { Link } from "react-router";
import { Empty, EventLink, useNow } from "../components";
import { TextFilter, useFilterParam } from "../fields";
import { age } from "../format";
import { EventService, type Event } from "../gen/switchyard/v1/event_pb";
import { DataTable, ListPage, usePagedList, type Column } from "../lists";

function preview(v: unknown): string {
  const s = JSON.stringify(v ?? {});
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

function columns(now: number): Column<Event>[] {
  return [
    { head: "Event", cell: (e) => <EventLink id={e.id} /> },
    { head: "Key", className: "mono", cell: (e) => e.key },
    { head: "Scope", className: "mono", cell: (e) => e.scope || <span className="muted">—</span> },
    { head: "Payload", className: "mono muted clip", cell: (e) => preview(e.payload) },
    { head: "Priority", cell: (e) => e.priority },
    { head: "Age", cell: (e) => age(e.createdAt, now) },
  ];
}

const noEvents = (
  <Empty title="No events yet.">
    <Link to="/push">Push an event</Link> here, or send one with <code>curl -X POST /v1/events</code>.
  </Empty>
);

export function EventsPage() {
  const key = useFilterParam("key");
  const scope = useFilterParam("scope");
  const now = useNow();
  const list = usePagedList(
    EventService.method.listEvents,
    { key: key.applied, scope: scope.applied },
    { pageSize: 25, refetchInterval: 5000 },
  );
  return (
    <ListPage
      title="Events"
      live="Refreshed every 5 seconds"
      actions={
        <>
          <span className="spacer" />
          <Link to="/push" className="button primary">
            Push an event
          </Link>
        </>
      }
      filters={
        <>
          <TextFilter label="Key" testId="filter-key" placeholder="exact key, such as user.created" filter={key} />
          <TextFilter label="Scope" testId="filter-scope" placeholder="any scope" filter={scope} />
        </>
      }
      list={list}
      what="events"
      items={(d) => d.events}
      filtered={!!(key.applied || scope.applied)}
      empty={noEvents}
    >
      {(events) => (
        <DataTable rows={events} rowKey={(e) => e.id} columns={columns(now)} rowTestId="event-row"
          rowData={(e) => ({ "event-id": e.id, key: e.key })} />
      )}
    </ListPage>
  );
}
