import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { AwsClient } from "aws4fetch";

/** s3rver's one built-in key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface S3Emulator {
  endpoint: string;
  bucket: string;
  /** A client signing with the emulator's credentials, as a user's own tools would. */
  client: AwsClient;
  objectUrl(key: string): string;
  stop(): Promise<void>;
}

const MAIN = path.join(import.meta.dirname, "s3rver-process.mjs");

/** Starts s3rver-process.mjs and reads the port it printed. */
async function spawnS3rver(
  directory: string,
  bucket: string,
  address: string,
): Promise<{ child: ChildProcess; port: number }> {
  // The legacy provider: s3rver's listing continuation tokens use DES (see s3rver-process.mjs).
  const child = spawn(process.execPath, ["--openssl-legacy-provider", MAIN, directory, bucket, address], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`s3rver exited (${String(code)}) before it listened`);
  });
  const first = once(lines, "line").then(([line]) => JSON.parse(String(line)) as { port: number });
  const { port } = await Promise.race([first, exited]);
  lines.close();
  return { child, port };
}

/**
 * s3rver 3.7.1 (an S3 API emulator) on a free port of `address` (a loopback one), with one bucket,
 * its files in a temp folder.
 */
export async function startS3(bucket = "meridian-test", address = "127.0.0.1"): Promise<S3Emulator> {
  const directory = await mkdtemp(path.join(tmpdir(), "meridian-s3-"));
  const { child, port } = await spawnS3rver(directory, bucket, address);
  const endpoint = `http://${address}:${port}`;
  return {
    endpoint,
    bucket,
    client: new AwsClient({ ...S3RVER_CREDENTIALS, service: "s3", region: "us-east-1" }),
    objectUrl: (key) => `${endpoint}/${bucket}/${key}`,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = once(child, "exit");
        child.kill("SIGTERM");
        await gone;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
