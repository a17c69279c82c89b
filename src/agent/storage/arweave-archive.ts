import { createHash } from "node:crypto";
import Arweave from "arweave";
import type { JWKInterface } from "arweave/node/lib/wallet.js";

/** A signed Arweave data transaction, as JSON a gateway's POST /tx takes. */
export type SignedTransaction = ReturnType<Awaited<ReturnType<Arweave["createTransaction"]>>["toJSON"]>;

export interface ArchiveFile {
  path: string;
  bytes: Uint8Array;
  contentType?: string;
}

export interface Archive {
  files: { path: string; id: string; sha256: string; transaction: SignedTransaction }[];
  /** An `arweave/paths` manifest: `https://<gateway>/<manifest id>/<path>` resolves each file. */
  manifest: { id: string; transaction: SignedTransaction; paths: Record<string, { id: string }> };
}

/**
 * What a submission needs from the network, fetched by whoever submits (never here, offline):
 * the anchor (`GET /tx_anchor`) and each transaction's fee (`GET /price/<bytes>`, in winston).
 */
export interface ArweaveTerms {
  anchor: string;
  reward: (bytes: number) => string;
}

// Only the client's offline parts are used: creating and signing transactions needs no gateway
// when the anchor and the fee are given.
const arweave = Arweave.init({ host: "arweave.invalid", protocol: "https", port: 443 });

async function signed(
  data: Uint8Array,
  tags: Record<string, string>,
  wallet: JWKInterface,
  terms: ArweaveTerms,
): Promise<{ id: string; transaction: SignedTransaction }> {
  const transaction = await arweave.createTransaction(
    { data, last_tx: terms.anchor, reward: terms.reward(data.byteLength) },
    wallet,
  );
  for (const [name, value] of Object.entries(tags)) transaction.addTag(name, value);
  await arweave.transactions.sign(transaction, wallet);
  return { id: transaction.id, transaction: transaction.toJSON() };
}

/**
 * Signs a job's output files as Arweave data transactions, and a path manifest naming them,
 * offline. A deployment submits them (`POST /tx` on a gateway, files before the manifest).
 */
export async function archiveFiles(
  files: ArchiveFile[],
  wallet: JWKInterface,
  terms: ArweaveTerms,
  jobId: string,
): Promise<Archive> {
  const signedFiles: Archive["files"] = [];
  for (const file of files) {
    const sha256 = createHash("sha256").update(file.bytes).digest("hex");
    const tx = await signed(
      file.bytes,
      {
        "Content-Type": file.contentType ?? "application/octet-stream",
        "App-Name": "Meridian",
        "Meridian-Job": jobId,
        "Meridian-Path": file.path,
        "Meridian-SHA256": sha256,
      },
      wallet,
      terms,
    );
    signedFiles.push({ path: file.path, sha256, ...tx });
  }
  const paths = Object.fromEntries(signedFiles.map((file) => [file.path, { id: file.id }]));
  const manifest = {
    manifest: "arweave/paths",
    version: "0.1.0",
    ...(signedFiles[0] ? { index: { path: signedFiles[0].path } } : {}),
    paths,
  };
  const manifestTx = await signed(
    new TextEncoder().encode(JSON.stringify(manifest)),
    { "Content-Type": "application/x.arweave-manifest+json", "App-Name": "Meridian", "Meridian-Job": jobId },
    wallet,
    terms,
  );
  return { files: signedFiles, manifest: { ...manifestTx, paths } };
}

/** Whether a signed transaction verifies (signature over its fields, id the hash of the signature). */
export async function verifyTransaction(transaction: SignedTransaction): Promise<boolean> {
  const tx = arweave.transactions.fromRaw(transaction);
  const idMatches =
    tx.id ===
    Arweave.utils.bufferTob64Url(
      createHash("sha256")
        .update(tx.get("signature", { decode: true, string: false }))
        .digest(),
    );
  return idMatches && (await arweave.transactions.verify(tx));
}

export function generateWallet(): Promise<JWKInterface> {
  return arweave.wallets.generate();
}
