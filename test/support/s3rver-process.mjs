// s3rver 3.7.1 in a process of its own, started by s3-emulator.ts with `--openssl-legacy-provider`.
// Why: s3rver makes ListObjectsV2 continuation tokens with DES (crypto.createCipheriv("des")), which
// OpenSSL 3 (Node 17 and later) refuses unless its legacy provider is loaded, so on Node 20 every
// truncated listing page (more keys than max-keys, 1,000 at most) answers 500 InternalError. The
// flag cannot be turned on inside a running process. Arguments: directory, bucket, address. Prints
// the port.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import S3rver from "s3rver";
import authentication from "s3rver/lib/middleware/authentication.js";
import S3Error from "s3rver/lib/models/error.js";

const [directory, bucket, address = "127.0.0.1"] = process.argv.slice(2);
const server = new S3rver({
  address,
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket }],
});

// AbortMultipartUpload, which s3rver 3.7.1 lacks (it answers 405 MethodNotAllowed): a faithful
// minimal handler in front of its router. It runs s3rver's own authentication middleware (which, as
// on s3rver's other routes, lets unsigned requests through and does not refuse a wrong V4 signature), answers 404 NoSuchUpload for an upload that is not open for that key,
// and otherwise deletes the upload's folder (its key, metadata and every part s3rver wrote) and
// answers 204, so a later CompleteMultipartUpload of it fails as on S3. ListMultipartUploads is
// still not implemented.
const authenticate = authentication();
async function abortMultipartUpload(ctx, next) {
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (ctx.method !== "DELETE" || !("uploadId" in ctx.query) || !match) return next();
  // What s3rver's router would set: its authentication reads the bucket and key from them.
  ctx.params = { bucket: match[1], key: decodeURIComponent(match[2]) };
  await authenticate(ctx, async () => {
    const [, name, encodedKey] = match;
    const key = decodeURIComponent(encodedKey);
    const uploadId = String(ctx.query.uploadId);
    const folder = path.join(server.store.getResourcePath(name, undefined, "uploads"), uploadId);
    const open = await readFile(path.join(folder, "key"), "utf8").catch(() => undefined);
    if (!/^[0-9a-f]+$/.test(uploadId) || open !== key) {
      throw new S3Error(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        { UploadId: uploadId },
      );
    }
    await rm(folder, { recursive: true, force: true });
    ctx.status = 204;
  });
}
// Before the router (the last middleware): after the logger and the XML error encoding.
server.middleware.splice(server.middleware.length - 1, 0, abortMultipartUpload);
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
// Gone with the process that started it (the IPC channel closes when it exits or is killed).
process.on("disconnect", () => {
  server.close().finally(() => process.exit(0));
});
process.on("SIGTERM", () => {
  server.close().finally(() => process.exit(0));
});
