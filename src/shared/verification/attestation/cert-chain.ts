import { AttestationFailure } from "./attestation-failure.js";
import { type Certificate, ecdsaRawSignature, OID, parsePemChain } from "./x509.js";

/** The most certificates a GPU chain may hold (NVIDIA's have 5: leaf, device, two CAs, root). */
export const MAX_CHAIN_LENGTH = 8;

const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;

/** A P-384 public key from a certificate; anything else is not a GPU device key. */
export async function importP384(cert: Certificate): Promise<CryptoKey> {
  if (cert.keyAlgorithm !== OID.ecPublicKey || cert.keyParameters !== OID.secp384r1) {
    throw new AttestationFailure(
      "bad_chain",
      `certificate "${cert.subjectCommonName ?? "?"}" does not hold a P-384 key`,
    );
  }
  return crypto.subtle.importKey("spki", cert.spki, P384, false, ["verify"]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks a PEM chain, leaf first, against the pinned roots: it must end in one of them (byte for
 * byte), each certificate must be issued and signed (ECDSA P-384, SHA-384) by the next, every
 * issuer must be a CA, and all must be valid at `now`. Returns the certificates, leaf first.
 * Revocation (NVIDIA's OCSP service) is not checked: the region makes no outside calls to judge.
 */
export async function verifyChain(
  pem: string,
  roots: readonly string[],
  now: number,
): Promise<Certificate[]> {
  const chain = parsePemChain(pem);
  if (chain.length < 2 || chain.length > MAX_CHAIN_LENGTH) {
    throw new AttestationFailure(
      "bad_chain",
      `the certificate chain holds ${chain.length} certificates (2 to ${MAX_CHAIN_LENGTH} expected)`,
    );
  }
  const root = chain[chain.length - 1] as Certificate;
  const pinned = roots.flatMap(parsePemChain);
  if (!pinned.some((candidate) => sameBytes(candidate.der, root.der))) {
    throw new AttestationFailure(
      "untrusted_root",
      `the chain ends in "${root.subjectCommonName ?? "?"}", not a pinned NVIDIA device identity root`,
    );
  }
  for (const [index, cert] of chain.entries()) {
    if (now < cert.notBefore || now > cert.notAfter) {
      throw new AttestationFailure(
        "certificate_expired",
        `certificate ${index} ("${cert.subjectCommonName ?? "?"}") is not valid at ${new Date(now).toISOString()}`,
      );
    }
    // The root signs itself; it is trusted by being pinned, so its self-signature proves nothing more.
    const issuer = chain[index + 1];
    if (!issuer) continue;
    const name = `certificate ${index} ("${cert.subjectCommonName ?? "?"}")`;
    if (!sameBytes(cert.issuer, issuer.subject))
      throw new AttestationFailure("bad_chain", `${name} is not issued by the next one`);
    if (!issuer.isCa) throw new AttestationFailure("bad_chain", `${name}'s issuer is not a CA`);
    if (cert.signatureAlgorithm !== OID.ecdsaWithSha384) {
      throw new AttestationFailure("bad_chain", `${name} is not signed with ECDSA SHA-384`);
    }
    const key = await importP384(issuer);
    const signature = ecdsaRawSignature(cert.signature, 48);
    const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, signature, cert.tbs);
    if (!valid)
      throw new AttestationFailure("bad_chain", `${name}'s signature does not verify with its issuer's key`);
  }
  return chain;
}
