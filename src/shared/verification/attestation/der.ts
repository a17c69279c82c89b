import { AttestationFailure } from "./attestation-failure.js";

/**
 * A minimal DER reader: enough of X.690 to walk an X.509 certificate (definite lengths only, as DER
 * requires). Every read is bounds-checked; anything else is refused as `malformed_certificate`.
 */
export interface Tlv {
  tag: number;
  /** The whole element, header included (what a signature covers, for a TBSCertificate). */
  bytes: Uint8Array<ArrayBuffer>;
  /** The contents alone. */
  value: Uint8Array<ArrayBuffer>;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function malformed(message: string): AttestationFailure {
  return new AttestationFailure("malformed_certificate", message);
}

/** The element starting at `offset`; its end is `offset + result.bytes.length`. */
export function readTlv(data: Uint8Array<ArrayBuffer>, offset = 0): Tlv {
  if (offset + 2 > data.length) throw malformed("a DER element runs past its end");
  const tag = data[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) throw malformed("multi-byte DER tags are not used by certificates");
  let cursor = offset + 1;
  const first = data[cursor++] ?? 0;
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    // 0x80 is BER's indefinite length; more than 3 length bytes is 16 MiB, far past any certificate.
    if (count === 0 || count > 3) throw malformed("a DER length is indefinite or too large");
    if (cursor + count > data.length) throw malformed("a DER length runs past its end");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (data[cursor++] ?? 0);
  }
  const end = cursor + length;
  if (end > data.length) throw malformed("a DER element is longer than what holds it");
  return { tag, bytes: data.subarray(offset, end), value: data.subarray(cursor, end) };
}

/** The elements inside a constructed element, in order; the contents must be used up exactly. */
export function childrenOf(parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < parent.value.length) {
    const child = readTlv(parent.value, offset);
    out.push(child);
    offset += child.bytes.length;
  }
  return out;
}

/** `tlv`, which must be present with `tag` (else a failure naming `what`). */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw malformed(`expected ${what}`);
  return tlv;
}

/** An OID as dotted text ("1.2.840.10045.4.3.3"). */
export function oidText(tlv: Tlv): string {
  const bytes = tlv.value;
  if (bytes.length === 0) throw malformed("an empty OID");
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  // The first sub-identifier packs the first two arcs (X.690 8.19.4).
  const head = arcs[0] ?? 0;
  const top = Math.min(2, Math.floor(head / 40));
  return [top, head - top * 40, ...arcs.slice(1)].join(".");
}

/** UTCTime or GeneralizedTime, as milliseconds since the epoch (both always "Z" in DER). */
export function timeOf(tlv: Tlv): number {
  const text = new TextDecoder().decode(tlv.value);
  const match =
    tlv.tag === TAG.utcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : tlv.tag === TAG.generalizedTime
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null;
  if (!match) throw malformed(`an unreadable certificate time "${text.slice(0, 20)}"`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // RFC 5280: two-digit years 50–99 are 19xx, 00–49 are 20xx.
  const year = tlv.tag === TAG.utcTime ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  return Date.UTC(year, mo - 1, d, h, mi, s);
}
