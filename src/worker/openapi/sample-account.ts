/** Example bodies of the account's keys, audit log and secrets; the OpenAPI test validates each. */
export const SAMPLE_KEY_ID = "key_01jf7c3x5m2q8r4t6v9w0y1z3e";

export const SAMPLE_API_KEY_VIEW = {
  id: SAMPLE_KEY_ID,
  name: "ci",
  scopes: ["read"],
  createdAt: "2026-12-01T08:00:00.000Z",
  revokedAt: null,
  expiresAt: null,
};

export const SAMPLE_API_KEY_CREATED = {
  ...SAMPLE_API_KEY_VIEW,
  apiKey: "mrd_key_01jf7c3x5m2q8r4t6v9w0y1z3e_Qm9vZ2xlIGlzIG5vdCBhIGtleQ",
};

export const SAMPLE_AUDIT_PAGE = {
  events: [
    {
      id: "aud_01jf7c3x5m2q8r4t6v9w0y1z3f",
      at: "2026-12-01T08:00:00.000Z",
      action: "key.created",
      subject: SAMPLE_KEY_ID,
      keyId: "key_01jf7c3x5m2q8r4t6v9w0y1z30",
      address: "203.0.113.7",
      details: { name: "ci", scopes: ["read"] },
    },
  ],
  nextCursor: null,
};

export const SAMPLE_SECRET = {
  name: "hf",
  createdAt: "2026-12-01T08:00:00.000Z",
  updatedAt: "2026-12-01T08:00:00.000Z",
};
