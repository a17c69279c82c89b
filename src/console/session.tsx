import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { ApiError } from "../shared/client/api-error.js";
import { MeridianClient } from "../shared/client/meridian-client.js";

const STORAGE_KEY = "meridian.apiKey";
/** A session key's end (ISO-8601), kept beside it: the console signs out when it passes. */
const EXPIRES_KEY = "meridian.apiKeyExpiresAt";

export interface Session {
  readonly apiKey: string | undefined;
  /** When the key stops working (a wallet session key); undefined for a key that lasts until revoked. */
  readonly expiresAt: string | undefined;
  readonly client: MeridianClient;
  /** Why the user was signed out, shown on the sign-in page. */
  readonly notice: string | undefined;
  /** Keeps the key (and a session key's end, ISO-8601) and opens the console with it. */
  signIn(apiKey: string, expiresAt?: string | null): void;
  signOut(notice?: string): void;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionProvider>");
  return session;
}

/** The client of the signed-in user; pages call the API only through it. */
export function useClient(): MeridianClient {
  return useSession().client;
}

const anonymous = new MeridianClient({ baseUrl: "", apiKey: undefined, fetch: (...args) => fetch(...args) });

function readStored(name: string): string | undefined {
  try {
    return localStorage.getItem(name) ?? undefined;
  } catch {
    return undefined;
  }
}

function forgetStoredKey(): void {
  localStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(EXPIRES_KEY);
}

/** The time of day a session ends, as the user reads it. */
export function sessionEndText(expiresAt: string): string {
  return new Date(expiresAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function endedNotice(expiresAt: string): string {
  return `Your wallet session ended at ${sessionEndText(expiresAt)}. Sign in again with your wallet to continue.`;
}

/** The stored key, unless it is a session key already past its end (then the notice says so). */
function initialSession(): { apiKey?: string; expiresAt?: string; notice?: string } {
  const apiKey = readStored(STORAGE_KEY);
  const expiresAt = readStored(EXPIRES_KEY);
  if (apiKey === undefined) return {};
  if (expiresAt !== undefined && Date.parse(expiresAt) <= Date.now()) {
    forgetStoredKey();
    return { notice: endedNotice(expiresAt) };
  }
  return { apiKey, expiresAt };
}

/**
 * The API key lives in localStorage (the /docs page reads it too), with a wallet session key's
 * end. When that end passes the user is signed out with a message saying so; a 401 on any query
 * while signed in means the key was revoked or expired (`key_expired`, said as such), and the user
 * is signed out with a message, not left on a page of errors.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [initial] = useState(initialSession);
  const [apiKey, setApiKey] = useState<string | undefined>(initial.apiKey);
  const [expiresAt, setExpiresAt] = useState<string | undefined>(initial.expiresAt);
  const [notice, setNotice] = useState<string | undefined>(initial.notice);

  const signOut = useCallback((message?: string) => {
    forgetStoredKey();
    setApiKey(undefined);
    setExpiresAt(undefined);
    setNotice(message);
  }, []);

  const queryClient = useMemo(
    () =>
      new QueryClient({
        queryCache: new QueryCache({
          onError(error) {
            if (error instanceof ApiError && error.code === "key_expired") {
              signOut("Your session key has expired. Sign in again with your wallet to continue.");
            } else if (error instanceof ApiError && error.unauthorized) {
              signOut("Your API key was refused: it was revoked or has expired. Sign in with a valid key.");
            }
          },
        }),
        defaultOptions: {
          queries: {
            // Retry what may pass on its own (network, 5xx); a 4xx will answer the same again.
            retry: (count, error) => error instanceof ApiError && error.retryable && count < 2,
            staleTime: 5_000,
          },
        },
      }),
    [signOut],
  );

  // A session key signs the console out the moment it ends, saying so, before a request fails.
  useEffect(() => {
    if (apiKey === undefined || expiresAt === undefined) return;
    const timer = setTimeout(
      () => {
        queryClient.clear();
        signOut(endedNotice(expiresAt));
      },
      Math.max(0, Date.parse(expiresAt) - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [apiKey, expiresAt, queryClient, signOut]);

  const session = useMemo<Session>(
    () => ({
      apiKey,
      expiresAt,
      client: anonymous.withApiKey(apiKey),
      notice,
      signIn(key: string, ends?: string | null) {
        localStorage.setItem(STORAGE_KEY, key);
        if (ends) localStorage.setItem(EXPIRES_KEY, ends);
        else localStorage.removeItem(EXPIRES_KEY);
        queryClient.clear();
        setNotice(undefined);
        setExpiresAt(ends ?? undefined);
        setApiKey(key);
      },
      signOut(message?: string) {
        queryClient.clear();
        signOut(message);
      },
    }),
    [apiKey, expiresAt, notice, queryClient, signOut],
  );

  return (
    <SessionContext.Provider value={session}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </SessionContext.Provider>
  );
}
