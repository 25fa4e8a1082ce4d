// The frame of every signed-in page: the top navigation with the tenant and
// server, Sign out, and the page below.
import { TransportProvider, useQuery } from "@connectrpc/connect-query";
import type { ReactNode } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router";
import { AdminService } from "./gen/switchyard/v1/admin_pb";
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

// Tenant names the caller's tenant where the token may tell: ListTenants
// returns an operator every tenant (an operator is in `default`) and a tenant
// admin their own; other roles may not call it.
function Tenant() {
  const { data, isError } = useQuery(
    AdminService.method.listTenants,
    { pageSize: 2 },
    { retry: false, staleTime: Infinity, refetchOnWindowFocus: false },
  );
  if (isError || !data) {
    return null;
  }
  const t = data.tenants.length === 1 ? data.tenants[0].id : "default";
  return (
    <span className="nav-meta-item" title="Tenant">
      tenant <strong data-testid="nav-tenant">{t}</strong>
    </span>
  );
}

const pages: { to: string; label: string; id: string }[] = [
  { to: "/runs", label: "Runs", id: "nav-runs" },
  { to: "/events", label: "Events", id: "nav-events" },
  { to: "/push", label: "Push event", id: "nav-push" },
  { to: "/workflows", label: "Workflows", id: "nav-workflows" },
  { to: "/workers", label: "Workers", id: "nav-workers" },
];

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
            <NavLink key={p.to} to={p.to} data-testid={p.id} className="nav-link">
              {p.label}
            </NavLink>
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
