import type { Advice, Observed } from "./constraint.js";

/**
 * The shapes a relaxation takes, shared by the constraint records: lower a minimum, raise a
 * maximum, allow one more option, or drop a field nodes have no figure for. Each needs enough
 * nodes (`need`, the gang size) to meet the change at once.
 */

/** "remove the field", when enough nodes lack the figure it asks about. */
export function dropWhenUnknown(field: string, observed: Observed, need: number): Advice | undefined {
  const nodes = observed.unknown + observed.numbers.length;
  if (nodes < need) return undefined;
  return { field, text: `remove ${field}`, nodes, distance: 1 };
}

/** Lower a minimum to what the `need`-th best node offers; shown in the spec's units by `format`. */
export function lowerTo(
  field: string,
  observed: Observed,
  need: number,
  current: number | undefined,
  format: (value: number) => string | number,
): Advice | undefined {
  const sorted = [...observed.numbers].sort((a, b) => b - a);
  const value = sorted[need - 1];
  if (value === undefined || current === undefined) return dropWhenUnknown(field, observed, need);
  const shown = format(value);
  return {
    field,
    value: shown,
    text: `lower ${field.split(".").pop()} to ${shown}`,
    nodes: sorted.length,
    distance: (current - value) / Math.max(Math.abs(current), 1e-9),
  };
}

/** Raise a maximum to what the `need`-th cheapest (nearest) node asks; `round` before showing. */
export function raiseTo(
  field: string,
  label: string,
  observed: Observed,
  need: number,
  current: number | undefined,
  round: (value: number) => number,
  format: (value: number) => string | number,
): Advice | undefined {
  const sorted = [...observed.numbers].sort((a, b) => a - b);
  const raw = sorted[need - 1];
  if (raw === undefined || current === undefined) return undefined;
  const value = round(raw);
  const shown = format(value);
  return {
    field,
    value: shown,
    text: `raise ${label} to ${shown}`,
    nodes: sorted.length,
    distance: (value - current) / Math.max(current, 1),
  };
}

/** Allow the option most such nodes have (`what` prefixes it: "tier ", "region "). */
export function allowMost(field: string, observed: Observed, need: number, what: string): Advice | undefined {
  const [best, count] = [...observed.names.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
  if (best === undefined || count === undefined || count < need) return undefined;
  return { field, value: best, text: `allow ${what}${best}`, nodes: count, distance: 0.5 };
}

/** Rounds down to two decimals, for figures shown as spec values. */
export const twoDecimals = (value: number): number => Math.floor(value * 100) / 100;
