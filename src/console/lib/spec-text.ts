import { isMap, isSeq, parseDocument } from "yaml";
import type { FieldIssue } from "../../shared/client/api-error.js";
import { JobSpec } from "../../shared/job-spec.js";

/** An issue placed in the editor's text: `from`/`to` are character offsets. */
export interface TextIssue extends FieldIssue {
  readonly from: number;
  readonly to: number;
}

export type SpecCheck =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly value: unknown; readonly issues: TextIssue[] };

/** Where a dotted path (`resources.gpus`) sits in the text: its value's node, else its nearest parent's. */
export function locate(text: string, path: string): { from: number; to: number } {
  const document = parseDocument(text, { keepSourceTokens: true });
  const parts = path === "" ? [] : path.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  for (let length = parts.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(parts.slice(0, length), true);
    if (node && typeof node === "object" && "range" in node && Array.isArray(node.range)) {
      const [from = 0, valueEnd = from] = node.range as number[];
      // A missing field's parent is a whole map: mark its first line, not the whole block.
      if (length < parts.length && (isMap(node) || isSeq(node))) {
        const lineEnd = text.indexOf("\n", from);
        return { from, to: lineEnd < 0 ? valueEnd : Math.max(from + 1, lineEnd) };
      }
      return { from, to: Math.max(from + 1, valueEnd) };
    }
  }
  return { from: 0, to: Math.min(1, text.length) };
}

/** Places issues (from the API's `details.issues` or the schema here) at their fields in the text. */
export function placeIssues(text: string, issues: readonly FieldIssue[]): TextIssue[] {
  return issues.map((issue) => ({ ...issue, ...locate(text, issue.path) }));
}

/**
 * Reads the editor's YAML or JSON (JSON is YAML) and checks it with the API's own job-spec schema,
 * so the editor shows the same refusals the API would.
 */
export function checkSpecText(text: string): SpecCheck {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => ({
      path: "",
      message: error.message.split("\n")[0] ?? error.message,
      from: error.pos[0],
      to: Math.max(error.pos[0] + 1, error.pos[1]),
    }));
    return { ok: false, value: undefined, issues };
  }
  const value: unknown = document.toJS();
  const parsed = JobSpec.safeParse(value);
  if (parsed.success) return { ok: true, value };
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  return { ok: false, value, issues: placeIssues(text, issues) };
}
