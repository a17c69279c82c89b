/** Example bodies of outputs, uploads and an attempt's storage messages; the OpenAPI test validates each. */
import { SAMPLE_IDS } from "./sample-bodies.js";

const SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const CID = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba";

export const SAMPLE_OUTPUTS = {
  outputs: [
    {
      path: "outputs/model.bin",
      size: 4,
      sha256: SHA,
      cid: CID,
      attemptId: SAMPLE_IDS.attempt,
      location: `ipfs://${CID}`,
      downloadUrl: `http://localhost:8787/v1/storage/ipfs/${CID}`,
      createdAt: "2026-12-01T08:05:00.000Z",
      expiresAt: "2026-12-31T08:05:00.000Z",
    },
  ],
};

export const SAMPLE_UPLOAD_REQUEST = { to: "r2://datasets/train.bin", size: 1048576 };
export const SAMPLE_UPLOAD = {
  to: "r2://datasets/train.bin",
  url: "http://localhost:8787/v1/storage/r2/eyJrIjoiYWNjdC9kYXRhc2V0cy90cmFpbi5iaW4ifQ.c2lnbmF0dXJl",
  method: "PUT",
};

export const SAMPLE_FENCED = { fencing: 1 };

export const SAMPLE_GRANT = {
  env: { HF_TOKEN: "hf_…" },
  inputs: [
    {
      from: "r2://datasets/train.bin",
      to: "/data/train.bin",
      url: "http://localhost:8787/v1/storage/r2/eyJrIjoiYWNjdC9kYXRhc2V0cy90cmFpbi5iaW4ifQ.c2lnbmF0dXJl",
      sha256: SHA,
    },
  ],
  outputs: [{ path: "/outputs", ipfs: false }],
  checkpoint: null,
  partSizeBytes: 16 * 1024 * 1024,
};

export const SAMPLE_BLOBS_REQUEST = { fencing: 1, blobs: [{ sha256: SHA, size: 4 }] };
export const SAMPLE_BLOBS = {
  uploads: [{ sha256: SHA, url: "http://localhost:8787/v1/storage/r2/eyJrIjoiY2twL2Jsb2IifQ.c2lnbmF0dXJl" }],
};

export const SAMPLE_COMMIT_REQUEST = {
  fencing: 1,
  files: [{ path: "step.txt", sha256: SHA, size: 4, mode: 0o644 }],
};
export const SAMPLE_COMMIT = { seq: 3, bytes: 4 };

export const SAMPLE_OUTPUTS_BEGIN_REQUEST = {
  fencing: 1,
  files: [{ output: 0, path: "model.bin", size: 4, sha256: SHA }],
};
export const SAMPLE_OUTPUTS_BEGIN = {
  uploads: [
    {
      upload: "eyJqIjoiam9iXzAxIiwicCI6Im1vZGVsLmJpbiJ9.c2lnbmF0dXJl",
      url: "http://localhost:8787/v1/storage/r2/eyJrIjoib3V0L21vZGVsLmJpbiJ9.c2lnbmF0dXJl",
      partSizeBytes: 16 * 1024 * 1024,
    },
  ],
};
export const SAMPLE_OUTPUTS_COMPLETE_REQUEST = {
  fencing: 1,
  uploads: [{ upload: "eyJqIjoiam9iXzAxIiwicCI6Im1vZGVsLmJpbiJ9.c2lnbmF0dXJl" }],
};

export const SAMPLE_UPLOAD_URLS_REQUEST = {
  fencing: 1,
  upload: "eyJqb2JJZCI6ImpvYl8uLi4ifQ.c2lnbmF0dXJl",
  partNumbers: [7, 8],
};
export const SAMPLE_UPLOAD_URLS = {
  parts: [
    { partNumber: 7, url: "http://localhost:8787/v1/storage/r2/eyJvcCI6InBhcnQiLCJwYXJ0Ijo3fQ.c2lnbmF0dXJl" },
    { partNumber: 8, url: "http://localhost:8787/v1/storage/r2/eyJvcCI6InBhcnQiLCJwYXJ0Ijo4fQ.c2lnbmF0dXJl" },
  ],
};
