import type { z } from "zod";

/** An example shown in the OpenAPI document, with the zod schema it must satisfy. */
export interface DocumentedExample {
  readonly operationId: string;
  readonly where: "body" | "response";
  readonly schema: z.ZodType;
  readonly example: unknown;
}

const examples = new Map<string, DocumentedExample>();

/** Called by `doc()`: the completeness test checks each example in the document against its schema. */
export function registerExample(
  operationId: string,
  where: DocumentedExample["where"],
  schema: z.ZodType,
  example: unknown,
): void {
  examples.set(`${operationId} ${where}`, { operationId, where, schema, example });
}

export function documentedExample(
  operationId: string,
  where: DocumentedExample["where"],
): DocumentedExample | undefined {
  return examples.get(`${operationId} ${where}`);
}
