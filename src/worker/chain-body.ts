import type { Context } from "hono";
import type { z } from "zod";
import { MeridianError } from "../shared/errors.js";
import { parseJsonText, readText } from "./json-body.js";

/**
 * A JSON body for the money routes: malformed JSON is a 400, a well-formed body whose values cannot
 * be acted on (an unknown token, an over-precise amount, a bad address) a 422 `invalid_request`.
 */
export async function chainBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new MeridianError(415, "unsupported_media_type", "send the body as application/json");
  }
  const parsed = schema.safeParse(parseJsonText(await readText(c)));
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 20)
      .map((i) => ({ path: i.path.join("."), message: i.message }));
    const first = issues[0];
    throw new MeridianError(
      422,
      "invalid_request",
      `invalid request body: ${first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid"}`,
      {
        issues,
      },
    );
  }
  return parsed.data;
}
