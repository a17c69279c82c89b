import { type ErrorStatus, MeridianError } from "../shared/errors.js";

/**
 * What a Region method returns across the RPC boundary. Thrown errors lose their fields when they
 * cross it, so user-facing errors travel as values and are thrown again on the Worker's side.
 */
export type RpcResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: ErrorStatus; code: string; message: string; details?: unknown };

export async function asResult<T>(work: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof MeridianError) {
      const { status, code, message, details } = error;
      return details === undefined
        ? { ok: false, status, code, message }
        : { ok: false, status, code, message, details };
    }
    throw error;
  }
}

export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new MeridianError(result.status, result.code, result.message, result.details);
}
