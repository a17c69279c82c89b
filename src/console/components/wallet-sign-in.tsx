import { useMutation } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { base64, type SigningWallet, watchWallets } from "../lib/wallet-standard.js";
import { useClient, useSession } from "../session.js";
import { ErrorNotice } from "./query-view.js";

/** How long a wallet sign-in lasts: a session key ends after it (the server allows 60 s to 24 h). */
const SESSION_LENGTHS = [
  [3_600, "1 hour"],
  [8 * 3_600, "8 hours"],
  [24 * 3_600, "24 hours"],
] as const;

/**
 * Sign In With Solana: the server issues the exact message (domain, address, nonce, expiry), the
 * wallet signs its UTF-8 bytes, and the server answers a short-lived session key for the wallet's
 * account (`key: "session"`), which the console keeps with its end: when it ends, the console
 * signs out and says so. A key that lasts until revoked is made on the Account page.
 */
export function WalletSignIn() {
  const client = useClient();
  const { signIn } = useSession();
  const [wallets, setWallets] = useState<SigningWallet[]>([]);
  useEffect(() => watchWallets(setWallets), []);
  const [message, setMessage] = useState<string | undefined>();
  const [seconds, setSeconds] = useState<number>(SESSION_LENGTHS[0][0]);
  const run = useMutation({
    mutationFn: async (wallet: SigningWallet) => {
      const account = await wallet.account();
      const challenge = (await client.walletChallenge(account.address)).data;
      setMessage(challenge.message);
      const signature = await wallet.signMessage(account, new TextEncoder().encode(challenge.message));
      return (
        await client.walletVerify({
          message: challenge.message,
          signature: base64(signature),
          key: "session",
          expiresInSeconds: seconds,
        })
      ).data;
    },
    onSuccess: (signedIn) => signIn(signedIn.apiKey, signedIn.expiresAt),
  });
  return (
    <div className="card">
      <h2>Solana wallet</h2>
      {wallets.length === 0 ? (
        <p className="muted" data-testid="no-wallet">
          No wallet found in this browser. Install a Solana wallet that supports the Wallet Standard (Phantom,
          Solflare, Backpack), then reload.
        </p>
      ) : (
        <div className="row">
          <label htmlFor="session-length">Stay signed in for</label>
          <select
            id="session-length"
            value={seconds}
            onChange={(event) => setSeconds(Number(event.target.value))}
            disabled={run.isPending}
          >
            {SESSION_LENGTHS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          {wallets.map((wallet) => (
            <button
              key={wallet.name}
              type="button"
              onClick={() => run.mutate(wallet)}
              disabled={run.isPending}
            >
              Sign in with {wallet.name}
            </button>
          ))}
        </div>
      )}
      {run.isPending && message ? (
        <div className="muted">
          Your wallet is asked to sign:
          <pre className="mono" data-testid="siws-message">
            {message}
          </pre>
        </div>
      ) : null}
      {run.isError ? <ErrorNotice error={run.error} /> : null}
    </div>
  );
}
