import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentLog } from "../../src/agent/agent-log.js";
import { CheckpointSync } from "../../src/agent/storage/checkpoint-sync.js";
import { uploadOutputs } from "../../src/agent/storage/output-upload.js";
import type { StorageApi } from "../../src/agent/storage/storage-api.js";
import type { ManifestFile, OutputFile } from "../../src/shared/storage/agent-storage-protocol.js";

/**
 * A store over real HTTP whose URLs expire as a presigned URL does: each carries a generation, and
 * a URL of an old generation answers 403. The agent must ask for fresh URLs and finish the upload.
 */
class ExpiringStore {
  readonly bodies = new Map<string, Buffer>();
  generation = 1;
  refused = 0;
  /** After this many stored PUTs, every URL handed out so far expires. */
  expireAfter = Number.POSITIVE_INFINITY;
  private server: Server | undefined;
  base = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(([status, etag]) => {
        res.writeHead(status, etag ? { etag } : {});
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage): Promise<[number, string?]> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", this.base);
    if (Number(url.searchParams.get("gen")) !== this.generation) {
      this.refused++;
      return [403];
    }
    const key = url.pathname + (url.searchParams.get("part") ? `#${url.searchParams.get("part")}` : "");
    const body = Buffer.concat(chunks);
    this.bodies.set(key, body);
    if (--this.expireAfter === 0) this.generation++;
    return [200, `"${createHash("md5").update(body).digest("hex")}"`];
  }

  url(key: string, part?: number): string {
    return `${this.base}/${key}?gen=${this.generation}${part ? `&part=${part}` : ""}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

const quiet: AgentLog = { info: () => {}, warn: () => {}, error: () => {} };
const PART = 1024;

describe("an upload outlasting its URLs", () => {
  const store = new ExpiringStore();
  let dir = "";
  beforeAll(async () => {
    await store.start();
    dir = await mkdtemp(path.join(tmpdir(), "meridian-renewal-"));
  });
  afterAll(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("asks for fresh URLs when the store refuses one, and sends every part and file", async () => {
    const big = Buffer.alloc(5 * PART + 17, 7);
    const small = Buffer.from("small\n");
    await writeFile(path.join(dir, "big.bin"), big);
    await writeFile(path.join(dir, "small.txt"), small);
    const asked: { upload: string; partNumbers?: number[] }[] = [];
    const completed: unknown[] = [];
    const api: StorageApi = {
      grant: () => Promise.reject(new Error("unused")),
      blobs: () => Promise.reject(new Error("unused")),
      commit: () => Promise.reject(new Error("unused")),
      beginOutputs: async (files: OutputFile[]) => ({
        uploads: files.map((file) => {
          const parts = Math.ceil(file.size / PART);
          return parts > 1
            ? {
                upload: file.path,
                partSizeBytes: PART,
                parts: Array.from({ length: parts }, (_, i) => ({
                  partNumber: i + 1,
                  url: store.url(file.path, i + 1),
                })),
              }
            : { upload: file.path, partSizeBytes: PART, url: store.url(file.path) };
        }),
      }),
      completeOutputs: async (uploads) => {
        completed.push(...uploads);
        return { recorded: uploads.length };
      },
      uploadUrls: async (upload, partNumbers) => {
        asked.push({ upload, ...(partNumbers ? { partNumbers } : {}) });
        return partNumbers
          ? { parts: partNumbers.map((n) => ({ partNumber: n, url: store.url(upload, n) })) }
          : { url: store.url(upload) };
      },
    };
    // Every URL handed out so far expires after the first two parts went up.
    store.expireAfter = 2;
    const progress = (): void => {};
    const summary = await uploadOutputs(
      api,
      [{ hostDir: dir, containerPath: "/outputs", ipfs: false }],
      quiet,
      progress,
    );
    expect(summary).toEqual({ files: 2, bytes: big.length + small.length });
    // One renewal for the big file's four parts still to send, one for the small file's PUT.
    expect(asked).toEqual([{ upload: "big.bin", partNumbers: [3, 4, 5, 6] }, { upload: "small.txt" }]);
    expect(store.refused).toBe(2);
    const sentBig = Buffer.concat(
      [1, 2, 3, 4, 5, 6].map((n) => store.bodies.get(`/big.bin#${n}`) ?? Buffer.alloc(0)),
    );
    expect(sentBig.equals(big)).toBe(true);
    expect(store.bodies.get("/small.txt")?.equals(small)).toBe(true);
    expect(completed).toHaveLength(2);
  });

  it("re-asks for a single-PUT checkpoint blob's URL once it expired, and commits the checkpoint", async () => {
    const ckpt = await mkdtemp(path.join(tmpdir(), "meridian-ckpt-renewal-"));
    const files = {
      "a.bin": Buffer.alloc(300, 1),
      "b.bin": Buffer.alloc(200, 2),
      "c.bin": Buffer.alloc(100, 3),
    };
    for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(ckpt, name), bytes);
    const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
    const asked: string[][] = [];
    const committed: ManifestFile[][] = [];
    /** The blob the control plane says was stored meanwhile (by another sync): no fresh URL for it. */
    const storedMeanwhile = sha(files["c.bin"]);
    const api: StorageApi = {
      grant: () => Promise.reject(new Error("unused")),
      blobs: async (blobs) => {
        asked.push(blobs.map((b) => b.sha256));
        const wanted = asked.length === 1 ? blobs : blobs.filter((b) => b.sha256 !== storedMeanwhile);
        return { uploads: wanted.map((b) => ({ sha256: b.sha256, url: store.url(`blobs/${b.sha256}`) })) };
      },
      commit: async (manifest) => {
        committed.push(manifest);
        return { seq: 1, bytes: manifest.reduce((sum, f) => sum + f.size, 0) };
      },
      beginOutputs: () => Promise.reject(new Error("unused")),
      completeOutputs: () => Promise.reject(new Error("unused")),
      uploadUrls: () => Promise.reject(new Error("unused: single-PUT blobs are renewed by the blobs call")),
    };
    const refusedBefore = store.refused;
    // The URLs handed out expire once the first blob is stored: the other two are refused (403).
    store.expireAfter = 1;
    const result = await new CheckpointSync(api, ckpt, quiet).sync();
    expect(result).toMatchObject({ seq: 1, files: 3, uploadedBlobs: 3 });
    expect(store.refused - refusedBefore).toBe(2);
    // The first ask named every blob; then one re-ask per refused blob, each for that blob alone.
    expect(asked[0]).toHaveLength(3);
    expect(asked.slice(1).sort()).toEqual([[sha(files["b.bin"])], [sha(files["c.bin"])]].sort());
    for (const name of ["a.bin", "b.bin"] as const)
      expect(store.bodies.get(`/blobs/${sha(files[name])}`)?.equals(files[name])).toBe(true);
    // c.bin: stored meanwhile, so not sent again, and still named by the manifest.
    expect(store.bodies.has(`/blobs/${storedMeanwhile}`)).toBe(false);
    expect(committed[0]?.map((f) => f.path).sort()).toEqual(["a.bin", "b.bin", "c.bin"]);
    await rm(ckpt, { recursive: true, force: true });
  });
});
