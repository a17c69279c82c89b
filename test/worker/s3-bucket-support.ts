import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { expect } from "vitest";
import { newId } from "../../src/shared/ids.js";
import { call, jsonInit, signup } from "./support.js";

/**
 * s3rver (test/support/worker-s3.ts) as the user's bucket, reached as a user's own tools would, and
 * the accounts and ended jobs the S3 deletion tests start from.
 */
export const bucket = env.TEST_S3_BUCKET;
export const s3 = new AwsClient({
  ...JSON.parse(env.TEST_S3_CREDENTIALS),
  service: "s3",
  region: "us-east-1",
});
export const objectUrl = (key: string) => `${env.TEST_S3_ENDPOINT}/${bucket}/${key}`;
/** How a spec names the emulator, signed with the credentials in `secret`. */
export const s3Access = (secret: string) => ({
  endpoint: env.TEST_S3_ENDPOINT,
  region: "us-east-1",
  credentials: { secret },
});

/** PUTs each key (its body names it), 25 at a time. */
export async function putObjects(keys: readonly string[]): Promise<void> {
  for (let at = 0; at < keys.length; at += 25) {
    await Promise.all(
      keys.slice(at, at + 25).map(async (key) => {
        const res = await s3.fetch(objectUrl(key), { method: "PUT", body: `bytes of ${key}` });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`PUT ${key}: ${res.status}`);
      }),
    );
  }
}

export async function exists(key: string): Promise<boolean> {
  const res = await s3.fetch(objectUrl(key), { method: "HEAD" });
  await res.body?.cancel();
  return res.ok;
}

/** Every key under `prefix`, listed page by page by the emulator itself. */
export async function listed(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const url = new URL(`${env.TEST_S3_ENDPOINT}/${bucket}`);
    url.searchParams.set("list-type", "2");
    url.searchParams.set("prefix", prefix);
    if (token) url.searchParams.set("continuation-token", token);
    const res = await s3.fetch(url.toString());
    const text = await res.text();
    if (!res.ok) throw new Error(`list ${prefix}: ${res.status} ${text.slice(0, 200)}`);
    keys.push(...[...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] ?? ""));
    token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
  } while (token);
  return keys;
}

/** A new account holding the emulator's credentials as the secret "s3". */
export async function withS3Secret(): Promise<{ id: string; apiKey: string }> {
  const user = await signup();
  const res = await call(
    "/v1/secrets",
    jsonInit("POST", { name: "s3", value: env.TEST_S3_CREDENTIALS }, user.apiKey),
  );
  expect(res.status).toBe(201);
  return user;
}

/** The secret "wrong": keys the emulator does not know, so it refuses every call signed with them. */
export async function withWrongSecret(apiKey: string): Promise<void> {
  const wrong = JSON.stringify({ accessKeyId: "NOT-S3RVER", secretAccessKey: "wrong" });
  expect((await call("/v1/secrets", jsonInit("POST", { name: "wrong", value: wrong }, apiKey))).status).toBe(
    201,
  );
}

/** A job of the account that succeeded a second ago, with this spec; its id. */
export async function endedJob(
  accountId: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<string> {
  const jobId = newId("job");
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO jobs (id, account_id, name, region, image, spec, status, reason, created_at, ended_at, updated_at)
     VALUES (?, ?, ?, 'eu-west', 'meridian/busybox:test', ?, 'succeeded', 'exited 0', ?, ?, ?)`,
  )
    .bind(
      jobId,
      accountId,
      name,
      JSON.stringify({ name, image: "meridian/busybox:test", command: ["true"], env: {}, ...spec }),
      now - 60_000,
      now - 1_000,
      now,
    )
    .run();
  return jobId;
}
