// The dashboard's entry point: query cache, session, router.
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, useCallback, useEffect, useRef } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, Route, Routes, useNavigate } from "react-router";
import { Code, ConnectError } from "@connectrpc/connect";
import { isUnauthenticated } from "./api";
import { Layout, RequireAuth } from "./Layout";
import { EventPage } from "./pages/Event";
import { EventsPage } from "./pages/Events";
import { NotFoundPage } from "./pages/NotFound";
import { LimitsPage } from "./pages/Limits";
import { PushPage } from "./pages/Push";
import { RunPage } from "./pages/Run";
import { RunsPage } from "./pages/Runs";
import { SignInPage } from "./pages/SignIn";
import { WorkersPage } from "./pages/Workers";
import { WorkflowPage } from "./pages/Workflow";
import { WorkflowsPage } from "./pages/Workflows";
import { SessionProvider, UNAUTHENTICATED_NOTICE, useSession } from "./session";
import "./styles.css";

// Errors that another attempt cannot fix are not retried.
const final = new Set([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.InvalidArgument,
  Code.NotFound,
  Code.FailedPrecondition,
  Code.AlreadyExists,
  Code.Unimplemented,
]);

// onUnauthenticated is set by the app once it is mounted: any API answer that
// the token is not accepted signs the user out with a message.
const onUnauthenticated: { current: () => void } = { current: () => {} };

const queryClient = new QueryClient({
  queryCache: new QueryCache({
    onError: (e) => isUnauthenticated(e) && onUnauthenticated.current(),
  }),
  mutationCache: new MutationCache({
    onError: (e) => isUnauthenticated(e) && onUnauthenticated.current(),
  }),
  defaultOptions: {
    queries: {
      retry: (count, e) => count < 2 && !(e instanceof ConnectError && final.has(e.code)),
      staleTime: 1000,
      refetchOnWindowFocus: true,
    },
    mutations: { retry: false },
  },
});

function UnauthenticatedHandler() {
  const { signOut } = useSession();
  const navigate = useNavigate();
  const pending = useRef(false);
  useEffect(() => {
    onUnauthenticated.current = () => {
      if (pending.current) {
        return;
      }
      pending.current = true;
      signOut(UNAUTHENTICATED_NOTICE);
      navigate("/signin", { replace: true });
      window.setTimeout(() => (pending.current = false), 0);
    };
  }, [signOut, navigate]);
  return null;
}

function App() {
  const clear = useCallback(() => queryClient.clear(), []);
  return (
    <QueryClientProvider client={queryClient}>
      <SessionProvider onSignOut={clear}>
        <BrowserRouter>
          <UnauthenticatedHandler />
          <Routes>
            <Route path="/signin" element={<SignInPage />} />
            <Route
              element={
                <RequireAuth>
                  <Layout />
                </RequireAuth>
              }
            >
              <Route index element={<Navigate to="/runs" replace />} />
              <Route path="runs" element={<RunsPage />} />
              <Route path="runs/:id" element={<RunPage />} />
              <Route path="events" element={<EventsPage />} />
              <Route path="events/:id" element={<EventPage />} />
              <Route path="push" element={<PushPage />} />
              <Route path="workflows" element={<WorkflowsPage />} />
              <Route path="workflows/:name" element={<WorkflowPage />} />
              <Route path="workers" element={<WorkersPage />} />
              <Route path="limits" element={<LimitsPage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Route>
          </Routes>
        </BrowserRouter>
      </SessionProvider>
    </QueryClientProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
