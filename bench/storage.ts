/**
 * `npm run bench:storage [-- --mb 256 --log-mb 5]`: the data paths' throughput on this machine.
 *
 * - Checkpoint sync and restore (MB/s): the agent's own CheckpointSync (hashing, content-addressed
 *   upload, verified restore) against local R2 through the Worker's signed-URL route in wrangler dev,
 *   and against s3rver through presigned URLs. One file of `--mb` MB of random bytes; a second sync
 *   with nothing changed shows the incremental path.
 * - Input download: the agent's InputCache, cold (fetched from s3rver, hashed) and warm (a hit).
 * - Log ingest end to end: a container writing `--log-mb` MB through a real agent, Worker, Region
 *   object, R2 chunks and D1 index, read back whole; MB/s and lines/s from the container's start
 *   to the job's end, and every byte checked.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startAgent } from "../src/agent/agent.js";
import type { AgentLog } from "../src/agent/agent-log.js";
import { CheckpointSync } from "../src/agent/storage/checkpoint-sync.js";
import { InputCache } from "../src/agent/storage/input-cache.js";
import type { StorageApi } from "../src/agent/storage/storage-api.js";
import { download } from "../src/agent/storage/transfer.js";
import type { ManifestFile } from "../src/shared/storage/agent-storage-protocol.js";
import { startControlPlane } from "../test/support/control-plane.js";
import { TEST_IMAGE } from "../test/support/docker.js";
import { startS3 } from "../test/support/s3-emulator.js";
import { UserClient } from "../test/support/user-client.js";
import { R2Urls } from "./storage-r2-urls.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const MB = 1_000_000;
const CHECKPOINT_MB = flag("mb", 256);
const LOG_MB = flag("log-mb", 5);
const SECRETS_KEY = "b".repeat(64);
const quiet: AgentLog = { info: () => {}, warn: () => {}, error: () => {} };
const rate = (bytes: number, ms: number): string => (bytes / MB / (ms / 1000)).toFixed(1);

/** Presigned URLs for each blob, a manifest kept in memory: the storage routes' contract, minus D1. */
interface Store {
  name: string;
  putUrl(key: string, size: number): Promise<string>;
  getUrl(key: string): Promise<string>;
}

function storageApiOver(store: Store, manifests: ManifestFile[][]): StorageApi {
  const stored = new Set<string>();
  const refused = (): never => {
    throw new Error("not used by the bench");
  };
  return {
    grant: refused,
    // Like the Worker's route, only blobs not stored yet get an upload URL (content addressed).
    blobs: async (blobs) => ({
      uploads: await Promise.all(
        blobs
          .filter((blob) => !stored.has(blob.sha256) && stored.add(blob.sha256))
          .map(async (blob) => ({
            sha256: blob.sha256,
            url: await store.putUrl(`blobs/${blob.sha256}`, blob.size),
          })),
      ),
    }),
    commit: async (files) => {
      manifests.push(files);
      return { seq: manifests.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
    },
    beginOutputs: refused,
    completeOutputs: refused,
    uploadUrls: refused,
  };
}

async function checkpointRound(store: Store, work: string): Promise<string[]> {
  const source = await mkdtemp(path.join(work, "ckpt-"));
  const target = await mkdtemp(path.join(work, "restore-"));
  const bytes = CHECKPOINT_MB * MB;
  const chunk = randomBytes(MB);
  const big = Buffer.alloc(bytes);
  for (let at = 0; at < bytes; at += MB) chunk.copy(big, at, 0, Math.min(MB, bytes - at));
  // Each run's bytes differ, so no blob is already stored.
  randomBytes(32).copy(big, 0);
  await writeFile(path.join(source, "model.bin"), big);
  const manifests: ManifestFile[][] = [];
  const api = storageApiOver(store, manifests);
  const sync = new CheckpointSync(api, source, quiet);
  let t = performance.now();
  const first = await sync.sync();
  const syncMs = performance.now() - t;
  await writeFile(path.join(source, "step.txt"), "step=2\n");
  t = performance.now();
  const second = await sync.sync();
  const incrementalMs = performance.now() - t;
  const files = manifests.at(-1) ?? [];
  const withUrls = await Promise.all(
    files.map(async (f) => ({ ...f, url: await store.getUrl(`blobs/${f.sha256}`) })),
  );
  t = performance.now();
  const restored = await new CheckpointSync(api, target, quiet).restore(withUrls);
  const restoreMs = performance.now() - t;
  await rm(source, { recursive: true, force: true });
  await rm(target, { recursive: true, force: true });
  if (restored !== bytes + 7) throw new Error(`restored ${restored} bytes, expected ${bytes + 7}`);
  return [
    `| ${store.name} | ${CHECKPOINT_MB} MB sync | ${(syncMs / 1000).toFixed(2)} s | ${rate(first.uploadedBytes, syncMs)} MB/s |`,
    `| ${store.name} | incremental sync (one 7-byte file changed, ${second.uploadedBlobs} blob sent) | ${(incrementalMs / 1000).toFixed(2)} s | — |`,
    `| ${store.name} | ${CHECKPOINT_MB} MB restore (verified) | ${(restoreMs / 1000).toFixed(2)} s | ${rate(restored, restoreMs)} MB/s |`,
  ];
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), "meridian-bench-storage-"));
  const [plane, s3] = await Promise.all([
    startControlPlane({
      vars: { REQUIRE_VERIFIED_GPUS: "false", SECRETS_KEY, STORAGE_PRIVATE_HOSTS_ALLOWED: "127.0.0.1" },
    }),
    startS3(),
  ]);
  const rows: string[] = [];
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    // Signed exactly as the Worker signs them (same key): PUT and GET go through wrangler dev's R2.
    const r2 = new R2Urls(plane.url, SECRETS_KEY);
    const r2Store: Store = {
      name: "local R2 (wrangler dev)",
      putUrl: (key, size) => r2.putUrl(`bench/${key}`, size),
      getUrl: (key) => r2.getUrl(`bench/${key}`),
    };
    const presign = async (key: string, method: string): Promise<string> =>
      (await s3.client.sign(s3.objectUrl(key), { method, aws: { signQuery: true } })).url;
    const s3Store: Store = {
      name: "s3rver 3.7.1",
      putUrl: (key) => presign(key, "PUT"),
      getUrl: (key) => presign(key, "GET"),
    };
    for (const store of [r2Store, s3Store]) rows.push(...(await checkpointRound(store, work)));

    // Input download: cold (fetched and hashed into the cache) and warm (a cache hit).
    const input = randomBytes(CHECKPOINT_MB * MB);
    const sha = createHash("sha256").update(input).digest("hex");
    await s3.client.fetch(s3.objectUrl("input.bin"), { method: "PUT", body: input });
    const cache = new InputCache({
      dir: path.join(work, "cache"),
      maxBytes: 4 * CHECKPOINT_MB * MB,
      log: quiet,
    });
    const url = await presign("input.bin", "GET");
    const fill = async (temp: string): Promise<void> => {
      const got = await download(url, temp, "input");
      if (got.sha256 !== sha) throw new Error("input hash mismatch");
    };
    let t = performance.now();
    const cold = await cache.get(`sha256:${sha}`, fill);
    const coldMs = performance.now() - t;
    cold.release();
    t = performance.now();
    const warm = await cache.get(`sha256:${sha}`, fill);
    const warmMs = performance.now() - t;
    warm.release();
    if (cold.hit || !warm.hit) throw new Error("the cache did not behave");
    rows.push(
      `| s3rver 3.7.1 | input ${CHECKPOINT_MB} MB, cold cache | ${(coldMs / 1000).toFixed(2)} s | ${rate(input.length, coldMs)} MB/s |`,
      `| node cache | input ${CHECKPOINT_MB} MB, warm cache (hit) | ${(warmMs / 1000).toFixed(3)} s | ${Math.round(coldMs / Math.max(warmMs, 0.001))}× faster than cold |`,
    );

    // Log ingest end to end.
    const dataDir = path.join(work, "agent");
    agent = await startAgent({
      dataDir,
      controlPlane: plane.url,
      region: "eu-west",
      nvidiaSmi: "/nonexistent",
      log: quiet,
    });
    await agent.registered;
    const user = await UserClient.signup(plane.url);
    const lines = Math.floor((LOG_MB * MB) / 7);
    const width = String(lines).length;
    const expected = Array.from({ length: lines }, (_, i) => `${String(i + 1).padStart(width, "0")}\n`).join(
      "",
    );
    const job = await user.submit({
      name: "log-ingest",
      image: TEST_IMAGE,
      region: "eu-west",
      maxRetries: 0,
      command: ["seq", "-w", "1", String(lines)],
    });
    const done = await user.waitFor(
      job.id,
      (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
      300_000,
    );
    if (done.status !== "succeeded") throw new Error(`log job ${done.status}: ${done.reason}`);
    const text = await (await user.request(`/v1/jobs/${job.id}/logs`)).text();
    const startedAt = Date.parse(done.startedAt ?? "");
    const endedAt = Date.parse(done.endedAt ?? "");
    const ms = endedAt - startedAt;
    const intact = text === expected;
    rows.push(
      `| agent → Worker → Region → R2 | log ingest, ${(text.length / MB).toFixed(2)} MB (${lines} lines) | ${(ms / 1000).toFixed(2)} s | ${rate(text.length, ms)} MB/s, ${Math.round(lines / (ms / 1000))} lines/s; ${intact ? "every byte back, in order" : "BYTES MISSING"} |`,
    );
  } finally {
    await agent?.stop();
    await plane.stop();
    await s3.stop();
    await rm(work, { recursive: true, force: true });
  }
  console.log("| store | what | time | throughput |");
  console.log("| --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
}

await main();
