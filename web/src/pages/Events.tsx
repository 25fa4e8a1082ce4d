// The events list: filters by key and scope, cursor paging, live.
import { useQuery } from "@connectrpc/connect-query";
import { Link } from "react-router";
import { Empty, Loading, Pager, useFilterParam, useNow, usePager, usePagingPlaceholder } from "../components";
import { ApiError } from "../errors";
import { age, shortId } from "../format";
import { EventService, type ListEventsResponse } from "../gen/switchyard/v1/event_pb";


function preview(v: unknown): string {
  const s = JSON.stringify(v ?? {});
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

export function EventsPage() {
  const [key, keyText, setKeyText] = useFilterParam("key");
  const [scope, scopeText, setScopeText] = useFilterParam("scope");
  const pager = usePager(`${key}|${scope}`);
  const placeholder = usePagingPlaceholder<ListEventsResponse>(`${key}|${scope}`);
  const now = useNow();
  const q = useQuery(
    EventService.method.listEvents,
    { key, scope, pageSize: 25, pageToken: pager.token },
    { refetchInterval: 5000, placeholderData: placeholder.placeholderData },
  );
  placeholder.settle(q);
  return (
    <section>
      <div className="page-head">
        <h1>Events</h1>
        <span className="live" title="Refreshed every 5 seconds">
          live
        </span>
        <span className="spacer" />
        <Link to="/push" className="button primary">
          Push an event
        </Link>
      </div>
      <div className="filters">
        <label className="field inline">
          <span>Key</span>
          <input
            data-testid="filter-key"
            placeholder="exact key, such as user.created"
            value={keyText}
            onChange={(e) => setKeyText(e.target.value)}
            spellCheck={false}
          />
        </label>
        <label className="field inline">
          <span>Scope</span>
          <input
            data-testid="filter-scope"
            placeholder="any scope"
            value={scopeText}
            onChange={(e) => setScopeText(e.target.value)}
            spellCheck={false}
          />
        </label>
      </div>
      {q.error && !q.data ? (
        <ApiError error={q.error} onRetry={() => q.refetch()} />
      ) : !q.data ? (
        <Loading what="events" />
      ) : (
        <>
          {q.error && <ApiError error={q.error} onRetry={() => q.refetch()} compact />}
          {q.data.events.length === 0 ? (
            key || scope ? (
              <Empty title="No events match these filters." />
            ) : pager.hasPrev ? (
              <Empty title="No more events." />
            ) : (
              <Empty title="No events yet.">
                <Link to="/push">Push an event</Link> here, or send one with <code>curl -X POST /v1/events</code>.
              </Empty>
            )
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Event</th>
                  <th>Key</th>
                  <th>Scope</th>
                  <th>Payload</th>
                  <th>Priority</th>
                  <th>Age</th>
                </tr>
              </thead>
              <tbody>
                {q.data.events.map((e) => (
                  <tr key={e.id} data-testid="event-row" data-event-id={e.id} data-key={e.key}>
                    <td>
                      <Link to={`/events/${e.id}`} className="mono" title={e.id}>
                        {shortId(e.id)}
                      </Link>
                    </td>
                    <td className="mono">{e.key}</td>
                    <td className="mono">{e.scope || <span className="muted">—</span>}</td>
                    <td className="mono muted clip">{preview(e.payload)}</td>
                    <td>{e.priority}</td>
                    <td>{age(e.createdAt, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager pager={pager} nextToken={q.data.nextPageToken} />
        </>
      )}
    </section>
  );
}
