import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { unixfs } from "@helia/unixfs";
import { BlackHoleBlockstore } from "blockstore-core";
import { CID } from "multiformats/cid";

/** SHA-256 of a file's bytes, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * How a CID was made: UnixFS chunking and leaf settings change the CID of the same bytes. Ours
 * are @helia/unixfs's defaults (CIDv1, raw leaves); `ipfs add` without flags makes CIDv0 with
 * dag-pb leaves, so a user's CID from kubo is checked with that profile.
 */
const PROFILES = [
  { cidVersion: 1, rawLeaves: true },
  { cidVersion: 0, rawLeaves: false },
] as const;

/** The UnixFS CID of a file (blocks are computed, not kept: only the root matters here). */
export async function cidOfFile(
  path: string,
  profile: (typeof PROFILES)[number] = PROFILES[0],
): Promise<string> {
  const fs = unixfs({ blockstore: new BlackHoleBlockstore() });
  const cid = await fs.addByteStream(createReadStream(path), {
    cidVersion: profile.cidVersion,
    rawLeaves: profile.rawLeaves,
  });
  return cid.toString();
}

/** Whether a file's bytes are those the CID names, under either common UnixFS profile. */
export async function fileMatchesCid(path: string, expected: string): Promise<boolean> {
  const want = CID.parse(expected);
  const profiles = want.version === 0 ? [PROFILES[1]] : PROFILES;
  for (const profile of profiles) {
    const cid = CID.parse(await cidOfFile(path, profile));
    if (cid.toV1().toString() === want.toV1().toString()) return true;
  }
  return false;
}
