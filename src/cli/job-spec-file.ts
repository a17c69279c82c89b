import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { CliError } from "./cli-error.js";

/** Reads a job spec file, YAML or JSON by its extension (YAML otherwise, which also reads JSON). */
export async function readJobSpecFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new CliError("spec_unreadable", `cannot read ${path} (${reason})`);
  }
  return parseJobSpecText(text, path);
}

export function parseJobSpecText(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = extname(source).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError("invalid_spec", `${source} is not valid ${describeFormat(source)}: ${reason}`);
  }
  if (!isPlainObject(value)) {
    throw new CliError(
      "invalid_spec",
      `${source} must hold a mapping of spec fields (name, image, command, ...)`,
    );
  }
  return value;
}

function describeFormat(source: string): string {
  return extname(source).toLowerCase() === ".json" ? "JSON" : "YAML";
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
