import { ApiKeys } from "../components/api-keys.js";
import { Secrets } from "../components/secrets.js";

/** What the account holds besides money: its API keys and its secrets. */
export function AccountPage() {
  return (
    <>
      <h1>Account</h1>
      <ApiKeys />
      <Secrets />
    </>
  );
}
