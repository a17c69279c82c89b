import { expect } from "vitest";
import { authed, call } from "./support.js";

export interface AuditRecord {
  action: string;
  subject: string | null;
  keyId: string | null;
  address: string | null;
  details: Record<string, unknown>;
}

/** The account's audit log as it reads it (GET /v1/account/audit), newest first. */
export async function auditEvents(apiKey: string, prefix = ""): Promise<AuditRecord[]> {
  const res = await call("/v1/account/audit?limit=200", authed(apiKey));
  expect(res.status).toBe(200);
  const { events } = (await res.json()) as { events: AuditRecord[] };
  return events.filter((e) => e.action.startsWith(prefix));
}

/** The key id of an API key (`mrd_<id>_<secret>` → `key_<id>`), as the audit log names it. */
export const keyIdOf = (apiKey: string): string => `key_${apiKey.split("_")[1]}`;
