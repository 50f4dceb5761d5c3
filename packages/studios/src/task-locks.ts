/**
 * Database-level locking of studio task transitions (issue 19 item 15): every
 * engine on the database (several gateways) is serialised on the task's row,
 * not by a lock in one process.
 * @module
 */
import { fail, type Hex } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";

/**
 * Locks the task's row for the rest of `tx` (`SELECT … FOR UPDATE`) and checks
 * that its last action is still `lastAction`, the one the transition was
 * checked against: a concurrent transition (in this process or another
 * engine) either committed first — then this one is refused — or waits.
 * @throws ChaosCoreError STUDIO_TRANSITION_INVALID when the task moved on.
 */
export async function lockTaskRow(
  tx: Db,
  studio: string,
  task: string,
  lastAction: Hex,
): Promise<void> {
  const [row] = await tx.query<{ last_action: string }>(
    `SELECT encode(last_action, 'hex') AS last_action FROM studio_tasks
      WHERE studio_id = $1 AND id = $2 FOR UPDATE`,
    [studio, task],
  );
  if (row === undefined || `0x${row.last_action}` !== lastAction) {
    fail("STUDIO_TRANSITION_INVALID", `task ${task} moved on concurrently`, { task });
  }
}

/**
 * Claims the payout of a task before it is paid (migration 12,
 * `studio_tasks.payout_claim`): one atomic update that succeeds only while the
 * task's last action is `lastAction` and no other payout id claimed it. A
 * retry of the same payout id (after a crash between paying and recording)
 * claims it again — the reward port is idempotent per payout id — so a crash
 * leaves no orphan and two engines never pay a task twice.
 * @throws ChaosCoreError STUDIO_TRANSITION_INVALID when the task moved on or
 * another payout claimed it.
 */
export async function claimPayout(
  db: Db,
  studio: string,
  task: string,
  lastAction: Hex,
  payoutId: string,
): Promise<void> {
  const rows = await db.query(
    `UPDATE studio_tasks SET payout_claim = $3
      WHERE studio_id = $1 AND id = $2 AND last_action = decode($4, 'hex')
        AND (payout_claim IS NULL OR payout_claim = $3)
      RETURNING id`,
    [studio, task, payoutId, lastAction.slice(2)],
  );
  if (rows.length === 0) {
    fail(
      "STUDIO_TRANSITION_INVALID",
      `task ${task} moved on, or another payout of it is being paid`,
      { task, payoutId },
    );
  }
}
