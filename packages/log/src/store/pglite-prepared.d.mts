import type { PGlite, QueryOptions } from "@electric-sql/pglite";

/** Most statements kept per database (beyond it, the least recently used is closed). */
export declare const PREPARED_MAX: number;

/**
 * Bind (the unnamed portal, statement `name`, text results), Execute and Sync
 * for `values` (null, a byte view sent in binary, or a string sent as text),
 * written into `buffer` when they fit, else into a new buffer.
 */
export declare function bindExecuteSync(
  buffer: Uint8Array,
  name: string,
  values: readonly (Uint8Array | string | null)[],
): Uint8Array;

/** Named prepared statements on one PGlite, for the queries of its open transaction. */
export declare class PreparedStatements {
  constructor(pg: PGlite, max?: number);
  /** Statements held (for tests). */
  readonly size: number;
  /**
   * The rows of `sql` run with `params` in the transaction open on this
   * PGlite. `serializers` overrides PGlite's by type OID.
   */
  query<T>(
    sql: string,
    params: readonly unknown[] | undefined,
    serializers?: QueryOptions["serializers"],
  ): Promise<T[]>;
}
