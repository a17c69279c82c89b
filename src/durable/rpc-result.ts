import { type ErrorStatus, MeridianError } from "../shared/errors.js";

/**
 * What a Region method returns across the RPC boundary. Thrown errors lose their fields when they
 * cross it, so user-facing errors travel as values and are thrown again on the Worker's side.
 */
export type RpcResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: ErrorStatus; code: string; message: string };

export async function asResult<T>(work: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof MeridianError) {
      return { ok: false, status: error.status, code: error.code, message: error.message };
    }
    throw error;
  }
}

export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new MeridianError(result.status, result.code, result.message);
}
