import { generateKeyPairSync } from "node:crypto";
import type { Page } from "playwright-core";
import { encodeBase58 } from "../../src/shared/base58.js";

export interface TestWalletKey {
  /** The wallet's Solana address: base58 of its raw ed25519 public key. */
  address: string;
  pkcs8: string;
  publicKey: string;
}

/** A fresh ed25519 key, as a Solana wallet holds one. */
export function testWalletKey(): TestWalletKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return {
    address: encodeBase58(raw),
    pkcs8: privateKey.export({ format: "der", type: "pkcs8" }).toString("base64"),
    publicKey: raw.toString("base64"),
  };
}

/**
 * Test only: a wallet registered in the page through the Wallet Standard's events, with the
 * `standard:connect` and `solana:signMessage` features a real extension offers, signing with
 * WebCrypto's Ed25519 in the page. What it was asked to sign is kept on `window.__signedMessages`.
 */
export async function installTestWallet(page: Page, key: TestWalletKey): Promise<void> {
  await page.addInitScript((k: TestWalletKey) => {
    const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const signed: string[] = [];
    (window as unknown as { __signedMessages: string[] }).__signedMessages = signed;
    const account = {
      address: k.address,
      publicKey: bytes(k.publicKey),
      chains: ["solana:localnet"],
      features: ["solana:signMessage"],
    };
    const privateKey = crypto.subtle.importKey("pkcs8", bytes(k.pkcs8), { name: "Ed25519" }, false, ["sign"]);
    const wallet = {
      version: "1.0.0",
      name: "Test Wallet",
      icon: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=",
      chains: ["solana:localnet"],
      accounts: [] as (typeof account)[],
      features: {
        "standard:connect": {
          version: "1.0.0",
          connect: async () => {
            wallet.accounts = [account];
            return { accounts: wallet.accounts };
          },
        },
        "solana:signMessage": {
          version: "1.0.0",
          signMessage: async (...inputs: { account: typeof account; message: Uint8Array }[]) =>
            Promise.all(
              inputs.map(async (input) => {
                signed.push(new TextDecoder().decode(input.message));
                const signature = await crypto.subtle.sign(
                  "Ed25519",
                  await privateKey,
                  new Uint8Array(input.message),
                );
                return { signedMessage: input.message, signature: new Uint8Array(signature) };
              }),
            ),
        },
      },
    };
    const callback = ({ register }: { register: (w: typeof wallet) => void }) => register(wallet);
    window.addEventListener("wallet-standard:app-ready", (event) =>
      callback((event as CustomEvent<{ register: (w: typeof wallet) => void }>).detail),
    );
    window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback }));
  }, key);
}
