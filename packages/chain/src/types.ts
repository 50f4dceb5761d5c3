/**
 * Chain-neutral types of the `BlockchainClient` port: what the anchoring,
 * receipts and rewards code depends on, whatever the node or library.
 *
 * @module
 */

/** A 0x-prefixed hex string (addresses checksummed or not, data lowercase). */
export type Hex = `0x${string}`;
/** A 20-byte account or contract address. */
export type Address = `0x${string}`;
/** A block number, or a named block. */
export type BlockTag = bigint | "latest" | "pending" | "safe" | "finalized" | "earliest";

/** What a caller asks to send; fees and gas are filled in when absent. */
export type TransactionRequest = {
  /** The recipient; absent for a contract creation. */
  readonly to?: Address;
  readonly data?: Hex;
  readonly value?: bigint;
  /** Defaults to the node's estimate plus 20%. */
  readonly gasLimit?: bigint;
  /** EIP-1559 fees; default: 2 × the latest base fee + the priority fee, and `eth_maxPriorityFeePerGas`. */
  readonly maxFeePerGas?: bigint;
  readonly maxPriorityFeePerGas?: bigint;
};

/** A fully specified EIP-1559 (type 2) transaction, ready to sign. */
export type UnsignedTransaction = {
  readonly type: 2;
  readonly chainId: bigint;
  readonly nonce: number;
  readonly to: Address | null;
  readonly data: Hex;
  readonly value: bigint;
  readonly gasLimit: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
};

/** EIP-712 typed data, as ethers and wallets take it. */
export type TypedDataDomain = {
  readonly name?: string;
  readonly version?: string;
  readonly chainId?: bigint;
  readonly verifyingContract?: Address;
  readonly salt?: Hex;
};
export type TypedDataTypes = Record<
  string,
  readonly { readonly name: string; readonly type: string }[]
>;

/**
 * Something that signs for one address. Implementations must never expose the
 * key (in particular not through `toJSON` or `util.inspect`).
 */
export interface ChainSigner {
  readonly address: Address;
  /** Signs and serializes the transaction (EIP-2718 envelope, hex). */
  signTransaction(tx: UnsignedTransaction): Promise<Hex>;
  /** Signs EIP-712 typed data; returns r‖s‖v (65 bytes, hex). */
  signTypedData(
    domain: TypedDataDomain,
    types: TypedDataTypes,
    value: Record<string, unknown>,
  ): Promise<Hex>;
}

/** A log (event) as read from a receipt or `eth_getLogs`. */
export type Log = {
  readonly address: Address;
  readonly topics: readonly Hex[];
  readonly data: Hex;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly transactionHash: Hex;
  readonly logIndex: number;
};

/** A mined transaction's receipt. */
export type TransactionReceipt = {
  readonly transactionHash: Hex;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
  readonly from: Address;
  readonly to: Address | null;
  readonly contractAddress: Address | null;
  readonly status: "success" | "reverted";
  readonly gasUsed: bigint;
  readonly effectiveGasPrice: bigint;
  readonly logs: readonly Log[];
};

/** A block header, reduced to what anchoring needs. */
export type Block = {
  readonly number: bigint;
  readonly hash: Hex;
  readonly parentHash: Hex;
  readonly timestamp: bigint;
  readonly baseFeePerGas: bigint | null;
};

/** How long and how deep to wait for a transaction. */
export type WaitOptions = {
  /** Blocks on top of (and including) the transaction's block; default 1. */
  readonly confirmations?: number;
  /** Default 120,000 ms. */
  readonly timeoutMs?: number;
  /** Default: the client's poll interval. */
  readonly pollIntervalMs?: number;
};

/** A transaction accepted by the node (in its mempool or already mined). */
export type SentTransaction = {
  readonly hash: Hex;
  readonly from: Address;
  readonly nonce: number;
  /** The transaction as signed (persist `hash` before waiting, to find it again after a crash). */
  readonly request: UnsignedTransaction;
  /**
   * Waits for the receipt with N confirmations.
   * @throws ChaosCoreError CHAIN_TIMEOUT, CHAIN_REVERTED (the transaction was mined but reverted).
   */
  wait(options?: WaitOptions): Promise<TransactionReceipt>;
};

/** A filter for `getLogs`. */
export type LogFilter = {
  readonly address?: Address | readonly Address[];
  /** Topic filters by position; `null` matches anything, an array any of its values. */
  readonly topics?: readonly (Hex | readonly Hex[] | null)[];
  readonly fromBlock?: BlockTag;
  readonly toBlock?: BlockTag;
  readonly blockHash?: Hex;
};

/**
 * The port through which ChaosCore talks to an EVM chain. {@link EthereumClient}
 * implements it over JSON-RPC with ethers v6. Every method fails with a
 * `ChaosCoreError` of the chain group (see docs/errors.md).
 */
export interface BlockchainClient {
  /** The chain id, checked against the node when the client was created. */
  readonly chainId: bigint;
  getBlockNumber(): Promise<bigint>;
  /** The block, or `undefined` if the node does not have it. */
  getBlock(tag?: BlockTag): Promise<Block | undefined>;
  getBalance(address: Address, tag?: BlockTag): Promise<bigint>;
  /** The runtime code at an address (`0x` when none). */
  getCode(address: Address, tag?: BlockTag): Promise<Hex>;
  getTransactionCount(address: Address, tag?: BlockTag): Promise<number>;
  /**
   * `eth_call`.
   * @throws ChaosCoreError CHAIN_REVERTED with the decoded error.
   */
  call(
    tx: { to: Address; data: Hex; from?: Address; value?: bigint },
    tag?: BlockTag,
  ): Promise<Hex>;
  /**
   * `eth_estimateGas`.
   * @throws ChaosCoreError CHAIN_REVERTED with the decoded error, CHAIN_INSUFFICIENT_FUNDS.
   */
  estimateGas(tx: TransactionRequest & { from: Address }): Promise<bigint>;
  /**
   * Fills in nonce, gas and EIP-1559 fees, signs with `signer` and sends.
   * Safe under concurrent calls: nonces are assigned one at a time per sender.
   * @throws ChaosCoreError CHAIN_REVERTED (the estimate reverts), CHAIN_INSUFFICIENT_FUNDS,
   * CHAIN_TX_REJECTED, CHAIN_RPC_UNREACHABLE.
   */
  sendTransaction(signer: ChainSigner, tx: TransactionRequest): Promise<SentTransaction>;
  /** The receipt, or `undefined` while the transaction is not mined. */
  getTransactionReceipt(hash: Hex): Promise<TransactionReceipt | undefined>;
  /**
   * Waits until the transaction has N confirmations and its block is still canonical.
   * @throws ChaosCoreError CHAIN_TIMEOUT, CHAIN_REVERTED.
   */
  waitForTransaction(hash: Hex, options?: WaitOptions): Promise<TransactionReceipt>;
  getLogs(filter: LogFilter): Promise<Log[]>;
  /** A raw JSON-RPC request (e.g. `evm_snapshot`, `anvil_mine`), with the same retries and errors. */
  request<T = unknown>(method: string, params?: readonly unknown[]): Promise<T>;
  /** Forgets locally tracked nonces (after a reorg dropped sent transactions); optional. */
  resetNonce?(address?: Address): void;
  /** Releases the connection. */
  close(): void;
}
