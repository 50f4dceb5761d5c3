/**
 * The group-commit writer's inserts without Postgres's per-row foreign-key
 * checks, where the database lets it: everything those keys guard is already
 * true in the writer's transaction.
 * @module
 */
import type { Db } from "../store/db.js";

/**
 * Whether this session may set `session_replication_role`: always on PGlite
 * (a superuser), on a Postgres server for a superuser or, from Postgres 15,
 * a role granted `SET ON PARAMETER session_replication_role`. Asked inside
 * `tx`: the checks used cannot fail, so they never abort it.
 */
export async function maySkipForeignKeys(tx: Db): Promise<boolean> {
  if (tx.kind === "pglite") return true;
  const [row] = await tx.query<{ su: string; v: string }>(
    "SELECT current_setting('is_superuser') AS su, current_setting('server_version_num') AS v",
  );
  if (row?.su === "on") return true;
  if (Number(row?.v ?? 0) < 150000) return false;
  const [granted] = await tx.query<{ ok: boolean }>(
    "SELECT has_parameter_privilege('session_replication_role', 'SET') AS ok",
  );
  return granted?.ok === true;
}

/**
 * Turns the row triggers of this transaction off (`true`) or back on
 * (`false`) around the batch's inserts. Postgres checks every foreign key of
 * every inserted row with a query of its own, five per action (leaf, two
 * nodes, action row: `log_id`, `agent_id`): ≈ 40% of a batch's insert time in
 * PGlite's WebAssembly, and a third of a Postgres server's CPU per action
 * (docs/benchmarks.md, "Ingest, fourth pass"). The writer has already made
 * each of them true in this transaction: the log's row is locked (`FOR
 * UPDATE`, appendInTransaction), every entry's agent is locked and found
 * (`signingState`, checkEntry), and an outcome's action is recorded or
 * earlier in the batch (checkEntry). No table written here has a trigger of
 * its own; `SET LOCAL` ends with the transaction in any case. Call only
 * where {@link maySkipForeignKeys} said yes: the `SET` fails otherwise.
 */
export async function skipKnownForeignKeys(tx: Db, skip: boolean): Promise<void> {
  await tx.query(`SET LOCAL session_replication_role = ${skip ? "replica" : "origin"}`);
}
