import { address, lamports } from "@solana/kit";
import type { LiteSVM } from "litesvm";
import type { AccountSnapshot } from "./chain-store.js";

const SYSTEM_PROGRAM = "11111111111111111111111111111111";

/** An account as LiteSVM holds it now; `null` when it does not exist (or was emptied to 0 lamports). */
export function readAccount(svm: LiteSVM, addr: string): AccountSnapshot | null {
  const account = svm.getAccount(address(addr));
  if (!account.exists || account.lamports === 0n) return null;
  return {
    lamports: account.lamports,
    owner: account.programAddress,
    executable: account.executable,
    data: new Uint8Array(account.data),
  };
}

/** Puts an account's state into LiteSVM; `null` empties it (restoring a deleted account). */
export function setAccount(svm: LiteSVM, addr: string, snapshot: AccountSnapshot | null): void {
  const account = snapshot ?? {
    lamports: 0n,
    owner: SYSTEM_PROGRAM,
    executable: false,
    data: new Uint8Array(),
  };
  svm.setAccount({
    address: address(addr),
    lamports: lamports(account.lamports),
    programAddress: address(account.owner),
    executable: account.executable,
    data: account.data,
    space: BigInt(account.data.length),
  });
}

export function sameAccount(a: AccountSnapshot | null, b: AccountSnapshot | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.lamports !== b.lamports || a.owner !== b.owner || a.executable !== b.executable) return false;
  return Buffer.from(a.data).equals(Buffer.from(b.data));
}
