import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as ed from "@noble/ed25519";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlaneClient, ControlPlaneError, UNREACHABLE } from "../../src/agent/control-plane-client.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";

/**
 * Answers whose body never arrives whole, over a real HTTP connection (Node's fetch, as the agent
 * runs it): the headers come, then the body stalls past the try's timeout or the connection is cut.
 * Such a try is a failed try, retried; before, it was read as an answer "with no body", so a 401
 * lost its code (`stale_signature` became `http_401`) and the work loop registered again.
 */
type Step = (res: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0))
    await new Promise((resolve) => server.close(resolve)).catch(() => undefined);
});

async function controlPlane(steps: Step[]): Promise<{ url: string; seen: () => number }> {
  let seen = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      const step = steps[seen] ?? steps[steps.length - 1];
      seen += 1;
      step?.(res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // Held connections must not keep the server open at the end.
  server.on("connection", (socket) => socket.unref());
  return { url: `http://127.0.0.1:${port}`, seen: () => seen };
}

async function client(url: string): Promise<ControlPlaneClient> {
  const secretKey = ed.utils.randomSecretKey();
  const made = new ControlPlaneClient({
    baseUrl: url,
    identity: { secretKey, publicKeyBase58: await publicKeyOf(secretKey) },
    backoffMs: 1,
  });
  made.setNode("node_00000000000000000000000000", "eu-west");
  return made;
}

const json =
  (status: number, body: unknown): Step =>
  (res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
/** The headers and half the body, then nothing: the client's timeout ends the read. */
const stalled =
  (status: number): Step =>
  (res) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": "200" });
    res.write('{"error":{"code":"stale_sig');
  };
/** The headers and half the body, then the connection cut. */
const cut =
  (status: number): Step =>
  (res) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": "200" });
    res.write('{"error":{"code":"stale_sig', () => res.socket?.destroy());
  };

const report = { type: "started" as const, fencing: 1, at: 0, containerId: "c" };
const accepted = json(200, { accepted: true, stop: false });
const staleSignature = json(401, { error: { code: "stale_signature", message: "outside the window" } });

describe("control-plane client: bodies that never arrive whole", () => {
  it("retries a try whose body stalled past its timeout, and keeps the refusal's code when it comes", async () => {
    const plane = await controlPlane([stalled(401), staleSignature, accepted]);
    const answer = await (await client(plane.url)).report("att_x", report, { timeoutMs: 300 });
    expect(answer).toEqual({ accepted: true, stop: false });
    // The stalled try, the refusal a fresh signature answers, the accepted one.
    expect(plane.seen()).toBe(3);
  });

  it("retries a 200 whose body was cut off, rather than calling the answer malformed", async () => {
    const plane = await controlPlane([cut(200), accepted]);
    expect(await (await client(plane.url)).report("att_x", report, { timeoutMs: 5_000 })).toEqual({
      accepted: true,
      stop: false,
    });
    expect(plane.seen()).toBe(2);
  });

  it("gives up as unreachable, never as an http_401 without a code, when every body is cut", async () => {
    const plane = await controlPlane([cut(401)]);
    const error = await (await client(plane.url))
      .report("att_x", report, { retries: 2, timeoutMs: 5_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect((error as ControlPlaneError).code).toBe(UNREACHABLE);
    expect((error as ControlPlaneError).status).toBe(0);
    expect(plane.seen()).toBe(3);
  });
});
