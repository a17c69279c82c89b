import { createMiddleware } from "hono/factory";
import { ledgerConfig } from "../ledger/ledger-config.js";
import { MeridianError } from "../shared/errors.js";
import type { AppEnv } from "./hono-env.js";

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

/**
 * Requires `Authorization: Bearer <OPERATOR_TOKEN>`. Compares digests in constant time so the
 * token cannot be guessed byte by byte; with no OPERATOR_TOKEN configured, operator routes are off.
 */
export const requireOperator = createMiddleware<AppEnv>(async (c, next) => {
  const expected = ledgerConfig(c.env).operatorToken;
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token)
    throw new MeridianError(401, "unauthorized", "send the operator token as Authorization: Bearer <token>");
  if (!expected)
    throw new MeridianError(403, "operator_only", "operator routes are not enabled on this deployment");
  const [given, wanted] = await Promise.all([digest(token), digest(expected)]);
  if (!crypto.subtle.timingSafeEqual(given, wanted)) {
    throw new MeridianError(403, "operator_only", "only the operator may do this");
  }
  await next();
});
