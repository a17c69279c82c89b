import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { ApiKeyCreated } from "../../shared/api-key-scopes.js";
import { when } from "../lib/format.js";
import { useClient } from "../session.js";
import { DataTable } from "./data-table.js";
import { ErrorNotice, QueryView } from "./query-view.js";

const SCOPES = [
  ["full", "Full: everything this account may do"],
  ["read", "Read: GET only (dashboards, CI checks)"],
  ["provider", "Provider: own nodes, earnings, pricing"],
] as const;

/** The account's API keys: list (never a secret), create with scopes (the secret shown once), revoke. */
export function ApiKeys() {
  const client = useClient();
  const queryClient = useQueryClient();
  const keys = useQuery({
    queryKey: ["api-keys"],
    queryFn: async () => (await client.listKeys()).data.keys,
  });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [endpoint, setEndpoint] = useState("");
  const [created, setCreated] = useState<ApiKeyCreated | undefined>();
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["api-keys"] });
  const create = useMutation({
    mutationFn: async () => {
      const all = endpoint.trim() ? [...scopes, `endpoint:${endpoint.trim()}`] : scopes;
      return (await client.createKey({ ...(name.trim() ? { name: name.trim() } : {}), scopes: all })).data;
    },
    onSuccess: (key) => {
      setCreated(key);
      setName("");
      refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => (await client.revokeKey(id)).data,
    onSuccess: refresh,
  });
  const toggle = (scope: string) =>
    setScopes((now) => (now.includes(scope) ? now.filter((s) => s !== scope) : [...now, scope]));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys</h2>
      <form onSubmit={submit}>
        <label htmlFor="key-name">Name</label>
        <input id="key-name" value={name} placeholder="ci" onChange={(e) => setName(e.target.value)} />
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {SCOPES.map(([scope, text]) => (
            <label key={scope} className="check">
              <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {text}
            </label>
          ))}
          <label htmlFor="key-endpoint">One endpoint only (ep_… id, optional)</label>
          <input id="key-endpoint" value={endpoint} onChange={(e) => setEndpoint(e.target.value)} />
        </fieldset>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create key"}
        </button>
      </form>
      {create.isError ? <ErrorNotice error={create.error} /> : null}
      {created ? (
        <div className="notice warn" role="status">
          <span>
            Key <code>{created.id}</code> created. Copy its secret now; it is not shown again:{" "}
            <code className="secret" data-testid="created-key-secret">
              {created.apiKey}
            </code>
          </span>
          <button type="button" className="link" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      ) : null}
      {revoke.isError ? <ErrorNotice error={revoke.error} /> : null}
      <QueryView query={keys} label="the keys">
        {(list) => (
          <DataTable testId="api-keys" columns={["Key", "Name", "Scopes", "Created", "State"]}>
            {list.map((key) => (
              <tr key={key.id} data-key-id={key.id}>
                <td className="mono">{key.id}</td>
                <td>{key.name ?? "—"}</td>
                <td>{key.scopes.join(", ")}</td>
                <td>{when(key.createdAt)}</td>
                <td>
                  {key.revokedAt ? (
                    `revoked ${when(key.revokedAt)}`
                  ) : (
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Revoke ${key.id}`}
                      onClick={() => revoke.mutate(key.id)}
                      disabled={revoke.isPending}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryView>
    </section>
  );
}
