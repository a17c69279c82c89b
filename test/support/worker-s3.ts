import { type S3Emulator, S3RVER_CREDENTIALS, startS3 } from "./s3-emulator.js";

/**
 * The s3rver the workerd tests use as a user's S3-compatible bucket: started once per `vitest run`
 * by the workers config, beside the local chain. It listens on a loopback address of its own, the
 * only private host the tests' STORAGE_PRIVATE_HOSTS_ALLOWED lets an S3 endpoint name, so every
 * other private address is still refused as in a deployment.
 */
const ADDRESS = "127.0.0.3";
// The config and vitest's globalSetup load this file as two modules of one process (worker-chain.ts).
const KEY = Symbol.for("meridian.workerTestS3");
const holder = globalThis as unknown as { [KEY]?: Promise<S3Emulator> };

export async function startWorkerTestS3(): Promise<{ bindings: Record<string, string> }> {
  holder[KEY] ??= startS3("meridian-worker-test", ADDRESS);
  const s3 = await holder[KEY];
  return {
    bindings: {
      STORAGE_PRIVATE_HOSTS_ALLOWED: ADDRESS,
      TEST_S3_ENDPOINT: s3.endpoint,
      TEST_S3_BUCKET: s3.bucket,
      TEST_S3_CREDENTIALS: JSON.stringify(S3RVER_CREDENTIALS),
    },
  };
}

export async function stopWorkerTestS3(): Promise<void> {
  const held = holder[KEY];
  if (!held) return;
  delete holder[KEY];
  await (await held).stop();
}
