/**
 * The app side of the Wallet Standard (github.com/wallet-standard), enough to find Solana wallets
 * that can sign a message: wallets announce themselves with a `wallet-standard:register-wallet`
 * event, and ones loaded earlier answer the app's `wallet-standard:app-ready`. Written out here
 * (some 60 lines) rather than pulling in @wallet-standard/app and its adapters for one call.
 */

export interface StandardAccount {
  readonly address: string;
  readonly publicKey: Uint8Array;
}

interface SignMessageFeature {
  signMessage(
    ...inputs: { account: StandardAccount; message: Uint8Array }[]
  ): Promise<readonly { signedMessage: Uint8Array; signature: Uint8Array }[]>;
}

interface ConnectFeature {
  connect(input?: { silent?: boolean }): Promise<{ accounts: readonly StandardAccount[] }>;
}

export interface StandardWallet {
  readonly name: string;
  readonly icon?: string;
  readonly accounts: readonly StandardAccount[];
  readonly features: Record<string, unknown>;
}

const REGISTER = "wallet-standard:register-wallet";
const APP_READY = "wallet-standard:app-ready";

function hasMethod<K extends string>(
  value: unknown,
  key: K,
): value is Record<K, (...args: never[]) => unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>)[key] === "function"
  );
}

/** A wallet that can take part in a sign-in: it can sign a message. */
export interface SigningWallet {
  readonly name: string;
  /** The wallet's first account, after asking it to connect where it has no account yet. */
  account(): Promise<StandardAccount>;
  signMessage(account: StandardAccount, message: Uint8Array): Promise<Uint8Array>;
}

function signingWallet(wallet: StandardWallet): SigningWallet | undefined {
  const sign = wallet.features["solana:signMessage"];
  if (!hasMethod(sign, "signMessage")) return undefined;
  const connect = wallet.features["standard:connect"];
  return {
    name: wallet.name,
    async account() {
      const known = wallet.accounts[0];
      if (known) return known;
      if (!hasMethod(connect, "connect")) throw new Error(`${wallet.name} has no account to sign with`);
      const { accounts } = await (connect as unknown as ConnectFeature).connect();
      const first = accounts[0];
      if (!first) throw new Error(`${wallet.name} gave no account`);
      return first;
    },
    async signMessage(account, message) {
      const [result] = await (sign as unknown as SignMessageFeature).signMessage({ account, message });
      if (!result) throw new Error(`${wallet.name} returned no signature`);
      return result.signature;
    },
  };
}

/** Listens for wallets; `onChange` gets the list each time one registers. Returns the unsubscribe. */
export function watchWallets(onChange: (wallets: SigningWallet[]) => void): () => void {
  const found: SigningWallet[] = [];
  const register = (...wallets: StandardWallet[]): (() => void) => {
    for (const wallet of wallets) {
      const usable = signingWallet(wallet);
      if (usable && !found.some((w) => w.name === usable.name)) found.push(usable);
    }
    onChange([...found]);
    return () => undefined;
  };
  const api = Object.freeze({ register });
  const onRegister = (event: Event): void => {
    const callback = (event as CustomEvent<unknown>).detail;
    if (typeof callback === "function") (callback as (a: typeof api) => void)(api);
  };
  window.addEventListener(REGISTER, onRegister);
  window.dispatchEvent(new CustomEvent(APP_READY, { detail: api }));
  return () => window.removeEventListener(REGISTER, onRegister);
}

export function base64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}
