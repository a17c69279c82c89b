import { z } from "zod";

/** Actions on keys, money and stored files an account can read back (GET /v1/account/audit). */
export const AuditAction = z.enum([
  "account.created",
  "key.created",
  "key.revoked",
  "limits.updated",
  "credit.granted",
  "outputs.deleted",
  /** Where the account's earnings are paid changed (subject: the new address). */
  "payout_wallet.linked",
  /** A top-up was asked for (subject: the top-up; details: token, amount, credit). */
  "topup.created",
  /** A top-up's payment was found on chain and settled (subject: the top-up; details: signature, paid, credited). */
  "topup.credited",
  "topup.underpaid",
  /** Paid in another mint than asked: nothing credited. */
  "topup.wrong_mint",
  /** MRD staked for a node (subject: the node; details: signature, amount in base units). */
  "stake.deposited",
  /** An unstake started its cooldown (subject: the node; details: the withdrawal, amount, readyAt). */
  "stake.unstaked",
  /** An unstake's cooldown ended: it leaves the vault for the payout wallet (details: destination). */
  "stake.cooldown_ended",
  /** A share of the node's stake was taken for proven evidence (details: the slash, amount, evidence). */
  "stake.slashed",
]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEventView = z.object({
  id: z.string(),
  at: z.string(),
  action: AuditAction,
  /** What it was done to: a key id, an account id. */
  subject: z.string().nullable(),
  /** The key that did it; null for sign-up and operator actions. */
  keyId: z.string().nullable(),
  /** The caller's address as the edge saw it. */
  address: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEventView = z.infer<typeof AuditEventView>;

export const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    /** The id of the last event of the previous page. */
    cursor: z
      .string()
      .regex(/^aud_[0-9a-hjkmnp-tv-z]{26}$/, "an audit event id")
      .optional(),
  })
  .strict();
