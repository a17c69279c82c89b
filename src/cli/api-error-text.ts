import { type ApiError, fieldIssues } from "../shared/client/api-error.js";

/** How to run the CLI from a checkout: `meridian` is on the PATH only after `npm link`. */
export const CLI_NAME = "npm run -s cli --";

function stringField(details: unknown, key: string): string | undefined {
  const value = (details as Record<string, unknown> | undefined)?.[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

/**
 * An API error as the terminal shows it: the code and message, then what `details` carries (each
 * field's problem, the amounts a 402 needed), then what to do about it.
 */
export function apiErrorText(error: ApiError, apiUrl: string): string {
  const lines = [`error ${error.code}: ${error.message}`];
  for (const issue of fieldIssues(error)) lines.push(`  ${issue.path || "(body)"}: ${issue.message}`);
  const { details } = error;
  if (error.code === "insufficient_funds") {
    const needed = stringField(details, "needed");
    const available = stringField(details, "available");
    if (needed && available) lines.push(`  needed $${needed}, available $${available}`);
    lines.push(
      "  add credit: an operator grants it with POST /v1/credits (see README, Billing); lower the job's timeoutSeconds or budget to hold less",
    );
  } else if (error.code === "unreachable") {
    lines.push(`  is the control plane running at ${apiUrl}? start it with: npm start`);
  } else if (error.code === "no_api_key") {
    lines.push(`  sign up with: ${CLI_NAME} signup   (or pass --api-key, or set MERIDIAN_API_KEY)`);
  } else if (error.status === 401) {
    lines.push(`  the key was refused; sign up again with: ${CLI_NAME} signup`);
  } else if (
    !["invalid_request", "bad_response"].includes(error.code) &&
    details !== undefined &&
    details !== null
  ) {
    lines.push(`  details: ${JSON.stringify(details)}`);
  }
  return `${lines.join("\n")}\n`;
}
