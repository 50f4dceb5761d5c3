import type { PGlite, QueryOptions } from "@electric-sql/pglite";

/** Most statements kept per database (beyond it, the least recently used is closed). */
export declare const PREPARED_MAX: number;

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
