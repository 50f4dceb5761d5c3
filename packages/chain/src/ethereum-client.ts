/**
 * `EthereumClient`: the {@link BlockchainClient} over JSON-RPC with ethers v6.
 *
 * What is ethers' (docs/architecture.md, "Chain code: what is ethers', what is ours"):
 * the JSON-RPC transport (without its own 429 retry: one bounded retry policy, ours),
 * the parsing and checking of its answers (blocks, receipts, logs), the error
 * classification of node answers, EIP-1559 fees (`getFeeData`), the per-sender
 * nonce count (`NonceManager`), signing (`Wallet`).
 * What is ours, and why:
 * - retries: ethers retries only HTTP 429 (12 times, for minutes); a refused connection (a node
 *   restarting) or `-32000 header not found` (a load-balanced node behind) is
 *   retried here with exponential backoff and jitter; reverts, funds and nonce
 *   problems never are;
 * - one send at a time per sender (a promise-chain lock around the
 *   NonceManager): a nonce is used up only when the node accepted the
 *   transaction, so a failed send leaves no gap that would hold every later
 *   transaction in the pool; after `nonce too low` the count is re-read;
 * - waiting by hash (a job resumes after a crash with only the hash) with N
 *   confirmations, the receipt's block checked to be canonical, a mined revert
 *   decoded, an outage tolerated until the deadline;
 * - errors as coded ChaosCoreErrors, reverts decoded with the contracts' ABIs.
 * The chain id is checked once, at {@link EthereumClient.connect}; the provider
 * then uses it as a static network (no background detection, no cache).
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import {
  type Block as EthersBlock,
  type Log as EthersLog,
  type TransactionReceipt as EthersReceipt,
  type TransactionRequest as EthersTransactionRequest,
  FetchRequest,
  type Interface,
  JsonRpcProvider,
  keccak256,
  Network,
  NonceManager,
  VoidSigner,
} from "ethers";
import {
  defaultErrorInterface,
  describeRpcError,
  errorInterface,
  isTransientError,
  revertedError,
  translateRpcError,
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
  readonly #senders = new Map<string, { nonces: NonceManager; lock: Promise<void> }>();

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
    const probe = new JsonRpcProvider(transport(rpcUrl), undefined, {
      staticNetwork: Network.from(1n),
    });
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
    const provider = new JsonRpcProvider(transport(rpcUrl), network, {
      staticNetwork: network,
      batchMaxCount: 1,
      // No 250 ms answer cache: a block number read right after mining must be the new one.
      cacheTimeout: -1,
    });
    return new EthereumClient(rpcUrl, actual, provider, options, errors);
  }

  // ---- raw requests with retries ------------------------------------------------------------

  async request<T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> {
    return (await this.#retrying(method, () => this.#provider.send(method, [...params]))) as T;
  }

  /** Runs `attempt` until it succeeds, retrying transient RPC failures with backoff. */
  async #retrying<T>(method: string, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (!isTransientError(e)) throw translateRpcError(e, method, this.#errors);
        if (n >= attempts) {
          throw new ChaosCoreError(
            "CHAIN_RPC_UNREACHABLE",
            `the RPC endpoint failed ${attempts} times on ${method}: ${describeRpcError(e)}`,
            { details: { rpcUrl: redact(this.rpcUrl), method, attempts }, cause: e },
          );
        }
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
  }

  // ---- reads --------------------------------------------------------------------------------

  async getBlockNumber(): Promise<bigint> {
    return BigInt(await this.#retrying("eth_blockNumber", () => this.#provider.getBlockNumber()));
  }

  async getBlock(tag: BlockTag = "latest"): Promise<Block | undefined> {
    const b = await this.#retrying("eth_getBlockByNumber", () => this.#provider.getBlock(tag));
    return b === null ? undefined : toBlock(b);
  }

  async getBalance(address: Address, tag: BlockTag = "latest"): Promise<bigint> {
    return await this.#retrying("eth_getBalance", () => this.#provider.getBalance(address, tag));
  }

  async getCode(address: Address, tag: BlockTag = "latest"): Promise<Hex> {
    const code = await this.#retrying("eth_getCode", () => this.#provider.getCode(address, tag));
    return code.toLowerCase() as Hex;
  }

  async getTransactionCount(address: Address, tag: BlockTag = "latest"): Promise<number> {
    return await this.#retrying("eth_getTransactionCount", () =>
      this.#provider.getTransactionCount(address, tag),
    );
  }

  async call(
    tx: { to: Address; data: Hex; from?: Address; value?: bigint },
    tag: BlockTag = "latest",
  ): Promise<Hex> {
    return (await this.#retrying("eth_call", () =>
      this.#provider.call({ ...tx, blockTag: tag }),
    )) as Hex;
  }

  async estimateGas(tx: TransactionRequest & { from: Address }): Promise<bigint> {
    const request: EthersTransactionRequest = { from: tx.from };
    if (tx.to !== undefined) request.to = tx.to;
    if (tx.data !== undefined) request.data = tx.data;
    if (tx.value !== undefined && tx.value !== 0n) request.value = tx.value;
    if (tx.gasLimit !== undefined) request.gasLimit = tx.gasLimit;
    return await this.#retrying("eth_estimateGas", () => this.#provider.estimateGas(request));
  }

  async getTransactionReceipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    const r = await this.#retrying("eth_getTransactionReceipt", () =>
      this.#provider.getTransactionReceipt(hash),
    );
    return r === null ? undefined : toReceipt(r);
  }

  async getLogs(filter: LogFilter): Promise<Log[]> {
    const { address, topics, blockHash } = filter;
    const range =
      blockHash === undefined
        ? { fromBlock: filter.fromBlock ?? "earliest", toBlock: filter.toBlock ?? "latest" }
        : { blockHash };
    const logs = await this.#retrying("eth_getLogs", () =>
      this.#provider.getLogs({
        ...(address === undefined ? {} : { address: address as string | string[] }),
        ...(topics === undefined ? {} : { topics: topics as (string | string[] | null)[] }),
        ...range,
      }),
    );
    return logs.map(toLog);
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
    return await this.#oneAtATime(from, async (nonces) => {
      for (let attempt = 0; ; attempt++) {
        const nonce = await this.#retrying("eth_getTransactionCount", () =>
          nonces.getNonce("pending").catch((e) => {
            nonces.reset(); // NonceManager would keep the failed read
            throw e;
          }),
        );
        const request: UnsignedTransaction = {
          type: 2,
          chainId: this.chainId,
          nonce,
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
            nonces.increment();
            return this.#sent(hash, from, request);
          }
          if (
            isChaosCoreError(e, "CHAIN_TX_REJECTED") &&
            e.details?.reason === "nonce" &&
            attempt < 3
          ) {
            nonces.reset();
            continue;
          }
          if (isChaosCoreError(e, "CHAIN_RPC_UNREACHABLE")) nonces.reset();
          throw await this.#enrich(e, from, tx);
        }
        nonces.increment();
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
    for (const [key, sender] of this.#senders) {
      if (address === undefined || key === address.toLowerCase()) sender.nonces.reset();
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
      return (
        (await this.#retrying("eth_getTransactionByHash", () =>
          this.#provider.getTransaction(hash),
        )) !== null
      );
    } catch {
      return false;
    }
  }

  /** EIP-1559 fees: ethers' `getFeeData` (2 × the latest base fee + the node's priority fee). */
  async #fees(
    tx: TransactionRequest,
  ): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    if (tx.maxFeePerGas !== undefined && tx.maxPriorityFeePerGas !== undefined) {
      return { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
    }
    const fee = await this.#retrying("eth_feeHistory", () => this.#provider.getFeeData());
    const nodePriority = fee.maxPriorityFeePerGas ?? fee.gasPrice ?? 1_000_000_000n;
    const priority = tx.maxPriorityFeePerGas ?? nodePriority;
    // No base fee (null or 0): ethers gives no maxFeePerGas; the priority fee alone pays.
    const doubleBase = fee.maxFeePerGas === null ? 0n : fee.maxFeePerGas - nodePriority;
    return {
      maxFeePerGas: tx.maxFeePerGas ?? doubleBase + priority,
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
      const tx = await this.#retrying("eth_getTransactionByHash", () =>
        this.#provider.getTransaction(receipt.transactionHash),
      );
      if (tx?.to) {
        await this.call(
          { to: tx.to as Address, data: tx.data as Hex, from: tx.from as Address, value: tx.value },
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

  /**
   * Runs `fn` for `from` after every earlier send of `from` has finished. ethers' NonceManager
   * alone hands out nonces concurrently and counts a nonce as used before the node accepted
   * the transaction (a failed send leaves a gap that holds every later one in the pool).
   */
  async #oneAtATime<T>(from: Address, fn: (nonces: NonceManager) => Promise<T>): Promise<T> {
    const key = from.toLowerCase();
    let sender = this.#senders.get(key);
    if (sender === undefined) {
      // The lowercase key: VoidSigner checks a mixed-case address's checksum, a port signer may not.
      const nonces = new NonceManager(new VoidSigner(key, this.#provider));
      sender = { nonces, lock: Promise.resolve() };
      this.#senders.set(key, sender);
    }
    const previous = sender.lock;
    let release!: () => void;
    sender.lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn(sender.nonces);
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

/**
 * The HTTP transport: ethers' FetchRequest without its own HTTP 429 retry (up to 12 attempts
 * with delays growing to minutes, inside each of ours): a 429 comes back at once, and the one
 * retry policy is the client's, bounded by its `retry` options.
 */
function transport(rpcUrl: string): FetchRequest {
  const request = new FetchRequest(rpcUrl);
  request.retryFunc = async () => false;
  return request;
}

// Addresses as lowercase hex, as the node sends them (ethers checksums them).
const lower = (a: string): Address => a.toLowerCase() as Address;

function toBlock(b: EthersBlock): Block {
  return {
    number: BigInt(b.number),
    hash: b.hash as Hex,
    parentHash: b.parentHash as Hex,
    timestamp: BigInt(b.timestamp),
    baseFeePerGas: b.baseFeePerGas,
  };
}

function toLog(l: EthersLog): Log {
  return {
    address: lower(l.address),
    topics: l.topics as Hex[],
    data: l.data as Hex,
    blockNumber: BigInt(l.blockNumber),
    blockHash: l.blockHash as Hex,
    transactionHash: l.transactionHash as Hex,
    logIndex: l.index,
  };
}

function toReceipt(r: EthersReceipt): TransactionReceipt {
  return {
    transactionHash: r.hash as Hex,
    blockNumber: BigInt(r.blockNumber),
    blockHash: r.blockHash as Hex,
    from: lower(r.from),
    to: r.to === null ? null : lower(r.to),
    contractAddress: r.contractAddress === null ? null : lower(r.contractAddress),
    status: r.status === 1 ? "success" : "reverted",
    gasUsed: r.gasUsed,
    effectiveGasPrice: r.gasPrice,
    logs: r.logs.map(toLog),
  };
}
