import type { OutputFile, UploadPlan } from "../../shared/storage/agent-storage-protocol.js";
import type { AgentLog } from "../agent-log.js";
import { cidOfFile, sha256File } from "./content-id.js";
import { type ScannedFile, scanFolder } from "./folder-scan.js";
import { RenewingUrls, sendSingle } from "./renewing-urls.js";
import type { StorageApi } from "./storage-api.js";
import { TransferError, uploadRange } from "./transfer.js";

export interface OutputFolder {
  /** The host folder mounted at the output path. */
  hostDir: string;
  containerPath: string;
  ipfs: boolean;
}

export interface UploadSummary {
  files: number;
  bytes: number;
}

/** Reports progress as the bytes go up (into the job's own log, where its owner sees it). */
export type Progress = (line: string) => void;

/**
 * Uploads every file of the output folders after the container exited: hashes (SHA-256, and the
 * UnixFS CID for IPFS outputs), then one PUT or the parts of a multipart upload, each retried on
 * its own (a failed part is sent again, not the file), then completes them so they are listed.
 */
export async function uploadOutputs(
  api: StorageApi,
  folders: OutputFolder[],
  log: AgentLog,
  progress: Progress,
): Promise<UploadSummary> {
  const files: { info: OutputFile; source: ScannedFile }[] = [];
  for (const [index, folder] of folders.entries()) {
    const { files: found, skipped } = await scanFolder(folder.hostDir);
    if (skipped.length > 0)
      log.warn(`outputs: skipped ${skipped.length} non-regular file(s) in ${folder.containerPath}`);
    for (const source of found) {
      const sha256 = await sha256File(source.absolute);
      const cid = folder.ipfs ? await cidOfFile(source.absolute) : undefined;
      files.push({
        info: { output: index, path: source.path, size: source.size, sha256, ...(cid ? { cid } : {}) },
        source,
      });
    }
  }
  if (files.length === 0) return { files: 0, bytes: 0 };
  const total = files.reduce((sum, file) => sum + file.info.size, 0);
  let sent = 0;
  let lastReported = -1;
  const report = (): void => {
    const pct = total === 0 ? 100 : Math.floor((sent / total) * 100);
    if (pct === lastReported || (pct % 10 !== 0 && pct !== 100)) return;
    lastReported = pct;
    progress(`[meridian] uploading outputs: ${pct}% (${sent} of ${total} bytes, ${files.length} files)\n`);
  };
  report();
  const completed: { upload: string; parts?: { partNumber: number; etag: string }[] }[] = [];
  // Begun in batches, so a folder of many files never asks for more URLs than one request carries.
  for (let at = 0; at < files.length; at += 500) {
    const batch = files.slice(at, at + 500);
    const { uploads } = await api.beginOutputs(batch.map((file) => file.info));
    for (const [i, plan] of uploads.entries()) {
      const file = batch[i];
      if (!file) continue;
      completed.push(
        await uploadOne(api, plan, file.source, (bytes) => {
          sent += bytes;
          report();
        }),
      );
    }
  }
  for (let at = 0; at < completed.length; at += 500) await api.completeOutputs(completed.slice(at, at + 500));
  return { files: files.length, bytes: total };
}

async function uploadOne(
  api: StorageApi,
  plan: UploadPlan,
  source: ScannedFile,
  onBytes: (bytes: number) => void,
): Promise<{ upload: string; parts?: { partNumber: number; etag: string }[] }> {
  if (plan.url) {
    await sendSingle(api, plan.upload, plan.url, (url) =>
      uploadRange(url, source.absolute, 0, source.size, source.path),
    );
    onBytes(source.size);
    return { upload: plan.upload };
  }
  if (!plan.parts) {
    // Already stored under its CID: nothing to send.
    onBytes(source.size);
    return { upload: plan.upload };
  }
  const parts: { partNumber: number; etag: string }[] = [];
  // Its URLs may expire before the last part goes: a refused one is renewed.
  const urls = new RenewingUrls(api, plan.upload, plan.parts);
  for (const part of plan.parts) {
    const start = (part.partNumber - 1) * plan.partSizeBytes;
    const length = Math.min(plan.partSizeBytes, source.size - start);
    if (length <= 0)
      throw new TransferError(`${source.path}: part ${part.partNumber} is past the end of the file`);
    const { etag } = await urls.send(part.partNumber, (url) =>
      uploadRange(url, source.absolute, start, length, `${source.path} part ${part.partNumber}`),
    );
    parts.push({ partNumber: part.partNumber, etag });
    onBytes(length);
  }
  return { upload: plan.upload, parts };
}
