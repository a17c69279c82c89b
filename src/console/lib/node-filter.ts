import type { NodeView } from "../../shared/api.js";

/**
 * Filters of the kind GPU-market users type: `gpu=H100 vram>=80 price<2 region=eu-west`. Each term
 * is `field op value` (op one of = != >= <= > <); terms are ANDed; a bare word matches the node's
 * id, region or any GPU name.
 */
export interface FilterTerm {
  readonly field: string;
  readonly op: "=" | "!=" | ">=" | "<=" | ">" | "<";
  readonly value: string;
}

export interface ParsedFilter {
  readonly terms: FilterTerm[];
  readonly words: string[];
  /** Terms this parser does not know, shown to the user rather than silently ignored. */
  readonly errors: string[];
}

const NUMERIC: Record<string, (node: NodeView) => number | null> = {
  vram: (node) => (node.gpus.length === 0 ? 0 : Math.max(...node.gpus.map((gpu) => gpu.vramGb))),
  price: (node) => Number(node.pricePerGpuHour),
  cpuprice: (node) => (node.pricePerVcpuHour === undefined ? null : Number(node.pricePerVcpuHour)),
  tflops: (node) => node.verifiedTflops,
  rep: (node) => node.reputation,
  reputation: (node) => node.reputation,
  gpus: (node) => node.gpus.length,
  free: (node) => node.freeGpus,
  cpus: (node) => node.cpus,
  memory: (node) => node.memoryGb,
  pptf: (node) => (node.pricePerVerifiedTflopHour === null ? null : Number(node.pricePerVerifiedTflopHour)),
};

const TEXT: Record<string, (node: NodeView) => string[]> = {
  gpu: (node) => node.gpus.flatMap((gpu) => [gpu.model ?? "", gpu.name]),
  region: (node) => [node.region],
  status: (node) => [node.status],
  verification: (node) => [node.verification],
  site: (node) => [node.site ?? ""],
};

export const FILTER_FIELDS = [...Object.keys(NUMERIC), ...Object.keys(TEXT)];

const TERM = /^([a-z]+)(!=|>=|<=|=|>|<)(.+)$/i;

export function parseFilter(text: string): ParsedFilter {
  const terms: FilterTerm[] = [];
  const words: string[] = [];
  const errors: string[] = [];
  for (const token of text.trim().split(/\s+/).filter(Boolean)) {
    const match = TERM.exec(token);
    if (!match) {
      words.push(token.toLowerCase());
      continue;
    }
    const [, rawField = "", op = "=", value = ""] = match;
    const field = rawField.toLowerCase();
    if (!(field in NUMERIC) && !(field in TEXT)) {
      errors.push(`unknown field "${field}" (fields: ${FILTER_FIELDS.join(", ")})`);
    } else if (field in NUMERIC && !Number.isFinite(Number(value))) {
      errors.push(`${field} needs a number, not "${value}"`);
    } else if (field in TEXT && op !== "=" && op !== "!=") {
      errors.push(`${field} compares with = or != only`);
    } else {
      terms.push({ field, op: op as FilterTerm["op"], value });
    }
  }
  return { terms, words, errors };
}

function compare(left: number, op: FilterTerm["op"], right: number): boolean {
  switch (op) {
    case "=":
      return left === right;
    case "!=":
      return left !== right;
    case ">=":
      return left >= right;
    case "<=":
      return left <= right;
    case ">":
      return left > right;
    case "<":
      return left < right;
  }
}

function termMatches(node: NodeView, term: FilterTerm): boolean {
  const numeric = NUMERIC[term.field];
  if (numeric) {
    const value = numeric(node);
    return value !== null && compare(value, term.op, Number(term.value));
  }
  const texts = (TEXT[term.field]?.(node) ?? []).map((text) => text.toLowerCase());
  const found = texts.some((text) => text.includes(term.value.toLowerCase()));
  return term.op === "=" ? found : !found;
}

export function matchesFilter(node: NodeView, filter: ParsedFilter): boolean {
  const haystack = [node.id, node.region, ...node.gpus.flatMap((gpu) => [gpu.model ?? "", gpu.name])]
    .join(" ")
    .toLowerCase();
  return (
    filter.terms.every((term) => termMatches(node, term)) &&
    filter.words.every((word) => haystack.includes(word))
  );
}
