import { FailedTransactionMetadata, type TransactionMetadata } from "litesvm";

/**
 * Solana's TransactionError and InstructionError in the JSON the RPC returns (serde's externally
 * tagged enums): a unit variant is its name, a data variant an object of one key. litesvm only
 * exposes the variants as numbers (const enums with no runtime object), so the names are listed here
 * in the runtime's declaration order.
 */
export type TxErrorJson = string | { [variant: string]: unknown };

const TRANSACTION_ERRORS = [
  "AccountInUse",
  "AccountLoadedTwice",
  "AccountNotFound",
  "ProgramAccountNotFound",
  "InsufficientFundsForFee",
  "InvalidAccountForFee",
  "AlreadyProcessed",
  "BlockhashNotFound",
  "CallChainTooDeep",
  "MissingSignatureForFee",
  "InvalidAccountIndex",
  "SignatureFailure",
  "InvalidProgramForExecution",
  "SanitizeFailure",
  "ClusterMaintenance",
  "AccountBorrowOutstanding",
  "WouldExceedMaxBlockCostLimit",
  "UnsupportedVersion",
  "InvalidWritableAccount",
  "WouldExceedMaxAccountCostLimit",
  "WouldExceedAccountDataBlockLimit",
  "TooManyAccountLocks",
  "AddressLookupTableNotFound",
  "InvalidAddressLookupTableOwner",
  "InvalidAddressLookupTableData",
  "InvalidAddressLookupTableIndex",
  "InvalidRentPayingAccount",
  "WouldExceedMaxVoteCostLimit",
  "WouldExceedAccountDataTotalLimit",
  "MaxLoadedAccountsDataSizeExceeded",
  "ResanitizationNeeded",
  "InvalidLoadedAccountsDataSizeLimit",
  "UnbalancedTransaction",
  "ProgramCacheHitMaxLimit",
  "CommitCancelled",
] as const;

const INSTRUCTION_ERRORS = [
  "GenericError",
  "InvalidArgument",
  "InvalidInstructionData",
  "InvalidAccountData",
  "AccountDataTooSmall",
  "InsufficientFunds",
  "IncorrectProgramId",
  "MissingRequiredSignature",
  "AccountAlreadyInitialized",
  "UninitializedAccount",
  "UnbalancedInstruction",
  "ModifiedProgramId",
  "ExternalAccountLamportSpend",
  "ExternalAccountDataModified",
  "ReadonlyLamportChange",
  "ReadonlyDataModified",
  "DuplicateAccountIndex",
  "ExecutableModified",
  "RentEpochModified",
  "NotEnoughAccountKeys",
  "AccountDataSizeChanged",
  "AccountNotExecutable",
  "AccountBorrowFailed",
  "AccountBorrowOutstanding",
  "DuplicateAccountOutOfSync",
  "InvalidError",
  "ExecutableDataModified",
  "ExecutableLamportChange",
  "ExecutableAccountNotRentExempt",
  "UnsupportedProgramId",
  "CallDepth",
  "MissingAccount",
  "ReentrancyNotAllowed",
  "MaxSeedLengthExceeded",
  "InvalidSeeds",
  "InvalidRealloc",
  "ComputationalBudgetExceeded",
  "PrivilegeEscalation",
  "ProgramEnvironmentSetupFailure",
  "ProgramFailedToComplete",
  "ProgramFailedToCompile",
  "Immutable",
  "IncorrectAuthority",
  "AccountNotRentExempt",
  "InvalidAccountOwner",
  "ArithmeticOverflow",
  "UnsupportedSysvar",
  "IllegalOwner",
  "MaxAccountsDataAllocationsExceeded",
  "MaxAccountsExceeded",
  "MaxInstructionTraceLengthExceeded",
  "BuiltinProgramsMustConsumeComputeUnits",
] as const;

function hasNumber(value: unknown, key: string): value is Record<string, number> {
  return typeof value === "object" && value !== null && typeof Reflect.get(value, key) === "number";
}

function instructionErrorJson(error: unknown): TxErrorJson {
  if (typeof error === "number") return INSTRUCTION_ERRORS[error] ?? "GenericError";
  if (error && typeof error === "object" && error.constructor.name === "InstructionErrorCustom") {
    return { Custom: Reflect.get(error, "code") };
  }
  if (error && typeof error === "object" && error.constructor.name === "InstructionErrorBorshIo") {
    return { BorshIoError: Reflect.get(error, "msg") };
  }
  return "GenericError";
}

/** The JSON form of a failed transaction's error, as `meta.err` and `getSignatureStatuses` show it. */
export function transactionErrorJson(error: unknown): TxErrorJson {
  if (typeof error === "number") return TRANSACTION_ERRORS[error] ?? "SanitizeFailure";
  const name = error && typeof error === "object" ? error.constructor.name : "";
  if (name === "TransactionErrorInstructionError" && hasNumber(error, "index")) {
    const inner = (error as unknown as { err(): unknown }).err();
    return { InstructionError: [error.index, instructionErrorJson(inner)] };
  }
  if (name === "TransactionErrorDuplicateInstruction" && hasNumber(error, "index")) {
    return { DuplicateInstruction: error.index };
  }
  if (name === "TransactionErrorInsufficientFundsForRent" && hasNumber(error, "accountIndex")) {
    return { InsufficientFundsForRent: { account_index: error.accountIndex } };
  }
  if (name === "TransactionErrorProgramExecutionTemporarilyRestricted" && hasNumber(error, "accountIndex")) {
    return { ProgramExecutionTemporarilyRestricted: { account_index: error.accountIndex } };
  }
  return "SanitizeFailure";
}

/** Errors after which a cluster would still include the transaction (fee charged, state rolled back). */
export function landsWithError(error: TxErrorJson): boolean {
  return typeof error === "object" && ("InstructionError" in error || "InsufficientFundsForRent" in error);
}

export type ExecutionResult =
  | { ok: true; meta: TransactionMetadata }
  | { ok: false; meta: TransactionMetadata; err: TxErrorJson };

export function executionResult(result: TransactionMetadata | FailedTransactionMetadata): ExecutionResult {
  if (result instanceof FailedTransactionMetadata) {
    return { ok: false, meta: result.meta(), err: transactionErrorJson(result.err()) };
  }
  return { ok: true, meta: result };
}

/** The Display strings of the errors a client is most likely to see (solana-sdk's wording). */
const DISPLAY: Record<string, string> = {
  BlockhashNotFound: "Blockhash not found",
  AlreadyProcessed: "This transaction has already been processed",
  AccountNotFound: "Attempt to debit an account but found no record of a prior credit.",
  InsufficientFundsForFee: "Insufficient funds for fee",
  SignatureFailure: "Transaction did not pass signature verification",
};

/** The message Solana's RPC puts on a preflight failure, e.g. "Error processing Instruction 0: custom program error: 0x1". */
export function describeTxError(error: TxErrorJson): string {
  if (typeof error === "string") return DISPLAY[error] ?? error.replace(/([a-z])([A-Z])/g, "$1 $2");
  const instruction = error.InstructionError;
  if (Array.isArray(instruction)) {
    const [index, inner] = instruction as [number, TxErrorJson];
    const detail =
      typeof inner === "object" && typeof inner.Custom === "number"
        ? `custom program error: 0x${inner.Custom.toString(16)}`
        : String(inner);
    return `Error processing Instruction ${index}: ${detail}`;
  }
  return JSON.stringify(error);
}
