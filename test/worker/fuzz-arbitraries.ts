import fc from "fast-check";
import { z } from "zod";

type Json = Record<string, unknown>;

function asObject(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/**
 * A fast-check arbitrary of values shaped like a zod schema, read from the schema's JSON Schema
 * (zod 4's own `z.toJSONSchema`, so a new field is fuzzed without anyone writing a generator).
 * "Valid" means structurally: refinements beyond JSON Schema (a price that must parse, a window
 * that must not be empty) may still refuse some of them, which is what near-valid input is for.
 */
export function arbitraryOf(schema: z.ZodType): fc.Arbitrary<unknown> {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return fromJsonSchema(asObject(json), asObject(json), 0);
}

function fromJsonSchema(node: Json, root: Json, depth: number): fc.Arbitrary<unknown> {
  if (typeof node.$ref === "string") {
    const name = node.$ref.split("/").pop() ?? "";
    const target = asObject(asObject(root.$defs ?? root.definitions)[name]);
    return depth > 4 ? fc.constant(null) : fromJsonSchema(target, root, depth + 1);
  }
  if (Array.isArray(node.enum)) return fc.constantFrom(...(node.enum as unknown[]));
  if ("const" in node) return fc.constant(node.const);
  const alternatives = (node.anyOf ?? node.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((option) => fromJsonSchema(asObject(option), root, depth + 1)));
  }
  if (Array.isArray(node.allOf) && node.allOf.length > 0)
    return fromJsonSchema(asObject(node.allOf[0]), root, depth + 1);
  const type = Array.isArray(node.type) ? (node.type as unknown[])[0] : node.type;
  switch (type) {
    case "string":
      return stringOf(node);
    case "integer": {
      const min = Math.max(numberOr(node.minimum, -1e6), numberOr(node.exclusiveMinimum, -1e6 - 1) + 1);
      const max = Math.min(numberOr(node.maximum, 1e6), numberOr(node.exclusiveMaximum, 1e6 + 1) - 1);
      return fc.integer({ min: Math.ceil(Math.min(min, max)), max: Math.floor(Math.max(min, max)) });
    }
    case "number": {
      const min = numberOr(node.minimum ?? node.exclusiveMinimum, -1e6);
      const max = numberOr(node.maximum ?? node.exclusiveMaximum, 1e6);
      return fc.double({
        min: Math.min(min, max),
        max: Math.max(min, max),
        noNaN: true,
        noDefaultInfinity: true,
      });
    }
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items = fromJsonSchema(asObject(node.items), root, depth + 1);
      const minLength = numberOr(node.minItems, 0);
      return fc.array(items, {
        minLength,
        maxLength: Math.max(minLength, Math.min(numberOr(node.maxItems, 4), 4)),
      });
    }
    case "object":
      return objectOf(node, root, depth);
    default:
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  }
}

function stringOf(node: Json): fc.Arbitrary<string> {
  if (typeof node.pattern === "string") {
    try {
      return fc.stringMatching(new RegExp(node.pattern));
    } catch {
      // A pattern JavaScript cannot compile falls through to plain strings.
    }
  }
  if (node.format === "email") return fc.emailAddress();
  if (node.format === "uri") return fc.webUrl();
  if (node.format === "date-time") return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  const minLength = numberOr(node.minLength, 0);
  const maxLength = Math.max(minLength, Math.min(numberOr(node.maxLength, 24), 64));
  return fc.string({ minLength, maxLength });
}

function objectOf(node: Json, root: Json, depth: number): fc.Arbitrary<unknown> {
  const properties = asObject(node.properties);
  const keys = Object.keys(properties);
  if (keys.length === 0) {
    const values = asObject(node.additionalProperties);
    return fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }),
      fromJsonSchema(values, root, depth + 1),
      {
        maxKeys: 3,
      },
    );
  }
  const required = Array.isArray(node.required) ? (node.required as string[]) : [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const key of keys) model[key] = fromJsonSchema(asObject(properties[key]), root, depth + 1);
  return fc.record(model, { requiredKeys: required.filter((key) => keys.includes(key)) });
}

/** Strings chosen to break parsers, queries and templates. */
export const HOSTILE_STRINGS = [
  "",
  " ",
  "\u0000",
  "'; DROP TABLE jobs; --",
  '" OR 1=1 --',
  "../../../../etc/passwd",
  "%00%2e%2e%2f",
  "__proto__",
  "constructor",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j-style probe, sent as the literal text
  "${jndi:ldap://x}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "\ud800",
  "𝕄𝕖𝕣𝕚𝕕𝕚𝕒𝕟",
  "9".repeat(400),
  "-1",
  "1e309",
  "NaN",
  "Infinity",
  "0x10",
  "null",
  "true",
  "a".repeat(5000),
];

export const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
);

/** What a header can carry: printable ASCII, hostile or long. */
export const hostileHeader = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS.filter((text) => /^[\x20-\x7e]*$/.test(text))),
  fc.string({ unit: "grapheme-ascii", maxLength: 300 }),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(-1, 0, -0, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
  fc.anything({ maxDepth: 3 }),
  fc.constant({ __proto__: { admin: true } }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}')),
);

/** One small change to a valid value: a key removed or added, a field of the wrong type or out of range. */
export function nearValid(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom("drop", "extra", "wrong", "empty", "huge", "negative"),
      hostileValue,
    )
    .map(([value, pick, how, replacement]) => {
      const object = asObject(value);
      const keys = Object.keys(object);
      if (keys.length === 0) return how === "extra" ? { unexpected: replacement } : replacement;
      const key = keys[pick % keys.length] ?? "";
      const copy: Json = { ...object };
      if (how === "drop") delete copy[key];
      else if (how === "extra") copy[`x${pick % 97}`] = replacement;
      else if (how === "wrong") copy[key] = typeof copy[key] === "string" ? pick : safeText(copy[key]);
      else if (how === "empty") copy[key] = typeof copy[key] === "string" ? "" : [];
      else if (how === "huge")
        copy[key] = typeof copy[key] === "number" ? 1e15 + pick : "x".repeat(1000 + (pick % 5000));
      else copy[key] = typeof copy[key] === "number" ? -1 - (pick % 1000) : replacement;
      return copy;
    });
}

const noSchema = fc.oneof(fc.constant(undefined), hostileValue);
const bySchema = new WeakMap<z.ZodType, fc.Arbitrary<unknown>>();

/**
 * Valid, near-valid and hostile values of a schema, in proportions that keep each common. Built
 * once per schema: the fuzzers ask for it inside `chain`, once per case, and converting a schema
 * the size of JobSpec to JSON Schema and arbitraries took longer than the request it fed.
 */
export function fuzzValue(schema: z.ZodType | undefined): fc.Arbitrary<unknown> {
  if (schema === undefined) return noSchema;
  const known = bySchema.get(schema);
  if (known !== undefined) return known;
  const valid = arbitraryOf(schema);
  const built = fc.oneof(
    { arbitrary: valid, weight: 3 },
    { arbitrary: nearValid(valid), weight: 4 },
    { arbitrary: hostileValue, weight: 2 },
  );
  bySchema.set(schema, built);
  return built;
}

/** A text form of any value, even a null-prototype object String() cannot convert. */
export function safeText(value: unknown): string {
  try {
    return typeof value === "string" ? value : (JSON.stringify(value) ?? "undefined");
  } catch {
    return "[unprintable]";
  }
}

/** A path segment for any string: a lone surrogate cannot be URI-encoded, so its raw bytes go instead. */
export function pathSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80";
  }
}
