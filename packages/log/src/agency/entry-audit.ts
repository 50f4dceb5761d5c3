/**
 * The audit of the whole log by Proof of Agency: the tree against its stored
 * nodes and signed checkpoints (TransparencyLog.audit), and every entry's
 * signature (by a key of its agent) and table row, rebuilt from the signed
 * entry, so that a row edited in the database shows.
 * @module
 */
import {
  type Address,
  bytesToHex,
  entryDigest,
  type Hex,
  type LogEntry,
  parseEntry,
  parseShardLink,
  verifyShardCertificate,
  verifyShardLink,
} from "@chaoscore/core";
import type { AgencyContext } from "./agency-context.js";
import type { LogShardInfo } from "./log-family.js";
import type { TransparencyLog } from "./transparency-log.js";
import type { AuditFinding, TreeAuditReport } from "./tree-audit.js";

/** What the audit of a family reports: its shards' trees, every finding named by its shard. */
export type FamilyAuditReport = Omit<TreeAuditReport, "findings"> & {
  /** Each shard's own report (size, root, checkpoints verified), oldest first. */
  shards: { id: string; origin: string; size: number; rootHash: Uint8Array; checkpoints: number }[];
  findings: (AuditFinding & { log?: string })[];
};

/**
 * Audits every shard of the family of `ctx` (docs/spec/shards.md §audit):
 * each tree and its entries, and the link entry at leaf 0 of each shard n ≥ 1
 * against its predecessor's final checkpoint. Findings of shard n ≥ 1 carry
 * `log`; the totals are summed, `rootHash` is the active shard's.
 */
export async function auditEntries(
  ctx: AgencyContext,
  onProgress?: (done: number, total: number) => void,
): Promise<FamilyAuditReport> {
  const shards = await ctx.logs.list();
  const total = shards.reduce((n, s) => n + s.size, 0);
  let before = 0;
  const report: FamilyAuditReport = {
    size: 0,
    rootHash: new Uint8Array(32),
    checkpoints: 0,
    findings: [],
    shards: [],
  };
  for (const [i, info] of shards.entries()) {
    const log = await ctx.logs.get(info.id);
    const offset = before;
    const checkLink =
      i === 0
        ? undefined
        : (bytes: Uint8Array) => checkLinkEntry(ctx, bytes, shards[i - 1] as LogShardInfo, info);
    const own = await auditShard(
      ctx,
      log,
      checkLink,
      onProgress === undefined ? undefined : (done) => onProgress(offset + done, total),
    );
    before += info.size;
    report.size += own.size;
    report.checkpoints += own.checkpoints;
    report.rootHash = own.rootHash;
    report.shards.push({
      id: log.id,
      origin: log.origin,
      size: own.size,
      rootHash: own.rootHash,
      checkpoints: own.checkpoints,
    });
    for (const f of own.findings) report.findings.push(i === 0 ? f : { ...f, log: log.id });
  }
  return report;
}

/** The problem with the link entry `bytes` of shard `info` (leaf 0), or null. */
async function checkLinkEntry(
  ctx: AgencyContext,
  bytes: Uint8Array,
  previous: LogShardInfo,
  info: LogShardInfo,
): Promise<string | null> {
  try {
    const link = parseShardLink(bytes);
    if (
      link.family !== ctx.logs.origin ||
      link.shard !== info.shard ||
      link.origin !== info.origin
    ) {
      return `the link entry names ${link.origin}, not this shard`;
    }
    if (previous.state !== "frozen" || previous.successor !== info.id) {
      return `the predecessor ${previous.id} is not frozen with this shard as its successor`;
    }
    if (previous.frozenSize !== previous.size) {
      return `the predecessor ${previous.id} grew after it was frozen (${previous.frozenSize} → ${previous.size})`;
    }
    const prev = await ctx.logs.get(previous.id);
    const final = await prev.checkpointAt(previous.size);
    if (final === undefined) return `the predecessor has no checkpoint at its final size`;
    if (final.note !== link.previous.checkpoint) {
      return "the link entry's checkpoint is not the predecessor's final one";
    }
    verifyShardLink(link, previous.verifierKey, {
      size: previous.size,
      rootHash: await prev.rootAt(previous.size),
    });
    if (info.certificate === undefined) return "the shard has no certificate";
    const cert = verifyShardCertificate(info.certificate, ctx.logs.verifierKey);
    if (
      cert.shard !== info.shard ||
      cert.shardOrigin !== info.origin ||
      cert.shardVerifierKey !== info.verifierKey
    ) {
      return "the shard's certificate certifies another shard or key";
    }
    return null;
  } catch (error) {
    return `link entry: ${(error as Error).message}`;
  }
}

/** Audits one shard's tree and entries; leaf 0 of shard n ≥ 1 is its link entry. */
async function auditShard(
  ctx: AgencyContext,
  log: TransparencyLog,
  checkLink: ((bytes: Uint8Array) => Promise<string | null>) | undefined,
  onProgress?: (done: number, total: number) => void,
): Promise<TreeAuditReport> {
  const histories = new Map<string, Set<string>>();
  const keysOf = async (agent: string) => {
    let keys = histories.get(agent);
    if (keys === undefined) {
      keys = new Set((await ctx.agents.keyHistory(agent)).map((k) => k.signer));
      histories.set(agent, keys);
    }
    return keys;
  };
  const rowsByIndex = await rowDigests(ctx, log.id);
  const report = await log.audit(async (index, bytes) => {
    if (checkLink !== undefined && index === 0) {
      return rowsByIndex.has(0) ? "a table row points at the link entry" : checkLink(bytes);
    }
    const row = rowsByIndex.get(index);
    rowsByIndex.delete(index);
    let entry: LogEntry;
    try {
      entry = parseEntry(JSON.parse(new TextDecoder().decode(bytes)));
    } catch {
      return "entry is not a valid chaoscore.entry/v1";
    }
    const digest = entryDigest(entry);
    let signer: Address;
    try {
      signer = await ctx.verifier.recover(digest, entry.signature);
    } catch {
      return "signature does not recover";
    }
    if (!(await keysOf(entry.message.agent)).has(signer)) {
      return `signature is not by a key of agent ${entry.message.agent}`;
    }
    if (row === undefined) return `no ${entry.kind} row points at this leaf`;
    if (row.digest !== rowDigest(entry, bytesToHex(digest), row.extra)) {
      return `the ${entry.kind} row differs from the signed entry (edited in the database)`;
    }
    return null;
  }, onProgress);
  for (const index of rowsByIndex.keys()) {
    report.findings.push({
      index,
      kind: "entry-invalid",
      message: `a table row points at leaf ${index}, which does not hold it`,
    });
  }
  report.findings.sort((a, b) => a.index - b.index);
  return report;
}

/** Every row of the log's actions and outcomes as text, by leaf index. */
async function rowDigests(
  ctx: AgencyContext,
  logId: string,
): Promise<Map<number, { digest: string; extra: string | null }>> {
  const rows = await ctx.db.query<{ leaf_index: number; digest: string; extra: string | null }>(
    `SELECT leaf_index, concat_ws('|', encode(id, 'hex'), agent_id, studio, task, action_type,
              nonce::text, extract(epoch FROM ts)::bigint::text, encode(payload_hash, 'hex')) AS digest,
            encode(sha256(payload), 'hex') AS extra
     FROM actions WHERE log_id = $1
     UNION ALL
     SELECT leaf_index, concat_ws('|', encode(id, 'hex'), encode(action_id, 'hex'), evaluator, status,
              extract(epoch FROM ts)::bigint::text, encode(result_hash, 'hex')) AS digest,
            encode(sha256(metrics), 'hex') AS extra
     FROM outcomes WHERE log_id = $1`,
    [logId],
  );
  return new Map(rows.map((r) => [Number(r.leaf_index), { digest: r.digest, extra: r.extra }]));
}

/** The text `rowDigests` builds from a row, rebuilt from the signed entry (so edits show). */
function rowDigest(entry: LogEntry, id: Hex, extra: string | null): string {
  const m = entry.message;
  if (entry.kind === "action") {
    const a = entry.message;
    const payloadOk = extra === null || `0x${extra}` === a.payloadHash;
    return [
      id.slice(2),
      a.agent,
      a.studio,
      a.task,
      a.actionType,
      a.nonce,
      a.timestamp,
      payloadOk ? a.payloadHash.slice(2) : "payload-edited",
    ].join("|");
  }
  const o = entry.message;
  const metricsOk = extra !== null && `0x${extra}` === o.metricsHash;
  return [
    id.slice(2),
    o.action.slice(2),
    o.agent,
    o.status,
    m.timestamp,
    metricsOk ? o.resultHash.slice(2) : "metrics-edited",
  ].join("|");
}
