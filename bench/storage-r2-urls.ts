/**
 * Storage URLs for the Worker's R2 route (`/v1/storage/r2/:token`), signed in Node as the Worker
 * signs them (src/worker/storage/signed-url.ts: HKDF-SHA256 of SECRETS_KEY for the URL-signing
 * purpose, HMAC over the base64url grant). The bench cannot import the Worker's module (it is
 * typed against the Worker's Env); if the two drift, the Worker refuses these URLs with 403 and
 * the bench fails, so a drift cannot pass unnoticed.
 */
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

export class R2Urls {
  private key: Promise<CryptoKey> | undefined;

  constructor(
    private readonly origin: string,
    private readonly secretsKeyHex: string,
  ) {}

  putUrl(key: string, max: number): Promise<string> {
    return this.url({ op: "put", key, exp: Date.now() + 3_600_000, max });
  }

  getUrl(key: string): Promise<string> {
    return this.url({ op: "get", key, exp: Date.now() + 3_600_000 });
  }

  private async url(grant: object): Promise<string> {
    const payload = base64url(encoder.encode(JSON.stringify(grant)));
    const mac = await crypto.subtle.sign("HMAC", await this.signingKey(), encoder.encode(payload));
    return `${this.origin}/v1/storage/r2/${payload}.${base64url(new Uint8Array(mac))}`;
  }

  private signingKey(): Promise<CryptoKey> {
    this.key ??= (async () => {
      const root = await crypto.subtle.importKey(
        "raw",
        Buffer.from(this.secretsKeyHex, "hex"),
        "HKDF",
        false,
        ["deriveKey"],
      );
      return crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: encoder.encode("meridian"),
          info: encoder.encode("storage/url-signing/v1"),
        },
        root,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    return this.key;
  }
}
