import {
  address,
  appendTransactionMessageInstructions,
  createKeyPairSignerFromBytes,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  type Instruction,
  type KeyPairSigner,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  blockhash as toBlockhash,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getMintToInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { Clock, LiteSVM } from "litesvm";
import type { AccountHistory } from "./account-history.js";
import { restoreChain } from "./chain-restore.js";
import type { AccountSnapshot, AccountWrite, ChainStore } from "./chain-store.js";
import { type ChainAddresses, readChainKeys } from "./genesis.js";
import { buildTxRecord } from "./landed-transaction.js";
import { preflightFailure, signatureFailure } from "./send-failures.js";
import { type Commitment, SlotClock } from "./slot-clock.js";
import { readAccount, sameAccount } from "./svm-accounts.js";
import { type SimulationOutcome, simulateOnSvm } from "./svm-simulation.js";
import type { TransactionLog } from "./transaction-log.js";
import { executionResult, landsWithError } from "./tx-errors.js";
import type { TxRecord } from "./tx-record.js";
import { type DecodedTransaction, decodeWireTransaction } from "./wire-transaction.js";

export const DEFAULT_FINALITY_LAG = 32;
/** How often the head (tip slot) is written: the logs carry every write, the head only the slot count. */
const HEAD_WRITE_EVERY_SLOTS = 10;

export interface LocalChainOptions {
  dir: string;
  /** Milliseconds per slot; 0 leaves slots to `advance()` (tests). Solana's target is 400. */
  slotMs: number;
  finalityLag?: number;
  genesis?: { treasuryKeypair?: Uint8Array };
  now?: () => number;
}

export type FaucetToken = "sol" | "usdc" | "mrd";

/**
 * A Solana chain in one process: LiteSVM executes transactions with the real runtime and SPL
 * programs; this class adds what a cluster has and LiteSVM lacks — slots on a timer, blockhashes that
 * expire after 150 blocks, commitment levels, a transaction history, and state on disk.
 */
export class LocalChain {
  private timer: NodeJS.Timeout | undefined;
  private lastHeadWrite = 0;

  private constructor(
    private readonly svm: LiteSVM,
    private readonly store: ChainStore,
    readonly clock: SlotClock,
    private readonly history: AccountHistory,
    private readonly log: TransactionLog,
    readonly addresses: ChainAddresses,
    private readonly faucetSigner: KeyPairSigner,
    private readonly mintAuthority: KeyPairSigner,
    private readonly createdAt: number,
    private readonly options: LocalChainOptions,
  ) {}

  static async open(options: LocalChainOptions): Promise<LocalChain> {
    const now = options.now ?? Date.now;
    const finalityLag = options.finalityLag ?? DEFAULT_FINALITY_LAG;
    // LiteSVM's own blockhash check only knows its latest hash; the 150-block window is checked here.
    const svm = new LiteSVM().withBlockhashCheck(false).withSigverify(true);
    const { store, head, addresses, history, log, tip } = await restoreChain(svm, options.dir, finalityLag, {
      now,
      genesis: options.genesis,
    });
    const keys = readChainKeys(options.dir);
    const chain = new LocalChain(
      svm,
      store,
      new SlotClock(head.genesisHash, tip, finalityLag, now),
      history,
      log,
      addresses,
      await createKeyPairSignerFromBytes(keys.faucet),
      await createKeyPairSignerFromBytes(keys.mintAuthority),
      head.createdAt,
      options,
    );
    chain.syncClockSysvar();
    if (options.slotMs > 0) chain.timer = setInterval(() => chain.advance(), options.slotMs);
    return chain;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.writeHead();
  }

  /** Produces the next block: a new blockhash, and older writes become visible at each commitment. */
  advance(): number {
    const slot = this.clock.advance();
    this.syncClockSysvar();
    this.history.prune(this.clock.commitmentSlot("finalized"));
    if (slot - this.lastHeadWrite >= HEAD_WRITE_EVERY_SLOTS) this.writeHead();
    return slot;
  }

  get transactionCount(): number {
    return this.log.size;
  }

  rentExemption(bytes: number): bigint {
    return this.svm.minimumBalanceForRentExemption(BigInt(bytes));
  }

  latestBlockhash(commitment: Commitment): { slot: number; blockhash: string; lastValidBlockHeight: number } {
    const slot = this.clock.commitmentSlot(commitment);
    return { slot, blockhash: this.clock.blockhashOf(slot), lastValidBlockHeight: slot + 150 };
  }

  /** The account as of the commitment's slot; `null` when it does not exist then. */
  account(addr: string, commitment: Commitment): AccountSnapshot | null {
    return this.history.at(addr, this.current(addr), this.clock.commitmentSlot(commitment));
  }

  /** Accounts owned by a program as of the commitment's slot. */
  programAccounts(program: string, commitment: Commitment): { address: string; account: AccountSnapshot }[] {
    const slot = this.clock.commitmentSlot(commitment);
    const candidates = new Set<string>(this.svm.getProgramAccounts(address(program)).map((a) => a.address));
    for (const changed of this.history.changedAfter(slot)) candidates.add(changed);
    const out: { address: string; account: AccountSnapshot }[] = [];
    for (const candidate of candidates) {
      const account = this.history.at(candidate, this.current(candidate), slot);
      if (account && account.owner === program) out.push({ address: candidate, account });
    }
    return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  transaction(signature: string, commitment: Commitment): TxRecord | null {
    const record = this.log.get(signature);
    if (!record || record.slot > this.clock.commitmentSlot(commitment)) return null;
    return record;
  }

  signaturesForAddress(
    addr: string,
    query: { before?: string; until?: string; limit: number },
    commitment: Commitment,
  ): TxRecord[] {
    return this.log.forAddress(addr, { ...query, maxSlot: this.clock.commitmentSlot(commitment) });
  }

  signatureStatus(signature: string): TxRecord | null {
    return this.log.get(signature) ?? null;
  }

  simulate(
    wire: Uint8Array,
    config: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts: string[] },
  ): SimulationOutcome {
    const decoded = decodeWireTransaction(wire);
    return this.simulateDecoded(decoded, config);
  }

  /**
   * `sendTransaction`: with preflight, a transaction that would fail is refused with -32002 and
   * changes nothing; without it, one that fails in a program lands with its error and pays its fee
   * (as on a cluster), and one with an expired or unknown blockhash is dropped (its signature is
   * returned and never gets a status).
   */
  send(wire: Uint8Array, config: { skipPreflight: boolean }): string {
    const decoded = decodeWireTransaction(wire);
    if (this.log.has(decoded.signature)) {
      if (config.skipPreflight) return decoded.signature;
      throw preflightFailure({ err: "AlreadyProcessed", logs: [], unitsConsumed: 0 });
    }
    if (!this.clock.isBlockhashValid(decoded.recentBlockhash)) {
      if (config.skipPreflight) return decoded.signature;
      throw preflightFailure({ err: "BlockhashNotFound", logs: [], unitsConsumed: 0 });
    }
    if (!config.skipPreflight) {
      const simulated = this.simulateDecoded(decoded, {
        sigVerify: true,
        replaceRecentBlockhash: false,
        accounts: [],
      });
      if (simulated.err === "SignatureFailure") throw signatureFailure();
      if (simulated.err !== null) {
        throw preflightFailure({
          err: simulated.err,
          logs: simulated.logs,
          unitsConsumed: simulated.unitsConsumed,
        });
      }
    }
    this.execute(decoded);
    return decoded.signature;
  }

  /** `requestAirdrop`: a real System transfer from the faucet, so it has a signature and a status. */
  async airdrop(to: string, lamports: bigint): Promise<string> {
    return this.submit(this.faucetSigner, [
      getTransferSolInstruction({ source: this.faucetSigner, destination: address(to), amount: lamports }),
    ]);
  }

  /** The local faucet: SOL from the faucet, or USDC/MRD minted into the wallet's associated token account. */
  async faucet(wallet: string, token: FaucetToken, amount: bigint): Promise<string> {
    if (token === "sol") return this.airdrop(wallet, amount);
    const mint = address(token === "usdc" ? this.addresses.usdcMint : this.addresses.mrdMint);
    const owner = address(wallet);
    const [ata] = await findAssociatedTokenPda({ mint, owner, tokenProgram: TOKEN_PROGRAM_ADDRESS });
    return this.submit(this.faucetSigner, [
      getCreateAssociatedTokenIdempotentInstruction({ payer: this.faucetSigner, ata, owner, mint }),
      getMintToInstruction({ mint, token: ata, mintAuthority: this.mintAuthority, amount }),
    ]);
  }

  private async submit(payer: KeyPairSigner, instructions: Instruction[]): Promise<string> {
    const { blockhash, lastValidBlockHeight } = this.latestBlockhash("processed");
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) =>
        setTransactionMessageLifetimeUsingBlockhash(
          { blockhash: toBlockhash(blockhash), lastValidBlockHeight: BigInt(lastValidBlockHeight) },
          m,
        ),
      (m) => appendTransactionMessageInstructions(instructions, m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    const wire = new Uint8Array(Buffer.from(getBase64EncodedWireTransaction(signed), "base64"));
    return this.send(wire, { skipPreflight: false });
  }

  private simulateDecoded(
    decoded: DecodedTransaction,
    config: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts: string[] },
  ): SimulationOutcome {
    let replacementBlockhash: SimulationOutcome["replacementBlockhash"] = null;
    const empty = { logs: [], unitsConsumed: 0, postAccounts: new Map(), replacementBlockhash };
    if (config.replaceRecentBlockhash) {
      const latest = this.latestBlockhash("processed");
      replacementBlockhash = {
        blockhash: latest.blockhash,
        lastValidBlockHeight: latest.lastValidBlockHeight,
      };
    } else if (!this.clock.isBlockhashValid(decoded.recentBlockhash)) {
      return { ...empty, err: "BlockhashNotFound" };
    }
    if (this.log.has(decoded.signature)) return { ...empty, err: "AlreadyProcessed" };
    return {
      ...simulateOnSvm(this.svm, decoded.transaction, config, (addr) => this.current(addr)),
      replacementBlockhash,
    };
  }

  private execute(decoded: DecodedTransaction): void {
    const slot = this.clock.tip;
    const keys = decoded.accountKeys.map(String);
    const pre = keys.map((key) => this.current(key));
    const outcome = executionResult(this.svm.sendTransaction(decoded.transaction));
    if (!outcome.ok && outcome.err === "SignatureFailure") throw signatureFailure();
    if (!outcome.ok && !landsWithError(outcome.err)) return;
    const post = keys.map((key) => this.current(key));
    const writes: AccountWrite[] = [];
    keys.forEach((key, i) => {
      const before = pre[i] ?? null;
      const after = post[i] ?? null;
      if (!sameAccount(before, after)) writes.push({ slot, address: key, pre: before, post: after });
    });
    const record = buildTxRecord({
      decoded,
      slot,
      blockTime: this.clock.blockTime(slot),
      err: outcome.ok ? null : outcome.err,
      meta: outcome.meta,
      pre,
      post,
      mintDecimals: (mint) => this.mintDecimals(mint),
    });
    // Written before the RPC answers: a signature a client holds is never lost to a restart.
    this.store.appendAccountWrites(writes);
    this.store.appendTransaction(record);
    for (const write of writes) this.history.record(write);
    this.log.add(record);
  }

  private mintDecimals(mint: string): number {
    const account = this.current(mint);
    return account && account.data.length >= 45 ? (account.data[44] ?? 0) : 0;
  }

  private current(addr: string): AccountSnapshot | null {
    return readAccount(this.svm, addr);
  }

  private syncClockSysvar(): void {
    const clock = this.svm.getClock();
    const slot = BigInt(this.clock.tip);
    const unix = BigInt(Math.floor((this.options.now ?? Date.now)() / 1000));
    this.svm.setClock(
      new Clock(slot, clock.epochStartTimestamp, clock.epoch, clock.leaderScheduleEpoch, unix),
    );
  }

  private writeHead(): void {
    this.lastHeadWrite = this.clock.tip;
    this.store.writeHead({
      genesisHash: this.addresses.genesisHash,
      tip: this.clock.tip,
      createdAt: this.createdAt,
    });
  }
}
