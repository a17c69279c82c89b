import { describe, expect, it } from "vitest";
import { archiveFiles, generateWallet, verifyTransaction } from "../../src/agent/storage/arweave-archive.js";

const terms = { anchor: "a".repeat(64), reward: (bytes: number) => String(1000 + bytes) };

describe("Arweave archives, signed offline", () => {
  it("signs each file and a path manifest; ids and signatures verify; a tampered one does not", async () => {
    const wallet = await generateWallet();
    const files = [
      { path: "model.bin", bytes: new Uint8Array(5000).fill(3) },
      {
        path: "metrics.json",
        bytes: new TextEncoder().encode('{"loss":0.1}'),
        contentType: "application/json",
      },
    ];
    const archive = await archiveFiles(files, wallet, terms, "job_test");
    expect(archive.files).toHaveLength(2);
    for (const file of archive.files) {
      expect(file.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await verifyTransaction(file.transaction)).toBe(true);
      expect(file.transaction.reward).toBe(
        String(1000 + (files.find((f) => f.path === file.path)?.bytes.length ?? 0)),
      );
      expect(file.transaction.last_tx).toBe(terms.anchor);
    }
    expect(archive.manifest.paths).toEqual({
      "model.bin": { id: archive.files[0]?.id },
      "metrics.json": { id: archive.files[1]?.id },
    });
    expect(await verifyTransaction(archive.manifest.transaction)).toBe(true);
    const manifestData = JSON.parse(
      Buffer.from(archive.manifest.transaction.data, "base64url").toString("utf8"),
    );
    expect(manifestData).toMatchObject({
      manifest: "arweave/paths",
      version: "0.1.0",
      index: { path: "model.bin" },
    });

    // The same data signed again is another transaction (RSA-PSS salts the signature).
    const again = await archiveFiles(files.slice(0, 1), wallet, terms, "job_test");
    expect(again.files[0]?.id).not.toBe(archive.files[0]?.id);
    const tampered = { ...archive.files[1]?.transaction, reward: "1" } as Parameters<
      typeof verifyTransaction
    >[0];
    expect(await verifyTransaction(tampered)).toBe(false);
  }, 60_000);
});
