import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { errorText } from "../components/query-view.js";
import { WalletSignIn } from "../components/wallet-sign-in.js";
import { useClient, useSession } from "../session.js";

/** Paste an API key (checked against the API before it is kept), or sign up for a new one. */
export function SignInPage() {
  const { signIn, notice } = useSession();
  const client = useClient();
  const [key, setKey] = useState("");
  const [created, setCreated] = useState<{ id: string; apiKey: string } | undefined>();

  const check = useMutation({
    mutationFn: async (apiKey: string) => {
      await client.withApiKey(apiKey).balance();
      return apiKey;
    },
    onSuccess: (apiKey) => signIn(apiKey),
  });
  const signUp = useMutation({
    mutationFn: async () => (await client.createAccount({})).data,
    onSuccess: (account) => setCreated(account),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) check.mutate(key.trim());
  };

  return (
    <section aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Meridian</h1>
      <p className="muted">Rent GPUs by the second; run containers on verified providers.</p>
      {notice ? (
        <p role="alert" className="notice warn">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} className="card">
        <h2>Sign in</h2>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="mrd_…"
          value={key}
          onChange={(event) => setKey(event.target.value)}
        />
        {check.isError ? (
          <p role="alert" className="notice error">
            {check.error instanceof Error && "unauthorized" in check.error && check.error.unauthorized
              ? "That API key was refused. Check it, or sign up for a new one."
              : errorText(check.error)}
          </p>
        ) : null}
        <button type="submit" disabled={check.isPending || !key.trim()}>
          {check.isPending ? "Checking…" : "Sign in"}
        </button>
      </form>
      <WalletSignIn />
      <div className="card">
        <h2>New here?</h2>
        {created ? (
          <>
            <p>
              Your account <code>{created.id}</code> is ready. This is your API key; it is shown once, so keep
              it:
            </p>
            <p>
              <code className="secret" data-testid="new-api-key">
                {created.apiKey}
              </code>
            </p>
            <button type="button" onClick={() => signIn(created.apiKey)}>
              Continue to the console
            </button>
          </>
        ) : (
          <>
            <p>An account comes with a little credit to try a job.</p>
            {signUp.isError ? (
              <p role="alert" className="notice error">
                {errorText(signUp.error)}
              </p>
            ) : null}
            <button type="button" onClick={() => signUp.mutate()} disabled={signUp.isPending}>
              {signUp.isPending ? "Creating…" : "Sign up"}
            </button>
          </>
        )}
      </div>
    </section>
  );
}
