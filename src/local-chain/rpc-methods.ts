import { getBase58Encoder } from "@solana/kit";
import { accountEncoding, type DataSlice, encodeAccount } from "./account-encoding.js";
import type { FaucetToken, LocalChain } from "./local-chain.js";
import { RpcError } from "./rpc-error.js";
import {
  addressAt,
  checkMinContextSlot,
  commitmentOf,
  configAt,
  historicalCommitment,
  integerAt,
  signatureParam,
} from "./rpc-params.js";
import { decodeMint, decodeTokenAccount, uiTokenAmount } from "./token-state.js";
import { encodeTransaction, transactionEncoding } from "./transaction-encoding.js";

/** The Solana version this server answers as; web3.js and kit only read it. */
const SOLANA_CORE = "2.2.0";
const FEATURE_SET = 3294202862;
const MAX_SIGNATURES_PER_STATUS_QUERY = 256;

export type RpcMethod = (chain: LocalChain, params: unknown[]) => unknown;

function context(slot: number): { apiVersion: string; slot: number } {
  return { apiVersion: SOLANA_CORE, slot };
}

function decodeWire(raw: unknown, encoding: unknown): Uint8Array {
  if (typeof raw !== "string")
    throw RpcError.invalidParams("Invalid params: expected an encoded transaction string");
  if (encoding === "base64") return new Uint8Array(Buffer.from(raw, "base64"));
  if (encoding === undefined || encoding === null || encoding === "base58") {
    try {
      return new Uint8Array(getBase58Encoder().encode(raw));
    } catch {
      throw RpcError.invalidParams("invalid base58 encoding");
    }
  }
  throw RpcError.invalidParams(
    `unsupported encoding: ${String(encoding)}. Supported encodings: base58, base64`,
  );
}

function dataSlice(raw: unknown): DataSlice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (
    typeof raw === "object" &&
    typeof Reflect.get(raw, "offset") === "number" &&
    typeof Reflect.get(raw, "length") === "number"
  ) {
    return { offset: Reflect.get(raw, "offset") as number, length: Reflect.get(raw, "length") as number };
  }
  throw RpcError.invalidParams("Invalid params: dataSlice needs offset and length");
}

function mintDecimals(chain: LocalChain): (mint: string) => number {
  return (mint) => {
    const account = chain.account(mint, "processed");
    return account && account.data.length >= 45 ? (account.data[44] ?? 0) : 0;
  };
}

/** The methods, each in the request and response shapes of Solana's JSON-RPC documentation. */
export const methods: Record<string, RpcMethod> = {
  getHealth: () => "ok",
  getVersion: () => ({ "feature-set": FEATURE_SET, "solana-core": SOLANA_CORE }),
  getGenesisHash: (chain) => chain.addresses.genesisHash,
  getSlot: (chain, params) => {
    const config = configAt(params, 0);
    const slot = chain.clock.commitmentSlot(commitmentOf(config));
    checkMinContextSlot(config, slot);
    return slot;
  },
  getBlockHeight: (chain, params) => {
    const config = configAt(params, 0);
    const slot = chain.clock.commitmentSlot(commitmentOf(config));
    checkMinContextSlot(config, slot);
    return slot;
  },
  getLatestBlockhash: (chain, params) => {
    const config = configAt(params, 0);
    const latest = chain.latestBlockhash(commitmentOf(config));
    checkMinContextSlot(config, latest.slot);
    return {
      context: context(latest.slot),
      value: { blockhash: latest.blockhash, lastValidBlockHeight: latest.lastValidBlockHeight },
    };
  },
  getMinimumBalanceForRentExemption: (chain, params) => {
    const length = integerAt(params, 0, "usize");
    return chain.rentExemption(Number(length));
  },
  getBalance: (chain, params) => {
    const addr = addressAt(params, 0);
    const config = configAt(params, 1);
    const commitment = commitmentOf(config);
    const slot = chain.clock.commitmentSlot(commitment);
    checkMinContextSlot(config, slot);
    return { context: context(slot), value: chain.account(addr, commitment)?.lamports ?? 0n };
  },
  getAccountInfo: (chain, params) => {
    const addr = addressAt(params, 0);
    const config = configAt(params, 1);
    const commitment = commitmentOf(config);
    const slot = chain.clock.commitmentSlot(commitment);
    checkMinContextSlot(config, slot);
    const encoding = accountEncoding(config.encoding, "base58");
    const account = chain.account(addr, commitment);
    return {
      context: context(slot),
      value: account
        ? encodeAccount(account, encoding, mintDecimals(chain), dataSlice(config.dataSlice))
        : null,
    };
  },
  getTokenAccountBalance: (chain, params) => {
    const addr = addressAt(params, 0);
    const config = configAt(params, 1);
    const commitment = commitmentOf(config);
    const slot = chain.clock.commitmentSlot(commitment);
    const account = chain.account(addr, commitment);
    const token = account ? decodeTokenAccount(account.owner, account.data) : null;
    if (!token) throw RpcError.invalidParams("Invalid param: could not find account");
    return { context: context(slot), value: uiTokenAmount(token.amount, mintDecimals(chain)(token.mint)) };
  },
  getTokenSupply: (chain, params) => {
    const addr = addressAt(params, 0);
    const config = configAt(params, 1);
    const commitment = commitmentOf(config);
    const slot = chain.clock.commitmentSlot(commitment);
    const account = chain.account(addr, commitment);
    const mint = account ? decodeMint(account.owner, account.data) : null;
    if (!mint) throw RpcError.invalidParams("Invalid param: not a Token mint");
    return { context: context(slot), value: uiTokenAmount(mint.supply, mint.decimals) };
  },
  getTokenAccountsByOwner: (chain, params) => {
    const owner = addressAt(params, 0);
    const filter = params[1];
    const config = configAt(params, 2);
    const commitment = commitmentOf(config);
    const slot = chain.clock.commitmentSlot(commitment);
    checkMinContextSlot(config, slot);
    if (typeof filter !== "object" || filter === null)
      throw RpcError.invalidParams("Invalid params: expected a mint or programId filter");
    const mint = Reflect.get(filter, "mint");
    const programId = Reflect.get(filter, "programId");
    let program = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
    if (typeof programId === "string") program = addressAt([programId], 0);
    else if (typeof mint === "string") {
      const mintAccount = chain.account(addressAt([mint], 0), commitment);
      if (!mintAccount) throw RpcError.invalidParams("Invalid param: could not find mint");
      program = mintAccount.owner;
    } else throw RpcError.invalidParams("Invalid params: expected a mint or programId filter");
    const encoding = accountEncoding(config.encoding, "base58");
    const value = chain
      .programAccounts(program, commitment)
      .filter(({ account }) => {
        const token = decodeTokenAccount(account.owner, account.data);
        return token !== null && token.owner === owner && (typeof mint !== "string" || token.mint === mint);
      })
      .map(({ address, account }) => ({
        account: encodeAccount(account, encoding, mintDecimals(chain), dataSlice(config.dataSlice)),
        pubkey: address,
      }));
    return { context: context(slot), value };
  },
  requestAirdrop: async (chain, params) => {
    const addr = addressAt(params, 0);
    const lamports = integerAt(params, 1, "u64");
    return chain.airdrop(addr, lamports);
  },
  sendTransaction: (chain, params) => {
    const config = configAt(params, 1);
    const wire = decodeWire(params[0], config.encoding);
    return chain.send(wire, { skipPreflight: config.skipPreflight === true });
  },
  simulateTransaction: (chain, params) => {
    const config = configAt(params, 1);
    const wire = decodeWire(params[0], config.encoding);
    const sigVerify = config.sigVerify === true;
    const replaceRecentBlockhash = config.replaceRecentBlockhash === true;
    if (sigVerify && replaceRecentBlockhash) {
      throw RpcError.invalidParams("sigVerify may not be used with replaceRecentBlockhash");
    }
    const accountsConfig = config.accounts as { addresses?: unknown; encoding?: unknown } | undefined;
    const wanted = Array.isArray(accountsConfig?.addresses)
      ? accountsConfig.addresses.map((a) => addressAt([a], 0))
      : [];
    const slot = chain.clock.commitmentSlot(commitmentOf(config));
    const outcome = chain.simulate(wire, { sigVerify, replaceRecentBlockhash, accounts: wanted });
    const encoding = accountEncoding(accountsConfig?.encoding, "base64");
    return {
      context: context(slot),
      value: {
        accounts: accountsConfig
          ? wanted.map((a) => {
              const account = outcome.postAccounts.get(a);
              return account ? encodeAccount(account, encoding, mintDecimals(chain)) : null;
            })
          : null,
        err: outcome.err,
        innerInstructions: null,
        loadedAccountsDataSize: 0,
        logs: outcome.logs,
        replacementBlockhash: outcome.replacementBlockhash,
        returnData: null,
        unitsConsumed: outcome.unitsConsumed,
      },
    };
  },
  getSignatureStatuses: (chain, params) => {
    const raw = params[0];
    if (!Array.isArray(raw)) throw RpcError.invalidParams("Invalid params: expected an array of signatures");
    if (raw.length > MAX_SIGNATURES_PER_STATUS_QUERY) {
      throw RpcError.invalidParams(`Too many inputs provided; max ${MAX_SIGNATURES_PER_STATUS_QUERY}`);
    }
    const tip = chain.clock.tip;
    const finalized = chain.clock.commitmentSlot("finalized");
    const confirmed = chain.clock.commitmentSlot("confirmed");
    const value = raw.map((sig) => {
      const record = chain.signatureStatus(signatureParam(sig));
      if (!record) return null;
      const isFinal = record.slot <= finalized;
      return {
        confirmationStatus: isFinal ? "finalized" : record.slot <= confirmed ? "confirmed" : "processed",
        confirmations: isFinal ? null : tip - record.slot,
        err: record.err,
        slot: record.slot,
        status: record.err === null ? { Ok: null } : { Err: record.err },
      };
    });
    return { context: context(tip), value };
  },
  getTransaction: (chain, params) => {
    const signature = signatureParam(params[0]);
    // The second parameter may be the encoding alone (a deprecated form web3.js no longer sends).
    const config = typeof params[1] === "string" ? { encoding: params[1] } : configAt(params, 1);
    const record = chain.transaction(signature, historicalCommitment(config));
    if (!record) return null;
    const max = config.maxSupportedTransactionVersion;
    return encodeTransaction(
      record,
      transactionEncoding(config.encoding),
      typeof max === "number" ? max : undefined,
    );
  },
  getSignaturesForAddress: (chain, params) => {
    const addr = addressAt(params, 0);
    const config = configAt(params, 1);
    const commitment = historicalCommitment(config);
    const limit = config.limit === undefined || config.limit === null ? 1000 : Number(config.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw RpcError.invalidParams("Invalid limit; max 1000");
    const before =
      config.before === undefined || config.before === null ? undefined : signatureParam(config.before);
    const until =
      config.until === undefined || config.until === null ? undefined : signatureParam(config.until);
    const finalized = chain.clock.commitmentSlot("finalized");
    return chain.signaturesForAddress(addr, { before, until, limit }, commitment).map((record) => ({
      blockTime: record.blockTime,
      confirmationStatus: record.slot <= finalized ? "finalized" : "confirmed",
      err: record.err,
      memo: record.memo,
      signature: record.signature,
      slot: record.slot,
    }));
  },
  /** Local-only: the chain's well-known accounts (no keys). */
  meridian_addresses: (chain) => chain.addresses,
  /** Local-only: the faucet behind `meridian dev faucet`; amount in base units (lamports for SOL). */
  meridian_faucet: async (chain, params) => {
    const wallet = addressAt(params, 0);
    const amount =
      typeof params[1] === "string" && /^\d{1,20}$/.test(params[1])
        ? BigInt(params[1])
        : integerAt(params, 1, "u64");
    const token = params[2];
    if (token !== "sol" && token !== "usdc" && token !== "mrd")
      throw RpcError.invalidParams("token must be sol, usdc or mrd");
    if (amount <= 0n) throw RpcError.invalidParams("amount must be positive");
    return chain.faucet(wallet, token as FaucetToken, amount);
  },
};
