import { afterEach, describe, expect, it } from "vitest";
import type {
  BlobUpload,
  StorageGrant,
  UploadPlan,
} from "../../src/shared/storage/agent-storage-protocol.js";
import { checkTemplate, type JobTemplate, renderTemplate } from "../../src/shared/templates/job-template.js";
import { fetchUrl, placed, putParts, sha256Hex, spec } from "./storage-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

describe("templates", () => {
  it("are listed, each with image, command, ports, resources, defaults and docs, and valid as specs", async () => {
    const res = await call("/v1/templates");
    const { templates } = (await res.json()) as { templates: JobTemplate[] };
    const ids = templates.map((t) => t.id);
    for (const id of [
      "pytorch-train",
      "ray-cluster",
      "jax-train",
      "vllm-inference",
      "sglang-inference",
      "llamacpp-inference",
      "blender-render",
      "comfyui",
      "jupyter",
    ]) {
      expect(ids).toContain(id);
    }
    for (const template of templates) {
      const checked = checkTemplate(template);
      expect(checked.success, `${template.id}: ${JSON.stringify(checked.error?.issues)}`).toBe(true);
      expect(template.spec.image).toBeTypeOf("string");
      expect(template.docs.length).toBeGreaterThan(100);
    }
    const ray = templates.find((t) => t.id === "ray-cluster");
    if (!ray) throw new Error("no ray template");
    expect(checkTemplate(ray).data?.nodes).toBe(2);
    const pytorch = templates.find((t) => t.id === "pytorch-train");
    if (!pytorch) throw new Error("no pytorch template");
    expect(renderTemplate(pytorch, { epochs: "3" }).command).toContain("3");
    expect(() => renderTemplate(pytorch, { epoch: "3" })).toThrow(/no parameter epoch/);
    await expectError(await call("/v1/templates/nope"), 404, "template_not_found");
  });
});

describe("storage in job specs", () => {
  afterEach(drainAgents);

  it("refuses bad inputs, outputs and checkpoints with 4xx, storing nothing", async () => {
    const { apiKey } = await signup();
    const bad: [Record<string, unknown>, number, string][] = [
      [{ inputs: [{ from: "ftp://example.com/x", to: "/data/x" }] }, 400, "unsupported scheme"],
      [{ inputs: [{ from: "https://127.0.0.1/x", to: "/data/x" }] }, 400, "private or local"],
      [
        { inputs: [{ from: "https://169.254.169.254/latest/meta-data", to: "/data/x" }] },
        400,
        "private or local",
      ],
      [{ inputs: [{ from: "https://[::1]/x", to: "/data/x" }] }, 400, "private or local"],
      [{ inputs: [{ from: "https://metadata.google.internal/x", to: "/data/x" }] }, 400, "private or local"],
      [{ inputs: [{ from: "ipfs://notacid", to: "/data/x" }] }, 400, "valid CID"],
      [{ inputs: [{ from: "r2://a/../b", to: "/data/x" }] }, 400, "r2://"],
      [{ inputs: [{ from: "r2://a", to: "/data/../etc" }] }, 400, "no . or .."],
      [{ outputs: [{ path: "/etc" }] }, 400, "may write to"],
      [{ outputs: [{ path: "/" }] }, 400, "may write to"],
      [{ checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 5 } }, 400, "at least 10"],
      [{ inputs: [{ from: "r2://x", to: "/outputs/x" }], outputs: [{ path: "/outputs" }] }, 400, "overlaps"],
      [{ inputs: [{ from: "s3://bucket/key", to: "/data/x" }] }, 400, "needs s3"],
      [{ inputs: [{ from: "r2://x", to: "/data/x", sha256: "abc" }] }, 400, "SHA-256"],
      [{ checkpoint: { intervalSeconds: 10, to: "s3://bucket/ckpt" } }, 400, "needs s3"],
      [{ checkpoint: { intervalSeconds: 10, to: "r2://ckpt" } }, 400, "not supported here"],
      [
        {
          checkpoint: {
            intervalSeconds: 10,
            s3: { endpoint: "https://s3.example.com", credentials: { secret: "aws" } },
          },
        },
        400,
        "belong to an s3://",
      ],
    ];
    const count = async () =>
      ((await (await call("/v1/jobs", authed(apiKey))).json()) as { jobs: unknown[] }).jobs.length;
    for (const [extra, status, text] of bad) {
      const res = await submit(apiKey, { ...spec, ...extra });
      const body = await res.text();
      expect(res.status, body).toBe(status);
      expect(body).toContain(text);
    }
    // An S3 endpoint on a private address is refused at submit (the Worker would call it).
    await call(
      "/v1/secrets",
      jsonInit("POST", { name: "aws", value: '{"accessKeyId":"a","secretAccessKey":"b"}' }, apiKey),
    );
    const s3 = { endpoint: "http://10.0.0.5:9000", credentials: { secret: "aws" } };
    await expectError(
      await submit(apiKey, { ...spec, inputs: [{ from: "s3://bucket/k", to: "/data/k", s3 }] }),
      422,
      "private_address",
    );
    // The same for a checkpoint kept in the user's bucket, and for credentials it does not have.
    await expectError(
      await submit(apiKey, { ...spec, checkpoint: { intervalSeconds: 10, to: "s3://bucket/ckpt", s3 } }),
      422,
      "private_address",
    );
    const unknown = { endpoint: "https://s3.example.com", credentials: { secret: "nope" } };
    await expectError(
      await submit(apiKey, {
        ...spec,
        checkpoint: { intervalSeconds: 10, to: "s3://bucket/ckpt", s3: unknown },
      }),
      422,
      "secret_not_found",
    );
    expect(await count()).toBe(0);
  });

  it("hands the agent R2 URLs: outputs in one piece and in parts, listed with their SHA-256", async () => {
    const { apiKey } = await signup();
    const { job, send } = await placed(apiKey, { outputs: [{ path: "/outputs" }] });
    const small = new TextEncoder().encode("hello outputs\n");
    const big = new Uint8Array(5 * 1024 * 1024 + 1234).map((_, i) => i % 251);
    const files = [
      { output: 0, path: "hello.txt", size: small.length, sha256: await sha256Hex(small) },
      { output: 0, path: "sub/big.bin", size: big.length, sha256: await sha256Hex(big) },
    ];
    const { uploads } = await send<{ uploads: UploadPlan[] }>("outputs/begin", { files });
    const [one, many] = uploads;
    if (!one?.url || !many?.parts) throw new Error(`unexpected plans ${JSON.stringify(uploads)}`);
    expect(
      (
        await fetchUrl(one.url, {
          method: "PUT",
          body: small,
          headers: { "content-length": String(small.length) },
        })
      ).status,
    ).toBe(200);
    const parts = await putParts(many.parts, many.partSizeBytes, big);
    // A forged or tampered URL is refused.
    await expectError(await fetchUrl(`${one.url}x`, { method: "PUT", body: small }), 403, "bad_signature");
    const done = await send<{ recorded: number }>("outputs/complete", {
      uploads: [{ upload: one.upload }, { upload: many.upload, parts }],
    });
    expect(done.recorded).toBe(2);

    const listed = (await (await call(`/v1/jobs/${job.id}/outputs`, authed(apiKey))).json()) as {
      outputs: { path: string; size: number; sha256: string; downloadUrl: string }[];
    };
    expect(listed.outputs.map((o) => o.path)).toEqual(["/outputs/hello.txt", "/outputs/sub/big.bin"]);
    for (const output of listed.outputs) {
      const bytes = new Uint8Array(await (await fetchUrl(output.downloadUrl)).arrayBuffer());
      expect(bytes.length).toBe(output.size);
      expect(await sha256Hex(bytes)).toBe(output.sha256);
    }
    // Another account sees no such job.
    const other = await signup();
    await expectError(await call(`/v1/jobs/${job.id}/outputs`, authed(other.apiKey)), 404, "job_not_found");
  }, 30_000);

  it("syncs checkpoints incrementally, commits the manifest last, and hands the next attempt the latest", async () => {
    const { apiKey } = await signup();
    const { job, send, a } = await placed(apiKey, { checkpoint: { intervalSeconds: 10 }, maxRetries: 2 });
    const grant = await send<StorageGrant>("grant", {});
    expect(grant.checkpoint).toMatchObject({ path: "/meridian/checkpoint", restore: null });

    const step = new TextEncoder().encode("step=5\n");
    const model = new Uint8Array(1000).fill(7);
    const blobs = [
      { sha256: await sha256Hex(step), size: step.length },
      { sha256: await sha256Hex(model), size: model.length },
    ];
    // A manifest naming blobs not stored is refused: nothing half-uploaded is ever restored.
    await expect(
      send("checkpoint/commit", { files: [{ path: "state", ...blobs[0], mode: 0o644 }] }),
    ).rejects.toThrow(/422/);
    const first = await send<{ uploads: { sha256: string; url: string }[] }>("checkpoint/blobs", { blobs });
    expect(first.uploads).toHaveLength(2);
    for (const upload of first.uploads) {
      const body = upload.sha256 === blobs[0]?.sha256 ? step : model;
      await fetchUrl(upload.url, { method: "PUT", body, headers: { "content-length": String(body.length) } });
    }
    const files = [
      { path: "state", ...blobs[0], mode: 0o644 },
      { path: "weights/model.bin", ...blobs[1], mode: 0o600 },
    ];
    expect(await send("checkpoint/commit", { files })).toMatchObject({
      seq: 1,
      bytes: step.length + model.length,
    });
    // Unchanged blobs are not asked for again.
    expect((await send<{ uploads: unknown[] }>("checkpoint/blobs", { blobs })).uploads).toHaveLength(0);

    // The node goes silent; the job is placed again (at once, on the other node: the first retry
    // has no backoff and the lost node is avoided) and the new attempt gets the checkpoint.
    const second = new TestAgent();
    await second.register(hardware());
    const { expireLeases } = await import("./support.js");
    await expireLeases([a.attemptId]);
    const mine = async () => (await second.poll()).assignments.find((x) => x.jobId === job.id);
    let next = await mine();
    for (let i = 0; i < 20 && !next; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      next = await mine();
    }
    if (!next) throw new Error("not placed again");
    expect(next.jobId).toBe(job.id);
    const res = await second.send(`/v1/agent/attempts/${next.attemptId}/storage/grant`, {
      fencing: next.fencing,
    });
    const restore = ((await res.json()) as StorageGrant).checkpoint?.restore;
    expect(restore?.seq).toBe(1);
    expect(restore?.files.map((f) => f.path)).toEqual(["state", "weights/model.bin"]);
    const restored = new TextDecoder().decode(
      await (await fetchUrl(restore?.files[0]?.url ?? "")).arrayBuffer(),
    );
    expect(restored).toBe("step=5\n");
  }, 30_000);

  it("sends a checkpoint blob over the part size in parts, completed by the commit", async () => {
    const { apiKey } = await signup();
    const { send } = await placed(apiKey, { checkpoint: { intervalSeconds: 10 } });
    // The test Worker's part size is S3's minimum, 5 MiB: this blob takes two parts.
    const big = new Uint8Array(5 * 1024 * 1024 + 4321).map((_, i) => (i * 7) % 253);
    const blob = { sha256: await sha256Hex(big), size: big.length };
    const { uploads } = await send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs: [blob] });
    const [plan] = uploads;
    if (!plan?.upload || !plan.parts || !plan.partSizeBytes) throw new Error(JSON.stringify(uploads));
    expect(plan.url).toBeUndefined();
    expect(plan.parts).toHaveLength(2);
    const files = [{ path: "model.bin", ...blob, mode: 0o644 }];
    const parts = await putParts(plan.parts, plan.partSizeBytes, big);
    // One part missing: refused, nothing committed; a token made up by the agent: refused.
    await expect(
      send("checkpoint/commit", { files, uploads: [{ upload: plan.upload, parts: parts.slice(0, 1) }] }),
    ).rejects.toThrow(/422/);
    await expect(
      send("checkpoint/commit", { files, uploads: [{ upload: `${plan.upload}x`, parts }] }),
    ).rejects.toThrow(/403/);
    expect(
      await send("checkpoint/commit", { files, uploads: [{ upload: plan.upload, parts }] }),
    ).toMatchObject({ seq: 1, bytes: big.length });
    const grant = await send<StorageGrant>("grant", {});
    const file = grant.checkpoint?.restore?.files[0];
    const bytes = new Uint8Array(await (await fetchUrl(file?.url ?? "")).arrayBuffer());
    expect(await sha256Hex(bytes)).toBe(blob.sha256);
    expect((await send<{ uploads: unknown[] }>("checkpoint/blobs", { blobs: [blob] })).uploads).toHaveLength(
      0,
    );
  }, 30_000);
});
