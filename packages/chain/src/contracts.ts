/**
 * Typed wrappers of the ChaosCore contracts over a {@link BlockchainClient}.
 * Reads are `eth_call`s; writes return a {@link SentTransaction} at once (persist
 * its `hash`, then `wait()`), so an anchoring or payout job can resume after a
 * crash. Reverts surface as CHAIN_REVERTED with `details.error` (the custom
 * error's name), `details.args`, `details.contract` and `details.function`.
 *
 * @module
 */
import { bytesToHex, ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { Interface, keccak256, type Result, toUtf8Bytes } from "ethers";
import { type ContractName, loadArtifact } from "./artifacts.js";
import { jsonSafe } from "./errors.js";
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

const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * The common part of the wrappers: ABI encoding, reads, writes, event decoding,
 * and a one-time check that code exists at the address.
 */
export class ContractClient {
  readonly name: ContractName;
  readonly address: Address;
  readonly client: BlockchainClient;
  readonly signer: ChainSigner | undefined;
  /** Where event queries start by default (0 when the deployment block is unknown). */
  readonly deploymentBlock: bigint;
  readonly interface: Interface;
  #deployed: Promise<void> | undefined;

  constructor(name: ContractName, options: ContractOptions) {
    assertAddress(options.address, "address");
    this.name = name;
    this.address = options.address;
    this.client = options.client;
    this.signer = options.signer;
    this.deploymentBlock = BigInt(options.deploymentBlock ?? 0);
    this.interface = new Interface(loadArtifact(name).abi as never);
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

  /** Calls a view function and returns its decoded result. */
  async read(fn: string, args: readonly unknown[] = [], tag?: BlockTag): Promise<Result> {
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
   * Sends a transaction calling `fn` (estimate first: a revert is reported before anything is sent).
   * @throws ChaosCoreError INVALID_INPUT when the wrapper has no signer; CHAIN_REVERTED,
   * CHAIN_INSUFFICIENT_FUNDS, CHAIN_TX_REJECTED, CHAIN_RPC_UNREACHABLE, CHAIN_NOT_DEPLOYED.
   */
  async write(
    fn: string,
    args: readonly unknown[] = [],
    options: { gasLimit?: bigint } = {},
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

  /**
   * This contract's events of one name between two blocks (`eth_getLogs`), from the deployment
   * block by default, in ranges of at most {@link LOG_QUERY_RANGE} blocks.
   */
  async queryEvents(
    event: string,
    filter: { topics?: readonly (Hex | null)[]; fromBlock?: BlockTag; toBlock?: BlockTag } = {},
  ): Promise<DecodedEvent[]> {
    const fragment = this.interface.getEvent(event);
    if (fragment === null) throw new ChaosCoreError("INVALID_INPUT", `no event ${event}`);
    const topics = [fragment.topicHash as Hex, ...(filter.topics ?? [])];
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

// ---- CheckpointAnchor ---------------------------------------------------------------------------

/** A checkpoint as anchored on chain. */
export type AnchoredCheckpoint = {
  readonly logId: Hex;
  /** Position in the log's anchor history, from 0. */
  readonly index: bigint;
  readonly size: bigint;
  readonly root: Hex;
  /** The anchoring block's timestamp and number. */
  readonly timestamp: bigint;
  readonly blockNumber: bigint;
};

/** A checkpoint to anchor: the log's origin line, the tree size and root, the consistency proof. */
export type AnchorInput = {
  /** The C2SP checkpoint origin; the contract keys logs by keccak256(origin). */
  readonly origin: string;
  /**
   * The log's anchored-checkpoint count before this one (0 for the first); read with `count`
   * when absent. Naming it makes a replayed anchor fail (AlreadyAnchored / IndexMismatch)
   * instead of racing.
   */
  readonly index?: bigint | number;
  readonly size: bigint | number;
  readonly root: Hex | Uint8Array;
  /** RFC 9162 consistency proof from the latest anchored checkpoint; empty for the first. */
  readonly proof?: readonly (Hex | Uint8Array)[];
};

/** The `Anchored` event. */
export type AnchoredEvent = {
  readonly logId: Hex;
  readonly index: bigint;
  readonly size: bigint;
  readonly root: Hex;
  readonly log: Log;
};

/** The log id of a checkpoint origin: keccak256 of its UTF-8 bytes (as the contract's `logIdOf`). */
export function logIdOf(origin: string): Hex {
  if (typeof origin !== "string" || origin === "") {
    throw new ChaosCoreError("INVALID_INPUT", "a log origin must be a non-empty string");
  }
  return keccak256(toUtf8Bytes(origin)) as Hex;
}

/**
 * The CheckpointAnchor contract.
 *
 * @example
 * ```ts
 * const anchor = new CheckpointAnchorContract({ client, address, signer });
 * const last = await anchor.latest(origin); // undefined when never anchored
 * const proof = last === undefined ? [] : consistencyProof(last.size, size);
 * const sent = await anchor.anchor({ origin, size, root, proof });
 * const [event] = anchor.anchoredEvents(await sent.wait({ confirmations: 3 }));
 * ```
 */
export class CheckpointAnchorContract extends ContractClient {
  constructor(options: ContractOptions) {
    super("CheckpointAnchor", options);
  }

  /**
   * Anchors one checkpoint.
   * @throws ChaosCoreError INVALID_INPUT (malformed origin, index, size, root or proof, before
   * sending); CHAIN_REVERTED with `details.error` one of SizeNotIncreasing, AlreadyAnchored,
   * IndexMismatch, UnexpectedProof, ConsistencyProofInvalid, ZeroRoot,
   * AccessControlUnauthorizedAccount.
   */
  async anchor(input: AnchorInput): Promise<SentTransaction> {
    const [logId, index, size, root, proof] = await this.#args(input);
    return await this.write("anchor", [logId, index, size, root, proof]);
  }

  /** Anchors one checkpoint of each of several logs in one transaction (D13); all or nothing. */
  async anchorBatch(inputs: readonly AnchorInput[]): Promise<SentTransaction> {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new ChaosCoreError("INVALID_INPUT", "anchorBatch needs at least one checkpoint");
    }
    return await this.write("anchorBatch", [await Promise.all(inputs.map((i) => this.#args(i)))]);
  }

  async #args(input: AnchorInput): Promise<[Hex, bigint, bigint, Hex, Hex[]]> {
    const [logId, size, root, proof] = anchorArgs(input);
    const index =
      input.index === undefined
        ? await this.count(input.origin)
        : toUint(input.index, "index", UINT64_MAX);
    return [logId, index, size, root, proof];
  }

  /** The latest anchored checkpoint of a log, or `undefined` when none. */
  async latest(origin: string, tag?: BlockTag): Promise<AnchoredCheckpoint | undefined> {
    const logId = logIdOf(origin);
    const [cp, count] = await this.read("latest", [logId], tag);
    if (count === 0n) return undefined;
    return toCheckpoint(logId, (count as bigint) - 1n, cp as Result);
  }

  /** The number of anchored checkpoints of a log. */
  async count(origin: string, tag?: BlockTag): Promise<bigint> {
    return (await this.read("count", [logIdOf(origin)], tag))[0] as bigint;
  }

  /**
   * The `index`-th anchored checkpoint of a log.
   * @throws ChaosCoreError CHAIN_REVERTED (CheckpointNotFound) when there is no such checkpoint.
   */
  async checkpointAt(
    origin: string,
    index: bigint | number,
    tag?: BlockTag,
  ): Promise<AnchoredCheckpoint> {
    const logId = logIdOf(origin);
    const [cp] = await this.read("checkpointAt", [logId, BigInt(index)], tag);
    return toCheckpoint(logId, BigInt(index), cp as Result);
  }

  /** Every anchored checkpoint of a log with index in [from, to) (default: all), oldest first. */
  async history(
    origin: string,
    range: { from?: bigint; to?: bigint; tag?: BlockTag } = {},
  ): Promise<AnchoredCheckpoint[]> {
    const logId = logIdOf(origin);
    const to = range.to ?? (await this.count(origin, range.tag));
    const out: AnchoredCheckpoint[] = [];
    for (let start = range.from ?? 0n; start < to; start += 500n) {
      const end = start + 500n < to ? start + 500n : to;
      const [list] = await this.read("checkpoints", [logId, start, end], range.tag);
      (list as Result).forEach((cp, i) => {
        out.push(toCheckpoint(logId, start + BigInt(i), cp as Result));
      });
    }
    return out;
  }

  /** Whether `account` holds ANCHORER_ROLE. */
  async isAnchorer(account: Address): Promise<boolean> {
    const [role] = await this.read("ANCHORER_ROLE");
    return (await this.read("hasRole", [role, account]))[0] as boolean;
  }

  /** Grants ANCHORER_ROLE (the signer must hold DEFAULT_ADMIN_ROLE). */
  async grantAnchorer(account: Address): Promise<SentTransaction> {
    assertAddress(account, "account");
    const [role] = await this.read("ANCHORER_ROLE");
    return await this.write("grantRole", [role, account]);
  }

  /** The `Anchored` events of a receipt (or logs). */
  anchoredEvents(source: TransactionReceipt | readonly Log[]): AnchoredEvent[] {
    return this.decodeEvents(source)
      .filter((e) => e.name === "Anchored")
      .map((e) => ({
        logId: e.args.logId as Hex,
        index: e.args.index as bigint,
        size: e.args.size as bigint,
        root: e.args.root as Hex,
        log: e.log,
      }));
  }
}

function anchorArgs(input: AnchorInput): [Hex, bigint, Hex, Hex[]] {
  if (input === null || typeof input !== "object") {
    throw new ChaosCoreError("INVALID_INPUT", "a checkpoint to anchor must be an object");
  }
  const size = toUint(input.size, "size", UINT64_MAX);
  return [
    logIdOf(input.origin),
    size,
    toHash(input.root, "root"),
    (input.proof ?? []).map((p, i) => toHash(p, `proof[${i}]`)),
  ];
}

function toCheckpoint(logId: Hex, index: bigint, cp: Result): AnchoredCheckpoint {
  return {
    logId,
    index,
    root: cp[0] as Hex,
    size: cp[1] as bigint,
    timestamp: cp[2] as bigint,
    blockNumber: cp[3] as bigint,
  };
}

// ---- IdentityRegistry ---------------------------------------------------------------------------

/** An agent's anchored card. */
export type AgentCardRecord = {
  readonly hash: Hex;
  readonly version: bigint;
  readonly updatedAt: bigint;
};

/** The `Registered` event. */
export type RegisteredEvent = {
  readonly agentId: bigint;
  readonly agentURI: string;
  readonly owner: Address;
  readonly log: Log;
};

/** The `CardUpdated` event. */
export type CardUpdatedEvent = {
  readonly agentId: bigint;
  readonly version: bigint;
  readonly cardHash: Hex;
  readonly agentURI: string;
  readonly log: Log;
};

/**
 * The ERC-8004-style IdentityRegistry contract.
 *
 * @example
 * ```ts
 * const registry = new IdentityRegistryContract({ client, address, signer });
 * const receipt = await (await registry.register({ uri, cardHash })).wait();
 * const [{ agentId }] = registry.registeredEvents(receipt);
 * ```
 */
export class IdentityRegistryContract extends ContractClient {
  constructor(options: ContractOptions) {
    super("IdentityRegistry", options);
  }

  /**
   * Registers an agent (the signer becomes its owner and wallet) with its card URI and hash.
   * @throws ChaosCoreError CHAIN_REVERTED (EmptyCardHash).
   */
  async register(input: { uri: string; cardHash: Hex | Uint8Array }): Promise<SentTransaction> {
    return await this.write("register(string,bytes32)", [
      toUri(input.uri),
      toHash(input.cardHash, "cardHash"),
    ]);
  }

  /**
   * Replaces the card (hash and URI); `version` must be the current version plus one.
   * @throws ChaosCoreError CHAIN_REVERTED (NotAuthorized, EmptyCardHash, CardVersionMismatch,
   * ERC721NonexistentToken).
   */
  async updateCard(input: {
    agentId: bigint;
    uri: string;
    cardHash: Hex | Uint8Array;
    version: bigint | number;
  }): Promise<SentTransaction> {
    return await this.write("updateCard", [
      toUint(input.agentId, "agentId", 2n ** 256n - 1n),
      toUri(input.uri),
      toHash(input.cardHash, "cardHash"),
      toUint(input.version, "version", UINT64_MAX),
    ]);
  }

  /** ERC-8004 `setAgentURI` (the card hash and version stay). */
  async setAgentURI(agentId: bigint, uri: string): Promise<SentTransaction> {
    return await this.write("setAgentURI", [agentId, toUri(uri)]);
  }

  /** ERC-8004 `setMetadata` ("agentWallet" is reserved). */
  async setMetadata(
    agentId: bigint,
    key: string,
    value: Hex | Uint8Array,
  ): Promise<SentTransaction> {
    return await this.write("setMetadata", [agentId, key, value]);
  }

  async getMetadata(agentId: bigint, key: string): Promise<Hex> {
    return (await this.read("getMetadata", [agentId, key]))[0] as Hex;
  }

  /**
   * The agent's card.
   * @throws ChaosCoreError CHAIN_REVERTED (ERC721NonexistentToken) for an unknown agent.
   */
  async cardOf(agentId: bigint): Promise<AgentCardRecord> {
    const [card] = await this.read("cardOf", [agentId]);
    const c = card as Result;
    return { hash: c[0] as Hex, version: c[1] as bigint, updatedAt: c[2] as bigint };
  }

  async tokenURI(agentId: bigint): Promise<string> {
    return (await this.read("tokenURI", [agentId]))[0] as string;
  }

  async ownerOf(agentId: bigint): Promise<Address> {
    return (await this.read("ownerOf", [agentId]))[0] as Address;
  }

  async getAgentWallet(agentId: bigint): Promise<Address> {
    return (await this.read("getAgentWallet", [agentId]))[0] as Address;
  }

  async totalAgents(): Promise<bigint> {
    return (await this.read("totalAgents"))[0] as bigint;
  }

  /**
   * The new wallet's EIP-712 consent to become the agent's wallet (ERC-8004 `AgentWalletSet`).
   * `deadline` is a unix time at most 5 minutes after the block's.
   */
  async signAgentWallet(
    wallet: ChainSigner,
    input: { agentId: bigint; owner: Address; deadline: bigint },
  ): Promise<Hex> {
    return await wallet.signTypedData(
      {
        name: "ERC8004IdentityRegistry",
        version: "1",
        chainId: this.client.chainId,
        verifyingContract: this.address,
      },
      {
        AgentWalletSet: [
          { name: "agentId", type: "uint256" },
          { name: "newWallet", type: "address" },
          { name: "owner", type: "address" },
          { name: "deadline", type: "uint256" },
        ],
      },
      {
        agentId: input.agentId,
        newWallet: wallet.address,
        owner: input.owner,
        deadline: input.deadline,
      },
    );
  }

  /**
   * ERC-8004 `setAgentWallet`, sent by the owner with the wallet's signature.
   * @throws ChaosCoreError CHAIN_REVERTED (ZeroWallet, SignatureExpired, DeadlineTooFar,
   * NotAuthorized, InvalidWalletSignature).
   */
  async setAgentWallet(input: {
    agentId: bigint;
    wallet: Address;
    deadline: bigint;
    signature: Hex;
  }): Promise<SentTransaction> {
    return await this.write("setAgentWallet", [
      input.agentId,
      input.wallet,
      input.deadline,
      input.signature,
    ]);
  }

  registeredEvents(source: TransactionReceipt | readonly Log[]): RegisteredEvent[] {
    return this.decodeEvents(source)
      .filter((e) => e.name === "Registered")
      .map((e) => ({
        agentId: e.args.agentId as bigint,
        agentURI: e.args.agentURI as string,
        owner: e.args.owner as Address,
        log: e.log,
      }));
  }

  cardUpdatedEvents(source: TransactionReceipt | readonly Log[]): CardUpdatedEvent[] {
    return this.decodeEvents(source)
      .filter((e) => e.name === "CardUpdated")
      .map((e) => ({
        agentId: e.args.agentId as bigint,
        version: e.args.version as bigint,
        cardHash: e.args.cardHash as Hex,
        agentURI: e.args.agentURI as string,
        log: e.log,
      }));
  }
}

// ---- RewardToken ---------------------------------------------------------------------------------

/** The ERC-20 RewardToken. */
export class RewardTokenContract extends ContractClient {
  constructor(options: ContractOptions) {
    super("RewardToken", options);
  }

  /** @throws ChaosCoreError CHAIN_REVERTED (AccessControlUnauthorizedAccount, ERC20InvalidReceiver). */
  async mint(to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("mint", [to, amount]);
  }

  async approve(spender: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("approve", [spender, amount]);
  }

  async transfer(to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("transfer", [to, amount]);
  }

  async balanceOf(account: Address): Promise<bigint> {
    return (await this.read("balanceOf", [account]))[0] as bigint;
  }

  async allowance(owner: Address, spender: Address): Promise<bigint> {
    return (await this.read("allowance", [owner, spender]))[0] as bigint;
  }

  async totalSupply(): Promise<bigint> {
    return (await this.read("totalSupply"))[0] as bigint;
  }
}

// ---- RewardDistributor ---------------------------------------------------------------------------

/** A studio of the distributor. */
export type StudioRecord = { readonly operator: Address; readonly budget: bigint };

/** The `PayoutExecuted` event. */
export type PayoutEvent = {
  readonly studioId: Hex;
  readonly payoutId: Hex;
  readonly operator: Address;
  readonly count: bigint;
  readonly total: bigint;
  readonly log: Log;
};

/** A studio id for the distributor: keccak256 of the studio's name (UTF-8). */
export function studioIdOf(name: string): Hex {
  if (typeof name !== "string" || name === "") {
    throw new ChaosCoreError("INVALID_INPUT", "a studio name must be a non-empty string");
  }
  return keccak256(toUtf8Bytes(name)) as Hex;
}

/**
 * The RewardDistributor contract.
 *
 * @example
 * ```ts
 * const sent = await distributor.payout({ studioId, payoutId, recipients, amounts });
 * // a retry of the same payoutId reverts with PayoutAlreadyExecuted: check isPaid first
 * ```
 */
export class RewardDistributorContract extends ContractClient {
  constructor(options: ContractOptions) {
    super("RewardDistributor", options);
  }

  async createStudio(studioId: Hex, operator: Address): Promise<SentTransaction> {
    return await this.write("createStudio", [toHash(studioId, "studioId"), operator]);
  }

  async setOperator(studioId: Hex, operator: Address): Promise<SentTransaction> {
    return await this.write("setOperator", [toHash(studioId, "studioId"), operator]);
  }

  /** Moves `amount` from the signer (who approved the distributor) into the studio's budget. */
  async fund(studioId: Hex, amount: bigint): Promise<SentTransaction> {
    return await this.write("fund", [toHash(studioId, "studioId"), amount]);
  }

  async withdraw(studioId: Hex, to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("withdraw", [toHash(studioId, "studioId"), to, amount]);
  }

  /**
   * Pays several recipients from the studio's budget (the signer must be its operator).
   * @throws ChaosCoreError INVALID_INPUT (lengths differ, before sending); CHAIN_REVERTED
   * (PayoutAlreadyExecuted, NotOperator, StudioNotFound, EmptyPayout, ZeroRecipient,
   * InsufficientBudget, LengthMismatch).
   */
  async payout(input: {
    studioId: Hex;
    payoutId: Hex | Uint8Array;
    recipients: readonly Address[];
    amounts: readonly bigint[];
  }): Promise<SentTransaction> {
    return await this.write("payout", [
      toHash(input.studioId, "studioId"),
      toHash(input.payoutId, "payoutId"),
      [...input.recipients],
      [...input.amounts],
    ]);
  }

  async studioOf(studioId: Hex): Promise<StudioRecord | undefined> {
    const [s] = await this.read("studioOf", [toHash(studioId, "studioId")]);
    const r = s as Result;
    const operator = r[0] as Address;
    return /^0x0{40}$/.test(operator) ? undefined : { operator, budget: r[1] as bigint };
  }

  async isPaid(studioId: Hex, payoutId: Hex | Uint8Array): Promise<boolean> {
    return (
      await this.read("isPaid", [toHash(studioId, "studioId"), toHash(payoutId, "payoutId")])
    )[0] as boolean;
  }

  payoutEvents(source: TransactionReceipt | readonly Log[]): PayoutEvent[] {
    return this.decodeEvents(source)
      .filter((e) => e.name === "PayoutExecuted")
      .map((e) => ({
        studioId: e.args.studioId as Hex,
        payoutId: e.args.payoutId as Hex,
        operator: e.args.operator as Address,
        count: e.args.count as bigint,
        total: e.args.total as bigint,
        log: e.log,
      }));
  }
}

// ---- argument checks ---------------------------------------------------------------------------

function toHash(value: unknown, what: string): Hex {
  if (value instanceof Uint8Array) {
    if (value.length === 32) return bytesToHex(value);
  } else if (typeof value === "string" && HASH.test(value)) {
    return value.toLowerCase() as Hex;
  }
  throw new ChaosCoreError("INVALID_INPUT", `${what} must be a 32-byte hash`, {
    details: {
      what,
      length:
        value instanceof Uint8Array
          ? value.length
          : typeof value === "string"
            ? (value.length - 2) / 2
            : typeof value,
    },
  });
}

function toUint(value: unknown, what: string, max: bigint): bigint {
  if ((typeof value === "number" && Number.isSafeInteger(value)) || typeof value === "bigint") {
    const v = BigInt(value);
    if (v >= 0n && v <= max) return v;
  }
  throw new ChaosCoreError("INVALID_INPUT", `${what} must be an integer in [0, ${max}]`, {
    details: {
      what,
      value: jsonSafe(
        typeof value === "number" || typeof value === "bigint" ? value : typeof value,
      ),
    },
  });
}

function toUri(value: unknown): string {
  if (typeof value !== "string")
    throw new ChaosCoreError("INVALID_INPUT", "a URI must be a string");
  return value;
}

function assertAddress(value: unknown, what: string): asserts value is Address {
  if (typeof value !== "string" || !ADDRESS.test(value)) {
    throw new ChaosCoreError("INVALID_INPUT", `${what} must be a 20-byte 0x address`, {
      details: { what },
    });
  }
}
