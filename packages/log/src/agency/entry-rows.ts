/**
 * The rows an accepted batch writes beside its log leaves: one `actions` or
 * `outcomes` row per entry, and each agent's last accepted nonce (in the same
 * statements: one per kind of entry in the batch).
 * @module
 */

import { pgArray } from "../store/binary-params.js";
import { dbBlob, toDbHex } from "../store/bytes.js";
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
  // Each agent's last accepted nonce rides in the last insert of the batch, as
  // a data-modifying WITH: one round trip fewer per batch (on a loaded
  // machine each costs a context switch or two and an event-loop turn).
  const last = new Map<string, bigint>();
  for (const p of accepted) last.set(p.agent, p.nonce);
  const nonces = (first: number) => ({
    sql: `nonces AS (UPDATE agents SET action_nonce = n.nonce::numeric
            FROM unnest($${first}::text[], $${first + 1}::text[]) AS n(id, nonce)
            WHERE agents.id = n.id)`,
    params: [pgArray("text", [...last.keys()]), pgArray("text", [...last.values()].map(String))],
  });
  if (actions.length > 0) {
    // The byte columns travel as two byte strings (dbBlob) sliced by the
    // server: id and payload hash, 32 bytes each, per action; then payload
    // and attestation where present (offset and length; a NULL length is NULL).
    const fixed: Uint8Array[] = [];
    const varying: Uint8Array[] = [];
    // offsets and lengths of payload (0) and attestation (1), 1-based
    const at: [(number | null)[], (number | null)[]] = [[], []];
    const len: [(number | null)[], (number | null)[]] = [[], []];
    let offset = 1;
    for (const { p, m } of actions) {
      fixed.push(p.digest, Buffer.from(m.payloadHash.slice(2), "hex"));
      [p.extra, p.attestation].forEach((bytes, k) => {
        at[k as 0 | 1].push(bytes === null ? null : offset);
        len[k as 0 | 1].push(bytes === null ? null : bytes.length);
        if (bytes === null) return;
        varying.push(bytes);
        offset += bytes.length;
      });
    }
    const fixedBlob = dbBlob(fixed, 9);
    const varyingBlob = dbBlob(varying, 10);
    const update = outcomes.length === 0 ? nonces(15) : undefined;
    await tx.query(
      `WITH f AS MATERIALIZED (SELECT ${fixedBlob.sql} AS b),
            v AS MATERIALIZED (SELECT ${varyingBlob.sql} AS b)${update === undefined ? "" : `,\n            ${update.sql}`}
       INSERT INTO actions (id, log_id, leaf_index, agent_id, studio, task, action_type, nonce, ts,
                            payload, payload_hash, attestation)
       SELECT substring(f.b FROM u.n::int * 64 - 63 FOR 32), $1, u.leaf_index, u.agent_id, u.studio,
              u.task, u.action_type, u.nonce::numeric, to_timestamp(u.ts),
              substring(v.b FROM u.p_at FOR u.p_len), substring(f.b FROM u.n::int * 64 - 31 FOR 32),
              substring(v.b FROM u.a_at FOR u.a_len)
       FROM f, v, unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::float8[], $11::int[], $12::int[], $13::int[], $14::int[]) WITH ORDINALITY
         AS u(leaf_index, agent_id, studio, task, action_type, nonce, ts, p_at, p_len, a_at, a_len, n)`,
      [
        logId,
        pgArray(
          "int8",
          actions.map((a) => firstIndex + a.i),
        ),
        ...(["agent", "studio", "task", "actionType", "nonce"] as const).map((field) =>
          pgArray(
            "text",
            actions.map((a) => a.m[field]),
          ),
        ),
        pgArray(
          "float8",
          actions.map((a) => Number(a.m.timestamp)),
        ),
        fixedBlob.param,
        varyingBlob.param,
        pgArray("int4", at[0]),
        pgArray("int4", len[0]),
        pgArray("int4", at[1]),
        pgArray("int4", len[1]),
        ...(update?.params ?? []),
      ],
    );
  }
  if (outcomes.length > 0) {
    const update = nonces(10);
    await tx.query(
      `WITH ${update.sql}
       INSERT INTO outcomes (id, action_id, log_id, leaf_index, evaluator, status, result_hash, metrics, ts)
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
        ...update.params,
      ],
    );
  }
}
