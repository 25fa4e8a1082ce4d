// The sign-in page: an API token, and the server it is for.
import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { checkToken, isUnauthenticated, normalizeServer } from "../api";
import { explain } from "../errors";
import { BusyButton } from "../components";
import { TextField } from "../fields";
import { storedServer, UNAUTHENTICATED_NOTICE, useSession } from "../session";

export function SignInPage() {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/runs";
  const [server, setServer] = useState(storedServer);
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; detail?: string; code?: string } | null>(null);

  if (session.transport) {
    return <Navigate to={from} replace />;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const s = normalizeServer(server);
    const t = token.trim();
    if (t === "") {
      setError({ text: "Enter an API token. `switchyard serve` prints one on its first start; `switchyard tokens create` makes more." });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await checkToken(s, t);
      session.signIn(s, t);
      navigate(from, { replace: true });
    } catch (err) {
      if (isUnauthenticated(err)) {
        setError({ text: UNAUTHENTICATED_NOTICE, code: "unauthenticated" });
      } else {
        const x = explain(err);
        setError({
          text: `${x.title}. ${x.advice}`,
          detail: [x.message, x.requestId && `request id ${x.requestId}`].filter(Boolean).join(" — "),
          code: x.code,
        });
      }
    } finally {
      setBusy(false);
    }
  }

  const shown = error ?? (session.notice ? { text: session.notice, code: "unauthenticated" } : null);
  return (
    <div className="signin-wrap">
      <form className="card signin" onSubmit={submit} noValidate>
        <h1 className="signin-title">
          <span className="brand-mark" aria-hidden="true">
            ⇄
          </span>
          Switchyard
        </h1>
        <p className="muted">Sign in with an API token to see runs, events, workflows and workers.</p>
        {shown && (
          <div className="form-error" role="alert" data-testid="signin-error" data-code={shown.code}>
            {shown.text}
            {shown.detail && <div className="form-error-detail">{shown.detail}</div>}
          </div>
        )}
        <TextField
          label="API token"
          testId="token-input"
          type="password"
          autoComplete="off"
          placeholder="sy_…"
          value={token}
          onText={setToken}
          autoFocus
        />
        <TextField
          label="Server"
          testId="server-input"
          type="url"
          value={server}
          onText={setServer}
          hint={
            <>
              The dashboard talks to this origin over gRPC-Web. Another origin must allow this page with{" "}
              <code>--cors-origins</code>.
            </>
          }
        />
        <BusyButton
          type="submit"
          variant="primary wide"
          testId="signin-submit"
          label="Sign in"
          busyLabel="Checking the token…"
          busy={busy}
        />
        <p className="muted small-print">
          The token stays in this browser tab only (session storage) and is sent as{" "}
          <code>Authorization: Bearer</code>.
        </p>
      </form>
    </div>
  );
}
