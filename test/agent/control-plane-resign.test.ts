import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { ControlPlaneClient, ControlPlaneError } from "../../src/agent/control-plane-client.js";
import { publicKeyOf, SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";

/**
 * The client's answer to refusals a fresh signature fixes, against a scripted fetch (pure client
 * logic; the real refusals are tested in workerd, test/worker/nonce-restart.test.ts).
 */
async function clientAnswering(answers: ((timestamp: number) => Response)[]): Promise<{
  client: ControlPlaneClient;
  sent: { timestamp: number; nonce: string }[];
}> {
  const secretKey = ed.utils.randomSecretKey();
  const sent: { timestamp: number; nonce: string }[] = [];
  const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const timestamp = Number(headers.get(SIGNATURE_HEADERS.timestamp));
    sent.push({ timestamp, nonce: headers.get(SIGNATURE_HEADERS.nonce) ?? "" });
    const answer = answers[sent.length - 1] ?? answers[answers.length - 1];
    if (answer === undefined) throw new Error("no answer scripted");
    return answer(timestamp);
  };
  const client = new ControlPlaneClient({
    baseUrl: "http://control-plane.test",
    identity: { secretKey, publicKeyBase58: await publicKeyOf(secretKey) },
    fetch: fetch as typeof globalThis.fetch,
    backoffMs: 1,
  });
  client.setNode("node_00000000000000000000000000", "eu-west");
  return { client, sent };
}

const refusal = (code: string, details?: unknown) => () =>
  Response.json({ error: { code, message: code, ...(details ? { details } : {}) } }, { status: 401 });
const accepted = () => Response.json({ accepted: true, stop: false });
const report = { type: "started" as const, fencing: 1, at: 0, containerId: "c" };

describe("control-plane client re-signing", () => {
  it("signs again after a region restart, waiting until its clock passes the floor named", async () => {
    const floor = Date.now() + 300;
    const { client, sent } = await clientAnswering([
      refusal("signed_before_restart", { notBefore: floor }),
      (timestamp) =>
        timestamp >= floor ? accepted() : refusal("signed_before_restart", { notBefore: floor })(),
    ]);
    expect(await client.report("att_x", report)).toEqual({ accepted: true, stop: false });
    expect(sent).toHaveLength(2);
    expect(sent[1]?.timestamp).toBeGreaterThanOrEqual(floor);
    expect(new Set(sent.map((s) => s.nonce)).size).toBe(2);
  });

  it("signs again more than once (a second restart while the first re-signed request travels)", async () => {
    const { client, sent } = await clientAnswering([
      refusal("stale_signature"),
      refusal("signed_before_restart", { notBefore: 0 }),
      accepted,
    ]);
    expect(await client.report("att_x", report)).toEqual({ accepted: true, stop: false });
    expect(sent).toHaveLength(3);
  });

  it("gives up after a few fresh signatures, and never re-signs a replay or an unknown node", async () => {
    const stale = await clientAnswering([refusal("stale_signature")]);
    await expect(stale.client.report("att_x", report)).rejects.toMatchObject({ code: "stale_signature" });
    expect(stale.sent).toHaveLength(4);
    for (const code of ["replayed_request", "unknown_node", "bad_signature"]) {
      const other = await clientAnswering([refusal(code), accepted]);
      const error = await other.client.report("att_x", report).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ControlPlaneError);
      expect((error as ControlPlaneError).code).toBe(code);
      expect(other.sent).toHaveLength(1);
    }
  });

  it("says what answered when an error is not the control plane's envelope", async () => {
    const { client } = await clientAnswering([() => new Response("upstream went away", { status: 401 })]);
    await expect(client.report("att_x", report)).rejects.toThrow(/answered 401: upstream went away/);
  });
});
