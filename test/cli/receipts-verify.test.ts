import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ed from "@noble/ed25519";
import { createKeyPairSignerFromBytes, type KeyPairSigner } from "@solana/kit";
import { Connection } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoInstruction } from "../../src/chain/memo.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { runCli } from "../../src/cli/cli.js";
import { type RunningChain, startRpcServer } from "../../src/local-chain/rpc-server.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { nodeIdForPublicKey } from "../../src/shared/ids.js";
import { merkleProof, merkleRoot } from "../../src/shared/receipts/merkle.js";
import { type ChargeReceipt, receiptLeaf, signReceiptLeaf } from "../../src/shared/receipts/receipt.js";
import { anchorMemo, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { countersignUsage, type RegionKeyPair } from "../../src/shared/receipts/region-countersignature.js";
import { signUsage, usageStatement } from "../../src/shared/receipts/usage-statement.js";
import { FakeApi } from "./fake-api.js";

// `meridian receipts verify` against the local chain: receipts signed with the chain's treasury key
// (the control plane's receipt signer), batched, and their root anchored in a real memo transaction.
let chain: RunningChain;
let dir: string;
let api: FakeApi;
let treasury: KeyPairSigner;
let seed: Uint8Array;
let views: ReceiptView[] = [];
let nodeSecret: Uint8Array;
let regionKey: RegionKeyPair;

async function keyPair(): Promise<RegionKeyPair> {
  const seed = ed.utils.randomSecretKey();
  return { seed, publicKey: encodeBase58(await ed.getPublicKeyAsync(seed)) };
}

function charge(i: number): ChargeReceipt {
  return {
    v: 1,
    kind: "charge",
    attemptId: `att_01m8rz6jeavzmdyk00rkqva${String(i).padStart(3, "0")}`,
    jobId: "job_01m8rz6jeavzmdyk00rkqvah88",
    accountId: "acct_01m8ryppgbqkabgzeea1hm8m7g",
    nodeId: "node_2pys1kqq1k74tzee8m1c4ye29y",
    outcome: "succeeded",
    startedAt: 1_780_000_000_000,
    endedAt: 1_780_000_060_000 + i,
    gpus: 0,
    gpuModel: null,
    pricePerGpuHourMicros: 0,
    cpuHourMicros: 10_754,
    billingMode: "per_second",
    billableSeconds: 60,
    gpuSeconds: 0,
    chargedMicros: 180 + i,
    feeMicros: 18,
    burnMicros: 3,
    providerMicros: 162 + i,
  };
}

async function anchor(memo: string): Promise<{ signature: string; slot: number }> {
  const client = new SolanaClient(chain.url);
  const signed = await client.sign(treasury, [memoInstruction(memo, [treasury])]);
  await client.send(signed);
  for (let i = 0; i < 400; i++) {
    const outcome = await client.outcome(signed, "confirmed");
    if (outcome.state === "confirmed") return { signature: signed.signature, slot: outcome.slot };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the anchor did not confirm");
}

async function cli(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {
      HOME: dir,
      MERIDIAN_CONFIG: join(dir, "config.json"),
      MERIDIAN_API_URL: api.url,
      MERIDIAN_API_KEY: "mrd_test",
    },
    fetch: globalThis.fetch,
  });
  return { status, stdout, stderr };
}

async function file(name: string, view: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(view));
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meridian-receipts-cli-"));
  chain = await startRpcServer({ dir: join(dir, "chain"), port: 0, slotMs: 25, finalityLag: 8 });
  const keypair = JSON.parse(await readFile(join(dir, "chain", "keys", "treasury.json"), "utf8")) as number[];
  treasury = await createKeyPairSignerFromBytes(Uint8Array.from(keypair));
  seed = Uint8Array.from(keypair.slice(0, 32));
  api = await FakeApi.start();

  // The last receipt is a GPU attempt's whose agent signed its usage with its node key.
  nodeSecret = ed.utils.randomSecretKey();
  const nodeKey = encodeBase58(await ed.getPublicKeyAsync(nodeSecret));
  const gpuCharge = { ...charge(4), nodeId: await nodeIdForPublicKey(nodeKey), gpus: 1, gpuSeconds: 60 };
  const statement = usageStatement({
    jobId: gpuCharge.jobId,
    attemptId: gpuCharge.attemptId,
    nodeId: gpuCharge.nodeId,
    startedAt: 1_780_000_000_000,
    endedAt: 1_780_000_060_000,
    gpus: 1,
    pricePerGpuHourMicros: 3_600_000,
  });
  // The region eu-west countersigned it, with its own times, by its key.
  const usage = await signUsage(statement, nodeSecret, nodeKey);
  regionKey = await keyPair();
  const times = { startedAt: 1_780_000_000_200, endedAt: 1_780_000_060_004 };
  const countersignature = await countersignUsage("eu-west", usage, times, regionKey);
  const receipts = [...[0, 1, 2, 3].map(charge), { ...gpuCharge, usage, countersignature }];
  const leaves = receipts.map(receiptLeaf);
  const root = merkleRoot(leaves);
  const batchId = "rbt_01m8rz6jeavzmdyk00rkqvah88";
  const memo = anchorMemo(batchId, root, leaves.length);
  const landed = await anchor(memo);
  views = await Promise.all(
    receipts.map(
      async (receipt, index): Promise<ReceiptView> => ({
        id: receipt.attemptId,
        status: "anchored",
        receipt,
        leafHash: leaves[index] ?? "",
        signature: await signReceiptLeaf(leaves[index] ?? "", seed),
        signer: treasury.address,
        proof: { batchId, index, leaves: leaves.length, root, steps: merkleProof(leaves, index) },
        anchor: {
          cluster: "local",
          transaction: landed.signature,
          slot: landed.slot,
          memo,
          anchoredAt: new Date().toISOString(),
        },
      }),
    ),
  );
});

afterAll(async () => {
  await api.close();
  await chain.close();
  await rm(dir, { recursive: true, force: true });
});

describe("meridian receipts verify", () => {
  it("checks the agent's signature on its usage statement as well as the control plane's", async () => {
    const view = views[4];
    if (view?.receipt.kind !== "charge" || !view.receipt.usage) throw new Error("no agent-signed view");
    const run = await cli(["receipts", "verify", await file("usage.json", view)]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^ok +agent: ed25519 by node node_\w+'s key \w+: 60 GPU-seconds, 60000 µUSD/m);

    // The statement signed again by another key, and the receipt re-signed by the control plane:
    // the control plane's signature holds, the agent's does not.
    const usage = view.receipt.usage;
    const other = ed.utils.randomSecretKey();
    const swapped = { ...(await signUsage(usage.statement, other, usage.nodeKey)), nodeKey: usage.nodeKey };
    const receipt = { ...view.receipt, usage: swapped };
    const leaf = receiptLeaf(receipt);
    const forged = { ...view, receipt, leafHash: leaf, signature: await signReceiptLeaf(leaf, seed) };
    const bad = await cli(["receipts", "verify", await file("forged-usage.json", forged)]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^ok +signature: /m);
    expect(bad.stdout).toMatch(/^FAIL agent: the node key's signature does not verify/m);
  });

  it("checks the region's countersignature against the key the region publishes", async () => {
    const view = views[4];
    if (view?.receipt.kind !== "charge" || !view.receipt.countersignature) throw new Error("no region view");
    const path = await file("countersigned.json", view);
    api.json("GET /v1/regions/eu-west", 200, {
      id: "eu-west",
      lat: 50.1,
      lon: 8.7,
      signingKey: regionKey.publicKey,
    });
    const run = await cli(["receipts", "verify", path]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^ok +region: ed25519 by region eu-west's key ${regionKey.publicKey} \\(its published key\\): it saw the attempt run 60 s`,
        "m",
      ),
    );
    expect(api.requests.at(-1)?.url).toBe("/v1/regions/eu-west");

    // Another key published for eu-west: the countersignature is not the region's.
    const other = await keyPair();
    api.json("GET /v1/regions/eu-west", 200, {
      id: "eu-west",
      lat: 50.1,
      lon: 8.7,
      signingKey: other.publicKey,
    });
    const wrong = await cli(["receipts", "verify", path]);
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toMatch(
      new RegExp(
        `^FAIL region: signed by ${regionKey.publicKey}, not region eu-west's key ${other.publicKey}`,
        "m",
      ),
    );
    expect(wrong.stderr).toContain("region failed");
    // --region-key names the key without asking the API.
    const asked = api.requests.length;
    const given = await cli(["receipts", "verify", path, "--region-key", regionKey.publicKey]);
    expect(given.status).toBe(0);
    expect(api.requests.length).toBe(asked);

    // The region's times moved after it signed: its signature fails.
    const receipt = {
      ...view.receipt,
      countersignature: { ...view.receipt.countersignature, endedAt: 1_780_000_090_000 },
    };
    const moved = await cli([
      "receipts",
      "verify",
      await file("moved.json", { ...view, receipt }),
      "--region-key",
      regionKey.publicKey,
    ]);
    expect(moved.status).toBe(1);
    expect(moved.stdout).toMatch(/^FAIL region: the region key's signature does not verify/m);

    // The region's key unreadable: checked by the key the receipt names, and the note says so.
    api.json("GET /v1/regions/eu-west", 503, { error: { code: "unavailable", message: "down" } });
    const unread = await cli(["receipts", "verify", path]);
    expect(unread.status).toBe(0);
    expect(unread.stdout).toMatch(/^ok +region: .*\(not compared with its published key\)/m);
    expect(unread.stdout).toContain("region eu-west's published key could not be read");

    // `receipts get` names the region and its key.
    api.json(`GET /v1/receipts/${view.id}`, 200, view);
    const shown = await cli(["receipts", "get", view.id]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`region: +eu-west, countersigned by ${regionKey.publicKey}`));
  });

  it("checks a saved receipt's leaf, signature, proof and memo, and its anchor on the chain", async () => {
    const view = views[3];
    if (!view?.anchor) throw new Error("no view");
    // The anchor as web3.js 1.x reads it, independently of the CLI's own JSON-RPC reading.
    const parsed = await new Connection(chain.url, "confirmed").getParsedTransaction(
      view.anchor.transaction,
      {
        maxSupportedTransactionVersion: 0,
      },
    );
    const memos = parsed?.transaction.message.instructions.map((ix) => ("parsed" in ix ? ix.parsed : null));
    expect(memos).toEqual([view.anchor.memo]);

    const path = await file("receipt.json", view);
    const run = await cli(["receipts", "verify", path, "--rpc", chain.url, "--signer", treasury.address]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    for (const name of ["leaf", "signature", "signer", "proof", "memo", "chain"]) {
      expect(run.stdout).toMatch(new RegExp(`^ok +${name}: `, "m"));
    }
    expect(run.stdout).toContain("leaf 3 of 5");
  });

  it("fetches a receipt by its id from the API and verifies it", async () => {
    const view = views[0];
    if (!view) throw new Error("no view");
    api.json(`GET /v1/receipts/${view.id}`, 200, view);
    const run = await cli(["receipts", "verify", view.id, "--rpc", chain.url, "--json"]);
    expect(run.status).toBe(0);
    const out = JSON.parse(run.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(out.ok).toBe(true);
    expect(out.checks.map((check) => check.name)).toEqual([
      "leaf",
      "signature",
      "agent",
      "region",
      "proof",
      "memo",
      "chain",
    ]);
    expect(api.requests.at(-1)?.authorization).toBe("Bearer mrd_test");
  });

  it("fails a receipt whose amount was raised, whose root is not the anchored one, or that another key signed", async () => {
    const view = views[1];
    if (!view?.proof || view.receipt.kind !== "charge") throw new Error("no view");
    const raised = await file("raised.json", {
      ...view,
      receipt: { ...view.receipt, chargedMicros: view.receipt.chargedMicros * 10 },
    });
    const first = await cli(["receipts", "verify", raised]);
    expect(first.status).toBe(1);
    expect(first.stdout).toMatch(/^FAIL leaf: /m);
    expect(first.stdout).toMatch(/^FAIL signature: /m);
    expect(first.stderr).toContain("receipt_invalid");

    // Another tree whose root was never anchored, with the real anchor's transaction.
    const others = [5, 6].map(charge).map(receiptLeaf);
    const otherRoot = merkleRoot(others);
    const forged = await file("forged.json", {
      ...view,
      receipt: charge(5),
      leafHash: others[0],
      signature: await signReceiptLeaf(others[0] ?? "", seed),
      proof: { ...view.proof, leaves: 2, index: 0, root: otherRoot, steps: merkleProof(others, 0) },
      anchor: view.anchor ? { ...view.anchor, memo: anchorMemo(view.proof.batchId, otherRoot, 2) } : null,
    });
    const second = await cli(["receipts", "verify", forged, "--rpc", chain.url]);
    expect(second.status).toBe(1);
    expect(second.stdout).toMatch(/^ok +proof: /m);
    expect(second.stdout).toMatch(/^FAIL chain: .*do not name this batch's root/m);

    const third = await cli([
      "receipts",
      "verify",
      await file("signer.json", view),
      "--signer",
      charge(0).nodeId,
    ]);
    expect(third.status).toBe(1);
    expect(third.stdout).toMatch(/^FAIL signer: /m);
  });

  it("says when a receipt is not anchored yet, and refuses what is not a receipt", async () => {
    const view = views[2];
    if (!view) throw new Error("no view");
    const pending = await cli([
      "receipts",
      "verify",
      await file("pending.json", { ...view, status: "signed", proof: null, anchor: null }),
    ]);
    expect(pending.status).toBe(1);
    expect(pending.stderr).toContain("receipt_unanchored");
    const junk = await cli(["receipts", "verify", await file("junk.json", { hello: "world" })]);
    expect(junk.status).toBe(1);
    expect(junk.stderr).toContain("invalid_receipt");
    const missing = await cli(["receipts", "verify", join(dir, "nope.json")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("neither a receipt id");
  });
});
