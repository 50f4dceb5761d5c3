/**
 * `EthereumClient`: the {@link BlockchainClient} over JSON-RPC with ethers v6.
 *
 * - The chain id is checked once, at {@link EthereumClient.connect}; the
 *   provider then uses it as a static network (no background detection).
 * - Transient RPC failures (network errors, HTTP 429 / 5xx, `-32000 header
 *   not found`, rate limits) are retried with exponential backoff and jitter;
 *   reverts, funds and nonce problems never are.
 * - Nonces are assigned one at a time per sender (a promise-chain lock), from
 *   the node's pending count on first use, then locally; after `nonce too low`
 *   the client re-reads the pending count and signs again.
 * - Reverts are decoded with the contracts' ABIs into CHAIN_REVERTED.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { type Interface, JsonRpcProvider, keccak256, Network } from "ethers";
import {
  defaultErrorInterface,
  describeRpcError,
  errorInterface,
  isRevertError,
  isTransientError,
  revertDataOf,
  revertedError,
} from "./errors.js";
import type {
  Address,
  Block,
  BlockchainClient,
  BlockTag,
  ChainSigner,
  Hex,
  Log,
  LogFilter,
  SentTransaction,
  TransactionReceipt,
  TransactionRequest,
  UnsignedTransaction,
  WaitOptions,
} from "./types.js";

/** Backoff of the retries on transient RPC errors. */
export type RetryOptions = {
  /** Attempts in all (first try included); default 6. */
  readonly attempts?: number;
  /** Delay before the first retry, doubled each time; default 200 ms. */
  readonly baseDelayMs?: number;
  /** Longest delay between two attempts; default 5,000 ms. */
  readonly maxDelayMs?: number;
};

/** Options of {@link EthereumClient.connect}. */
export type EthereumClientOptions = {
  /** The JSON-RPC URL (http or https). */
  readonly rpcUrl: string;
  /** The expected chain id: CHAIN_WRONG_CHAIN when the node serves another. */
  readonly chainId?: bigint | number;
  readonly retry?: RetryOptions;
  /** Receipt poll interval; default 250 ms for a loopback URL, 2,000 ms otherwise. */
  readonly pollIntervalMs?: number;
  /** ABIs whose custom errors decode reverts; default: every ChaosCore contract. */
  readonly errorAbis?: readonly (readonly unknown[])[];
};

type RpcReceipt = {
  transactionHash: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  from: Address;
  to: Address | null;
  contractAddress: Address | null;
  status: Hex;
  gasUsed: Hex;
  effectiveGasPrice?: Hex;
  logs: RpcLog[];
};
type RpcLog = {
  address: Address;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: Hex;
};
type RpcBlock = {
  number: Hex;
  hash: Hex;
  parentHash: Hex;
  timestamp: Hex;
  baseFeePerGas?: Hex;
};

const DEFAULT_RETRY = { attempts: 6, baseDelayMs: 200, maxDelayMs: 5_000 } as const;

/**
 * The Ethereum adapter of {@link BlockchainClient}.
 *
 * @example
 * ```ts
 * const client = await EthereumClient.connect({ rpcUrl: "http://127.0.0.1:8545", chainId: 31337n });
 * const sent = await client.sendTransaction(signer, { to, data });
 * const receipt = await sent.wait({ confirmations: 2 });
 * ```
 */
export class EthereumClient implements BlockchainClient {
  readonly chainId: bigint;
  readonly rpcUrl: string;
  readonly #provider: JsonRpcProvider;
  readonly #retry: Required<RetryOptions>;
  readonly #pollIntervalMs: number;
  readonly #errors: Interface;
  readonly #nonces = new Map<string, { next: number | undefined; lock: Promise<void> }>();

  private constructor(
    rpcUrl: string,
    chainId: bigint,
    provider: JsonRpcProvider,
    options: EthereumClientOptions,
    errors: Interface,
  ) {
    this.rpcUrl = rpcUrl;
    this.chainId = chainId;
    this.#provider = provider;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#pollIntervalMs =
      options.pollIntervalMs ??
      (/\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(rpcUrl) ? 250 : 2_000);
    this.#errors = errors;
  }

  /**
   * Connects to a JSON-RPC endpoint and checks its chain id.
   * @throws ChaosCoreError CHAIN_RPC_UNREACHABLE when the endpoint does not answer (after retries);
   * CHAIN_WRONG_CHAIN when it serves another chain than `options.chainId`
   * (`details.expected`, `details.actual`); INVALID_INPUT for a malformed URL.
   */
  static async connect(options: EthereumClientOptions): Promise<EthereumClient> {
    const { rpcUrl } = options;
    if (typeof rpcUrl !== "string" || !/^https?:\/\/\S+$/.test(rpcUrl)) {
      throw new ChaosCoreError("INVALID_INPUT", "the RPC URL must be an http(s) URL", {
        details: { rpcUrl: String(rpcUrl) },
      });
    }
    const errors =
      options.errorAbis === undefined ? defaultErrorInterface() : errorInterface(options.errorAbis);
    // A first provider only to read the chain id; the real one gets it as its static network.
    const probe = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: Network.from(1n) });
    const probeClient = new EthereumClient(rpcUrl, 0n, probe, options, errors);
    let actual: bigint;
    try {
      actual = BigInt(await probeClient.request<Hex>("eth_chainId"));
    } finally {
      probe.destroy();
    }
    if (options.chainId !== undefined && BigInt(options.chainId) !== actual) {
      throw new ChaosCoreError(
        "CHAIN_WRONG_CHAIN",
        `the RPC endpoint serves chain ${actual}, not the expected chain ${options.chainId}`,
        {
          details: {
            expected: String(options.chainId),
            actual: String(actual),
            rpcUrl: redact(rpcUrl),
          },
        },
      );
    }
    const network = Network.from(actual);
    const provider = new JsonRpcProvider(rpcUrl, network, {
      staticNetwork: network,
      batchMaxCount: 1,
    });
    return new EthereumClient(rpcUrl, actual, provider, options, errors);
  }

  // ---- raw requests with retries ------------------------------------------------------------

  async request<T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#provider.send(method, [...params])) as T;
      } catch (e) {
        if (!isTransientError(e)) throw this.#translate(e, method);
        if (attempt >= attempts) {
          throw new ChaosCoreError(
            "CHAIN_RPC_UNREACHABLE",
            `the RPC endpoint failed ${attempts} times on ${method}: ${describeRpcError(e)}`,
            { details: { rpcUrl: redact(this.rpcUrl), method, attempts }, cause: e },
          );
        }
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  #translate(e: unknown, method: string): ChaosCoreError {
    if (isChaosCoreError(e)) return e;
    const raw = e as { code?: unknown };
    if (isRevertError(e))
      return revertedError(revertDataOf(e), { method }, { cause: e, iface: this.#errors });
    if (raw.code === "INSUFFICIENT_FUNDS") {
      return new ChaosCoreError(
        "CHAIN_INSUFFICIENT_FUNDS",
        "the account cannot pay for gas and value",
        {
          details: { method },
          cause: e,
        },
      );
    }
    if (raw.code === "NONCE_EXPIRED" || raw.code === "REPLACEMENT_UNDERPRICED") {
      return new ChaosCoreError(
        "CHAIN_TX_REJECTED",
        `the node refused the transaction: ${describeRpcError(e)}`,
        {
          details: { method, reason: raw.code === "NONCE_EXPIRED" ? "nonce" : "replacement" },
          cause: e,
        },
      );
    }
    if (method === "eth_sendRawTransaction") {
      return new ChaosCoreError(
        "CHAIN_TX_REJECTED",
        `the node refused the transaction: ${describeRpcError(e)}`,
        {
          details: { method, reason: describeRpcError(e) },
          cause: e,
        },
      );
    }
    return new ChaosCoreError("CHAIN_RPC_ERROR", `${method} failed: ${describeRpcError(e)}`, {
      details: { method, rpcError: describeRpcError(e) },
      cause: e,
    });
  }

  // ---- reads --------------------------------------------------------------------------------

  async getBlockNumber(): Promise<bigint> {
    return BigInt(await this.request<Hex>("eth_blockNumber"));
  }

  async getBlock(tag: BlockTag = "latest"): Promise<Block | undefined> {
    const b = await this.request<RpcBlock | null>("eth_getBlockByNumber", [toTag(tag), false]);
    if (b === null) return undefined;
    return {
      number: BigInt(b.number),
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: BigInt(b.timestamp),
      baseFeePerGas: b.baseFeePerGas === undefined ? null : BigInt(b.baseFeePerGas),
    };
  }

  async getBalance(address: Address, tag: BlockTag = "latest"): Promise<bigint> {
    return BigInt(await this.request<Hex>("eth_getBalance", [address, toTag(tag)]));
  }

  async getCode(address: Address, tag: BlockTag = "latest"): Promise<Hex> {
    return (await this.request<Hex>("eth_getCode", [address, toTag(tag)])).toLowerCase() as Hex;
  }

  async getTransactionCount(address: Address, tag: BlockTag = "latest"): Promise<number> {
    return Number(
      BigInt(await this.request<Hex>("eth_getTransactionCount", [address, toTag(tag)])),
    );
  }

  async call(
    tx: { to: Address; data: Hex; from?: Address; value?: bigint },
    tag: BlockTag = "latest",
  ): Promise<Hex> {
    return await this.request<Hex>("eth_call", [rpcTx(tx), toTag(tag)]);
  }

  async estimateGas(tx: TransactionRequest & { from: Address }): Promise<bigint> {
    return BigInt(await this.request<Hex>("eth_estimateGas", [rpcTx(tx)]));
  }

  async getTransactionReceipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    const r = await this.request<RpcReceipt | null>("eth_getTransactionReceipt", [hash]);
    return r === null ? undefined : toReceipt(r);
  }

  async getLogs(filter: LogFilter): Promise<Log[]> {
    const f: Record<string, unknown> = {};
    if (filter.address !== undefined) f.address = filter.address;
    if (filter.topics !== undefined) f.topics = filter.topics;
    if (filter.blockHash !== undefined) f.blockHash = filter.blockHash;
    else {
      f.fromBlock = toTag(filter.fromBlock ?? "earliest");
      f.toBlock = toTag(filter.toBlock ?? "latest");
    }
    return (await this.request<RpcLog[]>("eth_getLogs", [f])).map(toLog);
  }

  // ---- sending ------------------------------------------------------------------------------

  async sendTransaction(signer: ChainSigner, tx: TransactionRequest): Promise<SentTransaction> {
    const from = signer.address;
    const gasLimit =
      tx.gasLimit ??
      ((await this.estimateGas({ ...tx, from }).catch((e) => this.#enrich(e, from, tx))) * 12n) /
        10n +
        10_000n;
    const fees = await this.#fees(tx);
    return await this.#withNonceLock(from, async (state) => {
      for (let attempt = 0; ; attempt++) {
        if (state.next === undefined) state.next = await this.getTransactionCount(from, "pending");
        const request: UnsignedTransaction = {
          type: 2,
          chainId: this.chainId,
          nonce: state.next,
          to: tx.to ?? null,
          data: tx.data ?? "0x",
          value: tx.value ?? 0n,
          gasLimit,
          ...fees,
        };
        const raw = await signer.signTransaction(request);
        const hash = keccak256(raw) as Hex;
        try {
          await this.request("eth_sendRawTransaction", [raw]);
        } catch (e) {
          // A retried send may find its own transaction already in the pool or mined.
          if (await this.#isKnown(hash)) {
            state.next++;
            return this.#sent(hash, from, request);
          }
          if (
            isChaosCoreError(e, "CHAIN_TX_REJECTED") &&
            e.details?.reason === "nonce" &&
            attempt < 3
          ) {
            state.next = undefined;
            continue;
          }
          if (isChaosCoreError(e, "CHAIN_RPC_UNREACHABLE")) state.next = undefined;
          throw await this.#enrich(e, from, tx);
        }
        state.next++;
        return this.#sent(hash, from, request);
      }
    });
  }

  async waitForTransaction(hash: Hex, options: WaitOptions = {}): Promise<TransactionReceipt> {
    const confirmations = Math.max(1, options.confirmations ?? 1);
    const timeoutMs = options.timeoutMs ?? 120_000;
    const poll = options.pollIntervalMs ?? this.#pollIntervalMs;
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      try {
        const receipt = await this.getTransactionReceipt(hash);
        if (receipt !== undefined) {
          const head = await this.getBlockNumber();
          seen = Number(head - receipt.blockNumber + 1n);
          if (seen >= confirmations) {
            // Reorg check: the receipt's block must still be the canonical one at its height.
            const block = await this.getBlock(receipt.blockNumber);
            if (block?.hash === receipt.blockHash) {
              if (receipt.status === "reverted") throw await this.#minedRevert(receipt);
              return receipt;
            }
          }
        }
      } catch (e) {
        // While waiting, an unreachable node is retried until the deadline.
        if (!isChaosCoreError(e, "CHAIN_RPC_UNREACHABLE")) throw e;
      }
      if (Date.now() >= deadline) {
        throw new ChaosCoreError(
          "CHAIN_TIMEOUT",
          `transaction ${hash} has ${seen} of ${confirmations} confirmations after ${timeoutMs} ms`,
          { details: { hash, confirmations, seen, timeoutMs } },
        );
      }
      await sleep(Math.min(poll, Math.max(0, deadline - Date.now())));
    }
  }

  /**
   * Forgets the locally tracked nonce of `address` (of every sender when omitted): the next
   * send re-reads the node's pending count. Call it after a reorg dropped sent transactions,
   * or a gap would leave the next transactions stuck in the pool.
   */
  resetNonce(address?: Address): void {
    for (const [key, state] of this.#nonces) {
      if (address === undefined || key === address.toLowerCase()) state.next = undefined;
    }
  }

  close(): void {
    this.#provider.destroy();
  }

  /** A JSON view without internals. */
  toJSON(): { chainId: string; rpcUrl: string } {
    return { chainId: this.chainId.toString(), rpcUrl: redact(this.rpcUrl) };
  }

  // ---- internals ----------------------------------------------------------------------------

  #sent(hash: Hex, from: Address, request: UnsignedTransaction): SentTransaction {
    return {
      hash,
      from,
      nonce: request.nonce,
      request,
      wait: (options?: WaitOptions) => this.waitForTransaction(hash, options),
    };
  }

  async #isKnown(hash: Hex): Promise<boolean> {
    try {
      return (await this.request("eth_getTransactionByHash", [hash])) !== null;
    } catch {
      return false;
    }
  }

  async #fees(
    tx: TransactionRequest,
  ): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (tx.maxFeePerGas !== undefined && tx.maxPriorityFeePerGas !== undefined) {
      return { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
    }
    const [block, tip] = await Promise.all([
      this.getBlock("latest"),
      this.request<Hex>("eth_maxPriorityFeePerGas").then(BigInt, () => 1_000_000_000n),
    ]);
    const priority = tx.maxPriorityFeePerGas ?? tip;
    const base = block?.baseFeePerGas ?? 0n;
    return {
      maxFeePerGas: tx.maxFeePerGas ?? base * 2n + priority,
      maxPriorityFeePerGas: priority,
    };
  }

  /** Adds the sender (and its balance, for unfunded keys) to an error's details. */
  async #enrich(e: unknown, from: Address, tx: TransactionRequest): Promise<never> {
    if (isChaosCoreError(e, "CHAIN_INSUFFICIENT_FUNDS")) {
      const balance = await this.getBalance(from).catch(() => undefined);
      throw new ChaosCoreError(
        "CHAIN_INSUFFICIENT_FUNDS",
        `account ${from} cannot pay for the transaction (balance ${balance ?? "unknown"} wei)`,
        {
          details: { ...e.details, from, balance: balance?.toString(), to: tx.to ?? null },
          cause: e.cause,
        },
      );
    }
    if (isChaosCoreError(e)) {
      throw new ChaosCoreError(e.code, e.message, {
        details: { ...e.details, from, to: tx.to ?? null },
        cause: e.cause,
      });
    }
    throw e;
  }

  /** Replays a mined, reverted transaction as a call in its block's parent to get the reason. */
  async #minedRevert(receipt: TransactionReceipt): Promise<ChaosCoreError> {
    const context = { hash: receipt.transactionHash, blockNumber: receipt.blockNumber.toString() };
    try {
      const tx = await this.request<{
        from: Address;
        to: Address | null;
        input: Hex;
        value: Hex;
      } | null>("eth_getTransactionByHash", [receipt.transactionHash]);
      if (tx?.to) {
        await this.call(
          { to: tx.to, data: tx.input, from: tx.from, value: BigInt(tx.value) },
          receipt.blockNumber - 1n,
        );
      }
    } catch (e) {
      if (isChaosCoreError(e, "CHAIN_REVERTED")) {
        return new ChaosCoreError("CHAIN_REVERTED", `transaction ${e.message}`, {
          details: { ...e.details, ...context },
        });
      }
    }
    return revertedError(undefined, context, { iface: this.#errors });
  }

  async #withNonceLock<T>(
    from: Address,
    fn: (state: { next: number | undefined }) => Promise<T>,
  ): Promise<T> {
    const key = from.toLowerCase();
    let state = this.#nonces.get(key);
    if (state === undefined) {
      state = { next: undefined, lock: Promise.resolve() };
      this.#nonces.set(key, state);
    }
    const previous = state.lock;
    let release!: () => void;
    state.lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn(state);
    } finally {
      release();
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------------

/** The URL without credentials or query (API keys often live there). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? "/…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

function toTag(tag: BlockTag): string {
  return typeof tag === "bigint" ? `0x${tag.toString(16)}` : tag;
}

function hexQ(value: bigint): Hex {
  return `0x${value.toString(16)}`;
}

function rpcTx(tx: TransactionRequest & { from?: Address }): Record<string, string> {
  const out: Record<string, string> = {};
  if (tx.from !== undefined) out.from = tx.from;
  if (tx.to !== undefined) out.to = tx.to;
  if (tx.data !== undefined) out.data = tx.data;
  if (tx.value !== undefined && tx.value !== 0n) out.value = hexQ(tx.value);
  if (tx.gasLimit !== undefined) out.gas = hexQ(tx.gasLimit);
  return out;
}

function toLog(l: RpcLog): Log {
  return {
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: BigInt(l.blockNumber),
    blockHash: l.blockHash,
    transactionHash: l.transactionHash,
    logIndex: Number(BigInt(l.logIndex)),
  };
}

function toReceipt(r: RpcReceipt): TransactionReceipt {
  return {
    transactionHash: r.transactionHash,
    blockNumber: BigInt(r.blockNumber),
    blockHash: r.blockHash,
    from: r.from,
    to: r.to,
    contractAddress: r.contractAddress,
    status: BigInt(r.status) === 1n ? "success" : "reverted",
    gasUsed: BigInt(r.gasUsed),
    effectiveGasPrice: BigInt(r.effectiveGasPrice ?? "0x0"),
    logs: r.logs.map(toLog),
  };
}
