/**
 * The rows an accepted batch writes beside its log leaves: one `actions` or
 * `outcomes` row per entry, and each agent's last accepted nonce.
 * @module
 */

import { toDbHex } from "../store/bytes.js";
import type { Db } from "../store/db.js";
import type { PendingEntry } from "./agency-context.js";

/**
 * Inserts the rows of `accepted`, whose leaves start at `firstIndex` of log
 * `logId`, and moves each agent's `action_nonce` to its last entry's nonce.
 */
export async function writeEntryRows(
  tx: Db,
  logId: string,
  accepted: readonly PendingEntry[],
  firstIndex: number,
): Promise<void> {
  const actions = accepted.flatMap((p, i) =>
    p.entry.kind === "action" ? [{ p, m: p.entry.message, i }] : [],
  );
  const outcomes = accepted.flatMap((p, i) =>
    p.entry.kind === "outcome" ? [{ p, m: p.entry.message, i }] : [],
  );
  if (actions.length > 0) {
    await tx.query(
      `INSERT INTO actions (id, log_id, leaf_index, agent_id, studio, task, action_type, nonce, ts,
                            payload, payload_hash, attestation)
       SELECT decode(u.id, 'hex'), $1, u.leaf_index, u.agent_id, u.studio, u.task, u.action_type,
              u.nonce::numeric, to_timestamp(u.ts), decode(u.payload, 'hex'),
              decode(u.payload_hash, 'hex'), decode(u.attestation, 'hex')
       FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                   $8::text[], $9::float8[], $10::text[], $11::text[], $12::text[])
         AS u(id, leaf_index, agent_id, studio, task, action_type, nonce, ts, payload, payload_hash,
              attestation)`,
      [
        logId,
        actions.map((a) => a.p.id.slice(2)),
        actions.map((a) => firstIndex + a.i),
        actions.map((a) => a.m.agent),
        actions.map((a) => a.m.studio),
        actions.map((a) => a.m.task),
        actions.map((a) => a.m.actionType),
        actions.map((a) => a.m.nonce),
        actions.map((a) => Number(a.m.timestamp)),
        actions.map((a) => (a.p.extra === null ? null : toDbHex(a.p.extra))),
        actions.map((a) => a.m.payloadHash.slice(2)),
        actions.map((a) => (a.p.attestation === null ? null : toDbHex(a.p.attestation))),
      ],
    );
  }
  if (outcomes.length > 0) {
    await tx.query(
      `INSERT INTO outcomes (id, action_id, log_id, leaf_index, evaluator, status, result_hash, metrics, ts)
       SELECT decode(u.id, 'hex'), decode(u.action_id, 'hex'), $1, u.leaf_index, u.evaluator,
              u.status, decode(u.result_hash, 'hex'), decode(u.metrics, 'hex'), to_timestamp(u.ts)
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                   $8::text[], $9::float8[])
         AS u(id, action_id, leaf_index, evaluator, status, result_hash, metrics, ts)`,
      [
        logId,
        outcomes.map((o) => o.p.id.slice(2)),
        outcomes.map((o) => o.m.action.slice(2)),
        outcomes.map((o) => firstIndex + o.i),
        outcomes.map((o) => o.m.agent),
        outcomes.map((o) => o.m.status),
        outcomes.map((o) => o.m.resultHash.slice(2)),
        outcomes.map((o) => toDbHex(o.p.extra as Uint8Array)),
        outcomes.map((o) => Number(o.m.timestamp)),
      ],
    );
  }
  const last = new Map<string, bigint>();
  for (const p of accepted) last.set(p.agent, p.nonce);
  await tx.query(
    `UPDATE agents SET action_nonce = u.nonce::numeric
     FROM unnest($1::text[], $2::text[]) AS u(id, nonce) WHERE agents.id = u.id`,
    [[...last.keys()], [...last.values()].map(String)],
  );
}
