import { type KeyScope, scopesAllowEndpoint } from "../../shared/api-key-scopes.js";
import type { EndpointRecord } from "./endpoint-records.js";
import { openAiError } from "./openai-error.js";

/** What deciding a caller's access needs: the endpoint's object holds it, the gateway keeps a copy. */
export type AccessFacts = Pick<EndpointRecord, "id" | "accountId" | "status" | "reason"> & {
  visibility: EndpointRecord["spec"]["visibility"];
};

export function accessFacts(record: EndpointRecord): AccessFacts {
  return {
    id: record.id,
    accountId: record.accountId,
    status: record.status,
    reason: record.reason,
    visibility: record.spec.visibility,
  };
}

/**
 * Why a caller may not call the endpoint, as the OpenAI-shaped answer, or undefined when it may:
 * 404 for a deleted endpoint or another account's private one, 403 for a key scoped elsewhere,
 * 402 while the endpoint is suspended.
 */
export function accessRefusal(
  facts: AccessFacts | null,
  caller: { accountId: string; scopes: readonly string[] },
): Response | undefined {
  if (
    !facts ||
    facts.status === "deleted" ||
    (facts.accountId !== caller.accountId && facts.visibility !== "public")
  )
    return openAiError(404, "model_not_found", "no such endpoint (model)");
  if (!scopesAllowEndpoint(caller.scopes as KeyScope[], facts.id))
    return openAiError(403, "forbidden", "this API key may not call this endpoint");
  if (facts.status === "suspended")
    return openAiError(
      402,
      "insufficient_balance",
      `endpoint suspended: ${facts.reason ?? "its balance cannot fund a replica"}`,
    );
  return undefined;
}
