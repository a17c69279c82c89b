import type { LiteSVM } from "litesvm";
import { AccountHistory } from "./account-history.js";
import { type AccountWrite, type ChainHead, ChainStore } from "./chain-store.js";
import { type ChainAddresses, createGenesis, readAddresses } from "./genesis.js";
import { setAccount } from "./svm-accounts.js";
import { TransactionLog } from "./transaction-log.js";

export interface RestoredChain {
  store: ChainStore;
  head: ChainHead;
  addresses: ChainAddresses;
  /** Writes newer than `finalized`, so reads at a lower commitment see the state they should. */
  history: AccountHistory;
  log: TransactionLog;
  tip: number;
}

/**
 * The chain's state from its folder: the genesis on a first start; otherwise every account's last
 * write put back into LiteSVM, the recent writes kept for commitment-level reads, and the
 * transactions replayed into the log. The account log is compacted when it has grown to more than
 * twice the accounts it describes.
 */
export async function restoreChain(
  svm: LiteSVM,
  dir: string,
  finalityLag: number,
  options: { now: () => number; genesis?: { treasuryKeypair?: Uint8Array } },
): Promise<RestoredChain> {
  const store = new ChainStore(dir);
  let head = store.readHead();
  let addresses = readAddresses(dir);
  if (!head || !addresses) {
    const genesis = await createGenesis(
      dir,
      (bytes) => svm.minimumBalanceForRentExemption(BigInt(bytes)),
      options.genesis,
    );
    store.appendAccountWrites(genesis.accounts);
    addresses = genesis.addresses;
    head = { genesisHash: addresses.genesisHash, tip: 0, createdAt: options.now() };
    store.writeHead(head);
  }
  const writes = store.readAccountWrites();
  const transactions = store.readTransactions();
  let tip = head.tip;
  for (const write of writes) tip = Math.max(tip, write.slot);
  for (const record of transactions) tip = Math.max(tip, record.slot);
  const latest = new Map<string, AccountWrite>();
  for (const write of writes) latest.set(write.address, write);
  for (const write of latest.values()) setAccount(svm, write.address, write.post);
  const history = new AccountHistory();
  const finalized = tip - finalityLag;
  for (const write of writes) if (write.slot > finalized) history.record(write);
  if (writes.length > 2 * latest.size + 1_000) {
    store.compactAccounts(writes.filter((w) => w.slot > finalized || latest.get(w.address) === w));
  }
  const log = new TransactionLog();
  for (const record of transactions) log.add(record);
  return { store, head, addresses, history, log, tip };
}
