import { createMiddleware } from "hono/factory";
import {
  authorizationDigest,
  SIGNATURE_HEADERS,
  SIGNATURE_WINDOW_MS,
  sha256Hex,
  verifyParts,
} from "../shared/agent-signature.js";
import { MeridianError } from "../shared/errors.js";
import { RegionId } from "../shared/regions.js";
import type { AppEnv } from "./hono-env.js";
import { MAX_BODY_BYTES, readText } from "./json-body.js";
import { requireKnownRegion } from "./region-routing.js";

/**
 * A challenge answer opens 16 rows, each with its block's digest vector (64 KiB at n = 16384,
 * base64 on the wire): about 2.1 MB, so that one route gets more room than the 1 MiB default.
 */
const ANSWER_BODY_BYTES = 4 * 1024 * 1024;

function agentBodyLimit(pathname: string): number {
  return /\/challenges\/[^/]+\/answer$/.test(pathname) ? ANSWER_BODY_BYTES : MAX_BODY_BYTES;
}

/**
 * Checks an agent request's ed25519 signature over method, host, path, region, Authorization
 * digest, body digest, timestamp and nonce (agent-signature.ts). The nonce's single use and the
 * key's ownership of the node are checked by the node's Region object, which holds both; the
 * routes send every request to the region named in the signed header (register: see there).
 */
export const agentAuth = createMiddleware<AppEnv>(async (c, next) => {
  const header = (name: string): string => c.req.header(name)?.trim() ?? "";
  const publicKey = header(SIGNATURE_HEADERS.publicKey);
  const signature = header(SIGNATURE_HEADERS.signature);
  const nonce = header(SIGNATURE_HEADERS.nonce);
  const timestampText = header(SIGNATURE_HEADERS.timestamp);
  const nodeId = header(SIGNATURE_HEADERS.nodeId);
  const regionText = header(SIGNATURE_HEADERS.region);
  if (
    !publicKey ||
    !signature ||
    !/^[1-9A-HJ-NP-Za-km-z]{16,32}$/.test(nonce) ||
    !/^[0-9]{1,16}$/.test(timestampText)
  ) {
    throw new MeridianError(
      401,
      "unsigned_request",
      "agent requests must carry the x-meridian-* signature headers",
    );
  }
  const body = await readText(c, agentBodyLimit(new URL(c.req.url).pathname));
  const url = new URL(c.req.url);
  const timestamp = Number(timestampText);
  const valid = await verifyParts(publicKey, signature, {
    method: c.req.method,
    host: url.host,
    pathAndQuery: url.pathname + url.search,
    region: regionText,
    authorization: await authorizationDigest(c.req.header("authorization")),
    bodySha256: await sha256Hex(body),
    timestamp,
    nonce,
  });
  if (!valid) throw new MeridianError(401, "bad_signature", "the request's signature does not verify");
  // The Region object checks the window again with the nonce; refusing here keeps a stale request
  // from reaching routing at all (a stale registration is stale whatever region it names).
  if (Math.abs(Date.now() - timestamp) > SIGNATURE_WINDOW_MS) {
    throw new MeridianError(
      401,
      "stale_signature",
      "the request's timestamp is outside the signature window",
    );
  }
  let region = "";
  if (regionText) {
    if (!RegionId.safeParse(regionText).success)
      throw new MeridianError(400, "unknown_region", "bad region header");
    region = requireKnownRegion(c.env, regionText);
  }
  c.set("agent", { publicKey, nodeId: nodeId || null, nonce, timestamp, region, body });
  await next();
});
