import { fromBase64, KEY_VERSION, keyEncryptionKey, toBase64 } from "./worker-keys.js";

/** A sealed secret as stored: nothing in it reveals the value without the Worker's key. */
export interface SealedSecret {
  ciphertext: string;
  iv: string;
  wrappedKey: string;
  wrapIv: string;
  keyVersion: number;
}

const encoder = new TextEncoder();

/** Binds a ciphertext to its owner and name: a row copied to another account or name fails to open. */
function additionalData(accountId: string, name: string): Uint8Array {
  return encoder.encode(`meridian-secret\u0000${accountId}\u0000${name}`);
}

/**
 * Envelope encryption: a fresh AES-256-GCM data key per value seals the value; the Worker's
 * key-encryption key (derived from SECRETS_KEY) seals the data key.
 */
export async function sealSecret(
  env: Env,
  accountId: string,
  name: string,
  value: string,
): Promise<SealedSecret> {
  const aad = additionalData(accountId, name);
  const dataKeyBytes = crypto.getRandomValues(new Uint8Array(32));
  const dataKey = await crypto.subtle.importKey("raw", dataKeyBytes, "AES-GCM", false, ["encrypt"]);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad },
    dataKey,
    encoder.encode(value),
  );
  const wrapIv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: wrapIv, additionalData: aad },
    await keyEncryptionKey(env),
    dataKeyBytes,
  );
  dataKeyBytes.fill(0);
  return {
    ciphertext: toBase64(new Uint8Array(ciphertext)),
    iv: toBase64(iv),
    wrappedKey: toBase64(new Uint8Array(wrapped)),
    wrapIv: toBase64(wrapIv),
    keyVersion: KEY_VERSION,
  };
}

export async function openSecret(
  env: Env,
  accountId: string,
  name: string,
  sealed: SealedSecret,
): Promise<string> {
  const aad = additionalData(accountId, name);
  const dataKeyBytes = new Uint8Array(
    await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(sealed.wrapIv), additionalData: aad },
      await keyEncryptionKey(env),
      fromBase64(sealed.wrappedKey),
    ),
  );
  const dataKey = await crypto.subtle.importKey("raw", dataKeyBytes, "AES-GCM", false, ["decrypt"]);
  dataKeyBytes.fill(0);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: aad },
    dataKey,
    fromBase64(sealed.ciphertext),
  );
  return new TextDecoder().decode(plain);
}
