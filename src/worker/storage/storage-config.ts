/** Knobs of the storage parts, from Worker vars (wrangler.toml), with the defaults a deployment gets. */

const MIB = 1024 * 1024;

function numberVar(env: Env, name: string, fallback: number): number {
  const raw = (env as unknown as Record<string, unknown>)[name];
  const value = typeof raw === "string" && raw !== "" ? Number(raw) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Files larger than this go up in parts of this size (S3's minimum part is 5 MiB). */
export function partSizeBytes(env: Env): number {
  return Math.max(5 * MIB, Math.floor(numberVar(env, "STORAGE_PART_SIZE_BYTES", 16 * MIB)));
}

/** A public IPFS gateway for ipfs:// inputs not stored here, e.g. https://ipfs.io; none by default. */
export function ipfsGateway(env: Env): string | undefined {
  const raw = (env as { IPFS_GATEWAY?: unknown }).IPFS_GATEWAY;
  return typeof raw === "string" && raw !== "" ? raw.replace(/\/+$/, "") : undefined;
}
