import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import type { TopupCreated } from "../../shared/chain-api.js";
import { usd } from "../lib/format.js";
import { useClient } from "../session.js";
import { ErrorNotice } from "./query-view.js";

/** States after which a top-up changes no more: reading it again would only ask the chain again. */
const SETTLED = new Set(["credited", "underpaid", "wrong_mint", "failed"]);

/**
 * Follows one top-up: each read makes the server look for the payment by its reference, so the
 * page asks every 2 s until the top-up settles, then refreshes the balance.
 */
function TopupStatus({ created }: { created: TopupCreated }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const topup = useQuery({
    queryKey: ["topup", created.id],
    queryFn: async () => {
      const data = (await client.getTopup(created.id)).data;
      if (data.status === "credited") {
        void queryClient.invalidateQueries({ queryKey: ["balance"] });
        void queryClient.invalidateQueries({ queryKey: ["ledger"] });
      }
      return data;
    },
    initialData: created,
    refetchInterval: (query) => (SETTLED.has(query.state.data?.status ?? "") ? false : 2_000),
  });
  const view = topup.data;
  // The SVG is the server's own QR drawing; as an image it cannot run anything in the page.
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(created.qrSvg)}`;
  return (
    <div className="topup" data-testid="topup">
      <img
        src={qr}
        alt="Solana Pay QR code for this top-up"
        width={220}
        height={220}
        data-testid="topup-qr"
      />
      <div>
        <p>
          Pay{" "}
          <strong>
            {view.amount} {view.token.toUpperCase()}
          </strong>{" "}
          (credits {usd(view.credit)}) from a Solana wallet: scan the code, or open the request.
        </p>
        <p>
          <a href={view.url} data-testid="topup-url" className="mono">
            {view.url}
          </a>
        </p>
        <p>
          Status:{" "}
          <strong data-testid="topup-status" aria-live="polite">
            {view.status}
          </strong>
          {view.note ? <span className="muted"> — {view.note}</span> : null}
        </p>
        {view.signature ? (
          <p className="muted">
            Transaction <code>{view.signature}</code>
          </p>
        ) : null}
        {topup.isError ? <ErrorNotice error={topup.error} retry={() => void topup.refetch()} /> : null}
      </div>
    </div>
  );
}

/** Add credit with a Solana Pay transfer (USDC or MRD) to the treasury, credited once it is final. */
export function TopUp() {
  const client = useClient();
  const balance = useQuery({ queryKey: ["balance"], queryFn: async () => (await client.balance()).data });
  const [token, setToken] = useState<"usdc" | "mrd">("usdc");
  const [amount, setAmount] = useState("10");
  const create = useMutation({
    mutationFn: async () => (await client.createTopup({ token, amount: amount.trim() })).data,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <section className="card" aria-labelledby="topup-title">
      <h2 id="topup-title">Add credit</h2>
      <p>
        Available now: <strong data-testid="topup-balance">{usd(balance.data?.available)}</strong>
      </p>
      <form className="row" onSubmit={submit}>
        <label htmlFor="topup-amount">Amount</label>
        <input
          id="topup-amount"
          inputMode="decimal"
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
        <select
          aria-label="Token"
          value={token}
          onChange={(e) => setToken(e.target.value === "mrd" ? "mrd" : "usdc")}
        >
          <option value="usdc">USDC</option>
          <option value="mrd">MRD</option>
        </select>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create payment request"}
        </button>
      </form>
      {create.isError ? <ErrorNotice error={create.error} /> : null}
      {create.data ? <TopupStatus key={create.data.id} created={create.data} /> : null}
    </section>
  );
}
