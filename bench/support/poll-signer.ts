/**
 * Signed agent requests made synchronously, for load generators that build each request in a
 * synchronous hook (autocannon's `setupRequest`): the same canonical string and ed25519 signature
 * as a real agent (src/shared/agent-signature.ts), with a fresh timestamp and nonce every time, so
 * no request is a replay. Signed with Node's native ed25519 (tens of microseconds), so the load
 * generator is not what limits the rate (the pure-JS signer held one to about 50 requests/s here).
 * bench/support/sim-agent.ts is the asynchronous, retrying counterpart.
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { RegisterResponse } from "../../src/shared/agent-protocol.js";
import { canonicalString, newNonce, SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { hardware } from "./sim-agent.js";

const REGION = "eu-west";

/** The 32 bytes of an ed25519 public key (the JWK's `x`), as the protocol's base58 address takes them. */
function rawPublicKey(secretKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(secretKey).export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
}

export class PollSigner {
  private readonly secretKey = generateKeyPairSync("ed25519").privateKey;
  private readonly publicKey = encodeBase58(rawPublicKey(this.secretKey));
  private readonly host: string;
  nodeId = "";
  region = REGION;

  constructor(readonly base: string) {
    this.host = new URL(base).host;
  }

  /** The headers of one signed POST of `body` to `path`, signed now. */
  headers(path: string, body: string): Record<string, string> {
    const timestamp = Date.now();
    const nonce = newNonce();
    const message = canonicalString({
      method: "POST",
      host: this.host,
      pathAndQuery: path,
      region: this.region,
      authorization: "-",
      bodySha256: createHash("sha256").update(body).digest("hex"),
      timestamp,
      nonce,
    });
    const signature = sign(null, Buffer.from(message), this.secretKey).toString("base64");
    const headers: Record<string, string> = {
      "content-type": "application/json",
      [SIGNATURE_HEADERS.publicKey]: this.publicKey,
      [SIGNATURE_HEADERS.region]: this.region,
      [SIGNATURE_HEADERS.timestamp]: String(timestamp),
      [SIGNATURE_HEADERS.nonce]: nonce,
      [SIGNATURE_HEADERS.signature]: signature,
    };
    if (this.nodeId) headers[SIGNATURE_HEADERS.nodeId] = this.nodeId;
    return headers;
  }

  async register(): Promise<void> {
    const path = "/v1/agent/register";
    const body = JSON.stringify({
      hardware: hardware(),
      pricePerGpuHour: "2.00",
      agentVersion: "bench",
      runtime: "docker",
      region: REGION,
    });
    const res = await fetch(this.base + path, { method: "POST", headers: this.headers(path, body), body });
    if (res.status !== 200) throw new Error(`register answered ${res.status}: ${await res.text()}`);
    const answer = (await res.json()) as RegisterResponse;
    this.nodeId = answer.nodeId;
    this.region = answer.region;
  }
}
