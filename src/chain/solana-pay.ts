import qrcode from "qrcode-generator";

export interface TransferRequest {
  recipient: string;
  /** Whole tokens, decimal ("12.5"), as Solana Pay's `amount` is. */
  amount: string;
  splToken: string;
  reference: string;
  label: string;
  message: string;
  memo: string;
}

/** A Solana Pay transfer request URL: `solana:<recipient>?amount=…&spl-token=…&reference=…&label=…&message=…&memo=…`. */
export function transferRequestUrl(request: TransferRequest): string {
  const params = new URLSearchParams();
  params.set("amount", request.amount);
  params.set("spl-token", request.splToken);
  params.set("reference", request.reference);
  params.set("label", request.label);
  params.set("message", request.message);
  params.set("memo", request.memo);
  // URLSearchParams writes spaces as "+"; Solana Pay URLs are percent-encoded (RFC 3986).
  return `solana:${request.recipient}?${params.toString().replace(/\+/g, "%20")}`;
}

/** The URL as an SVG QR code (error correction M, as wallets scan from screens). */
export function qrCodeSvg(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  return qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
}
