// The pool resolves @solana/kit's browser build, which refuses WebCrypto unless the browser-only
// `isSecureContext` flag is set; wrangler's bundle takes kit's `workerd` export (its node build),
// which has no such check. Same WebCrypto underneath, so the tests declare the context secure.
const scope = globalThis as { isSecureContext?: boolean };
scope.isSecureContext ??= true;
