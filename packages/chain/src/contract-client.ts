/**
 * The common part of the typed contract wrappers: ABI encoding with ethers'
 * `Interface`, reads (`eth_call`), writes through the {@link BlockchainClient}
 * port (so nonces, retries and receipts are the client's), event decoding,
 * and a one-time check that code exists at the address.
 *
 * Types come from the ABIs `as const` (./abis.ts) through abitype: `read`,
 * `write` and `events` take the function or event name and check the
 * arguments and results against the ABI at compile time. Reads return ethers'
 * `Result` (indexable and, for named outputs and struct fields, by name); its
 * integers are all bigint, so the abitype types are mapped to bigint.
 *
 * @module
 */
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import type {
  AbiParameter,
  AbiParametersToPrimitiveTypes,
  AbiParameterToPrimitiveType,
  ExtractAbiEvent,
  ExtractAbiEventNames,
  ExtractAbiFunction,
  ExtractAbiFunctionNames,
} from "abitype";
import { type EventFragment, Interface, type InterfaceAbi, type Result } from "ethers";
import { ABIS } from "./abis.js";
import type { ContractName } from "./artifacts.js";
import { assertAddress } from "./contract-args.js";
import type {
  Address,
  BlockchainClient,
  BlockTag,
  ChainSigner,
  Hex,
  Log,
  SentTransaction,
  TransactionReceipt,
} from "./types.js";

/** A decoded event of a contract. */
export type DecodedEvent = {
  readonly name: string;
  /** Arguments by name; integers stay bigint. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly log: Log;
};

/** What a wrapper needs: the client, the address and (for writes) a signer. */
export type ContractOptions = {
  readonly client: BlockchainClient;
  readonly address: Address;
  /** Signs the writes; reads work without it. */
  readonly signer?: ChainSigner;
  /**
   * The block the contract was deployed in (from the deployments file): event queries start
   * there instead of block 0, which hosted RPC providers refuse to scan.
   */
  readonly deploymentBlock?: bigint | number;
};

/** Blocks per `eth_getLogs` call of {@link ContractClient.queryEvents} (providers cap ranges). */
export const LOG_QUERY_RANGE = 10_000n;

// ---- types derived from the ABIs ----------------------------------------------------------------

type AbiOf<N extends ContractName> = (typeof ABIS)[N];
/** ethers decodes every integer as bigint (abitype types the small ones as number). */
type Decoded<T> = T extends number
  ? bigint
  : T extends readonly unknown[]
    ? { readonly [K in keyof T]: Decoded<T[K]> }
    : T extends object
      ? { readonly [K in keyof T]: Decoded<T[K]> }
      : T;

/** The view and pure functions of a contract. */
export type ReadName<N extends ContractName> = ExtractAbiFunctionNames<AbiOf<N>, "view" | "pure">;
/** The state-changing functions of a contract. */
export type WriteName<N extends ContractName> = ExtractAbiFunctionNames<
  AbiOf<N>,
  "nonpayable" | "payable"
>;
/** A function's arguments, as a tuple. */
export type FunctionArgs<
  N extends ContractName,
  F extends ExtractAbiFunctionNames<AbiOf<N>>,
> = AbiParametersToPrimitiveTypes<ExtractAbiFunction<AbiOf<N>, F>["inputs"], "inputs">;
/** A function's decoded results, as a tuple (struct results as objects by field name). */
export type FunctionResult<
  N extends ContractName,
  F extends ExtractAbiFunctionNames<AbiOf<N>>,
> = Decoded<AbiParametersToPrimitiveTypes<ExtractAbiFunction<AbiOf<N>, F>["outputs"], "outputs">>;
/** The events of a contract. */
export type EventName<N extends ContractName> = ExtractAbiEventNames<AbiOf<N>>;
/** An event's arguments by name. */
export type EventArgs<N extends ContractName, E extends EventName<N>> = Decoded<{
  [P in ExtractAbiEvent<AbiOf<N>, E>["inputs"][number] as P extends { name: infer K extends string }
    ? K
    : never]: AbiParameterToPrimitiveType<P & AbiParameter, "outputs">;
}>;
/** A decoded event whose arguments are typed from the ABI. */
export type TypedEvent<N extends ContractName, E extends EventName<N>> = {
  readonly name: E;
  readonly args: EventArgs<N, E>;
  readonly log: Log;
};

/** `read`'s arguments: the ABI's inputs (omitted for none), then the block. */
type ReadRest<N extends ContractName, F extends ReadName<N>> =
  FunctionArgs<N, F> extends readonly []
    ? [args?: readonly [], tag?: BlockTag]
    : [args: FunctionArgs<N, F>, tag?: BlockTag];
/** `write`'s arguments: the ABI's inputs (omitted for none), then the options. */
type WriteRest<N extends ContractName, F extends WriteName<N>> =
  FunctionArgs<N, F> extends readonly []
    ? [args?: readonly [], options?: WriteOptions]
    : [args: FunctionArgs<N, F>, options?: WriteOptions];

/** The filter of {@link ContractClient.queryEvents}. */
export type EventQuery<N extends ContractName, E extends EventName<N>> = {
  /** Values of indexed arguments to match, by name; absent ones match anything. */
  readonly args?: Partial<EventArgs<N, E>>;
  /** Raw topic filters after the event's own topic (when `args` is absent). */
  readonly topics?: readonly (Hex | null)[];
  readonly fromBlock?: BlockTag;
  readonly toBlock?: BlockTag;
};

/** Options of {@link ContractClient.write}. */
export type WriteOptions = { gasLimit?: bigint };

/** A full function signature such as `register(string)`: the way to name one overload. */
export type FunctionSignature = `${string}(${string})`;

// ---- the client ---------------------------------------------------------------------------------

/**
 * The common part of the wrappers: ABI encoding, reads, writes, event decoding,
 * and a one-time check that code exists at the address.
 *
 * @example
 * ```ts
 * const anchor = new ContractClient("CheckpointAnchor", { client, address });
 * const [count] = await anchor.read("count", [logId]); // bigint, checked against the ABI
 * ```
 */
export class ContractClient<N extends ContractName = ContractName> {
  readonly name: N;
  readonly address: Address;
  readonly client: BlockchainClient;
  readonly signer: ChainSigner | undefined;
  /** Where event queries start by default (0 when the deployment block is unknown). */
  readonly deploymentBlock: bigint;
  readonly interface: Interface;
  #deployed: Promise<void> | undefined;

  constructor(name: N, options: ContractOptions) {
    assertAddress(options.address, "address");
    this.name = name;
    this.address = options.address;
    this.client = options.client;
    this.signer = options.signer;
    this.deploymentBlock = BigInt(options.deploymentBlock ?? 0);
    this.interface = new Interface(ABIS[name] as unknown as InterfaceAbi);
  }

  /**
   * Checks once that the address holds code.
   * @throws ChaosCoreError CHAIN_NOT_DEPLOYED (details: contract, address, chainId).
   */
  async assertDeployed(): Promise<void> {
    this.#deployed ??= (async () => {
      const code = await this.client.getCode(this.address);
      if (code === "0x") {
        throw new ChaosCoreError(
          "CHAIN_NOT_DEPLOYED",
          `no ${this.name} contract at ${this.address} on chain ${this.client.chainId}`,
          {
            details: {
              contract: this.name,
              address: this.address,
              chainId: this.client.chainId.toString(),
            },
          },
        );
      }
    })().catch((e) => {
      this.#deployed = undefined;
      throw e;
    });
    await this.#deployed;
  }

  /**
   * Calls a view function and returns its decoded results (typed from the ABI).
   * @throws ChaosCoreError CHAIN_REVERTED (decoded), CHAIN_NOT_DEPLOYED, CHAIN_RPC_UNREACHABLE.
   */
  read<F extends ReadName<N>>(fn: F, ...rest: ReadRest<N, F>): Promise<FunctionResult<N, F>>;
  /** Calls one overload, named by its full signature; the result is ethers' untyped `Result`. */
  read(fn: FunctionSignature, args?: readonly unknown[], tag?: BlockTag): Promise<Result>;
  async read(fn: string, args: readonly unknown[] = [], tag?: BlockTag): Promise<unknown> {
    await this.assertDeployed();
    const data = this.interface.encodeFunctionData(fn, args) as Hex;
    try {
      const out = await this.client.call({ to: this.address, data }, tag);
      return this.interface.decodeFunctionResult(fn, out);
    } catch (e) {
      throw this.#withContext(e, fn);
    }
  }

  /**
   * Sends a transaction calling `fn` (estimate first: a revert is reported before anything is
   * sent) and returns as soon as the node accepted it: persist `hash`, then `wait()`.
   * @throws ChaosCoreError INVALID_INPUT when the wrapper has no signer; CHAIN_REVERTED,
   * CHAIN_INSUFFICIENT_FUNDS, CHAIN_TX_REJECTED, CHAIN_RPC_UNREACHABLE, CHAIN_NOT_DEPLOYED.
   */
  write<F extends WriteName<N>>(fn: F, ...rest: WriteRest<N, F>): Promise<SentTransaction>;
  /** Sends one overload, named by its full signature, with unchecked arguments. */
  write(
    fn: FunctionSignature,
    args?: readonly unknown[],
    options?: WriteOptions,
  ): Promise<SentTransaction>;
  async write(
    fn: string,
    args: readonly unknown[] = [],
    options: WriteOptions = {},
  ): Promise<SentTransaction> {
    if (this.signer === undefined) {
      throw new ChaosCoreError("INVALID_INPUT", `${this.name}.${fn} needs a signer`);
    }
    await this.assertDeployed();
    const data = this.interface.encodeFunctionData(fn, args) as Hex;
    try {
      const sent = await this.client.sendTransaction(this.signer, {
        to: this.address,
        data,
        ...(options.gasLimit === undefined ? {} : { gasLimit: options.gasLimit }),
      });
      return {
        ...sent,
        wait: (o) => sent.wait(o).catch((e) => Promise.reject(this.#withContext(e, fn))),
      };
    } catch (e) {
      throw this.#withContext(e, fn);
    }
  }

  /** Decodes this contract's events among a receipt's (or any) logs; other logs are skipped. */
  decodeEvents(source: TransactionReceipt | readonly Log[]): DecodedEvent[] {
    const logs = "logs" in source ? source.logs : source;
    const out: DecodedEvent[] = [];
    for (const log of logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue;
      const parsed = this.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed === null) continue;
      const args: Record<string, unknown> = {};
      parsed.fragment.inputs.forEach((input, i) => {
        args[input.name] = parsed.args[i];
      });
      out.push({ name: parsed.name, args, log });
    }
    return out;
  }

  /** This contract's `name` events among a receipt's (or any) logs, typed from the ABI. */
  events<E extends EventName<N>>(
    name: E,
    source: TransactionReceipt | readonly Log[],
  ): TypedEvent<N, E>[] {
    return this.decodeEvents(source).filter((e) => e.name === name) as unknown as TypedEvent<
      N,
      E
    >[];
  }

  /**
   * This contract's events of one name between two blocks (`eth_getLogs`), from the deployment
   * block by default, in ranges of at most {@link LOG_QUERY_RANGE} blocks. Filter on indexed
   * arguments by name with `args` (encoded by ethers' `encodeFilterTopics`), or with raw `topics`.
   * @throws ChaosCoreError INVALID_INPUT when `args` names an argument that is not indexed, or
   * holds a value of the wrong type (before anything is asked).
   * @example
   * ```ts
   * await identity.queryEvents("CardUpdated", { args: { agentId, version } });
   * ```
   */
  async queryEvents<E extends EventName<N>>(
    event: E,
    filter: EventQuery<N, E> = {},
  ): Promise<DecodedEvent[]> {
    const fragment = this.interface.getEvent(event);
    if (fragment === null) throw new ChaosCoreError("INVALID_INPUT", `no event ${event}`);
    const topics =
      filter.args === undefined
        ? [fragment.topicHash as Hex, ...(filter.topics ?? [])]
        : this.#argTopics(fragment, filter.args as Record<string, unknown>);
    const from = filter.fromBlock ?? this.deploymentBlock;
    const to = filter.toBlock ?? "latest";
    if (typeof from !== "bigint" || (typeof to !== "bigint" && to !== "latest")) {
      return this.decodeEvents(
        await this.client.getLogs({ address: this.address, topics, fromBlock: from, toBlock: to }),
      );
    }
    const last = to === "latest" ? await this.client.getBlockNumber() : to;
    const logs: Log[] = [];
    for (let start = from; start <= last; start += LOG_QUERY_RANGE) {
      const end = start + LOG_QUERY_RANGE - 1n < last ? start + LOG_QUERY_RANGE - 1n : last;
      logs.push(
        ...(await this.client.getLogs({
          address: this.address,
          topics,
          fromBlock: start,
          toBlock: end,
        })),
      );
    }
    return this.decodeEvents(logs);
  }

  /** The topics selecting `args` (indexed arguments by name; the others match anything). */
  #argTopics(fragment: EventFragment, args: Record<string, unknown>): (Hex | Hex[] | null)[] {
    for (const name of Object.keys(args)) {
      if (!fragment.inputs.some((input) => input.indexed && input.name === name)) {
        throw new ChaosCoreError(
          "INVALID_INPUT",
          `${name} is not an indexed argument of ${this.name}.${fragment.name}`,
          { details: { contract: this.name, event: fragment.name, argument: name } },
        );
      }
    }
    const values = fragment.inputs.map((i) => (i.indexed ? (args[i.name] ?? null) : null));
    try {
      return this.interface.encodeFilterTopics(fragment, values) as (Hex | Hex[] | null)[];
    } catch (e) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `bad filter value for ${this.name}.${fragment.name}: ${(e as Error).message}`.slice(0, 300),
        { details: { contract: this.name, event: fragment.name } },
      );
    }
  }

  #withContext(e: unknown, fn: string): unknown {
    if (!isChaosCoreError(e)) return e;
    const name = fn.includes("(") ? fn.slice(0, fn.indexOf("(")) : fn;
    const message =
      e.code === "CHAIN_REVERTED"
        ? e.message.replace(/^the call /, `${this.name}.${name} `)
        : e.message;
    return new ChaosCoreError(e.code, message, {
      details: { ...e.details, contract: this.name, address: this.address, function: name },
      cause: e.cause,
    });
  }
}
