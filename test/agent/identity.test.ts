import { chmod, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ed from "@noble/ed25519";
import { describe, expect, it } from "vitest";
import { IdentityError, loadOrCreateIdentity } from "../../src/agent/identity.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";

const dataDir = () => mkdtemp(join(tmpdir(), "meridian-identity-"));

describe("node identity", () => {
  it("creates a Solana keypair file, mode 0600, and reuses it on the next start", async () => {
    const dir = await dataDir();
    const first = await loadOrCreateIdentity(dir);
    const info = await stat(first.path);
    expect(info.mode & 0o777).toBe(0o600);

    const bytes: unknown = JSON.parse(await readFile(first.path, "utf8"));
    expect(Array.isArray(bytes) && bytes.length).toBe(64);
    const keypair = Uint8Array.from(bytes as number[]);
    expect(keypair.slice(0, 32)).toEqual(first.secretKey);
    expect(keypair.slice(32)).toEqual(await ed.getPublicKeyAsync(first.secretKey));
    expect(first.publicKeyBase58).toBe(await publicKeyOf(first.secretKey));

    const second = await loadOrCreateIdentity(dir);
    expect(second.publicKeyBase58).toBe(first.publicKeyBase58);
  });

  it("refuses a key file others can read", async () => {
    const dir = await dataDir();
    const { path } = await loadOrCreateIdentity(dir);
    await chmod(path, 0o644);
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/chmod 600/);
  });

  it("refuses a file that is not a 64-byte keypair", async () => {
    const dir = await dataDir();
    await writeFile(join(dir, "identity.json"), "[1,2,3]", { mode: 0o600 });
    await expect(loadOrCreateIdentity(dir)).rejects.toBeInstanceOf(IdentityError);
  });

  it("refuses a keypair whose halves do not match", async () => {
    const dir = await dataDir();
    const { path } = await loadOrCreateIdentity(dir);
    const bytes = JSON.parse(await readFile(path, "utf8")) as number[];
    bytes[40] = ((bytes[40] ?? 0) + 1) % 256;
    await writeFile(path, JSON.stringify(bytes));
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/does not belong/);
  });
});
