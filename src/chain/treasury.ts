import { createKeyPairSignerFromBytes, type KeyPairSigner } from "@solana/kit";
import type { ChainConfig } from "./chain-config.js";

/**
 * The treasury's signer, from the Worker secret. It is the only key the control plane signs with;
 * nothing signs with a key that arrived in a request.
 */
export function treasurySigner(config: ChainConfig): Promise<KeyPairSigner> {
  return createKeyPairSignerFromBytes(config.treasurySecret);
}
