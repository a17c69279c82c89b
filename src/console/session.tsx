import { QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { ApiError } from "../shared/client/api-error.js";
import { MeridianClient } from "../shared/client/meridian-client.js";

const STORAGE_KEY = "meridian.apiKey";

export interface Session {
  readonly apiKey: string | undefined;
  readonly client: MeridianClient;
  /** Why the user was signed out, shown on the sign-in page. */
  readonly notice: string | undefined;
  signIn(apiKey: string): void;
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

function readStoredKey(): string | undefined {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The API key lives in localStorage (the /docs page reads it too). A 401 on any query while signed
 * in means the key was revoked or expired: the user is signed out with a message, not left on a
 * page of errors.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | undefined>(readStoredKey);
  const [notice, setNotice] = useState<string | undefined>();

  const signOut = useCallback((message?: string) => {
    localStorage.removeItem(STORAGE_KEY);
    setApiKey(undefined);
    setNotice(message);
  }, []);

  const queryClient = useMemo(
    () =>
      new QueryClient({
        queryCache: new QueryCache({
          onError(error) {
            if (error instanceof ApiError && error.unauthorized) {
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

  const session = useMemo<Session>(
    () => ({
      apiKey,
      client: anonymous.withApiKey(apiKey),
      notice,
      signIn(key: string) {
        localStorage.setItem(STORAGE_KEY, key);
        queryClient.clear();
        setNotice(undefined);
        setApiKey(key);
      },
      signOut(message?: string) {
        queryClient.clear();
        signOut(message);
      },
    }),
    [apiKey, notice, queryClient, signOut],
  );

  return (
    <SessionContext.Provider value={session}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </SessionContext.Provider>
  );
}
