import { createMiddleware } from "hono/factory";
import { MeridianError } from "../shared/errors.js";
import type { AppEnv } from "./hono-env.js";

/**
 * `REQUIRE_VERIFIED_GPUS=false` lets nodes that never proved their GPUs take work: it is for local
 * development only (the test agents claim GPUs they cannot prove), as is running without the
 * regions' receipt-signing secret. A Worker reached on any other host is a deployed one, and
 * refuses every request while so configured rather than serve an unverified network.
 *
 * "Deployed" is told by the host a request was addressed to, not by a variable an operator could
 * forget to change: a local run is reached on a loopback address (127.0.0.0/8, [::1]), `localhost`,
 * or a name under a TLD reserved by RFC 2606/6761 that no public DNS resolves (`.localhost`,
 * `.test`); a Worker on Cloudflare's network is only ever reached on a public hostname.
 */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1") return true;
  if (host.endsWith(".localhost") || host.endsWith(".test")) return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}

export function verificationOptional(env: { REQUIRE_VERIFIED_GPUS?: unknown }): boolean {
  return String(env.REQUIRE_VERIFIED_GPUS ?? "true") === "false";
}

/**
 * Why a Worker addressed at `hostname` must not serve with this configuration, or null when it may.
 * Both settings are for local runs only: `REQUIRE_VERIFIED_GPUS=false` (nodes that never proved
 * their GPUs take work), and no `REGION_SIGNING_SEED` (the regions would countersign no usage
 * statement, so charge receipts would carry the agent's word alone).
 */
export function unsafeConfiguration(
  env: { REQUIRE_VERIFIED_GPUS?: unknown; REGION_SIGNING_SEED?: unknown },
  hostname: string,
): string | null {
  if (isLocalHost(hostname)) return null;
  if (verificationOptional(env))
    return "this deployment has REQUIRE_VERIFIED_GPUS=false, which is for local development only; set it to true";
  if (typeof env.REGION_SIGNING_SEED !== "string" || env.REGION_SIGNING_SEED.trim() === "")
    return "this deployment has no REGION_SIGNING_SEED, so its regions would countersign no receipt; set it: wrangler secret put REGION_SIGNING_SEED";
  return null;
}

export const deploymentGuard = createMiddleware<AppEnv>(async (c, next) => {
  const unsafe = unsafeConfiguration(c.env, new URL(c.req.url).hostname);
  if (unsafe !== null) throw new MeridianError(503, "unsafe_configuration", unsafe);
  await next();
});
