import { getBase58Decoder } from "@solana/kit";
import { MEMO_PROGRAMS } from "./landed-transaction.js";
import { TOKEN_2022_PROGRAM_ADDRESS, uiTokenAmount } from "./token-state.js";

const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";

export type ParsedInstructionJson =
  | { program: string; programId: string; parsed: unknown; stackHeight: number | null }
  | { programId: string; accounts: string[]; data: string; stackHeight: number | null };

function u64(data: Uint8Array, offset: number): bigint | undefined {
  if (data.length < offset + 8) return undefined;
  return new DataView(data.buffer, data.byteOffset + offset, 8).getBigUint64(0, true);
}

type Parsed = { type: string; info: Record<string, unknown> } | undefined;

function parseSystem(data: Uint8Array, accounts: string[]): Parsed {
  if (data.length < 4) return undefined;
  const kind = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  if (kind === 2) {
    const lamports = u64(data, 4);
    if (lamports === undefined) return undefined;
    return { type: "transfer", info: { destination: accounts[1], lamports, source: accounts[0] } };
  }
  if (kind === 0) {
    const lamports = u64(data, 4);
    const space = u64(data, 12);
    if (lamports === undefined || space === undefined || data.length < 52) return undefined;
    const owner = bytesToBase58(data.subarray(20, 52));
    return {
      type: "createAccount",
      info: { lamports, newAccount: accounts[1], owner, source: accounts[0], space },
    };
  }
  return undefined;
}

function parseToken(data: Uint8Array, accounts: string[]): Parsed {
  const kind = data[0];
  const amount = u64(data, 1);
  const decimals = data[9];
  switch (kind) {
    case 3:
      return amount === undefined
        ? undefined
        : {
            type: "transfer",
            info: {
              amount: amount.toString(),
              authority: accounts[2],
              destination: accounts[1],
              source: accounts[0],
            },
          };
    case 7:
      return amount === undefined
        ? undefined
        : {
            type: "mintTo",
            info: {
              account: accounts[1],
              amount: amount.toString(),
              mint: accounts[0],
              mintAuthority: accounts[2],
            },
          };
    case 8:
      return amount === undefined
        ? undefined
        : {
            type: "burn",
            info: {
              account: accounts[0],
              amount: amount.toString(),
              authority: accounts[2],
              mint: accounts[1],
            },
          };
    case 12:
      return amount === undefined || decimals === undefined
        ? undefined
        : {
            type: "transferChecked",
            info: {
              authority: accounts[3],
              destination: accounts[2],
              mint: accounts[1],
              source: accounts[0],
              tokenAmount: uiTokenAmount(amount, decimals),
            },
          };
    case 15:
      return amount === undefined || decimals === undefined
        ? undefined
        : {
            type: "burnChecked",
            info: {
              account: accounts[0],
              authority: accounts[2],
              mint: accounts[1],
              tokenAmount: uiTokenAmount(amount, decimals),
            },
          };
    case 18:
      return data.length < 33
        ? undefined
        : {
            type: "initializeAccount3",
            info: { account: accounts[0], mint: accounts[1], owner: bytesToBase58(data.subarray(1, 33)) },
          };
    case 21:
      return { type: "getAccountDataSize", info: { mint: accounts[0] } };
    case 22:
      return { type: "initializeImmutableOwner", info: { account: accounts[0] } };
    default:
      return undefined;
  }
}

function parseAta(data: Uint8Array, accounts: string[]): Parsed {
  const kind = data.length === 0 ? 0 : data[0];
  if (kind !== 0 && kind !== 1) return undefined;
  return {
    type: kind === 0 ? "create" : "createIdempotent",
    info: {
      account: accounts[1],
      mint: accounts[3],
      source: accounts[0],
      systemProgram: accounts[4],
      tokenProgram: accounts[5],
      wallet: accounts[2],
    },
  };
}

/**
 * One instruction in the `jsonParsed` encoding: the programs Solana's RPC parses (System, SPL Token,
 * Associated Token Account, Memo) as `{program, programId, parsed}`, anything else (or an
 * instruction of theirs this parser does not know) as `{programId, accounts, data}`.
 */
export function parseInstruction(
  programId: string,
  accounts: string[],
  data: Uint8Array,
  dataBase58: string,
  stackHeight: number | null,
): ParsedInstructionJson {
  if (MEMO_PROGRAMS.has(programId)) {
    return { program: "spl-memo", programId, parsed: new TextDecoder().decode(data), stackHeight };
  }
  let parsed: Parsed;
  let program = "";
  if (programId === SYSTEM_PROGRAM) {
    parsed = parseSystem(data, accounts);
    program = "system";
  } else if (programId === TOKEN_PROGRAM || programId === TOKEN_2022_PROGRAM_ADDRESS) {
    parsed = parseToken(data, accounts);
    program = programId === TOKEN_PROGRAM ? "spl-token" : "spl-token-2022";
  } else if (programId === ATA_PROGRAM) {
    parsed = parseAta(data, accounts);
    program = "spl-associated-token-account";
  }
  if (parsed) return { program, programId, parsed, stackHeight };
  return { programId, accounts, data: dataBase58, stackHeight };
}

function bytesToBase58(bytes: Uint8Array): string {
  return getBase58Decoder().decode(bytes);
}
