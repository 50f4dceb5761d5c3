/**
 * The CheckpointAnchor contract: the on-chain history of each log's anchored
 * checkpoints (size, root), extended only with a valid RFC 9162 consistency
 * proof. See docs/spec/contracts.md.
 *
 * @module
 */
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import {
  byLogId,
  type GroupAnchorInput,
  type GroupLogState,
  groupIdOf,
  logIdOf,
  planGroupAnchor,
} from "./checkpoint-group.js";
import { assertAddress, toHash, toUint, UINT64_MAX } from "./contract-args.js";
import { ContractClient, type ContractOptions, type FunctionResult } from "./contract-client.js";
import type { Address, BlockTag, Hex, Log, SentTransaction, TransactionReceipt } from "./types.js";

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

export { logIdOf };

/**
 * Blocks under the head after which an `Anchored` event of a group log is taken as settled: the
 * history read from events keeps the settled part and asks the chain only for the blocks after it.
 */
export const SETTLED_DEPTH = 64n;

/**
 * A settled part of a history read from events: it covers the blocks before `next`, and the last
 * of them had the hash `hash` when it was read.
 */
type Settled = { next: bigint; hash: Hex };

/** The checkpoint struct as the contract returns it. */
type CheckpointStruct = FunctionResult<"CheckpointAnchor", "checkpointAt">[0];

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
export class CheckpointAnchorContract extends ContractClient<"CheckpointAnchor"> {
  /**
   * Each group log's settled history (events at least {@link SETTLED_DEPTH} blocks under the head
   * when read) and the first block not read into it: later reads of the latest state scan only
   * the blocks after it, so an anchoring pass does not rescan the chain from the deployment.
   */
  readonly #settled = new Map<Hex, Settled & { checkpoints: AnchoredCheckpoint[] }>();
  /** Each group's settled `GroupJoined` / `GroupRetired` logs (as {@link #settled}). */
  readonly #members = new Map<Hex, Settled & { joined: Hex[]; retired: Hex[] }>();
  /** Block hashes read at one head, so that the shards of one pass check a boundary once. */
  #hashes: { head: bigint; byBlock: Map<bigint, Promise<Hex | undefined>> } = {
    head: -1n,
    byBlock: new Map(),
  };

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
    return await this.write("anchor", await this.#args(input));
  }

  /** Anchors one checkpoint of each of several logs in one transaction (D13); all or nothing. */
  async anchorBatch(inputs: readonly AnchorInput[]): Promise<SentTransaction> {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new ChaosCoreError("INVALID_INPUT", "anchorBatch needs at least one checkpoint");
    }
    const batch = await Promise.all(
      inputs.map(async (i) => {
        const [logId, index, size, root, proof] = await this.#args(i);
        return { logId, index, size, root, proof };
      }),
    );
    return await this.write("anchorBatch", [batch]);
  }

  /**
   * Anchors one checkpoint of each of several logs of a group (the family whose first origin is
   * `familyOrigin`) in one transaction with one storage write; all or nothing. `current` is the
   * group's live state (see {@link groupStateHash}); logs not in it join the group.
   * @returns the transaction and the group's state after it.
   * @throws ChaosCoreError INVALID_INPUT (before sending); CHAIN_REVERTED with `details.error` one
   * of GroupStateMismatch, GroupOrder, GroupPosition, GroupProofs, LogInGroup, LogHasHistory, EmptyGroupAnchor,
   * SizeNotIncreasing, AlreadyAnchored, UnexpectedProof, ConsistencyProofInvalid, ZeroRoot,
   * AccessControlUnauthorizedAccount.
   */
  async anchorGroup(
    familyOrigin: string,
    current: readonly GroupLogState[],
    inputs: readonly GroupAnchorInput[],
  ): Promise<{ sent: SentTransaction; next: GroupLogState[] }> {
    const plan = planGroupAnchor(current, inputs);
    const sent = await this.write("anchorGroup", [
      groupIdOf(familyOrigin),
      plan.current,
      plan.inputs,
      plan.proofs,
    ]);
    return { sent, next: plan.next };
  }

  /** The stored state hash of a group (zero when it has no live log). */
  async groupState(familyOrigin: string, tag?: BlockTag): Promise<Hex> {
    return (await this.read("groupState", [groupIdOf(familyOrigin)], tag))[0];
  }

  /** The group a log has joined (zero when none: a legacy or never-anchored log). */
  async groupOf(origin: string, tag?: BlockTag): Promise<Hex> {
    return (await this.read("groupOf", [logIdOf(origin)], tag))[0];
  }

  async #args(input: AnchorInput): Promise<[Hex, bigint, bigint, Hex, Hex[]]> {
    if (input === null || typeof input !== "object") {
      throw new ChaosCoreError("INVALID_INPUT", "a checkpoint to anchor must be an object");
    }
    const size = toUint(input.size, "size", UINT64_MAX);
    const logId = logIdOf(input.origin);
    const root = toHash(input.root, "root");
    const proof = (input.proof ?? []).map((p, i) => toHash(p, `proof[${i}]`));
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
    if (count === 0n) return (await this.#groupHistory(logId, tag))?.at(-1);
    return toCheckpoint(logId, count - 1n, cp);
  }

  /** The number of anchored checkpoints of a log. */
  async count(origin: string, tag?: BlockTag): Promise<bigint> {
    const logId = logIdOf(origin);
    const [count] = await this.read("count", [logId], tag);
    if (count !== 0n) return count;
    return BigInt((await this.#groupHistory(logId, tag))?.length ?? 0);
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
    try {
      const [cp] = await this.read("checkpointAt", [logId, BigInt(index)], tag);
      return toCheckpoint(logId, BigInt(index), cp);
    } catch (e) {
      if (!isChaosCoreError(e) || e.details?.error !== "CheckpointNotFound") throw e;
      const found = (await this.#groupHistory(logId, tag))?.[Number(index)];
      if (found === undefined) throw e;
      return found;
    }
  }

  /** Every anchored checkpoint of a log with index in [from, to) (default: all), oldest first. */
  async history(
    origin: string,
    range: { from?: bigint; to?: bigint; tag?: BlockTag } = {},
  ): Promise<AnchoredCheckpoint[]> {
    const logId = logIdOf(origin);
    const [stored] = await this.read("count", [logId], range.tag);
    if (stored === 0n) {
      const group = await this.#groupHistory(logId, range.tag);
      if (group !== undefined) {
        return group.slice(Number(range.from ?? 0n), Number(range.to ?? BigInt(group.length)));
      }
    }
    const to = range.to ?? stored;
    const out: AnchoredCheckpoint[] = [];
    for (let start = range.from ?? 0n; start < to; start += 500n) {
      const end = start + 500n < to ? start + 500n : to;
      const [list] = await this.read("checkpoints", [logId, start, end], range.tag);
      list.forEach((cp, i) => {
        out.push(toCheckpoint(logId, start + BigInt(i), cp));
      });
    }
    return out;
  }

  /**
   * The live state of a group rebuilt from its events (no storage): members are its `GroupJoined`
   * logs minus its `GroupRetired` ones, each at its latest `Anchored` checkpoint; ascending logId.
   * Its {@link groupStateHash} equals {@link groupState} at the same block.
   */
  async rebuildGroupState(familyOrigin: string, tag?: BlockTag): Promise<GroupLogState[]> {
    const group = groupIdOf(familyOrigin);
    const head = tag === undefined || tag === "latest" ? await this.client.getBlockNumber() : null;
    const settled =
      head === null ? undefined : await this.#stillSettled(this.#members, group, head);
    const range = {
      ...(settled === undefined ? {} : { fromBlock: settled.next }),
      toBlock: head ?? tag ?? "latest",
    };
    const logIds = async (event: "GroupJoined" | "GroupRetired") =>
      (await this.queryEvents(event, { args: { group }, ...range })).map((e) => ({
        logId: String(e.args.logId).toLowerCase() as Hex,
        block: BigInt(e.log.blockNumber),
      }));
    const [joinedNow, retiredNow] = [await logIds("GroupJoined"), await logIds("GroupRetired")];
    const joined = [...(settled?.joined ?? []), ...joinedNow.map((e) => e.logId)];
    const retired = new Set([...(settled?.retired ?? []), ...retiredNow.map((e) => e.logId)]);
    if (head !== null && head - SETTLED_DEPTH >= (settled?.next ?? this.deploymentBlock)) {
      const upTo = head - SETTLED_DEPTH;
      const keep = (list: { logId: Hex; block: bigint }[]) =>
        list.filter((e) => e.block <= upTo).map((e) => e.logId);
      this.#members.set(group, {
        ...(await this.#boundary(upTo, head)),
        joined: [...(settled?.joined ?? []), ...keep(joinedNow)],
        retired: [...(settled?.retired ?? []), ...keep(retiredNow)],
      });
    }
    const out: GroupLogState[] = [];
    for (const logId of joined) {
      if (retired.has(logId)) continue;
      const last = (await this.#groupHistory(logId, tag))?.at(-1);
      if (last === undefined) continue;
      out.push({ logId, count: last.index + 1n, size: last.size, root: last.root });
    }
    return out.sort(byLogId);
  }

  /**
   * A group log's history from its `Anchored` events (its checkpoints are not in storage);
   * `undefined` when the log is in no group.
   */
  async #groupHistory(logId: Hex, tag?: BlockTag): Promise<AnchoredCheckpoint[] | undefined> {
    const [group] = await this.read("groupOf", [logId], tag);
    if (BigInt(group) === 0n) return undefined;
    // The latest state reuses the settled history; a read at another block scans it all.
    const head = tag === undefined || tag === "latest" ? await this.client.getBlockNumber() : null;
    const settled =
      head === null ? undefined : await this.#stillSettled(this.#settled, logId, head);
    const events = await this.queryEvents("Anchored", {
      args: { logId },
      ...(settled === undefined ? {} : { fromBlock: settled.next }),
      toBlock: head ?? tag ?? "latest",
    });
    const times = new Map<bigint, bigint>();
    const out: AnchoredCheckpoint[] = [...(settled?.checkpoints ?? [])];
    for (const e of events) {
      const blockNumber = BigInt(e.log.blockNumber);
      let timestamp = times.get(blockNumber);
      if (timestamp === undefined) {
        timestamp = BigInt((await this.client.getBlock(blockNumber))?.timestamp ?? 0);
        times.set(blockNumber, timestamp);
      }
      out.push({
        logId,
        index: e.args.index as bigint,
        size: e.args.size as bigint,
        root: e.args.root as Hex,
        timestamp,
        blockNumber,
      });
    }
    out.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
    const history = out.filter((cp, i) => cp.index === BigInt(i)); // a gap would be a reorg in flight
    if (head !== null && head - SETTLED_DEPTH >= (settled?.next ?? this.deploymentBlock)) {
      const upTo = head - SETTLED_DEPTH;
      this.#settled.set(logId, {
        ...(await this.#boundary(upTo, head)),
        checkpoints: history.filter((cp) => cp.blockNumber <= upTo),
      });
    }
    return history;
  }

  /** The hash of block `n` as the node has it at `head` (read once per block and head). */
  #hashAt(n: bigint, head: bigint): Promise<Hex | undefined> {
    if (this.#hashes.head !== head) this.#hashes = { head, byBlock: new Map() };
    let hash = this.#hashes.byBlock.get(n);
    if (hash === undefined) {
      hash = this.client.getBlock(n).then((block) => block?.hash);
      this.#hashes.byBlock.set(n, hash);
      hash.catch(() => this.#hashes.byBlock.delete(n));
    }
    return hash;
  }

  /** A settled part that ends at block `upTo` (inclusive), named by that block's hash. */
  async #boundary(upTo: bigint, head: bigint): Promise<Settled> {
    return { next: upTo + 1n, hash: (await this.#hashAt(upTo, head)) ?? "0x" };
  }

  /**
   * `map`'s settled part for `key` if the chain still has the block it ended at. A reorg deeper
   * than {@link SETTLED_DEPTH} (the node's block there has another hash, or none) drops every
   * settled part this wrapper keeps: the next reads scan from the deployment block again.
   */
  async #stillSettled<T extends Settled>(
    map: Map<Hex, T>,
    key: Hex,
    head: bigint,
  ): Promise<T | undefined> {
    const settled = map.get(key);
    if (settled === undefined) return undefined;
    if ((await this.#hashAt(settled.next - 1n, head)) === settled.hash) return settled;
    this.#settled.clear();
    this.#members.clear();
    return undefined;
  }

  /** Whether `account` holds ANCHORER_ROLE. */
  async isAnchorer(account: Address): Promise<boolean> {
    const [role] = await this.read("ANCHORER_ROLE");
    return (await this.read("hasRole", [role, account]))[0];
  }

  /** Grants ANCHORER_ROLE (the signer must hold DEFAULT_ADMIN_ROLE). */
  async grantAnchorer(account: Address): Promise<SentTransaction> {
    assertAddress(account, "account");
    const [role] = await this.read("ANCHORER_ROLE");
    return await this.write("grantRole", [role, account]);
  }

  /** The `Anchored` events of a receipt (or logs). */
  anchoredEvents(source: TransactionReceipt | readonly Log[]): AnchoredEvent[] {
    return this.events("Anchored", source).map(({ args, log }) => ({
      logId: args.logId,
      index: args.index,
      size: args.size,
      root: args.root,
      log,
    }));
  }
}

function toCheckpoint(logId: Hex, index: bigint, cp: CheckpointStruct): AnchoredCheckpoint {
  return {
    logId,
    index,
    root: cp.root,
    size: cp.size,
    timestamp: cp.timestamp,
    blockNumber: cp.blockNumber,
  };
}
