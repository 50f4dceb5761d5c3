/**
 * A monitor of a log FAMILY (docs/monitor.md "Shards", docs/spec/shards.md):
 * every shard the gateway lists at `GET /v1/logs`, each followed by its own
 * {@link monitorLog} pass under the shard key its certificate names (the
 * policy pins only the family key), plus what ties the shards together: the
 * certificate of each shard n ≥ 1, the link entry (leaf 0) of each successor
 * against its predecessor's final checkpoint, and frozen shards that never
 * grow again.
 * @module
 */
import {
  base64ToBytes,
  ChaosCoreError,
  isChaosCoreError,
  type LogShardInfo,
  parseShardLink,
  parseTrustPolicy,
  parseVerifierKey,
  type TrustPolicy,
  verifyShardCertificate,
  verifyShardLink,
} from "@chaoscore/core";
import { type Finding, finding } from "./findings.js";
import { LogClient, TILE_WIDTH } from "./log-client.js";
import { type MonitorOptions, type MonitorPassResult, monitorLog } from "./monitor.js";
import { codeOf, readFailure } from "./pass.js";
import { type MonitorState, parseMonitorState, readStateJson, writeMonitorState } from "./state.js";

export const FAMILY_MONITOR_STATE_FORMAT = "chaoscore.family-monitor-state/v1";

/** What the monitor remembers of one shard. */
export type ShardMonitorState = {
  shard: number;
  origin: string;
  /** The shard key (its certificate's) the shard's checkpoints verified under. */
  verifierKey: string;
  /** The final size, from the first pass that saw the shard frozen. */
  frozenSize?: number;
  /** True once the shard's link entry was checked against its predecessor (n ≥ 1). */
  linkChecked: boolean;
  /** The shard's own monitor state (null before its first verified checkpoint). */
  state: MonitorState | null;
};

/** The family monitor's state file (`chaoscore.family-monitor-state/v1`). */
export type FamilyMonitorState = {
  format: typeof FAMILY_MONITOR_STATE_FORMAT;
  /** The family key (the policy's log key) the state was verified under. */
  familyKey: string;
  /** Per shard id. */
  shards: Record<string, ShardMonitorState>;
  updatedAt: string;
};

/** One shard as `GET /v1/logs` lists it (checked before use). */
type ListedShard = Omit<LogShardInfo, "createdAt" | "frozenAt">;

/** The outcome of one family pass. */
export type FamilyPassResult = {
  /** Everything wrong: the family's own findings and every shard's (with `details.log`). */
  readonly findings: readonly Finding[];
  /** Each listed shard and its pass (null when it could not be verified: a certificate finding). */
  readonly shards: readonly {
    readonly id: string;
    readonly shard: number;
    readonly origin: string;
    readonly state: "active" | "frozen";
    readonly result: MonitorPassResult | null;
  }[];
  /** The state to keep. */
  readonly state: FamilyMonitorState;
  /** True when the state moved on. */
  readonly advanced: boolean;
};

const isInt = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** The listing, or null when it is not one (then a finding is recorded). */
function checkListing(body: unknown, findings: Finding[]): ListedShard[] | null {
  const logs = (body as { logs?: unknown } | null)?.logs;
  const ok =
    Array.isArray(logs) &&
    logs.length > 0 &&
    logs.length <= 100_000 &&
    logs.every((l: Record<string, unknown>) => {
      return (
        typeof l === "object" &&
        l !== null &&
        isStr(l.id) &&
        isStr(l.origin) &&
        isStr(l.verifierKey) &&
        isInt(l.shard) &&
        isInt(l.size) &&
        (l.state === "active" || l.state === "frozen") &&
        (l.frozenSize === undefined || isInt(l.frozenSize)) &&
        (l.successor === undefined || isStr(l.successor)) &&
        (l.certificate === undefined || isStr(l.certificate))
      );
    });
  // one row per shard: an id or a shard number listed twice is two views of one shard
  const unique = (key: "id" | "shard") =>
    new Set((logs as ListedShard[]).map((l) => l[key])).size === (logs as unknown[]).length;
  if (!ok || !unique("id") || !unique("shard")) {
    findings.push(finding("tampered_tile", "GET /v1/logs is not a list of the family's shards"));
    return null;
  }
  return (logs as ListedShard[]).slice().sort((a, b) => a.shard - b.shard);
}

/**
 * The key a shard's checkpoints must verify under: the family key for shard 0
 * (listed with the family origin and key), else the key of its certificate
 * (which must name the listed shard, origin and key). A finding and null otherwise.
 */
function shardKey(
  listed: ListedShard,
  policy: TrustPolicy,
  family: string,
  findings: Finding[],
): string | null {
  const bad = (message: string, details: Record<string, unknown> = {}) => {
    findings.push(
      finding("bad_certificate", `shard ${listed.id}: ${message}`, {
        details: { log: listed.id, ...details },
      }),
    );
    return null;
  };
  if (listed.shard === 0) {
    if (listed.origin !== family || listed.verifierKey !== policy.log.key) {
      return bad("shard 0 is listed with another origin or key than the policy's log key", {
        origin: listed.origin,
        verifierKey: listed.verifierKey,
      });
    }
    return policy.log.key;
  }
  if (listed.certificate === undefined) return bad(`shard ${listed.shard} has no certificate`);
  let cert: ReturnType<typeof verifyShardCertificate>;
  try {
    cert = verifyShardCertificate(listed.certificate, policy.log.key);
  } catch (error) {
    return bad(`its certificate does not verify under the family key (${codeOf(error)})`);
  }
  if (
    cert.shard !== listed.shard ||
    cert.shardOrigin !== listed.origin ||
    cert.shardVerifierKey !== listed.verifierKey
  ) {
    return bad("its certificate names another shard number, origin or key than the listing", {
      certified: {
        shard: cert.shard,
        origin: cert.shardOrigin,
        verifierKey: cert.shardVerifierKey,
      },
    });
  }
  return cert.shardVerifierKey;
}

/**
 * Runs one pass over every shard of the log family the gateway lists: checks
 * each shard's certificate (shard n ≥ 1) under the policy's log key (the
 * family key), runs {@link monitorLog} on each shard under its certified key
 * (its checkpoints, witnesses, consistency with the last pass, entries and
 * tiles), checks each successor's link entry against its predecessor's final
 * checkpoint (once), and reports a frozen shard that grows (`frozen_grew`: a
 * served checkpoint or listed size past the final size first seen, a changed
 * final size, or a frozen shard listed active again). Findings of a shard's
 * pass carry `details.log`.
 * @throws ChaosCoreError TRUST_POLICY_* (bad policy); MONITOR_STATE_INVALID
 * (the state is for another family key); INVALID_INPUT (a bad gateway URL).
 * @example
 * ```ts
 * const { findings, state } = await monitorFamily({ gateway, policy, state: previous });
 * ```
 */
export async function monitorFamily(
  options: Omit<MonitorOptions, "state" | "log"> & {
    readonly state?: FamilyMonitorState | null;
  },
): Promise<FamilyPassResult> {
  const policy = parseTrustPolicy(options.policy);
  const family = parseVerifierKey(policy.log.key).name;
  const previous = options.state ?? null;
  if (previous !== null && previous.familyKey !== policy.log.key) {
    throw new ChaosCoreError(
      "MONITOR_STATE_INVALID",
      "the family monitor state was verified under another family key than the policy's",
      { details: { stateKey: previous.familyKey, policyKey: policy.log.key } },
    );
  }
  let client: LogClient;
  try {
    client = new LogClient(options.gateway, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  } catch (cause) {
    throw new ChaosCoreError("INVALID_INPUT", `the gateway URL ${options.gateway} is not a URL`, {
      cause,
    });
  }
  const findings: Finding[] = [];
  const shards: Record<string, ShardMonitorState> = { ...(previous?.shards ?? {}) };
  const unchanged = (): FamilyPassResult => ({
    findings,
    shards: [],
    state: previous ?? {
      format: FAMILY_MONITOR_STATE_FORMAT,
      familyKey: policy.log.key,
      shards: {},
      updatedAt: "",
    },
    advanced: false,
  });
  let body: unknown;
  try {
    body = await client.logs();
  } catch (error) {
    readFailure({ findings }, error, "the list of logs");
    return unchanged();
  }
  const listing = checkListing(body, findings);
  if (listing === null) return unchanged();
  const byId = new Map(listing.map((l) => [l.id, l]));
  const frozenGrew = (listed: ListedShard, message: string, details: Record<string, unknown>) =>
    findings.push(
      finding("frozen_grew", `shard ${listed.id}: ${message}`, {
        details: { log: listed.id, ...details },
      }),
    );

  let advanced = false;
  const passes: FamilyPassResult["shards"][number][] = [];
  const served = new Map<string, { size: number; rootHash: string }>();
  for (const listed of listing) {
    const before = shards[listed.id];
    const key = shardKey(listed, policy, family, findings);
    if (key !== null && before !== undefined && before.verifierKey !== key) {
      findings.push(
        finding("bad_certificate", `shard ${listed.id} now has another key than before`, {
          details: { log: listed.id, before: before.verifierKey, now: key },
        }),
      );
    }
    if (key === null || (before !== undefined && before.verifierKey !== key)) {
      passes.push({ ...pick(listed), result: null });
      continue;
    }
    const result = await monitorLog({
      ...options,
      policy,
      state: before?.state ?? null,
      log: { id: listed.id, verifierKey: key, linkAtZero: listed.shard > 0 },
    });
    for (const f of result.findings) {
      findings.push({ ...f, details: { ...(f.details ?? {}), log: listed.id } });
    }
    if (result.checkpoint !== null) served.set(listed.id, result.checkpoint);
    passes.push({ ...pick(listed), result });

    // frozen shards never grow
    let frozenSize = before?.frozenSize;
    if (listed.state === "frozen") {
      if (listed.frozenSize === undefined) {
        frozenGrew(listed, "is listed frozen without a final size", {});
      } else if (frozenSize !== undefined && listed.frozenSize !== frozenSize) {
        frozenGrew(listed, `its final size changed from ${frozenSize} to ${listed.frozenSize}`, {
          frozenSize,
          listed: listed.frozenSize,
        });
      }
      frozenSize ??= listed.frozenSize;
    } else if (frozenSize !== undefined) {
      frozenGrew(listed, `was frozen at size ${frozenSize} and is listed active again`, {
        frozenSize,
      });
    }
    if (frozenSize !== undefined) {
      const size = Math.max(listed.size, result.checkpoint?.size ?? 0);
      if (size > frozenSize) {
        frozenGrew(listed, `was frozen at size ${frozenSize} and has grown to ${size}`, {
          frozenSize,
          size,
        });
      }
    }
    const next: ShardMonitorState = {
      shard: listed.shard,
      origin: listed.origin,
      verifierKey: key,
      ...(frozenSize === undefined ? {} : { frozenSize }),
      linkChecked: before?.linkChecked ?? false,
      state: result.state,
    };
    if (before === undefined || result.advanced || before.frozenSize !== next.frozenSize) {
      advanced = true;
    }
    shards[listed.id] = next;
  }

  // each successor's link entry against its predecessor's final checkpoint
  for (const listed of listing) {
    const mine = shards[listed.id];
    if (listed.shard === 0 || mine === undefined || mine.linkChecked) continue;
    if (!served.has(listed.id)) continue; // its checkpoint did not verify: nothing to read yet
    if (await checkLink(client, options, listed, listing, served, findings)) {
      shards[listed.id] = { ...mine, linkChecked: true };
      advanced = true;
    }
  }
  // a shard followed before is still listed: a log that hides one hides the history it froze
  for (const [id, seen] of Object.entries(previous?.shards ?? {})) {
    if (!byId.has(id)) {
      findings.push(
        finding(
          "bad_link",
          `shard ${id} (shard ${seen.shard}), followed before, is no longer listed`,
          {
            details: { log: id, shard: seen.shard },
          },
        ),
      );
    }
  }
  // a frozen shard names a listed successor
  for (const listed of listing) {
    if (
      listed.state === "frozen" &&
      (listed.successor === undefined || !byId.has(listed.successor))
    ) {
      findings.push(
        finding("bad_link", `shard ${listed.id} is frozen but its successor is not listed`, {
          details: { log: listed.id, successor: listed.successor ?? null },
        }),
      );
    }
  }
  const state: FamilyMonitorState = {
    format: FAMILY_MONITOR_STATE_FORMAT,
    familyKey: policy.log.key,
    shards,
    updatedAt: advanced
      ? (options.now?.() ?? new Date()).toISOString()
      : (previous?.updatedAt ?? ""),
  };
  return { findings, shards: passes, state: advanced ? state : (previous ?? state), advanced };
}

function pick(l: ListedShard) {
  return { id: l.id, shard: l.shard, origin: l.origin, state: l.state };
}

/**
 * Reads leaf 0 of shard `listed` and checks it is the link entry to its
 * predecessor: names this family, shard and origin, and the predecessor's
 * final checkpoint (signed by the predecessor's key, of its final size, with
 * the root the monitor verified for it). True when it was checked and holds.
 */
async function checkLink(
  client: LogClient,
  options: { readonly gateway: string; readonly timeoutMs?: number },
  listed: ListedShard,
  listing: readonly ListedShard[],
  served: ReadonlyMap<string, { size: number; rootHash: string }>,
  findings: Finding[],
): Promise<boolean> {
  const bad = (message: string, details: Record<string, unknown> = {}) => {
    findings.push(
      finding("bad_link", `shard ${listed.id}: ${message}`, {
        details: { log: listed.id, ...details },
      }),
    );
    return false;
  };
  const predecessor = listing.find((l) => l.shard === listed.shard - 1);
  if (predecessor === undefined)
    return bad(`its predecessor (shard ${listed.shard - 1}) is not listed`);
  if (predecessor.state !== "frozen" || predecessor.frozenSize === undefined) {
    return bad(`its predecessor ${predecessor.id} is not frozen`);
  }
  if (predecessor.successor !== undefined && predecessor.successor !== listed.id) {
    return bad(`its predecessor names another successor, ${predecessor.successor}`);
  }
  const shardClient = new LogClient(client.url, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    log: listed.id,
  });
  const size = served.get(listed.id)?.size ?? 0;
  if (size === 0) return false; // not yet a leaf to read
  let leaf0: Uint8Array;
  try {
    const bundle = await shardClient.entries(0, Math.min(TILE_WIDTH, size));
    leaf0 = bundle[0] as Uint8Array;
  } catch (error) {
    readFailure({ findings }, error, `leaf 0 of ${listed.id}`);
    return false;
  }
  let link: ReturnType<typeof parseShardLink>;
  try {
    link = parseShardLink(leaf0);
  } catch (error) {
    return bad(`leaf 0 is not a link entry (${codeOf(error)})`);
  }
  const family = listing.find((l) => l.shard === 0)?.origin;
  if (link.family !== family || link.shard !== listed.shard || link.origin !== listed.origin) {
    return bad("the link entry names another family, shard or origin", {
      link: { family: link.family, shard: link.shard, origin: link.origin },
    });
  }
  if (link.previous.size !== predecessor.frozenSize) {
    return bad(
      `the link entry commits to size ${link.previous.size} of ${predecessor.id}, which was frozen at ${predecessor.frozenSize}`,
    );
  }
  const final = served.get(predecessor.id);
  if (final === undefined || final.size !== predecessor.frozenSize) {
    return false; // the predecessor's final checkpoint is not verified in this pass: try again
  }
  try {
    verifyShardLink(link, predecessor.verifierKey, {
      size: final.size,
      rootHash: base64ToBytes(final.rootHash),
    });
  } catch (error) {
    return bad(
      `the link entry does not commit to ${predecessor.id}'s final checkpoint (${isChaosCoreError(error) ? error.message : codeOf(error)})`,
    );
  }
  return true;
}

/**
 * Reads a family monitor state file; null when it does not exist yet.
 * @throws ChaosCoreError MONITOR_STATE_INVALID when it is not a valid state.
 */
export async function readFamilyMonitorState(path: string): Promise<FamilyMonitorState | null> {
  const value = (await readStateJson(path)) as FamilyMonitorState | null;
  if (value === null) return null;
  const invalid = (message: string): never => {
    throw new ChaosCoreError(
      "MONITOR_STATE_INVALID",
      `the family monitor state ${path}: ${message}`,
    );
  };
  if (value?.format !== FAMILY_MONITOR_STATE_FORMAT)
    invalid(`is not ${FAMILY_MONITOR_STATE_FORMAT}`);
  if (!isStr(value.familyKey) || typeof value.shards !== "object" || value.shards === null) {
    invalid("has no family key or shards");
  }
  for (const [id, s] of Object.entries(value.shards)) {
    if (
      !isInt(s?.shard) ||
      !isStr(s.origin) ||
      !isStr(s.verifierKey) ||
      typeof s.linkChecked !== "boolean"
    ) {
      invalid(`shard ${id} is malformed`);
    }
    if (s.frozenSize !== undefined && !isInt(s.frozenSize)) invalid(`shard ${id}'s frozen size`);
    if (s.state !== null) s.state = parseMonitorState(s.state);
  }
  return value;
}

/**
 * {@link monitorFamily} with the state kept in a file (written atomically when it advanced).
 * @throws ChaosCoreError MONITOR_STATE_INVALID; see {@link monitorFamily}.
 */
export async function monitorFamilyWithStateFile(
  options: Omit<MonitorOptions, "state" | "log"> & { readonly statePath: string },
): Promise<FamilyPassResult> {
  const state = await readFamilyMonitorState(options.statePath);
  const result = await monitorFamily({ ...options, state });
  if (result.advanced) {
    await writeMonitorState(options.statePath, result.state);
  }
  return result;
}
