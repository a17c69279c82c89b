import type { AgentCaller } from "../durable/region-records.js";

/** What every route sees: the bindings from wrangler.toml, and what the middlewares established. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    accountId: string;
    agent: AgentCaller & { region: string; body: string };
  };
}
