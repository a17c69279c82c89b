import { Hono } from "hono";
import { CID } from "multiformats/cid";
import { MeridianError } from "../../shared/errors.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { ipfsKey } from "../storage/attempt-grant.js";
import { readGrant } from "../storage/signed-url.js";

function byteRange(header: string | undefined): R2Range | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header ?? "");
  if (!match) return undefined;
  const offset = Number(match[1]);
  return match[2] ? { offset, length: Number(match[2]) - offset + 1 } : { offset };
}

async function serve(object: R2ObjectBody | null, range: R2Range | undefined): Promise<Response> {
  if (!object) throw new MeridianError(404, "object_not_found", "no such object");
  const headers = new Headers({ etag: object.httpEtag, "accept-ranges": "bytes" });
  headers.set("content-type", object.httpMetadata?.contentType ?? "application/octet-stream");
  if (range && "offset" in range) {
    const offset = range.offset ?? 0;
    const length = range.length ?? object.size - offset;
    headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("content-length", String(length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("content-length", String(object.size));
  return new Response(object.body, { headers });
}

/**
 * The objects of the platform's R2 bucket, reached through URLs the control plane signed
 * (`/r2/:token`), and content served by its IPFS CID (`/ipfs/:cid`, public as IPFS content is).
 */
export const storageUrlRoutes = new Hono<AppEnv>()
  .get(
    "/r2/:token",
    doc({
      id: "getSignedObject",
      tag: "Storage",
      summary: "Download an object through a signed URL",
      description:
        "The token is the authorisation: signed by the control plane, for one object, until it expires. Honours `Range` (206).",
      auth: "none",
      response: { contentType: "application/octet-stream", description: "The object's bytes" },
      errors: [403],
    }),
    async (c) => {
      const grant = await readGrant(c.env, c.req.param("token"), Date.now());
      if (grant.op !== "get") throw new MeridianError(403, "wrong_operation", "this URL is for uploading");
      const range = byteRange(c.req.header("range"));
      return serve(await c.env.STORAGE.get(grant.key, range ? { range } : {}), range);
    },
  )
  .put(
    "/r2/:token",
    doc({
      id: "putSignedObject",
      tag: "Storage",
      summary: "Upload an object (or one part) through a signed URL",
      description:
        "Send the bytes with a Content-Length no larger than the URL allows; a URL made for a SHA-256 refuses other bytes (400 `checksum_mismatch`). The answer's ETag names the part for a multipart upload.",
      auth: "none",
      response: { contentType: "text/plain", description: "Stored; the `etag` header names it" },
      errors: [403, 413],
    }),
    async (c) => {
      const grant = await readGrant(c.env, c.req.param("token"), Date.now());
      if (grant.op === "get") throw new MeridianError(403, "wrong_operation", "this URL is for downloading");
      const length = Number(c.req.header("content-length") ?? "-1");
      const body = c.req.raw.body;
      if (!Number.isInteger(length) || length < 0 || body === null) {
        throw new MeridianError(400, "length_required", "send the object with a Content-Length");
      }
      if (length > grant.max)
        throw new MeridianError(413, "too_large", `this URL takes at most ${grant.max} bytes`);
      if (grant.op === "put") {
        let stored: R2Object | null;
        try {
          stored = await c.env.STORAGE.put(grant.key, body, grant.sha256 ? { sha256: grant.sha256 } : {});
        } catch (error) {
          // R2 checked the bytes against the SHA-256 the URL was made for.
          throw new MeridianError(
            400,
            "checksum_mismatch",
            `the upload was refused: ${String(error).slice(0, 200)}`,
          );
        }
        return c.body(null, 200, { etag: stored?.httpEtag ?? "" });
      }
      try {
        const part = await c.env.STORAGE.resumeMultipartUpload(grant.key, grant.uploadId).uploadPart(
          grant.part,
          body,
        );
        return c.body(null, 200, { etag: part.etag });
      } catch (error) {
        // Aborted by the sweep (abandoned) or completed already: the agent must start afresh.
        if (!/multipart upload does not exist|NoSuchUpload/i.test(String(error))) throw error;
        throw new MeridianError(
          404,
          "no_such_upload",
          "this upload was completed or aborted; start a new one",
        );
      }
    },
  )
  .get(
    "/ipfs/:cid",
    doc({
      id: "getIpfsContent",
      tag: "Storage",
      summary: "Content stored by its IPFS CID",
      description:
        "Public, as IPFS content is: the bytes whose UnixFS CID is this one. Honours `Range` (206).",
      auth: "none",
      response: { contentType: "application/octet-stream", description: "The content's bytes" },
    }),
    async (c) => {
      let cid: string;
      try {
        cid = CID.parse(c.req.param("cid")).toString();
      } catch {
        throw new MeridianError(400, "invalid_cid", "not a valid CID");
      }
      const range = byteRange(c.req.header("range"));
      return serve(await c.env.STORAGE.get(ipfsKey(cid), range ? { range } : {}), range);
    },
  );
