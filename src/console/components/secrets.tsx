import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { when } from "../lib/format.js";
import { useClient } from "../session.js";
import { DataTable } from "./data-table.js";
import { ErrorNotice, QueryView } from "./query-view.js";

/**
 * The account's secrets by name. A value goes in once and never comes back out (the API has no
 * way to read it); the field is cleared as soon as the server took it.
 */
export function Secrets() {
  const client = useClient();
  const queryClient = useQueryClient();
  const secrets = useQuery({
    queryKey: ["secrets"],
    queryFn: async () => (await client.listSecrets()).data.secrets,
  });
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["secrets"] });
  const put = useMutation({
    mutationFn: async () => (await client.putSecret({ name: name.trim(), value })).data,
    onSuccess: () => {
      setName("");
      setValue("");
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (secret: string) => client.deleteSecret(secret),
    onSuccess: refresh,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    put.mutate();
  };
  return (
    <section className="card" aria-labelledby="secrets-title">
      <h2 id="secrets-title">Secrets</h2>
      <p className="muted">
        A job names one as <code>env: {"{ HF_TOKEN: { secret: hf } }"}</code>; only the agent running it
        receives the value.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="secret-name">Name</label>
        <input id="secret-name" value={name} placeholder="hf" onChange={(e) => setName(e.target.value)} />
        <label htmlFor="secret-value">Value</label>
        <input
          id="secret-value"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" disabled={put.isPending || !name.trim() || !value}>
          {put.isPending ? "Saving…" : "Save secret"}
        </button>
      </form>
      {put.isError ? <ErrorNotice error={put.error} /> : null}
      {remove.isError ? <ErrorNotice error={remove.error} /> : null}
      <QueryView query={secrets} label="the secrets">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No secrets yet.</p>
          ) : (
            <DataTable testId="secrets" columns={["Name", "Updated", { hidden: "Actions" }]}>
              {list.map((secret) => (
                <tr key={secret.name}>
                  <td className="mono">{secret.name}</td>
                  <td>{when(secret.updatedAt)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Delete secret ${secret.name}`}
                      onClick={() => remove.mutate(secret.name)}
                      disabled={remove.isPending}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </section>
  );
}
