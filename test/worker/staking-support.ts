import { env } from "cloudflare:workers";
import {
  AccountRole,
  type Address,
  address,
  appendTransactionMessageInstructions,
  createSolanaRpc,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  type Instruction,
  type KeyPairSigner,
  pipe,
  type Signature,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import {
  findAssociatedTokenPda,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { chainConfig } from "../../src/chain/chain-config.js";

// The provider's wallet is an independent client: kit and the SPL token program's own instruction
// builder, with a memo instruction built by hand, as a wallet would stake (not the project's code).
export const rpc = createSolanaRpc(env.SOLANA_RPC_URL);
const config = chainConfig(env);
export const vault = address(env.STAKE_VAULT);
const MEMO = address("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
export const MRD = 1_000_000n;

export async function ata(owner: Address): Promise<Address> {
  const [found] = await findAssociatedTokenPda({
    owner,
    mint: config.mrdMint,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  return found;
}

/** The wallet signs and sends an MRD transfer to `to` (a token account) with `memo`; waits for it. */
export async function stakeTx(
  wallet: KeyPairSigner,
  amount: bigint,
  memo: string,
  to: Address = vault,
): Promise<Signature> {
  const memoIx: Instruction = {
    programAddress: MEMO,
    accounts: [{ address: wallet.address, role: AccountRole.READONLY_SIGNER, signer: wallet } as never],
    data: new TextEncoder().encode(memo),
  };
  const transfer = getTransferCheckedInstruction({
    source: await ata(wallet.address),
    mint: config.mrdMint,
    destination: to,
    authority: wallet,
    amount,
    decimals: 6,
  });
  const { value: lifetime } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(wallet, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
    (m) => appendTransactionMessageInstructions([transfer, memoIx], m),
  );
  const signed = await signTransactionMessageWithSigners(message);
  await rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" }).send();
  const signature = getSignatureFromTransaction(signed);
  for (let i = 0; i < 400; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status?.confirmationStatus === "confirmed" || status?.confirmationStatus === "finalized")
      return signature;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the stake transaction did not confirm");
}
