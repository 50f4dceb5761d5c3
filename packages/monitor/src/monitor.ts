/**
 * One monitoring pass over a log, from outside, through its public API. See
 * docs/monitor.md. A pass never throws on anything the log serves: every
 * problem becomes a {@link Finding}. It throws only on a bad policy, a bad
 * state file or a bad option (coded errors).
 * @module
 */
import {
  base64ToBytes,
  bytesToBase64,
  ChaosCoreError,
  type Checkpoint,
  checkWitnessQuorum,
  encodeEntry,
  entrySigner,
  equalBytes,
  type LogEntry,
  leafHash,
  openCheckpoint,
  parseEntry,
  parseShardLink,
  parseTrustPolicy,
  type TrustPolicy,
  verifyConsistency,
  type WitnessQuorum,
} from "@chaoscore/core";
import { checkAnchors } from "./anchors.js";
import { type Finding, finding } from "./findings.js";
import { LogClient, LogReadError, TILE_WIDTH } from "./log-client.js";
import { codeOf, type Pass, readFailure } from "./pass.js";
import {
  frontierRange,
  MONITOR_STATE_FORMAT,
  type MonitorState,
  readMonitorState,
  writeMonitorState,
} from "./state.js";

/** Options of {@link monitorLog}. */
export type MonitorOptions = {
  /** The gateway's base URL (the log's public API). */
  readonly gateway: string;
  /** The trust policy (parsed, or its JSON). */
  readonly policy: TrustPolicy | unknown;
  /** The state of the previous pass; null or absent for a first pass (verifies the whole log). */
  readonly state?: MonitorState | null;
  /** A JSON-RPC URL: also check the log against the policy's anchor contracts on that chain. */
  readonly rpcUrl?: string;
  /** Milliseconds before a request to the gateway is abandoned (default 10 s). */
  readonly timeoutMs?: number;
  /** Clock of the state's `updatedAt` (tests). */
  readonly now?: () => Date;
  /**
   * One shard of a log family ({@link monitorFamily}): read under
   * `/v1/logs/<id>/` and verified under `verifierKey` (the shard key its
   * certificate names) instead of the policy's log key; `linkAtZero` for
   * shards n ≥ 1, whose leaf 0 is the link entry.
   */
  readonly log?: {
    readonly id: string;
    readonly verifierKey: string;
    readonly linkAtZero: boolean;
  };
};

/** The outcome of one pass. */
export type MonitorPassResult = {
  /** Everything wrong that the pass found; empty when the log is clean. */
  readonly findings: readonly Finding[];
  /** The checkpoint the log serves, when it verified under the log key. */
  readonly checkpoint: { readonly size: number; readonly rootHash: string } | null;
  /** The size verified by the previous pass (0 on a first pass). */
  readonly previousSize: number;
  /** Entries fetched and checked in this pass. */
  readonly newEntries: number;
  /** The witnesses of the served checkpoint, when it verified. */
  readonly witnesses: WitnessQuorum | null;
  /** Anchored checkpoints checked on chain in this pass. */
  readonly anchorsChecked: number;
  /** The state to keep: the new one when the pass advanced, else the previous one. */
  readonly state: MonitorState | null;
  /** True when the state moved on (a new verified tree, or more anchors checked). */
  readonly advanced: boolean;
};

/**
 * Runs one monitoring pass: fetches the latest checkpoint, verifies its
 * signature under the policy's log key and its witness quorum, checks that it
 * extends the tree of the previous pass (by rebuilding the tree from the new
 * entries: same size with another root is a split view, a smaller size a
 * rollback), checks every new entry (canonical `chaoscore.entry/v2`, signed by
 * its agent or one of the agent's registered keys) and the level-0 and
 * level-1 tiles against the rebuilt tree, and, with `rpcUrl`, every new
 * anchored checkpoint of the policy's contracts on that chain.
 *
 * @returns the findings and the state to keep (advanced only when the tree verified).
 * @throws ChaosCoreError TRUST_POLICY_* (bad policy); MONITOR_STATE_INVALID
 * (the state is for another log key); INVALID_INPUT (bad gateway URL, or an
 * RPC on a chain the policy names no anchor contract for).
 * @example
 * ```ts
 * const { findings, state } = await monitorLog({ gateway: "http://127.0.0.1:8080", policy, state: previous });
 * for (const f of findings) console.error(`${f.kind}: ${f.message}`);
 * ```
 */
export async function monitorLog(options: MonitorOptions): Promise<MonitorPassResult> {
  const policy = parseTrustPolicy(options.policy);
  const logKey = options.log?.verifierKey ?? policy.log.key;
  const previous = options.state ?? null;
  if (previous !== null && previous.logKey !== logKey) {
    throw new ChaosCoreError(
      "MONITOR_STATE_INVALID",
      "the monitor state was verified under another log key than the policy's",
      { details: { stateKey: previous.logKey, policyKey: logKey } },
    );
  }
  let client: LogClient;
  try {
    client = new LogClient(options.gateway, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.log === undefined ? {} : { log: options.log.id }),
    });
  } catch (cause) {
    throw new ChaosCoreError("INVALID_INPUT", `the gateway URL ${options.gateway} is not a URL`, {
      cause,
    });
  }
  const pass: Pass = {
    client,
    policy,
    findings: [],
    agentKeys: new Map(),
    linkAtZero: options.log?.linkAtZero === true,
  };
  const previousSize = previous?.checkpoint.size ?? 0;
  const unchanged = (extra: Partial<MonitorPassResult> = {}): MonitorPassResult => ({
    findings: pass.findings,
    checkpoint: null,
    previousSize,
    newEntries: 0,
    witnesses: null,
    anchorsChecked: 0,
    state: previous,
    advanced: false,
    ...extra,
  });

  // 1. the checkpoint, its signature and its witnesses
  let note: string;
  try {
    note = await client.checkpoint();
  } catch (error) {
    readFailure(pass, error, "the checkpoint");
    return unchanged();
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(note, logKey);
  } catch (error) {
    pass.findings.push(
      finding(
        "bad_signature",
        `the served checkpoint does not verify under the policy's log key (${codeOf(error)})`,
        { details: { note: note.slice(0, 2048) } },
      ),
    );
    return unchanged();
  }
  const served = { size: checkpoint.size, rootHash: bytesToBase64(checkpoint.rootHash) };
  let witnesses: WitnessQuorum | null = null;
  try {
    witnesses = checkWitnessQuorum(note, policy);
    if (witnesses.verified < witnesses.required) {
      pass.findings.push(
        finding(
          "quorum_missing",
          `checkpoint ${checkpoint.size} is cosigned by ${witnesses.verified} of the ${witnesses.required} witnesses the policy requires`,
          { size: checkpoint.size, details: { cosignatures: witnesses.cosignatures } },
        ),
      );
    }
  } catch (error) {
    pass.findings.push(
      finding("quorum_missing", `the checkpoint's cosignatures cannot be read (${codeOf(error)})`, {
        size: checkpoint.size,
      }),
    );
  }

  // 2. the tree: backwards, forked, or extended
  const previousRoot = previous === null ? null : base64ToBytes(previous.checkpoint.rootHash);
  if (checkpoint.size < previousSize) {
    pass.findings.push(
      finding(
        "rollback",
        `the log serves a checkpoint of size ${checkpoint.size} after one of size ${previousSize}`,
        {
          size: checkpoint.size,
          details: { previousSize, previousNote: previous?.checkpoint.note, note },
        },
      ),
    );
    return unchanged({ checkpoint: served, witnesses });
  }
  let newEntries = 0;
  let next = previous;
  if (checkpoint.size === previousSize && previousRoot !== null) {
    if (!equalBytes(previousRoot, checkpoint.rootHash)) {
      pass.findings.push(
        finding(
          "split_view",
          `the log serves two roots for size ${checkpoint.size}: ${previous?.checkpoint.rootHash} before, ${served.rootHash} now`,
          {
            size: checkpoint.size,
            details: { previousNote: previous?.checkpoint.note, note },
          },
        ),
      );
      return unchanged({ checkpoint: served, witnesses });
    }
  } else if (checkpoint.size > previousSize) {
    const range = frontierRange(previous);
    const tiles = pass.findings.length;
    const extended = await extend(pass, range, previousSize, checkpoint.size);
    if (!extended) return unchanged({ checkpoint: served, witnesses });
    // A tile that lies keeps the state where it was, so that the next pass reports it again.
    const lying = pass.findings.slice(tiles).some((f) => f.kind === "tampered_tile");
    newEntries = checkpoint.size - previousSize;
    if (!equalBytes(range.root(), checkpoint.rootHash)) {
      await classifyRootMismatch(pass, previous, previousRoot, checkpoint, note);
      return unchanged({ checkpoint: served, witnesses, newEntries });
    }
    if (lying) return unchanged({ checkpoint: served, witnesses, newEntries });
    next = {
      format: MONITOR_STATE_FORMAT,
      logKey,
      checkpoint: { size: checkpoint.size, rootHash: served.rootHash, note },
      frontier: range.nodes().map((n) => ({
        level: n.level,
        index: n.index,
        hash: bytesToBase64(n.hash),
      })),
      anchors: { ...(previous?.anchors ?? {}) },
      updatedAt: "",
    };
  }

  // 3. the anchors on chain
  let anchorsChecked = 0;
  if (options.rpcUrl !== undefined && next !== null) {
    const anchors = await checkAnchors(pass, options.rpcUrl, checkpoint, next.anchors);
    anchorsChecked = anchors.checked;
    if (anchors.checked > 0) next = { ...next, anchors: anchors.progress };
  }
  const advanced = next !== previous;
  if (advanced && next !== null) {
    next = { ...next, updatedAt: (options.now?.() ?? new Date()).toISOString() };
  }
  return {
    findings: pass.findings,
    checkpoint: served,
    previousSize,
    newEntries,
    witnesses,
    anchorsChecked,
    state: next,
    advanced,
  };
}

/**
 * {@link monitorLog} with the state kept in a file: reads it (absent: a first
 * pass), runs the pass, and writes the new state atomically when it advanced.
 * @throws ChaosCoreError MONITOR_STATE_INVALID when the file is not a valid state; see {@link monitorLog}.
 * @example
 * ```ts
 * const { findings } = await monitorLogWithStateFile({ gateway, policy, statePath: "monitor.json" });
 * ```
 */
export async function monitorLogWithStateFile(
  options: Omit<MonitorOptions, "state"> & { readonly statePath: string },
): Promise<MonitorPassResult> {
  const state = await readMonitorState(options.statePath);
  const result = await monitorLog({ ...options, state });
  if (result.advanced && result.state !== null) {
    await writeMonitorState(options.statePath, result.state);
  }
  return result;
}

// ---- the tree --------------------------------------------------------------------------------

/**
 * Fetches the entries [from, to) and their level-0 tiles, checks each entry
 * and tile hash, appends the leaves to `range`, then checks the level-1 tiles
 * of the 256-leaf subtrees completed. False when a read failed (nothing to
 * conclude about the tree).
 */
async function extend(
  pass: Pass,
  range: ReturnType<typeof frontierRange>,
  from: number,
  to: number,
): Promise<boolean> {
  const completed: { index: number; hash: Uint8Array }[] = [];
  for (let t = Math.floor(from / TILE_WIDTH); t * TILE_WIDTH < to; t++) {
    const width = Math.min(TILE_WIDTH, to - t * TILE_WIDTH);
    let entries: Uint8Array[];
    let hashes: Uint8Array[];
    try {
      entries = await pass.client.entries(t, width);
    } catch (error) {
      readFailure(pass, error, `entry bundle ${t}`, t);
      return false;
    }
    try {
      hashes = await pass.client.tile(0, t, width);
    } catch (error) {
      readFailure(pass, error, `tile 0/${t}`, t);
      return false;
    }
    for (let i = Math.max(from, t * TILE_WIDTH); i < t * TILE_WIDTH + width; i++) {
      const bytes = entries[i - t * TILE_WIDTH] as Uint8Array;
      const hash = leafHash(bytes);
      if (!equalBytes(hash, hashes[i - t * TILE_WIDTH] as Uint8Array)) {
        pass.findings.push(
          finding("tampered_tile", `tile 0/${t} does not hold the hash of entry ${i}`, {
            index: t,
            details: { level: 0, leaf: i },
          }),
        );
      }
      await checkEntry(pass, bytes, i);
      for (const node of range.append(hash)) {
        if (node.level === 8) completed.push({ index: node.index, hash: node.hash });
      }
    }
  }
  for (let k = 0; k < completed.length; ) {
    const tile = Math.floor((completed[k] as { index: number }).index / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, Math.floor(to / TILE_WIDTH) - tile * TILE_WIDTH);
    let hashes: Uint8Array[];
    try {
      hashes = await pass.client.tile(1, tile, width);
    } catch (error) {
      readFailure(pass, error, `tile 1/${tile}`, tile);
      return false;
    }
    for (; k < completed.length; k++) {
      const node = completed[k] as { index: number; hash: Uint8Array };
      if (Math.floor(node.index / TILE_WIDTH) !== tile) break;
      if (!equalBytes(node.hash, hashes[node.index - tile * TILE_WIDTH] as Uint8Array)) {
        pass.findings.push(
          finding(
            "tampered_tile",
            `tile 1/${tile} does not hold the root of leaves ${node.index * 256}…`,
            {
              index: tile,
              details: { level: 1, node: node.index },
            },
          ),
        );
      }
    }
  }
  return true;
}

/** Checks one entry: JSON, a `chaoscore.entry/v2`, canonical, signed by its agent. */
async function checkEntry(pass: Pass, bytes: Uint8Array, index: number): Promise<void> {
  const bad = (message: string) =>
    pass.findings.push(finding("bad_entry", `entry ${index} ${message}`, { index }));
  if (pass.linkAtZero === true && index === 0) {
    // a shard's link entry: its shape here; what it commits to is the family monitor's check
    try {
      parseShardLink(bytes);
    } catch (error) {
      bad(`is not a link entry chaoscore.shard-link/v1 (${codeOf(error)})`);
    }
    return;
  }
  let entry: LogEntry;
  try {
    entry = parseEntry(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)));
  } catch (error) {
    bad(`is not a chaoscore.entry/v2 (${codeOf(error)})`);
    return;
  }
  if (!equalBytes(encodeEntry(entry), bytes)) {
    bad("is not in canonical JSON (RFC 8785)");
    return;
  }
  let signer: string;
  try {
    signer = entrySigner(entry).toLowerCase();
  } catch (error) {
    bad(`has a malformed signature (${codeOf(error)})`);
    return;
  }
  const agent = entry.message.agent.toLowerCase();
  if (signer === agent) return;
  // A rotated key: one of the agent's keys in the registry's history.
  let keys = pass.agentKeys.get(agent);
  if (keys === undefined) {
    keys = pass.client.agentKeys(agent).catch(() => null);
    pass.agentKeys.set(agent, keys);
  }
  const known = await keys;
  if (known === null) bad(`is signed by ${signer}, and the agent ${agent} has no key history`);
  else if (!known.includes(signer)) bad(`is not signed by its agent ${agent} (signer ${signer})`);
}

/** The rebuilt root differs from the checkpoint's: a fork, or entries that do not match. */
async function classifyRootMismatch(
  pass: Pass,
  previous: MonitorState | null,
  previousRoot: Uint8Array | null,
  checkpoint: Checkpoint,
  note: string,
): Promise<void> {
  const size = checkpoint.size;
  if (previous === null || previousRoot === null || previous.checkpoint.size === 0) {
    pass.findings.push(
      finding("tampered_tile", `the entries served do not hash to the root of checkpoint ${size}`, {
        size,
      }),
    );
    return;
  }
  let proof: Uint8Array[];
  try {
    proof = await pass.client.consistencyProof(previous.checkpoint.size, size);
  } catch (error) {
    if (error instanceof LogReadError && error.kind === "unreachable") {
      readFailure(pass, error, "a consistency proof");
      return;
    }
    proof = [];
  }
  try {
    verifyConsistency(previous.checkpoint.size, size, proof, previousRoot, checkpoint.rootHash);
  } catch {
    pass.findings.push(
      finding(
        "split_view",
        `checkpoint ${size} does not extend checkpoint ${previous.checkpoint.size} seen before (no valid consistency proof)`,
        { size, details: { previousNote: previous.checkpoint.note, note } },
      ),
    );
    return;
  }
  pass.findings.push(
    finding(
      "tampered_tile",
      `checkpoint ${size} extends the previous one, but the entries served do not hash to its root`,
      { size },
    ),
  );
}
