import { chmod, mkdir, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ManifestFile } from "../../shared/storage/agent-storage-protocol.js";
import type { AgentLog } from "../agent-log.js";
import { sha256File } from "./content-id.js";
import { scanFolder } from "./folder-scan.js";
import { RenewingUrls } from "./renewing-urls.js";
import type { StorageApi } from "./storage-api.js";
import { download, TransferError, uploadRange } from "./transfer.js";

/** Parts of one multipart blob in flight at once. */
const PART_CONCURRENCY = 4;

interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface SyncResult {
  /** The committed checkpoint's number; undefined when nothing changed since the last one. */
  seq: number | undefined;
  files: number;
  uploadedBlobs: number;
  uploadedBytes: number;
}

/**
 * Keeps an attempt's checkpoint folder in object storage: each sync hashes the files (only those
 * whose size or mtime changed since), uploads the blobs the store lacks, then commits the manifest,
 * which the control plane records only once every blob is there.
 */
export class CheckpointSync {
  private readonly known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();
  private lastManifest = "";
  private running: Promise<SyncResult> | undefined;

  constructor(
    private readonly api: StorageApi,
    private readonly dir: string,
    private readonly log: AgentLog,
  ) {}

  /** Writes the files of a committed checkpoint into the (empty) folder, each verified by its hash. */
  async restore(files: (ManifestFile & { url: string })[]): Promise<number> {
    let bytes = 0;
    for (const file of files) {
      const target = join(this.dir, ...file.path.split("/"));
      await mkdir(dirname(target), { recursive: true });
      const temp = `${target}.meridian-restore`;
      const got = await download(file.url, temp, `checkpoint file ${file.path}`);
      if (got.sha256 !== file.sha256) {
        throw new TransferError(
          `checkpoint file ${file.path} does not match its SHA-256 (got ${got.sha256})`,
        );
      }
      await rename(temp, target);
      await chmod(target, file.mode || 0o644);
      bytes += got.size;
    }
    this.lastManifest = manifestText(files.map(({ url: _url, ...file }) => file));
    return bytes;
  }

  /** One sync; a sync asked for while one runs waits for it and then runs (the final one must see all). */
  sync(): Promise<SyncResult> {
    const next = (this.running ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .then(() => this.syncOnce());
    this.running = next;
    return next;
  }

  private changed(path: string): never {
    this.known.delete(path);
    throw new TransferError(`checkpoint file ${path} changed while it was uploaded; will sync again`);
  }

  /**
   * One blob in one PUT. A URL refused (expired while earlier blobs went up) is asked for again:
   * the blobs call answers a fresh URL, or none when the blob is stored meanwhile.
   */
  private async putBlob(
    url: string,
    file: ManifestFile,
    absolute: string,
    what: string,
  ): Promise<{ sha256: string }> {
    try {
      return await uploadRange(url, absolute, 0, file.size, what);
    } catch (error) {
      if (!(error instanceof TransferError && error.status === 403)) throw error;
      const { uploads } = await this.api.blobs([{ sha256: file.sha256, size: file.size }]);
      const fresh = uploads.find((u) => u.sha256 === file.sha256)?.url;
      if (!fresh) {
        if (uploads.length === 0) return { sha256: file.sha256 };
        throw error;
      }
      return uploadRange(fresh, absolute, 0, file.size, what);
    }
  }

  private async syncOnce(): Promise<SyncResult> {
    const { files: scanned, skipped } = await scanFolder(this.dir);
    if (skipped.length > 0)
      this.log.warn(`checkpoint: skipped ${skipped.length} non-regular file(s) (links are not followed)`);
    const files: ManifestFile[] = [];
    for (const file of scanned) {
      const seen = this.known.get(file.path);
      const sha256 =
        seen && seen.size === file.size && seen.mtimeMs === file.mtimeMs
          ? seen.sha256
          : await sha256File(file.absolute);
      this.known.set(file.path, { size: file.size, mtimeMs: file.mtimeMs, sha256 });
      files.push({ path: file.path, sha256, size: file.size, mode: file.mode });
    }
    const text = manifestText(files);
    if (text === this.lastManifest)
      return { seq: undefined, files: files.length, uploadedBlobs: 0, uploadedBytes: 0 };
    const { uploads } = await this.api.blobs(files.map((f) => ({ sha256: f.sha256, size: f.size })));
    let uploadedBytes = 0;
    const multipart: { upload: string; parts: CompletedPart[] }[] = [];
    for (const upload of uploads) {
      const file = files.find((f) => f.sha256 === upload.sha256);
      const source = scanned.find((s) => s.path === file?.path);
      if (!file || !source) continue;
      const what = `checkpoint file ${file.path}`;
      if (upload.url) {
        const sent = await this.putBlob(upload.url, file, source.absolute, what);
        // A file rewritten while it was read does not match its hash: this sync is dropped, the next one retries.
        if (sent.sha256 !== file.sha256) this.changed(file.path);
      } else if (upload.upload && upload.parts && upload.partSizeBytes) {
        const urls = new RenewingUrls(this.api, upload.upload, upload.parts);
        const parts = await uploadParts(
          urls,
          upload.parts,
          upload.partSizeBytes,
          source.absolute,
          file.size,
          what,
        );
        // Parts go up concurrently, so there is no one running hash: an unchanged size and mtime
        // stand for it (and a restore checks every file's SHA-256 before using it).
        const after = await stat(source.absolute);
        if (after.size !== file.size || after.mtimeMs !== source.mtimeMs) this.changed(file.path);
        multipart.push({ upload: upload.upload, parts });
      } else {
        throw new TransferError(`${what}: the control plane gave no upload URL`);
      }
      uploadedBytes += file.size;
    }
    const { seq } = await this.api.commit(files, multipart);
    this.lastManifest = text;
    return { seq, files: files.length, uploadedBlobs: uploads.length, uploadedBytes };
  }
}

/** Sends a file's parts, a few at once (one PUT is bound by one connection's speed). */
async function uploadParts(
  urls: RenewingUrls,
  parts: { partNumber: number; url: string }[],
  partSize: number,
  file: string,
  size: number,
  what: string,
): Promise<CompletedPart[]> {
  const done: CompletedPart[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let part = parts[next++]; part; part = parts[next++]) {
      const start = (part.partNumber - 1) * partSize;
      const length = Math.min(partSize, size - start);
      if (length <= 0)
        throw new TransferError(`${what}: part ${part.partNumber} is past the end of the file`);
      const { etag } = await urls.send(part.partNumber, (url) =>
        uploadRange(url, file, start, length, `${what} part ${part.partNumber}`),
      );
      done.push({ partNumber: part.partNumber, etag });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, parts.length) }, worker));
  return done.sort((a, b) => a.partNumber - b.partNumber);
}

function manifestText(files: ManifestFile[]): string {
  return JSON.stringify([...files].sort((a, b) => a.path.localeCompare(b.path)));
}
