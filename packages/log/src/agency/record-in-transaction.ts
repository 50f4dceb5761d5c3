/**
 * Recording inside the caller's transaction (a studio transition writes its
 * outcome, its action and the task in one transaction): the checks of the
 * group-commit writer, without its queue.
 * @module
 */
import type { Address, ChaosCoreError } from "@chaoscore/core";
import type { Db } from "../store/db.js";
import type { AgencyContext, PendingEntry, RecordResult } from "./agency-context.js";
import { checkEntry, mayBeRecorded } from "./entry-checks.js";
import {
  type ActionInput,
  encodeWithinLimit,
  type OutcomeInput,
  pendingEntry,
  prepareAction,
  prepareOutcome,
} from "./entry-intake.js";
import { writeEntryRows } from "./entry-rows.js";
import { readJudgedActions, readStudioJudges } from "./outcome-authorization.js";

/** One entry of {@link recordInTransaction}. */
export type TransactionItem =
  | ({ kind: "action" } & ActionInput)
  | ({ kind: "outcome" } & OutcomeInput);

/**
 * Records `items` in `tx`; see {@link ProofOfAgency.recordInTransaction}.
 * The first refused entry throws; `commit` is called once `tx` has committed.
 */
export async function recordInTransaction(
  ctx: AgencyContext,
  tx: Db,
  items: readonly TransactionItem[],
): Promise<{ results: RecordResult[]; commit: () => void }> {
  const noop = () => undefined;
  const pending: PendingEntry[] = items.map((item) => {
    const [entry, extra, attestation] =
      item.kind === "action"
        ? prepareAction(ctx, item)
        : [...prepareOutcome(ctx, item), null as Uint8Array | null];
    const bytes = encodeWithinLimit(ctx, entry);
    return pendingEntry(ctx, item.kind, entry, bytes, extra, attestation, {
      resolve: noop,
      reject: noop,
    });
  });
  const signers = await Promise.all(pending.map((p) => p.signer));
  const state = await ctx.agents.signingState([...new Set(pending.map((p) => p.agent))], tx);
  const results: RecordResult[] = [];
  const fresh: PendingEntry[] = [];
  for (const p of pending) {
    if (!mayBeRecorded(p, state)) {
      fresh.push(p);
      continue;
    }
    const [row] = await tx.query<{ log_id: string; leaf_index: number }>(
      `SELECT log_id, leaf_index FROM ${p.kind === "action" ? "actions" : "outcomes"} WHERE id = decode($1, 'hex')`,
      [p.id.slice(2)],
    );
    if (row !== undefined) {
      results.push({
        id: p.id,
        kind: p.kind,
        log: row.log_id,
        leafIndex: Number(row.leaf_index),
        duplicate: true,
      });
    } else fresh.push(p);
  }
  const refs = fresh.flatMap((p) =>
    p.entry.kind === "action" ? p.entry.message.parents : [p.entry.message.action],
  );
  const known = await readJudgedActions(tx, refs);
  const judges = await readStudioJudges(tx, [
    ...[...known.values()].map((a) => a.studio),
    ...fresh.flatMap((p) => (p.entry.kind === "action" ? [p.entry.message.studio] : [])),
  ]);
  for (const p of fresh) {
    const signer = signers[pending.indexOf(p)] as Address | ChaosCoreError;
    const problem = checkEntry(ctx, p, signer, state, known, judges);
    if (problem !== null) throw problem;
  }
  if (fresh.length === 0) return { results, commit: () => undefined };
  // The family's lock; a rotation that is due happens here (log-family.ts).
  const appended = await ctx.logs.appendInTransaction(
    tx,
    fresh.map((p) => p.bytes),
  );
  await writeEntryRows(tx, appended.log.id, fresh, appended.firstIndex);
  fresh.forEach((p, i) => {
    results.push({
      id: p.id,
      kind: p.kind,
      log: appended.log.id,
      leafIndex: appended.firstIndex + i,
      duplicate: false,
    });
  });
  // in the order of `items`
  results.sort(
    (a, b) => pending.findIndex((p) => p.id === a.id) - pending.findIndex((p) => p.id === b.id),
  );
  return { results, commit: appended.commit };
}
