/**
 * The database port: the few operations the engine needs, implemented over
 * PGlite (embedded, WebAssembly Postgres) and over a Postgres server (pg).
 * SQL is plain Postgres with $n parameters; both back-ends run the same text.
 */
export interface Db {
  /** "pglite" (embedded) or "postgres" (a server). */
  readonly kind: "pglite" | "postgres";
  /** Runs one statement with parameters and returns its rows. */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when
   * it throws. Nested calls on the transaction handle run in the same transaction.
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}
