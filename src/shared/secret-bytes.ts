/**
 * The bytes of a Worker secret given as text: hex (64+ digits, an even count) or base64 (standard
 * or URL-safe). Undefined when it is unset, blank or neither; each caller says what it needs (its
 * keys want 32+ bytes) and answers for itself when the secret falls short.
 */
export function secretBytes(raw: unknown): Uint8Array | undefined {
  const text = typeof raw === "string" ? raw.trim() : "";
  if (text === "") return undefined;
  if (/^[0-9a-f]{64,}$/i.test(text)) {
    if (text.length % 2 !== 0) return undefined;
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  try {
    return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}
