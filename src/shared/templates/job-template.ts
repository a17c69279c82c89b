import { z } from "zod";
import { JobSpec } from "../job-spec.js";

/** A port the template's container listens on (what an endpoint or a tunnel would expose). */
export const TemplatePort = z
  .object({
    name: z.string().regex(/^[a-z0-9-]{1,32}$/),
    port: z.number().int().min(1).max(65_535),
    protocol: z.enum(["tcp", "http"]),
  })
  .strict();

export const TemplateParameter = z
  .object({ default: z.string().max(1024), description: z.string().max(256) })
  .strict();

/**
 * A pre-configured job: a spec whose strings may hold `{{name}}` placeholders, the parameters
 * that fill them (each with a default), the ports it serves and a paragraph of docs.
 */
export const JobTemplate = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,47}$/),
    title: z.string().min(1).max(80),
    category: z.enum(["training", "inference", "rendering", "interactive"]),
    docs: z.string().min(40).max(2000),
    ports: z.array(TemplatePort).max(16),
    parameters: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,31}$/), TemplateParameter),
    spec: z.record(z.string(), z.unknown()),
  })
  .strict();
export type JobTemplate = z.infer<typeof JobTemplate>;

export class TemplateError extends Error {
  readonly code = "invalid_template_values";
}

const PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]{0,31})\}\}/g;
/** `"{{gpus:number}}"` stands for a number: the value must parse as one. */
const NUMBER = /^\{\{([A-Za-z][A-Za-z0-9]{0,31}):number\}\}$/;

function fill(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === "string") {
    const numeric = NUMBER.exec(value)?.[1];
    if (numeric !== undefined) {
      const text = values[numeric] ?? "";
      if (!/^-?[0-9]+(\.[0-9]+)?$/.test(text))
        throw new TemplateError(`${numeric} must be a number, not "${text}"`);
      return Number(text);
    }
    return value.replace(PLACEHOLDER, (_, name: string) => values[name] ?? "");
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  }
  return value;
}

/**
 * The spec a template gives with these values (`--set name=value`) over its defaults, before
 * validation. An unknown name is refused, so a typo never silently keeps a default.
 */
export function renderTemplate(
  template: JobTemplate,
  set: Record<string, string> = {},
): Record<string, unknown> {
  const unknown = Object.keys(set).filter((name) => !(name in template.parameters));
  if (unknown.length > 0) {
    const known = Object.keys(template.parameters).join(", ") || "none";
    throw new TemplateError(
      `template ${template.id} has no parameter ${unknown.join(", ")} (it has: ${known})`,
    );
  }
  const values: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(template.parameters))
    values[name] = set[name] ?? parameter.default;
  return fill(template.spec, values) as Record<string, unknown>;
}

/** Renders with the defaults and validates with the job-spec schema: what the catalogue test checks. */
export function checkTemplate(template: JobTemplate): z.ZodSafeParseResult<z.output<typeof JobSpec>> {
  return JobSpec.safeParse(renderTemplate(template));
}
