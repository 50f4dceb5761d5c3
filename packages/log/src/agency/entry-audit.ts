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
} from "@chaoscore/core";
import type { AgencyContext } from "./agency-context.js";

/** Audits the log of `ctx`; see {@link ProofOfAgency.audit}. */
export async function auditEntries(
  ctx: AgencyContext,
  onProgress?: (done: number, total: number) => void,
) {
  const histories = new Map<string, Set<string>>();
  const keysOf = async (agent: string) => {
    let keys = histories.get(agent);
    if (keys === undefined) {
      keys = new Set((await ctx.agents.keyHistory(agent)).map((k) => k.signer));
      histories.set(agent, keys);
    }
    return keys;
  };
  const rowsByIndex = await rowDigests(ctx);
  const report = await ctx.log.audit(async (index, bytes) => {
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
    [ctx.log.id],
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
