import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AwsClient } from "aws4fetch";
import S3rver from "s3rver";
import { freePort } from "./control-plane.js";

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

/** s3rver 3.7.1 (an S3 API emulator) on a free port, with one bucket, its files in a temp folder. */
export async function startS3(bucket = "meridian-test"): Promise<S3Emulator> {
  const directory = await mkdtemp(path.join(tmpdir(), "meridian-s3-"));
  const port = await freePort();
  const server = new S3rver({
    address: "127.0.0.1",
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    client: new AwsClient({ ...S3RVER_CREDENTIALS, service: "s3", region: "us-east-1" }),
    objectUrl: (key) => `${endpoint}/${bucket}/${key}`,
    stop: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
