// s3rver 3.7.1 in a process of its own, started by s3-emulator.ts with `--openssl-legacy-provider`.
// Why: s3rver makes ListObjectsV2 continuation tokens with DES (crypto.createCipheriv("des")), which
// OpenSSL 3 (Node 17 and later) refuses unless its legacy provider is loaded, so on Node 20 every
// truncated listing page (more keys than max-keys, 1,000 at most) answers 500 InternalError. The
// flag cannot be turned on inside a running process. Arguments: directory, bucket, address. Prints
// the port.
import S3rver from "s3rver";

const [directory, bucket, address = "127.0.0.1"] = process.argv.slice(2);
const server = new S3rver({
  address,
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
// Gone with the process that started it (the IPC channel closes when it exits or is killed).
process.on("disconnect", () => {
  server.close().finally(() => process.exit(0));
});
process.on("SIGTERM", () => {
  server.close().finally(() => process.exit(0));
});
