import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import type { AgentLog } from "../../src/agent/agent-log.js";
import type { JobView } from "../../src/shared/api.js";
import type { OutputView } from "../../src/shared/storage/agent-storage-protocol.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { type S3Emulator, S3RVER_CREDENTIALS, startS3 } from "../support/s3-emulator.js";
import { UserClient } from "../support/user-client.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

function collectingLog(): AgentLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

// Inputs, outputs, secrets and IPFS through the real parts: wrangler dev (with its local R2), a
// real agent on the local Docker engine, and s3rver as the user's S3-compatible store.
describe.skipIf(!dockerAvailable("storage end to end: wrangler dev + R2 + s3rver + agent + Docker"))(
  "job data end to end",
  () => {
    let plane: ControlPlane;
    let s3: S3Emulator;
    let agent: AgentHandle;
    let dataDir = "";
    let user: UserClient;
    const log = collectingLog();
    const s3Access = () => ({ endpoint: s3.endpoint, credentials: { secret: "s3" } });

    beforeAll(async () => {
      [plane, s3] = await Promise.all([
        startControlPlane({
          vars: {
            REQUIRE_VERIFIED_GPUS: "false",
            STORAGE_PRIVATE_HOSTS_ALLOWED: "127.0.0.1",
            STORAGE_PART_SIZE_BYTES: String(5 * 1024 * 1024),
          },
        }),
        startS3(),
      ]);
      dataDir = await mkdtemp(path.join(tmpdir(), "meridian-agent-"));
      agent = await startAgent({
        dataDir,
        controlPlane: plane.url,
        region: "eu-west",
        nvidiaSmi: "/nonexistent",
        log,
        stopGraceSeconds: 2,
      });
      await agent.registered;
      user = await UserClient.signup(plane.url);
      const res = await user.request("/v1/secrets", {
        method: "POST",
        body: { name: "s3", value: JSON.stringify(S3RVER_CREDENTIALS) },
      });
      expect(res.status).toBe(201);
    }, 180_000);

    afterAll(async () => {
      await agent?.stop();
      await plane?.stop();
      await s3?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    async function run(spec: Record<string, unknown>): Promise<JobView> {
      const job = await user.submit({ image: TEST_IMAGE, region: "eu-west", maxRetries: 0, ...spec });
      try {
        return await user.waitFor(job.id, (j) => TERMINAL.has(j.status), 50_000);
      } catch (error) {
        throw new Error(`${String(error)}\n${log.lines.slice(-40).join("\n")}\n${await logsOf(job.id)}`);
      }
    }
    const logsOf = async (id: string) => (await user.request(`/v1/jobs/${id}/logs`)).text();
    const outputsOf = async (id: string) =>
      ((await (await user.request(`/v1/jobs/${id}/outputs`)).json()) as { outputs: OutputView[] }).outputs;

    it("fetches S3 and R2 inputs read-only, gives the secret, uploads outputs to R2 and S3 (multipart)", async () => {
      const data = "rows,of,data\n".repeat(1000);
      await s3.client.fetch(s3.objectUrl("in/data.csv"), { method: "PUT", body: data });
      const upload = await user.request("/v1/uploads", {
        method: "POST",
        body: { to: "r2://datasets/notes.txt", size: 6 },
      });
      expect(upload.status).toBe(201);
      const { url } = (await upload.json()) as { url: string };
      expect((await fetch(url, { method: "PUT", body: "notes\n" })).status).toBe(200);

      const secret = "hf_e2e_secret_value";
      await user.request("/v1/secrets", { method: "POST", body: { name: "hf", value: secret } });
      const job = await run({
        name: "data-in-out",
        env: { HF_TOKEN: { secret: "hf" } },
        inputs: [
          {
            from: `s3://${s3.bucket}/in/data.csv`,
            to: "/data/data.csv",
            sha256: sha256(data),
            s3: s3Access(),
          },
          { from: "r2://datasets/notes.txt", to: "/data/notes.txt" },
        ],
        outputs: [
          { path: "/outputs" },
          { path: "/results", to: `s3://${s3.bucket}/results`, s3: s3Access() },
        ],
        command: [
          "sh",
          "-c",
          [
            "cp /data/data.csv /outputs/copy.csv",
            "cat /data/notes.txt > /outputs/notes.txt",
            'printf %s "$HF_TOKEN" | wc -c > /outputs/token-length.txt',
            "(echo x >> /data/data.csv) 2>/dev/null && echo writable > /outputs/ro.txt || echo read-only > /outputs/ro.txt",
            "head -c 11000000 /dev/urandom > /results/big.bin",
            "mkdir -p /results/deep/er && echo nested > /results/deep/er/file.txt",
            "echo done",
          ].join(" && "),
        ],
      });
      expect(job.status, `${job.reason}\n${log.lines.join("\n")}`).toBe("succeeded");
      const outputs = await outputsOf(job.id);
      expect(outputs.map((o) => o.path).sort()).toEqual([
        "/outputs/copy.csv",
        "/outputs/notes.txt",
        "/outputs/ro.txt",
        "/outputs/token-length.txt",
        "/results/big.bin",
        "/results/deep/er/file.txt",
      ]);
      for (const output of outputs) {
        const bytes = new Uint8Array(await (await fetch(output.downloadUrl)).arrayBuffer());
        expect(bytes.length, output.path).toBe(output.size);
        expect(sha256(bytes), output.path).toBe(output.sha256);
      }
      const text = async (p: string) => {
        const o = outputs.find((x) => x.path === p);
        return (await fetch(o?.downloadUrl ?? "")).text();
      };
      expect(await text("/outputs/copy.csv")).toBe(data);
      expect(await text("/outputs/notes.txt")).toBe("notes\n");
      expect((await text("/outputs/ro.txt")).trim()).toBe("read-only");
      expect((await text("/outputs/token-length.txt")).trim()).toBe(String(secret.length));
      const big = outputs.find((o) => o.path === "/results/big.bin");
      expect(big?.location).toBe(`s3://${s3.bucket}/results/big.bin`);
      // Listed in the user's own bucket, under the prefix the spec named.
      const head = await s3.client.fetch(s3.objectUrl("results/big.bin"), { method: "HEAD" });
      expect(Number(head.headers.get("content-length"))).toBe(11_000_000);
      const logs = await logsOf(job.id);
      expect(logs).toContain("uploading outputs: 100%");
      expect(logs).not.toContain(secret);
      expect(log.lines.join("\n")).not.toContain(secret);
    });

    it("verifies inputs: a cached one is not fetched again, a wrong SHA-256 fails the job before it starts", async () => {
      const data = "rows,of,data\n".repeat(1000);
      const input = {
        from: `s3://${s3.bucket}/in/data.csv`,
        to: "/data/data.csv",
        sha256: sha256(data),
        s3: s3Access(),
      };
      const again = await run({
        name: "cached",
        inputs: [input],
        command: ["sh", "-c", "wc -c < /data/data.csv"],
      });
      expect(again.status).toBe("succeeded");
      const logs = await logsOf(again.id);
      expect(logs).toContain("cache hit");
      expect(logs).toContain(String(data.length));

      const wrong = "0".repeat(64);
      const bad = await run({
        name: "mismatch",
        inputs: [{ ...input, to: "/data/x", sha256: wrong }],
        command: ["true"],
      });
      expect(bad.status).toBe("failed");
      expect(bad.reason).toContain("SHA-256 mismatch");
      expect(bad.startedAt).toBeNull();
    });

    it("gives IPFS outputs real CIDs, serves them by CID, and reads them back as ipfs:// inputs", async () => {
      const job = await run({
        name: "ipfs-out",
        outputs: [{ path: "/outputs", to: "ipfs" }],
        command: ["sh", "-c", "echo 'hello world' > /outputs/hello.txt"],
      });
      expect(job.status, job.reason ?? "").toBe("succeeded");
      const [output] = await outputsOf(job.id);
      // What any IPFS implementation computes for these bytes (UnixFS, CIDv1, raw leaves).
      expect(output?.cid).toBe("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
      expect(await (await fetch(`${plane.url}/v1/storage/ipfs/${output?.cid}`)).text()).toBe("hello world\n");

      // The CID `ipfs add` (CIDv0) gives the same bytes is accepted too.
      const back = await run({
        name: "ipfs-in",
        inputs: [{ from: "ipfs://QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", to: "/data/hello.txt" }],
        command: ["cat", "/data/hello.txt"],
      });
      // Not stored here under that CID's own key and no gateway configured: a clear refusal.
      expect(back.status).toBe("failed");
      expect(back.reason).toContain("no IPFS gateway");
      const same = await run({
        name: "ipfs-in-v1",
        inputs: [{ from: `ipfs://${output?.cid}`, to: "/data/hello.txt" }],
        command: ["cat", "/data/hello.txt"],
      });
      expect(same.status, same.reason ?? "").toBe("succeeded");
      expect(await logsOf(same.id)).toContain("hello world");
    });

    it("keeps a checkpoint in the user's S3 bucket (a 12 MB file in parts) and resumes a paused job from it", async () => {
      // First run: a big random file in the checkpoint folder, then wait to be paused. Resumed: the
      // file is back, byte for byte, before the container starts.
      const script = [
        "trap 'echo stopping; exit 143' TERM",
        'd="$MERIDIAN_CHECKPOINT_DIR"',
        'if [ -f "$d/big.bin" ]; then echo "resumed=$MERIDIAN_RESUMED restored=$(sha256sum < "$d/big.bin" | cut -c1-64)"; exit 0; fi',
        'head -c 12000000 /dev/urandom > "$d/big.tmp" && mv "$d/big.tmp" "$d/big.bin"',
        'echo "wrote=$(sha256sum < "$d/big.bin" | cut -c1-64)"',
        "while true; do sleep 1; done",
      ].join("; ");
      const job = await user.submit({
        name: "s3-checkpoint",
        image: TEST_IMAGE,
        region: "eu-west",
        maxRetries: 0,
        command: ["sh", "-c", script],
        checkpoint: { intervalSeconds: 600, to: `s3://${s3.bucket}/ckpt`, s3: s3Access() },
      });
      const deadline = Date.now() + 40_000;
      let wrote: string | undefined;
      while (!wrote && Date.now() < deadline) {
        wrote = /wrote=([0-9a-f]{64})/.exec(await logsOf(job.id))?.[1];
        if (!wrote) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(wrote, `${await logsOf(job.id)}\n${log.lines.slice(-30).join("\n")}`).toBeDefined();
      const paused = await user.request(`/v1/jobs/${job.id}/pause`, { method: "POST", body: {} });
      expect(paused.status, await paused.clone().text()).toBe(202);
      const view = await user.waitFor(job.id, (j) => j.status === "paused" || TERMINAL.has(j.status), 60_000);
      expect(view.status, `${view.reason}\n${log.lines.slice(-30).join("\n")}`).toBe("paused");

      // The blob and the manifest are in the user's bucket, under <prefix>/<job id>/.
      const list = await (
        await s3.client.fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=ckpt/${job.id}/`)
      ).text();
      expect(list).toContain(`ckpt/${job.id}/blobs/${wrote}`);
      expect(list).toMatch(new RegExp(`ckpt/${job.id}/manifests/0+1\\.json`));
      const blob = await s3.client.fetch(s3.objectUrl(`ckpt/${job.id}/blobs/${wrote}`), { method: "HEAD" });
      expect(Number(blob.headers.get("content-length"))).toBe(12_000_000);

      const resumed = await user.request(`/v1/jobs/${job.id}/resume`, { method: "POST" });
      expect(resumed.status, await resumed.clone().text()).toBe(200);
      const done = await user.waitFor(job.id, (j) => TERMINAL.has(j.status), 60_000);
      const logs = await logsOf(job.id);
      expect(done.status, `${done.reason}\n${logs}`).toBe("succeeded");
      expect(logs).toContain(`resumed=1 restored=${wrote}`);
    }, 150_000);

    it("delivers 5 MB of output written within a second, every byte in order: followed live and downloaded", async () => {
      const lines = 750_000;
      const expected = Array.from({ length: lines }, (_, i) => `${String(i + 1).padStart(6, "0")}\n`).join(
        "",
      );
      expect(expected.length).toBe(5_250_000);
      const job = await user.submit({
        name: "loud",
        image: TEST_IMAGE,
        region: "eu-west",
        maxRetries: 0,
        command: ["sh", "-c", `seq -w 1 ${lines}`],
      });
      // Followed from submit on: what was stored, then the batches the region pushes, to the end.
      const followed = await (await user.request(`/v1/jobs/${job.id}/logs?follow=1`)).text();
      const done = await user.waitFor(job.id, (j) => TERMINAL.has(j.status), 60_000);
      expect(done.status, done.reason ?? "").toBe("succeeded");
      const file = await user.request(`/v1/jobs/${job.id}/logs?download=1`);
      expect(file.headers.get("content-disposition")).toContain(`${job.id}.log`);
      const downloaded = await file.text();
      expect(downloaded.length).toBe(expected.length);
      expect(sha256(downloaded)).toBe(sha256(expected));
      expect(followed.length).toBe(expected.length);
      expect(sha256(followed)).toBe(sha256(expected));
    }, 90_000);
  },
);
