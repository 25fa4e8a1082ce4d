// The signed-in session: the API token and the server it is for, kept in
// sessionStorage so that they last as long as the browser tab.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import type { Transport } from "@connectrpc/connect";
import { createTransport } from "./api";

const tokenKey = "switchyard.token";
const serverKey = "switchyard.server";

/** Session is what the app knows about the signed-in user. */
export interface Session {
  /** The API origin, such as http://127.0.0.1:8080. */
  server: string;
  /** The API token; empty when signed out. */
  token: string;
  /** The transport to use for every call; undefined when signed out. */
  transport: Transport | undefined;
  /** A message for the sign-in page, such as why the user was signed out. */
  notice: string;
  signIn(server: string, token: string): void;
  signOut(notice?: string): void;
}

const SessionContext = createContext<Session | undefined>(undefined);

function read(key: string): string {
  try {
    return window.sessionStorage.getItem(key) ?? "";
  } catch {
    return "";
  }
}

function write(key: string, value: string) {
  try {
    if (value === "") {
      window.sessionStorage.removeItem(key);
    } else {
      window.sessionStorage.setItem(key, value);
    }
  } catch {
    // Storage may be disabled; the session then lasts as long as the page.
  }
}

/** storedServer is the server remembered for this tab, or the page's own origin. */
export function storedServer(): string {
  return read(serverKey) || window.location.origin;
}

/** SessionProvider holds the session; onSignOut runs when the user is signed out (to clear caches). */
export function SessionProvider({ children, onSignOut }: { children: ReactNode; onSignOut: () => void }) {
  const [server, setServer] = useState(storedServer);
  const [token, setToken] = useState(() => read(tokenKey));
  const [notice, setNotice] = useState("");

  const signIn = useCallback((s: string, t: string) => {
    write(serverKey, s);
    write(tokenKey, t);
    setServer(s);
    setToken(t);
    setNotice("");
  }, []);

  const signOut = useCallback(
    (message?: string) => {
      write(tokenKey, "");
      setToken("");
      setNotice(message ?? "");
      onSignOut();
    },
    [onSignOut],
  );

  const transport = useMemo(() => (token ? createTransport(server, token) : undefined), [server, token]);

  const value = useMemo<Session>(
    () => ({ server, token, transport, notice, signIn, signOut }),
    [server, token, transport, notice, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** useSession returns the current session. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) {
    throw new Error("useSession outside SessionProvider");
  }
  return s;
}

/** UNAUTHENTICATED_NOTICE is shown on the sign-in page after the API refused the token. */
export const UNAUTHENTICATED_NOTICE =
  "This token was not accepted (unauthenticated). Check it or create a new one with `switchyard tokens create`.";
