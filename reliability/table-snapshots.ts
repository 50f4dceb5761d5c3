/**
 * Row counts and content checksums of every table of a Postgres database:
 * taken around each fuzz request, so that a write by a rejected request is
 * attributed to exactly that request.
 * @module
 */
import type pg from "pg";

/** Row counts and content checksums of every table, in one query. */
export async function snapshotter(client: pg.Client) {
  const tables = (
    await client.query<{ t: string }>(
      `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  const sql = `SELECT ${tables
    .map(
      (t) =>
        `(SELECT count(*)::int FROM "${t}") AS "${t}#n", (SELECT coalesce(md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))), '') FROM "${t}" x) AS "${t}#h"`,
    )
    .join(", ")}`;
  return {
    tables,
    async take(): Promise<Map<string, { n: number; h: string }>> {
      const [row] = (await client.query<Record<string, unknown>>(sql)).rows;
      return new Map(
        tables.map((t) => [t, { n: Number(row?.[`${t}#n`]), h: String(row?.[`${t}#h`]) }]),
      );
    },
  };
}
