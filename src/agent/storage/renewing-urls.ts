import type { StorageApi } from "./storage-api.js";
import { TransferError } from "./transfer.js";

/** The most part URLs one renewal asks for (the route's limit). */
const RENEW_BATCH = 1000;

/** A URL refused as expired (R2 grant: 403 url_expired; S3: 403 AccessDenied, "Request has expired"). */
function refused(error: unknown): boolean {
  return error instanceof TransferError && error.status === 403;
}

/**
 * The URLs of one upload, renewed when the store refuses one: they expire (STORAGE_URL_TTL_SECONDS)
 * before a long upload ends. A refusal asks the control plane once for fresh URLs of every part not
 * yet sent (parts sent at once share that one renewal); a part refused again fails the upload.
 */
export class RenewingUrls {
  private readonly urls = new Map<number, string>();
  private readonly sent = new Set<number>();
  private renewal: Promise<void> | undefined;

  constructor(
    private readonly api: StorageApi,
    private readonly upload: string,
    parts: readonly { partNumber: number; url: string }[],
  ) {
    for (const part of parts) this.urls.set(part.partNumber, part.url);
  }

  /** Sends one part with its URL; on a refusal, once more with a fresh one. */
  async send<T>(partNumber: number, put: (url: string) => Promise<T>): Promise<T> {
    const url = this.urls.get(partNumber);
    if (url === undefined) throw new TransferError(`part ${partNumber} has no URL`);
    try {
      const result = await put(url);
      this.sent.add(partNumber);
      return result;
    } catch (error) {
      if (!refused(error)) throw error;
      await this.renew(url, partNumber);
      const fresh = this.urls.get(partNumber) ?? url;
      const result = await put(fresh);
      this.sent.add(partNumber);
      return result;
    }
  }

  private async renew(refusedUrl: string, partNumber: number): Promise<void> {
    // Another part's refusal renewed it meanwhile.
    if (this.urls.get(partNumber) !== refusedUrl) return;
    this.renewal ??= this.fetchFresh().finally(() => {
      this.renewal = undefined;
    });
    await this.renewal;
  }

  private async fetchFresh(): Promise<void> {
    const pending = [...this.urls.keys()].filter((n) => !this.sent.has(n)).sort((a, b) => a - b);
    for (let at = 0; at < pending.length; at += RENEW_BATCH) {
      const { parts } = await this.api.uploadUrls(this.upload, pending.slice(at, at + RENEW_BATCH));
      for (const part of parts ?? []) this.urls.set(part.partNumber, part.url);
    }
  }
}

/** A single-PUT output: sent with its URL, and on a refusal once more with a fresh one. */
export async function sendSingle<T>(
  api: StorageApi,
  upload: string,
  url: string,
  put: (url: string) => Promise<T>,
): Promise<T> {
  try {
    return await put(url);
  } catch (error) {
    if (!refused(error)) throw error;
    const fresh = (await api.uploadUrls(upload)).url;
    if (!fresh) throw error;
    return put(fresh);
  }
}
