import { getBase58Decoder } from "@solana/kit";
import type { AccountSnapshot } from "./chain-store.js";
import { RpcError } from "./rpc-error.js";
import { decodeMint, decodeTokenAccount, uiTokenAmount } from "./token-state.js";

/** Rent-exempt accounts report u64::MAX as their rent epoch on current clusters. */
const RENT_EPOCH = 18446744073709551615n;

export type AccountEncoding = "base58" | "base64" | "jsonParsed";

export function accountEncoding(raw: unknown, fallback: AccountEncoding): AccountEncoding {
  if (raw === undefined || raw === null) return fallback;
  if (raw === "base58" || raw === "base64" || raw === "jsonParsed") return raw;
  if (raw === "base64+zstd") throw RpcError.invalidParams("base64+zstd is not supported by the local chain");
  throw RpcError.invalidParams(
    `Invalid params: unknown variant \`${String(raw)}\`, expected one of \`binary\`, \`base58\`, \`base64\`, \`jsonParsed\`, \`base64+zstd\``,
  );
}

function tokenProgramName(owner: string): string {
  return owner === "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb" ? "spl-token-2022" : "spl-token";
}

function parsedData(account: AccountSnapshot, mintDecimals: (mint: string) => number): unknown {
  const token = decodeTokenAccount(account.owner, account.data);
  const space = account.data.length;
  if (token) {
    const decimals = mintDecimals(token.mint);
    const info: Record<string, unknown> = {
      isNative: token.isNative !== null,
      mint: token.mint,
      owner: token.owner,
      state: token.state,
      tokenAmount: uiTokenAmount(token.amount, decimals),
    };
    if (token.delegate) {
      info.delegate = token.delegate;
      info.delegatedAmount = uiTokenAmount(token.delegatedAmount, decimals);
    }
    if (token.isNative !== null) info.rentExemptReserve = uiTokenAmount(token.isNative, decimals);
    if (token.closeAuthority) info.closeAuthority = token.closeAuthority;
    return { program: tokenProgramName(account.owner), parsed: { info, type: "account" }, space };
  }
  const mint = decodeMint(account.owner, account.data);
  if (mint) {
    return {
      program: tokenProgramName(account.owner),
      parsed: {
        info: {
          decimals: mint.decimals,
          freezeAuthority: mint.freezeAuthority,
          isInitialized: mint.isInitialized,
          mintAuthority: mint.mintAuthority,
          supply: mint.supply.toString(),
        },
        type: "mint",
      },
      space,
    };
  }
  return [Buffer.from(account.data).toString("base64"), "base64"];
}

export interface DataSlice {
  offset: number;
  length: number;
}

/** An account in the shape of `getAccountInfo`'s `value`. */
export function encodeAccount(
  account: AccountSnapshot,
  encoding: AccountEncoding,
  mintDecimals: (mint: string) => number,
  slice?: DataSlice,
): Record<string, unknown> {
  const bytes = slice ? account.data.subarray(slice.offset, slice.offset + slice.length) : account.data;
  let data: unknown;
  if (encoding === "jsonParsed" && !slice) data = parsedData(account, mintDecimals);
  else if (encoding === "base58") {
    if (bytes.length > 128) {
      throw new RpcError(
        -32600,
        "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
      );
    }
    data = [getBase58Decoder().decode(bytes), "base58"];
  } else data = [Buffer.from(bytes).toString("base64"), "base64"];
  return {
    data,
    executable: account.executable,
    lamports: account.lamports,
    owner: account.owner,
    rentEpoch: RENT_EPOCH,
    space: account.data.length,
  };
}
