import { type ErrorStatus, MeridianError } from "../errors.js";

export type VerificationErrorCode =
  | "unknown_gpu_model"
  | "invalid_ready"
  | "invalid_commit"
  | "invalid_answer"
  | "challenge_mismatch"
  | "challenge_not_yours"
  | "challenge_not_released"
  | "challenge_not_committed"
  | "challenge_replayed"
  | "challenge_expired";

const STATUS: Record<VerificationErrorCode, ErrorStatus> = {
  unknown_gpu_model: 422,
  invalid_ready: 400,
  invalid_commit: 400,
  invalid_answer: 400,
  challenge_mismatch: 404,
  challenge_not_yours: 403,
  challenge_not_released: 409,
  challenge_not_committed: 409,
  challenge_replayed: 409,
  challenge_expired: 410,
};

/**
 * A refused verification message. Refusing changes nothing stored: a node whose message is refused
 * for lateness is judged by `expireChallenge` when the Region's alarm fires, not by the refusal.
 */
export class VerificationError extends MeridianError {
  override readonly code: VerificationErrorCode;

  constructor(code: VerificationErrorCode, message: string, details?: unknown) {
    super(STATUS[code], code, message, details);
    this.name = "VerificationError";
    this.code = code;
  }
}
