import { fromBase64 } from "../bytes.js";
import { AttestationFailure } from "./attestation-failure.js";
import { childrenOf, expectTag, oidText, readTlv, TAG, type Tlv, timeOf } from "./der.js";

/**
 * What the verifier needs of an X.509 certificate (RFC 5280), read with der.ts: the signed bytes
 * and their signature, the names (as DER, compared byte for byte, and their common name and serial
 * number attributes), validity, the public key and the CA flag. Nothing is trusted by parsing
 * alone: cert-chain.ts checks the signatures.
 */
export interface Certificate {
  /** The whole certificate, DER. */
  der: Uint8Array<ArrayBuffer>;
  /** The TBSCertificate element: what the issuer signed. */
  tbs: Uint8Array<ArrayBuffer>;
  signatureAlgorithm: string;
  /** The signature value (for ECDSA, the DER SEQUENCE { r, s }). */
  signature: Uint8Array<ArrayBuffer>;
  issuer: Uint8Array<ArrayBuffer>;
  subject: Uint8Array<ArrayBuffer>;
  subjectCommonName: string | undefined;
  /** The subject's serialNumber attribute (2.5.4.5): NVIDIA puts the device's identity there. */
  subjectSerialNumber: string | undefined;
  notBefore: number;
  notAfter: number;
  /** The SubjectPublicKeyInfo element, DER (what WebCrypto imports as "spki"). */
  spki: Uint8Array<ArrayBuffer>;
  /** The key's algorithm and its parameters (the named curve, for EC keys). */
  keyAlgorithm: string;
  keyParameters: string | undefined;
  /** basicConstraints cA; false when the extension is absent. */
  isCa: boolean;
}

export const OID = {
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecPublicKey: "1.2.840.10045.2.1",
  secp384r1: "1.3.132.0.34",
  commonName: "2.5.4.3",
  serialNumber: "2.5.4.5",
  basicConstraints: "2.5.29.19",
} as const;

function malformed(message: string): AttestationFailure {
  return new AttestationFailure("malformed_certificate", message);
}

/** The certificates of a PEM bundle, in order (NVIDIA's chains: leaf first, root last). */
export function parsePemChain(pem: string): Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => {
    const body = block
      .replace("-----BEGIN CERTIFICATE-----", "")
      .replace("-----END CERTIFICATE-----", "")
      .replace(/\s+/g, "");
    const der = fromBase64(body);
    if (!der) throw malformed("a PEM certificate is not base64");
    return parseCertificate(der);
  });
}

export function parseCertificate(der: Uint8Array<ArrayBuffer>): Certificate {
  const whole = expectTag(readTlv(der), TAG.sequence, "a certificate SEQUENCE");
  if (whole.bytes.length !== der.length) throw malformed("bytes follow the certificate");
  const [tbs, algorithm, signature] = childrenOf(whole);
  const tbsTlv = expectTag(tbs, TAG.sequence, "a TBSCertificate");
  const signatureAlgorithm = oidText(
    expectTag(childrenOf(expectTag(algorithm, TAG.sequence, "an AlgorithmIdentifier"))[0], TAG.oid, "an OID"),
  );
  const signatureBits = expectTag(signature, TAG.bitString, "a signature BIT STRING");
  if (signatureBits.value[0] !== 0) throw malformed("a signature with unused bits");

  const fields = childrenOf(tbsTlv);
  // version [0] EXPLICIT is optional (v1 certificates have none).
  const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [, , issuer, validity, subject, spki, ...optional] = rest;
  const issuerTlv = expectTag(issuer, TAG.sequence, "an issuer Name");
  const subjectTlv = expectTag(subject, TAG.sequence, "a subject Name");
  const [notBefore, notAfter] = childrenOf(expectTag(validity, TAG.sequence, "a Validity"));
  if (!notBefore || !notAfter) throw malformed("a Validity without two times");
  const spkiTlv = expectTag(spki, TAG.sequence, "a SubjectPublicKeyInfo");
  const keyAlgorithmTlv = expectTag(childrenOf(spkiTlv)[0], TAG.sequence, "a key AlgorithmIdentifier");
  const [keyOid, keyParams] = childrenOf(keyAlgorithmTlv);
  const extensions = optional.find((tlv) => tlv.tag === 0xa3);
  return {
    der,
    tbs: tbsTlv.bytes,
    signatureAlgorithm,
    signature: signatureBits.value.subarray(1),
    issuer: issuerTlv.bytes,
    subject: subjectTlv.bytes,
    subjectCommonName: attributeOf(subjectTlv, OID.commonName),
    subjectSerialNumber: attributeOf(subjectTlv, OID.serialNumber),
    notBefore: timeOf(notBefore),
    notAfter: timeOf(notAfter),
    spki: spkiTlv.bytes,
    keyAlgorithm: oidText(expectTag(keyOid, TAG.oid, "a key algorithm OID")),
    keyParameters: keyParams?.tag === TAG.oid ? oidText(keyParams) : undefined,
    isCa: extensions ? caFlagOf(extensions) : false,
  };
}

/** The first value of an attribute in a Name (RDNSequence), as text. */
function attributeOf(name: Tlv, oid: string): string | undefined {
  for (const rdn of childrenOf(name)) {
    for (const pair of childrenOf(rdn)) {
      const [type, value] = childrenOf(pair);
      if (type?.tag === TAG.oid && value && oidText(type) === oid)
        return new TextDecoder().decode(value.value);
    }
  }
  return undefined;
}

function caFlagOf(explicit: Tlv): boolean {
  const list = expectTag(childrenOf(explicit)[0], TAG.sequence, "an Extensions SEQUENCE");
  for (const extension of childrenOf(list)) {
    const parts = childrenOf(extension);
    const id = parts[0];
    if (id?.tag !== TAG.oid || oidText(id) !== OID.basicConstraints) continue;
    const octets = expectTag(parts[parts.length - 1], TAG.octetString, "an extension value");
    const constraints = childrenOf(expectTag(readTlv(octets.value), TAG.sequence, "BasicConstraints"));
    const flag = constraints[0];
    return flag?.tag === TAG.boolean && flag.value[0] !== 0;
  }
  return false;
}

/** An ECDSA DER signature as WebCrypto's raw r ‖ s, each `size` bytes. */
export function ecdsaRawSignature(der: Uint8Array<ArrayBuffer>, size: number): Uint8Array<ArrayBuffer> {
  const sequence = expectTag(readTlv(der), TAG.sequence, "an ECDSA signature SEQUENCE");
  const [r, s] = childrenOf(sequence);
  const out = new Uint8Array(size * 2);
  for (const [index, integer] of [r, s].entries()) {
    const value = expectTag(integer, TAG.integer, "an ECDSA signature INTEGER").value;
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const digits = value.subarray(start);
    if (digits.length > size) throw malformed("an ECDSA signature component is too long");
    out.set(digits, index * size + size - digits.length);
  }
  return out;
}
