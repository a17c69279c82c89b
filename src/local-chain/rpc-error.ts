/** A JSON-RPC error with the codes Solana's RPC uses, answered as `{"jsonrpc","error":{code,message,data?},"id"}`. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }

  static invalidParams(message: string): RpcError {
    return new RpcError(-32602, message);
  }

  static methodNotFound(): RpcError {
    return new RpcError(-32601, "Method not found");
  }
}
