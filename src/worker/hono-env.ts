import type { AgentCaller } from "../durable/region-records.js";
import type { KeyScope } from "../shared/api-key-scopes.js";

/** What every route sees: the bindings from wrangler.toml, and what the middlewares established. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    accountId: string;
    /** The API key the request came with, and what it may do (require-account.ts). */
    keyId: string;
    keyScopes: KeyScope[];
    agent: AgentCaller & { region: string; body: string };
  };
}
