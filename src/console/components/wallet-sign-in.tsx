import { useMutation } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { base64, type SigningWallet, watchWallets } from "../lib/wallet-standard.js";
import { useClient, useSession } from "../session.js";
import { ErrorNotice } from "./query-view.js";

/**
 * Sign In With Solana: the server issues the exact message (domain, address, nonce, expiry), the
 * wallet signs its UTF-8 bytes, and the server answers an API key for the wallet's account.
 */
export function WalletSignIn() {
  const client = useClient();
  const { signIn } = useSession();
  const [wallets, setWallets] = useState<SigningWallet[]>([]);
  useEffect(() => watchWallets(setWallets), []);
  const [message, setMessage] = useState<string | undefined>();
  const run = useMutation({
    mutationFn: async (wallet: SigningWallet) => {
      const account = await wallet.account();
      const challenge = (await client.walletChallenge(account.address)).data;
      setMessage(challenge.message);
      const signature = await wallet.signMessage(account, new TextEncoder().encode(challenge.message));
      return (await client.walletVerify({ message: challenge.message, signature: base64(signature) })).data;
    },
    onSuccess: (signedIn) => signIn(signedIn.apiKey),
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
