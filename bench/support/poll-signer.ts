/**
 * Signed agent requests made synchronously, for load generators that build each request in a
 * synchronous hook (autocannon's `setupRequest`): the same canonical string and ed25519 signature
 * as a real agent (src/shared/agent-signature.ts), with a fresh timestamp and nonce every time, so
 * no request is a replay. bench/support/sim-agent.ts is the asynchronous, retrying counterpart.
 */
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import type { RegisterResponse } from "../../src/shared/agent-protocol.js";
import { canonicalString, newNonce, SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { hardware } from "./sim-agent.js";

ed.hashes.sha512 = sha512;

const REGION = "eu-west";

export class PollSigner {
  private readonly secretKey = ed.utils.randomSecretKey();
  private readonly publicKey = encodeBase58(ed.getPublicKey(this.secretKey));
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
    const signature = Buffer.from(ed.sign(new TextEncoder().encode(message), this.secretKey)).toString(
      "base64",
    );
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
