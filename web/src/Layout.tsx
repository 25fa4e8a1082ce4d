// The frame of every signed-in page: the top navigation with the tenant and
// server, Sign out, and the page below.
import type { DescMethod } from "@bufbuild/protobuf";
import { TransportProvider } from "@connectrpc/connect-query";
import type { ReactNode } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router";
import { Role } from "./gen/switchyard/v1/admin_pb";
import { EventService } from "./gen/switchyard/v1/event_pb";
import { RunService } from "./gen/switchyard/v1/run_pb";
import { RateLimitService } from "./gen/switchyard/v1/ratelimit_pb";
import { WorkerService } from "./gen/switchyard/v1/worker_pb";
import { WorkflowService } from "./gen/switchyard/v1/workflow_pb";
import { useCan, useWhoAmI } from "./whoami";
import { useSession } from "./session";

/** RequireAuth sends a signed-out user to the sign-in page, remembering where they were going. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { transport } = useSession();
  const location = useLocation();
  if (!transport) {
    return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />;
  }
  return <TransportProvider transport={transport}>{children}</TransportProvider>;
}

// Tenant names the token's tenant and role, from WhoAmI.
function Tenant() {
  const { data } = useWhoAmI();
  if (!data?.tenant || !data.token) {
    return null;
  }
  return (
    <span className="nav-meta-item" title={`Token ${data.token.name || data.token.id}`}>
      tenant{" "}
      <strong data-testid="nav-tenant" title={data.tenant.name}>
        {data.tenant.id}
      </strong>{" "}
      · <span data-testid="nav-role">{Role[data.token.role].toLowerCase()}</span>
    </span>
  );
}

// The pages, each with the call it cannot do without: a token that may not
// make it does not see the page.
const pages: { to: string; label: string; id: string; needs: DescMethod }[] = [
  { to: "/runs", label: "Runs", id: "nav-runs", needs: RunService.method.listRuns },
  { to: "/events", label: "Events", id: "nav-events", needs: EventService.method.listEvents },
  { to: "/push", label: "Push event", id: "nav-push", needs: EventService.method.pushEvent },
  { to: "/workflows", label: "Workflows", id: "nav-workflows", needs: WorkflowService.method.listWorkflows },
  { to: "/workers", label: "Workers", id: "nav-workers", needs: WorkerService.method.listWorkers },
  { to: "/limits", label: "Rate limits", id: "nav-limits", needs: RateLimitService.method.listRateLimits },
];

function PageLink({ page }: { page: (typeof pages)[number] }) {
  if (!useCan(page.needs)) {
    return null;
  }
  return (
    <NavLink to={page.to} data-testid={page.id} className="nav-link">
      {page.label}
    </NavLink>
  );
}

/** Layout is the top navigation and the current page. */
export function Layout() {
  const { server, signOut } = useSession();
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/runs" className="brand">
          <span className="brand-mark" aria-hidden="true">
            ⇄
          </span>
          Switchyard
        </NavLink>
        <nav className="nav">
          {pages.map((p) => (
            <PageLink key={p.to} page={p} />
          ))}
        </nav>
        <div className="nav-meta">
          <Tenant />
          <span className="nav-meta-item mono" title="Server" data-testid="nav-server">
            {server.replace(/^https?:\/\//, "")}
          </span>
          <button type="button" className="button small" data-testid="signout" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
