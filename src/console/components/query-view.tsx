import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ApiError } from "../../shared/client/api-error.js";

/** One line for an error: what the API said, or that it could not be reached. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "unreachable") return "The control plane cannot be reached.";
    if (error.status >= 500) return `The server failed (${error.status}): ${error.message}`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An error with a way forward: retry for what may pass (network, 5xx), the message otherwise. */
export function ErrorNotice({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div role="alert" className="notice error">
      <span>{errorText(error)}</span>
      {retry ? (
        <button type="button" onClick={retry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** Loading, then the data, or the error with a retry: never a blank or frozen page. */
export function QueryView<T>({
  query,
  children,
  label,
}: {
  query: UseQueryResult<T>;
  children: (data: T) => ReactNode;
  label: string;
}) {
  if (query.isPending) return <p aria-busy="true">Loading {label}…</p>;
  if (query.isError) return <ErrorNotice error={query.error} retry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}
