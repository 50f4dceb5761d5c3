/**
 * The group-commit writer of Proof of Agency: accepted intake waits in a
 * bounded queue ({@link IngestBudget}); one writer at a time takes the head
 * of the queue whose signatures are recovered (at least half of the queue,
 * at most `maxBatch` entries, in queue order), and in one transaction locks
 * their agents, answers duplicates with their first record, checks each
 * entry, appends the accepted ones to the log and stores their rows.
 * Throughput grows with load while every accepted entry is durable when its
 * promise resolves.
 * @module
 */
import {
  type Address,
  ChaosCoreError,
  type Hex,
  isChaosCoreError,
  type LogEntry,
} from "@chaoscore/core";
import { pgArray } from "../store/binary-params.js";
import type { Db } from "../store/db.js";
import type { AgencyContext, PendingEntry, RecordResult } from "./agency-context.js";
import { checkEntry, mayBeRecorded } from "./entry-checks.js";
import {
  deferredPendingEntry,
  encodeWithinLimit,
  entryTextWithinLimit,
  pendingEntry,
} from "./entry-intake.js";
import { writeEntryRows } from "./entry-rows.js";
import { maySkipForeignKeys, skipKnownForeignKeys } from "./foreign-key-skip.js";
import { IngestBudget } from "./ingest-budget.js";
import { readJudgedActions, readStudioJudges } from "./outcome-authorization.js";
import type { TransparencyLog } from "./transparency-log.js";

/** The queue and its single writer. */
export class GroupCommitWriter {
  private queue: PendingEntry[] = [];
  private writing: Promise<void> | null = null;
  private readonly budget: IngestBudget;
  /** Whether the database lets the writer skip its known foreign keys (asked once). */
  private skipKeys: Promise<boolean> | undefined;

  constructor(
    private readonly ctx: AgencyContext,
    /** Most entries committed in one transaction. */
    private readonly maxBatch: number,
  ) {
    this.budget = new IngestBudget(ctx.limits);
  }

  /**
   * Queues an entry that passed intake; resolves once it is durable.
   * @throws ChaosCoreError AGENCY_ENTRY_TOO_LARGE, AGENCY_QUEUE_FULL (synchronously).
   */
  enqueue(
    kind: "action" | "outcome",
    entry: LogEntry,
    extra: Uint8Array | null,
    attestation: Uint8Array | null = null,
    log?: string,
  ): Promise<RecordResult> {
    // A verifier with threads of its own computes the entry's canonical bytes
    // and digest there, beside its signer (entry-prep.ts); else they are computed here.
    const deferred = this.ctx.verifier.prepareEntry !== undefined;
    const text = deferred ? entryTextWithinLimit(this.ctx, entry) : null;
    const bytes = text === null ? encodeWithinLimit(this.ctx, entry) : null;
    const release = this.budget.admit(
      (text?.size ?? bytes?.length ?? 0) + (extra?.length ?? 0) + (attestation?.length ?? 0),
    );
    const answered = new Promise<RecordResult>((resolve, reject) => {
      const pending =
        text === null
          ? pendingEntry(this.ctx, kind, entry, bytes as Uint8Array, extra, attestation, {
              resolve,
              reject,
            })
          : deferredPendingEntry(this.ctx, kind, entry, text, extra, attestation, {
              resolve,
              reject,
            });
      if (log !== undefined) pending.log = log;
      const recovered = () => {
        pending.recovered = true;
      };
      pending.signer.then(recovered, recovered);
      this.queue.push(pending);
      this.kick();
    });
    // The entry's room in the queue is given back once it is answered.
    answered.then(release, release);
    return answered;
  }

  /** Entries and bytes the queue holds now. */
  get queued(): { entries: number; bytes: number } {
    return { entries: this.budget.entries, bytes: this.budget.bytes };
  }

  /** Resolves when every queued write has committed or failed. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private kick(): void {
    if (this.writing !== null || this.queue.length === 0) return;
    this.writing = (async () => {
      while (this.queue.length > 0) {
        // Let the I/O that is ready (requests of a gateway) queue its entries
        // first: the database may block this thread while a batch commits
        // (PGlite runs on it), and one-entry batches would cap the throughput.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // Write what is recovered: the head of the queue whose signatures are
        // in, once it is at least half of what the queue offers, so that the
        // recovery of the entries behind it overlaps this batch's transaction
        // (taking the whole queue put the two in series: 128 callers in process
        // left the cores half idle) while batches stay large under heavy load.
        const half = Math.ceil(Math.min(this.queue.length, this.maxBatch) / 2);
        let take = recoveredHead(this.queue, this.maxBatch);
        while (take < half) {
          await (this.queue[take] as PendingEntry).signer;
          // (the entries recovered with it are marked by then)
          await new Promise<void>((resolve) => setImmediate(resolve));
          take = recoveredHead(this.queue, this.maxBatch);
        }
        await this.writeBatch(this.queue.splice(0, take));
      }
    })().finally(() => {
      this.writing = null;
      this.kick();
    });
  }

  private async writeBatch(all: PendingEntry[]): Promise<void> {
    const { ctx } = this;
    const allSigners = await Promise.all(all.map((p) => p.signer));
    // An entry whose digest could not be computed (deferredPendingEntry) is
    // refused with that error before the transaction.
    const batch: PendingEntry[] = [];
    const signers: (Address | ChaosCoreError)[] = [];
    all.forEach((p, i) => {
      if (p.digest.length === 32) {
        batch.push(p);
        signers.push(allSigners[i] as Address | ChaosCoreError);
      } else p.reject(allSigners[i]);
    });
    if (batch.length === 0) return;
    const accepted: PendingEntry[] = [];
    const duplicates: { p: PendingEntry; of: PendingEntry | RecordResult }[] = [];
    let commit: (() => void) | undefined;
    const shardRefusals: [PendingEntry, ChaosCoreError][] = [];
    let firstIndex = 0;
    let logId = ctx.log.id;
    try {
      await ctx.db.transaction(async (tx) => {
        accepted.length = 0;
        duplicates.length = 0;
        commit = undefined;
        shardRefusals.length = 0;
        // Lock the agents' rows first: a concurrent writer of the same agent has
        // then committed, so its entries show up in the duplicate check below.
        const state = await ctx.agents.signingState([...new Set(batch.map((p) => p.agent))], tx);
        // Only an entry at or below its agent's last accepted nonce can be
        // stored already (mayBeRecorded): in a steady stream, none is, and the
        // lookup is skipped. An action's id is looked up among actions, an
        // outcome's among outcomes: ids are EIP-712 digests of different
        // types, so an action's cannot be an outcome's (one index probe per
        // entry instead of two).
        const resent = batch.filter((p) => mayBeRecorded(p, state));
        const idsOf = (kind: "action" | "outcome") =>
          pgArray(
            "bytea",
            resent.flatMap((p) => (p.kind === kind ? [p.digest] : [])),
          );
        const existing = new Map<string, RecordResult>();
        const stored =
          resent.length === 0
            ? []
            : await tx.query<{ id: string; log_id: string; leaf_index: number; kind: string }>(
                `SELECT encode(id, 'hex') AS id, log_id, leaf_index, 'action' AS kind FROM actions
                   WHERE id = ANY($1::bytea[])
                 UNION ALL SELECT encode(id, 'hex'), log_id, leaf_index, 'outcome' FROM outcomes
                   WHERE id = ANY($2::bytea[])`,
                [idsOf("action"), idsOf("outcome")],
              );
        for (const r of stored) {
          const id: Hex = `0x${r.id}`;
          existing.set(id, {
            id,
            kind: r.kind as "action" | "outcome",
            log: r.log_id,
            leafIndex: Number(r.leaf_index),
            duplicate: true,
          });
        }
        const refs = new Set<string>();
        for (const p of batch) {
          if (p.entry.kind === "action")
            for (const parent of p.entry.message.parents) refs.add(parent);
          else refs.add(p.entry.message.action);
        }
        // The referenced actions, with who judged them; and, when the batch has
        // outcomes, who may judge the actions of each studio (outcome-authorization.ts).
        const known = await readJudgedActions(tx, [...refs] as Hex[]);
        const judges = batch.some((p) => p.entry.kind === "outcome")
          ? await readStudioJudges(tx, [
              ...[...known.values()].map((a) => a.studio),
              ...batch.flatMap((p) => (p.entry.kind === "action" ? [p.entry.message.studio] : [])),
            ])
          : new Map<string, Set<string>>();
        const inBatch = new Map<string, PendingEntry>();
        batch.forEach((p, i) => {
          const prior = existing.get(p.id) ?? inBatch.get(p.id);
          if (prior !== undefined) {
            duplicates.push({ p, of: prior });
            return;
          }
          const problem = checkEntry(
            ctx,
            p,
            signers[i] as Address | ChaosCoreError,
            state,
            known,
            judges,
          );
          if (problem !== null) {
            p.reject(problem);
            return;
          }
          inBatch.set(p.id, p);
          accepted.push(p);
        });
        // A resent entry is answered with its first record, but only when the
        // shard it names (if any) is one of the family's: LOG_NOT_FOUND otherwise.
        await refuseUnknownPins(ctx, tx, duplicates);
        if (accepted.length === 0) return;
        // The family's lock; a rotation that is due happens here (log-family.ts)
        // for a batch with an entry for the active shard — naming it or not: the
        // limits bound every shard (docs/spec/shards.md §5), and a write naming
        // the shard just frozen is refused below with LOG_SHARD_FROZEN naming its
        // successor. Entries that name only other shards change nothing.
        const target = await ctx.logs.lockActive(tx, {
          rotate: (active) => accepted.some((p) => p.log === undefined || p.log === active),
        });
        commit = target.commit;
        const refused = await refuseOtherShards(ctx, tx, accepted, target.log);
        if (refused.size > 0) {
          // Answered once the transaction commits: the refusal names the active
          // shard, which this transaction may have just created (a rotation).
          for (const [p, error] of refused) shardRefusals.push([p, error]);
          // a second copy of a refused entry in this batch gets the same answer
          for (const d of duplicates.splice(0)) {
            const error = refused.get(d.of as PendingEntry);
            if (error === undefined) duplicates.push(d);
            else shardRefusals.push([d.p, error]);
          }
          accepted.splice(0, accepted.length, ...accepted.filter((p) => !refused.has(p)));
        }
        if (accepted.length === 0) return;
        // Asked once per writer, inside the first transaction that writes
        // (again after a failed ask: the connection may have dropped).
        this.skipKeys ??= maySkipForeignKeys(tx).catch((error: unknown) => {
          this.skipKeys = undefined;
          throw error;
        });
        const skipKeys = await this.skipKeys;
        if (skipKeys) await skipKnownForeignKeys(tx, true);
        const appended = await target.log.appendInTransaction(
          tx,
          accepted.map((p) => p.bytes),
          target.locked,
          accepted.map((p) => p.leafHash),
        );
        commit = () => {
          target.commit();
          appended.commit();
        };
        firstIndex = appended.firstIndex;
        logId = target.log.id;
        // (the triggers come back with the transaction's end: SET LOCAL)
        await writeEntryRows(tx, logId, accepted, firstIndex);
      });
    } catch (error) {
      const failure = isChaosCoreError(error)
        ? error
        : new ChaosCoreError("STORE_UNAVAILABLE", "the write failed; retry", { cause: error });
      // Every entry of the batch not already refused by its own check fails with
      // the batch (also when the transaction failed before sorting the batch:
      // a connection refused at BEGIN must not leave callers waiting forever).
      for (const p of batch) p.reject(failure);
      return;
    }
    commit?.();
    for (const [p, error] of shardRefusals) p.reject(error);
    accepted.forEach((p, i) => {
      p.resolve({
        id: p.id,
        kind: p.kind,
        log: logId,
        leafIndex: firstIndex + i,
        duplicate: false,
      });
    });
    for (const { p, of } of duplicates) {
      const [log, index] =
        "leafIndex" in of ? [of.log, of.leafIndex] : [logId, firstIndex + accepted.indexOf(of)];
      p.resolve({ id: p.id, kind: p.kind, log, leafIndex: index, duplicate: true });
    }
  }
}

/** How many entries at the head of `queue` (at most `max`) have their signer settled. */
function recoveredHead(queue: readonly PendingEntry[], max: number): number {
  let n = 0;
  while (n < queue.length && n < max && (queue[n] as PendingEntry).recovered === true) n++;
  return n;
}

/**
 * Rejects (LOG_NOT_FOUND) and removes from `duplicates` every resent entry
 * that names a log id which is none of the family's shards.
 */
async function refuseUnknownPins(
  ctx: AgencyContext,
  tx: Db,
  duplicates: { p: PendingEntry }[],
): Promise<void> {
  const named = [...new Set(duplicates.flatMap((d) => (d.p.log === undefined ? [] : [d.p.log])))];
  if (named.length === 0) return;
  const found = new Set(
    (
      await tx.query<{ id: string }>(
        "SELECT id FROM logs WHERE family_id = $1 AND id = ANY($2::text[])",
        [ctx.logs.id, named],
      )
    ).map((r) => r.id),
  );
  const kept = duplicates.filter((d) => {
    if (d.p.log === undefined || found.has(d.p.log)) return true;
    d.p.reject(
      new ChaosCoreError("LOG_NOT_FOUND", `no log ${d.p.log} in this deployment`, {
        details: { log: d.p.log },
      }),
    );
    return false;
  });
  duplicates.splice(0, duplicates.length, ...kept);
}

/**
 * The entries of `accepted` that name a shard other than the active one
 * (`target`), with their refusal: LOG_SHARD_FROZEN for a frozen shard of the
 * family, LOG_NOT_FOUND for an id that is none of its shards. Runs under the family's lock.
 */
export async function refuseOtherShards(
  ctx: AgencyContext,
  tx: Db,
  accepted: readonly PendingEntry[],
  target: TransparencyLog,
): Promise<Map<PendingEntry, ChaosCoreError>> {
  const refused = new Map<PendingEntry, ChaosCoreError>();
  for (const p of accepted) {
    if (p.log !== undefined && p.log !== target.id) {
      refused.set(p, await shardRefusal(ctx, tx, p.log, target));
    }
  }
  return refused;
}

/** The error a write naming shard `log` gets when `active` is the active one. */
export async function shardRefusal(
  ctx: AgencyContext,
  tx: Db,
  log: string,
  active: TransparencyLog,
): Promise<ChaosCoreError> {
  const [row] = await tx.query<{ state: string }>(
    "SELECT state FROM logs WHERE id = $1 AND family_id = $2",
    [log, ctx.logs.id],
  );
  if (row === undefined) {
    return new ChaosCoreError("LOG_NOT_FOUND", `no log ${log} in this deployment`, {
      details: { log },
    });
  }
  return new ChaosCoreError(
    "LOG_SHARD_FROZEN",
    `log ${log} is frozen; the active shard is ${active.id}`,
    { details: { log, activeLog: active.id, activeOrigin: active.origin } },
  );
}
